"""Seeded Gaussian noise drawn on the CPU, so a seed gives the same latents on every device.

Each image of a batch owns a `torch.Generator` seeded with `seed + k`, so image k of a batch is the
same as a single-image run with seed `seed + k`. The initial noise is drawn first; the same generators
then feed the ancestral/SDE samplers' per-step noise (engine-spec §5.4; ComfyUI and flux also draw on
the CPU).
"""

from collections.abc import Sequence

import torch
from torch import Tensor

from anima_engine.config import PRESETS, ModelSpec
from anima_engine.errors import ConfigError

Generators = torch.Generator | Sequence[torch.Generator] | None
"""One CPU generator for the whole batch, one per batch element, or None for torch's global CPU RNG."""


def make_generators(seed: int, batch: int = 1) -> list[torch.Generator]:
    """One CPU generator per image, seeded `seed`, `seed + 1`, …, `seed + batch − 1`."""
    if batch < 1:
        raise ConfigError(f"`batch` must be >= 1, got {batch}")
    if seed < 0 or seed + batch - 1 >= 2**64:
        raise ConfigError(f"`seed` must be in [0, 2**64 - {batch}], got {seed}")
    return [torch.Generator("cpu").manual_seed(seed + k) for k in range(batch)]


def randn(shape: Sequence[int], generator: Generators, *, device: torch.device | str = "cpu") -> Tensor:
    """Standard normal float32 noise of `shape`, drawn on the CPU and moved to `device`.

    With a sequence of generators, element k of the batch (dim 0) is drawn from `generator[k]` with the
    per-element shape, so it does not depend on the batch it is part of.
    """
    shape = tuple(shape)
    if generator is None or isinstance(generator, torch.Generator):
        noise = torch.randn(shape, generator=generator, dtype=torch.float32, device="cpu")
    else:
        if len(generator) != shape[0]:
            raise ConfigError(f"got {len(generator)} generators for a batch of {shape[0]}")
        noise = torch.cat([torch.randn((1, *shape[1:]), generator=g, dtype=torch.float32) for g in generator])
    return noise.to(device)


def latent_shape(
    batch: int, width: int, height: int, *, spec: ModelSpec = PRESETS["anima"]
) -> tuple[int, int, int, int, int]:
    """(B, z_dim, 1, H/r, W/r) for images of `width` × `height` pixels, r the VAE's spatial ratio (16 and 8
    for Anima); both sides must be multiples of `spec.size_multiple` (16)."""
    multiple, ratio = spec.size_multiple, spec.vae.spatial_ratio
    if width < multiple or height < multiple or width % multiple or height % multiple:
        raise ConfigError(f"width and height must be positive multiples of {multiple}, got {width}x{height}")
    return (batch, spec.vae.z_dim, 1, height // ratio, width // ratio)


def initial_noise(
    generators: Sequence[torch.Generator],
    width: int,
    height: int,
    *,
    spec: ModelSpec = PRESETS["anima"],
    device: torch.device | str = "cpu",
) -> Tensor:
    """The txt2img starting latents x = σ_max·ε = ε, (B, 16, 1, H/8, W/8) float32, one generator per image."""
    return randn(latent_shape(len(generators), width, height, spec=spec), generators, device=device)


def img2img_start(
    x0: Tensor, sigmas: Tensor, strength: float, generator: Generators
) -> tuple[Tensor, Tensor]:
    """Noise encoded latents to the σ where an img2img run of `strength` starts.

    As diffusers' img2img does, the last ⌈strength·N⌉ steps of an N-step schedule are kept (at least one):
    the start index is int(N − N·strength). The latents are noised with the flow forward process
    x = (1 − σ)·x0 + σ·ε at that σ (ComfyUI `CONST.noise_scaling`).

    Args:
        x0: clean (normalised) latents (B, 16, 1, h, w).
        sigmas: a full schedule from `schedules.make_sigmas`, ending with 0.
        strength: in (0, 1]; 1 starts from pure noise, small values keep more of the image.
        generator: noise source, as for `randn`.

    Returns:
        (x, sigmas[start:]): the noised float32 latents and the truncated schedule.
    """
    if not 0.0 < strength <= 1.0:
        raise ConfigError(f"`strength` must be in (0, 1], got {strength}")
    steps = len(sigmas) - 1
    start = int(steps - steps * strength)
    truncated = sigmas[start:]
    sigma = truncated[0].to(device=x0.device, dtype=torch.float32)
    eps = randn(x0.shape, generator, device=x0.device)
    return (1 - sigma) * x0.float() + sigma * eps, truncated
