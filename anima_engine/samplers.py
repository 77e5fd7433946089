"""Samplers for rectified-flow latents x_σ = (1 − σ)·x0 + σ·ε (engine-spec §5.5).

Every sampler is a pure function with the signature of `Sampler`: it integrates from `sigmas[0]` down to
`sigmas[-1] = 0`, reaching the model only through a `DenoiseFn` that returns the denoised estimate x̂0
(k-diffusion's convention; `guidance.cfg` builds one from the DiT). The state is kept in at least
float32 whatever the model's dtype. Fresh noise for the ancestral and SDE samplers comes from a
`noise.NoiseSource` (ComfyUI's convention or the per-image CPU generators); `None` draws from torch's
global CPU RNG.

The update rules follow ComfyUI's k-diffusion samplers for CONST (flow) models; the code is our own.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Literal, Protocol

import torch
from torch import Tensor

from anima_engine.noise import GeneratorNoise, NoiseSource, StepNoise, TreeDevice
from anima_engine.schedules import SHIFT, time_snr_shift

SNR_FIRST_SIGMA_OFFSET = 1e-4
"""SNR-based samplers start at σ = shift(1 − 1e-4) instead of 1, where log-SNR is infinite (ComfyUI)."""

ER_SDE_INTEGRATION_POINTS = 200


class DenoiseFn(Protocol):
    """`(x (B, C, T, H, W), sigma (B,)) -> x̂0` of the same shape as x."""

    def __call__(self, x: Tensor, sigma: Tensor) -> Tensor: ...


@dataclass(frozen=True, slots=True)
class Step:
    """What a sampler reports after each model evaluation (before its update)."""

    index: int
    total: int
    sigma: float
    sigma_next: float
    x: Tensor
    denoised: Tensor


StepCallback = Callable[[Step], None]


class Sampler(Protocol):
    """The one signature every sampler in `SAMPLERS` accepts."""

    def __call__(
        self,
        denoise: DenoiseFn,
        x: Tensor,
        sigmas: Tensor,
        *,
        noise: NoiseSource | None = None,
        callback: StepCallback | None = None,
    ) -> Tensor: ...


def _prepare(x: Tensor, sigmas: Tensor) -> tuple[Tensor, Tensor]:
    # Sampler state in at least float32 (engine-spec §1.4); sigmas in the same dtype, on x's device.
    dtype = torch.promote_types(x.dtype, torch.float32)
    return x.to(dtype), sigmas.to(device=x.device, dtype=dtype)


def _denoise(denoise: DenoiseFn, x: Tensor, sigma: Tensor) -> Tensor:
    return denoise(x, sigma.expand(x.shape[0])).to(x.dtype)


def _report(callback: StepCallback | None, i: int, sigmas: Tensor, x: Tensor, denoised: Tensor) -> None:
    if callback is not None:
        callback(Step(i, len(sigmas) - 1, float(sigmas[i]), float(sigmas[i + 1]), x, denoised))


def _offset_first_sigma(sigmas: Tensor) -> Tensor:
    # log((1 − σ)/σ) is −∞ at σ = 1: move the first σ just below 1, as ComfyUI's offset_first_sigma_for_snr
    # (computed in double precision, then stored in the schedule's dtype).
    if len(sigmas) < 2 or sigmas[0] < 1:
        return sigmas
    first = float(time_snr_shift(SHIFT, torch.tensor(1.0 - SNR_FIRST_SIGMA_OFFSET, dtype=torch.float64)))
    return torch.cat([sigmas.new_full((1,), first), sigmas[1:]])


def _step_noise(noise: NoiseSource | None, x: Tensor, sigmas: Tensor, tree: TreeDevice | None) -> StepNoise:
    return (noise or GeneratorNoise()).step_noise(x, sigmas, tree=tree)


def sample_euler(
    denoise: DenoiseFn,
    x: Tensor,
    sigmas: Tensor,
    *,
    noise: NoiseSource | None = None,
    callback: StepCallback | None = None,
) -> Tensor:
    """Euler steps on the flow ODE (Karras et al. 2022, Algorithm 2 without churn); deterministic.

    d = (x − x̂0)/σ is the velocity, and x ← x + d·(σ_next − σ), the same update as diffusers'
    FlowMatchEulerDiscreteScheduler. `noise` is unused.
    """
    x, sigmas = _prepare(x, sigmas)
    for i in range(len(sigmas) - 1):
        denoised = _denoise(denoise, x, sigmas[i])
        _report(callback, i, sigmas, x, denoised)
        d = (x - denoised) / sigmas[i]
        x = x + d * (sigmas[i + 1] - sigmas[i])
    return x


def sample_euler_ancestral(
    denoise: DenoiseFn,
    x: Tensor,
    sigmas: Tensor,
    *,
    noise: NoiseSource | None = None,
    callback: StepCallback | None = None,
    eta: float = 1.0,
    s_noise: float = 1.0,
) -> Tensor:
    """Ancestral Euler for flow models (ComfyUI's `sample_euler_ancestral_RF`, used for CONST models).

    Each step takes a deterministic (DDIM) step down to σ_d = σ_next·(1 + (σ_next/σ − 1)·η), then
    re-noises to σ_next with the flow forward transition: scale by α_next/α_d and add noise of standard
    deviation √(σ_next² − σ_d²·α_next²/α_d²). The last step returns x̂0.
    """
    x, sigmas = _prepare(x, sigmas)
    step_noise = _step_noise(noise, x, sigmas, None)
    for i in range(len(sigmas) - 1):
        sigma, sigma_next = sigmas[i], sigmas[i + 1]
        denoised = _denoise(denoise, x, sigma)
        _report(callback, i, sigmas, x, denoised)
        if sigma_next == 0:
            x = denoised
            continue
        sigma_down = sigma_next * (1 + (sigma_next / sigma - 1) * eta)
        alpha_next, alpha_down = 1 - sigma_next, 1 - sigma_down
        ratio = sigma_down / sigma
        x = ratio * x + (1 - ratio) * denoised
        if eta > 0:
            renoise = (sigma_next**2 - sigma_down**2 * alpha_next**2 / alpha_down**2) ** 0.5
            x = (alpha_next / alpha_down) * x + step_noise(sigma, sigma_next) * s_noise * renoise
    return x


def sample_dpmpp_2m_sde(
    denoise: DenoiseFn,
    x: Tensor,
    sigmas: Tensor,
    *,
    noise: NoiseSource | None = None,
    callback: StepCallback | None = None,
    eta: float = 1.0,
    s_noise: float = 1.0,
    solver: Literal["midpoint", "heun"] = "midpoint",
    tree: TreeDevice = "cpu",
) -> Tensor:
    """DPM-Solver++(2M) SDE (Lu et al. 2022, arXiv:2211.01095) in half-log-SNR λ = log((1 − σ)/σ).

    The first σ = 1 is offset to shift(1 − 1e-4) (also the σ the model sees). The second-order
    correction uses the midpoint or the Heun coefficient, as ComfyUI's `solver_type`. The per-step noise
    is Brownian-tree noise over the schedule's σ range in the ComfyUI convention (built on the CPU, or on
    the latent's device for the `_gpu` names, `tree`); the anima convention draws independent N(0, I)
    noise. With η = 0 it is the deterministic multistep DPM-Solver++(2M).
    """
    x, sigmas = _prepare(x, sigmas)
    step_noise = _step_noise(noise, x, sigmas, tree) if eta > 0 and s_noise > 0 else None
    sigmas = _offset_first_sigma(sigmas)
    old_denoised: Tensor | None = None
    h_last: Tensor | None = None
    for i in range(len(sigmas) - 1):
        sigma, sigma_next = sigmas[i], sigmas[i + 1]
        denoised = _denoise(denoise, x, sigma)
        _report(callback, i, sigmas, x, denoised)
        if sigma_next == 0:
            x = denoised
            continue
        lam, lam_next = -torch.logit(sigma), -torch.logit(sigma_next)
        h = lam_next - lam
        h_eta = h * (eta + 1)
        alpha_next = 1 - sigma_next
        decay = -torch.expm1(-h_eta)
        x = (sigma_next / sigma) * torch.exp(-h * eta) * x + alpha_next * decay * denoised
        if old_denoised is not None and h_last is not None:
            r = h_last / h
            weight = 0.5 * decay if solver == "midpoint" else decay / -h_eta + 1
            x = x + alpha_next * weight * (1 / r) * (denoised - old_denoised)
        if step_noise is not None:
            eps = step_noise(sigma, sigma_next)
            x = x + eps * sigma_next * (-torch.expm1(-2 * h * eta)).sqrt() * s_noise
        old_denoised, h_last = denoised, h
    return x


def sample_res_multistep(
    denoise: DenoiseFn,
    x: Tensor,
    sigmas: Tensor,
    *,
    noise: NoiseSource | None = None,
    callback: StepCallback | None = None,
) -> Tensor:
    """RES second-order multistep exponential integrator (Zhang et al. 2023, arXiv:2308.02157).

    ComfyUI's `res_multistep` (η = 0): in t = −log σ, x ← e^{−h}·x + h·(b1·x̂0 + b2·x̂0_prev) with the
    coefficients φ1(−h) − φ2(−h)/c2 and φ2(−h)/c2, c2 = (t_prev − t)/h. Like k-diffusion's other
    σ-parameterised solvers it integrates dx/dσ = (x − x̂0)/σ, which for a flow model is the flow ODE.
    The first and the last step are Euler steps. Deterministic; `noise` is unused.
    """
    x, sigmas = _prepare(x, sigmas)
    old_denoised: Tensor | None = None
    for i in range(len(sigmas) - 1):
        sigma, sigma_next = sigmas[i], sigmas[i + 1]
        denoised = _denoise(denoise, x, sigma)
        _report(callback, i, sigmas, x, denoised)
        if sigma_next == 0 or old_denoised is None:
            x = x + (x - denoised) / sigma * (sigma_next - sigma)
        else:
            t, t_next, t_prev = -sigma.log(), -sigma_next.log(), -sigmas[i - 1].log()
            h = t_next - t
            c2 = (t_prev - t) / h
            phi1 = torch.expm1(-h) / -h
            phi2 = (phi1 - 1) / -h
            b1 = torch.nan_to_num(phi1 - phi2 / c2, nan=0.0)
            b2 = torch.nan_to_num(phi2 / c2, nan=0.0)
            x = torch.exp(-h) * x + h * (b1 * denoised + b2 * old_denoised)
        old_denoised = denoised
    return x


def er_sde_noise_scaler(er_lambda: Tensor) -> Tensor:
    """ER-SDE's default noise scale function ns(λ) = λ·(e^{λ^0.3} + 10)."""
    return er_lambda * (torch.exp(er_lambda**0.3) + 10.0)


def sample_er_sde(
    denoise: DenoiseFn,
    x: Tensor,
    sigmas: Tensor,
    *,
    noise: NoiseSource | None = None,
    callback: StepCallback | None = None,
    s_noise: float = 1.0,
    noise_scaler: Callable[[Tensor], Tensor] = er_sde_noise_scaler,
    max_stage: int = 3,
) -> Tensor:
    """Extended reverse-time SDE solver, ER-SDE-Solver-3 (Cui et al. 2023, arXiv:2309.06169).

    Works in er_λ = σ/(1 − σ) with the same first-σ offset as `sample_dpmpp_2m_sde`. Stage 1 is the
    first-order update; stages 2 and 3 add finite-difference corrections of x̂0 whose coefficients are
    integrals of 1/ns, taken as 200-point Riemann sums as in the reference. With `noise_scaler = identity`
    the added noise vanishes and it is a deterministic multistep ODE solver (globally second order: the
    start-up steps use fewer stages).
    """
    x, sigmas = _prepare(x, sigmas)
    step_noise = _step_noise(noise, x, sigmas, None)
    sigmas = _offset_first_sigma(sigmas)
    er_lambdas = sigmas / (1 - sigmas)
    points = torch.arange(ER_SDE_INTEGRATION_POINTS, device=x.device, dtype=x.dtype)
    old_denoised: Tensor | None = None
    old_denoised_d: Tensor | None = None
    for i in range(len(sigmas) - 1):
        denoised = _denoise(denoise, x, sigmas[i])
        _report(callback, i, sigmas, x, denoised)
        if sigmas[i + 1] == 0:
            x = denoised
            continue
        stage = min(max_stage, i + 1)
        lam, lam_next = er_lambdas[i], er_lambdas[i + 1]
        alpha, alpha_next = 1 - sigmas[i], 1 - sigmas[i + 1]
        r = noise_scaler(lam_next) / noise_scaler(lam)
        # 1. first-order step
        x = (alpha_next / alpha) * r * x + alpha_next * (1 - r) * denoised
        if stage >= 2 and old_denoised is not None:
            # 2. second-order correction; the integrals run over [lam_next, lam) in 200 left-point slices
            dt = lam_next - lam
            width = -dt / ER_SDE_INTEGRATION_POINTS
            pos = lam_next + points * width
            scaled = noise_scaler(pos)
            s = torch.sum(1 / scaled) * width
            denoised_d = (denoised - old_denoised) / (lam - er_lambdas[i - 1])
            x = x + alpha_next * (dt + s * noise_scaler(lam_next)) * denoised_d
            if stage >= 3 and old_denoised_d is not None:
                # 3. third-order correction
                s_u = torch.sum((pos - lam) / scaled) * width
                denoised_u = (denoised_d - old_denoised_d) / ((lam - er_lambdas[i - 2]) / 2)
                x = x + alpha_next * (dt**2 / 2 + s_u * noise_scaler(lam_next)) * denoised_u
            old_denoised_d = denoised_d
        if s_noise > 0:
            scale = (lam_next**2 - lam**2 * r**2).sqrt().nan_to_num(nan=0.0)
            x = x + alpha_next * step_noise(sigmas[i], sigmas[i + 1]) * s_noise * scale
        old_denoised = denoised
    return x


SAMPLERS: dict[str, Sampler] = {
    "euler": sample_euler,
    "euler_ancestral": sample_euler_ancestral,
    "er_sde": sample_er_sde,
    "dpmpp_2m_sde": sample_dpmpp_2m_sde,
    "dpmpp_2m_sde_gpu": partial(sample_dpmpp_2m_sde, tree="device"),
    "dpmpp_2m_sde_heun": partial(sample_dpmpp_2m_sde, solver="heun"),
    "dpmpp_2m_sde_heun_gpu": partial(sample_dpmpp_2m_sde, solver="heun", tree="device"),
    "res_multistep": sample_res_multistep,
}
"""ComfyUI's sampler names. The `_gpu` variants differ only in where the comfyui convention builds the
Brownian tree (the latent's device instead of the CPU), so on a CPU they give the same latents."""
