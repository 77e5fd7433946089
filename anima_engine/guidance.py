"""Classifier-free guidance: the one place that turns the DiT's velocity into a `DenoiseFn`.

The DiT predicts the flow velocity v ≈ ε − x0, so the denoised estimate is x̂0 = x − σ·v (ComfyUI
`CONST.calculate_denoised`). Guidance mixes the estimates as ComfyUI's `cfg_function` does,
x̂0 = x̂0_u + s·(x̂0_c − x̂0_u), which equals applying v_u + s·(v_c − v_u) to the velocities because x̂0
is affine in v at a fixed σ (engine-spec §5.3). The conditional and unconditional halves run as one
batched forward when their contexts can share a batch exactly (`joint_context`); at scale 1 the
unconditional half is not run at all.
"""

import math

import torch
from torch import Tensor

from anima_engine.dit import VelocityFn
from anima_engine.errors import ConfigError
from anima_engine.samplers import DenoiseFn

MAX_CONTEXT_REPEAT = 4
"""Longest repeat of a context to batch it with a longer one (ComfyUI's limit); beyond it, two passes."""


def joint_context(cond: Tensor, uncond: Tensor) -> Tensor | None:
    """Stack two (B, L_i, D) contexts into one (2B, L, D) batch without changing either's attention.

    Equal lengths stack directly. Otherwise each is repeated along L to the least common multiple,
    which leaves mask-free softmax attention unchanged (every key/value appears k times, so each weight
    is split evenly over its k copies), as ComfyUI does when the repeat factor is at most 4.
    Zero-padding would *not* be exact: a zero key still adds exp(0) to the softmax denominator
    (engine-spec §1.3 step 5), so padding a 512-row context to 600 rows changes the DiT's output.
    Returns None when the repeat would exceed `MAX_CONTEXT_REPEAT`; the caller then runs two passes.
    """
    if cond.shape[1] == uncond.shape[1]:
        return torch.cat([cond, uncond])
    length = math.lcm(cond.shape[1], uncond.shape[1])
    if length // min(cond.shape[1], uncond.shape[1]) > MAX_CONTEXT_REPEAT:
        return None
    return torch.cat([c.repeat(1, length // c.shape[1], 1) for c in (cond, uncond)])


def _batch(context: Tensor, batch: int) -> Tensor:
    if context.ndim != 3:
        raise ConfigError(f"a context must be (B, L, D), got shape {tuple(context.shape)}")
    if context.shape[0] == batch:
        return context
    if context.shape[0] == 1:
        return context.expand(batch, -1, -1)
    raise ConfigError(f"context batch {context.shape[0]} does not match latent batch {batch}")


def cfg(model: VelocityFn, cond: Tensor, uncond: Tensor | None, scale: float) -> DenoiseFn:
    """Build the sampler's `DenoiseFn` from a velocity model and the two text contexts.

    Args:
        model: the velocity predictor `(x, sigma, context) -> v`.
        cond: the prompt's context (1 or B, L_c, D).
        uncond: the negative prompt's context (1 or B, L_u, D); may be None when `scale == 1`.
        scale: guidance scale s >= 0; 1 means the conditional prediction alone.

    Returns:
        `denoise(x, sigma) -> x̂0`, computed in the dtype of x (the sampler's float32 state).

    Raises:
        ConfigError: a negative scale, or a missing `uncond` with `scale != 1`.
    """
    if scale < 0:
        raise ConfigError(f"CFG scale must be >= 0, got {scale}")
    if scale == 1.0:

        def denoise_cond(x: Tensor, sigma: Tensor) -> Tensor:
            v = model(x, sigma, _batch(cond, x.shape[0])).to(x.dtype)
            return x - _sigma_view(sigma, x) * v

        return denoise_cond
    if uncond is None:
        raise ConfigError(f"CFG scale {scale} needs an unconditional context")
    if uncond.ndim != 3 or cond.ndim != 3 or uncond.shape[-1] != cond.shape[-1]:
        raise ConfigError(
            f"cond and uncond contexts must be (B, L, D) with the same D, got {tuple(cond.shape)} "
            f"and {tuple(uncond.shape)}"
        )

    def denoise_cfg(x: Tensor, sigma: Tensor) -> Tensor:
        batch = x.shape[0]
        c, u = _batch(cond, batch), _batch(uncond, batch)
        context = joint_context(c, u)
        if context is not None:  # one forward over (cond, uncond)
            v = model(torch.cat([x, x]), torch.cat([sigma, sigma]), context).to(x.dtype)  # (2B, C, T, H, W)
            v_cond, v_uncond = v.chunk(2)
        else:
            v_cond, v_uncond = model(x, sigma, c).to(x.dtype), model(x, sigma, u).to(x.dtype)
        s = _sigma_view(sigma, x)
        x0_cond, x0_uncond = x - s * v_cond, x - s * v_uncond
        return x0_uncond + scale * (x0_cond - x0_uncond)

    return denoise_cfg


def _sigma_view(sigma: Tensor, x: Tensor) -> Tensor:
    # (B,) -> (B, 1, 1, 1, 1) in x's dtype, to broadcast over the latent.
    return sigma.to(x.dtype).reshape(-1, *([1] * (x.ndim - 1)))
