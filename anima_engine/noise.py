"""Seeded Gaussian noise in two conventions: ComfyUI's, and this engine's original per-image one.

A `NoiseSource` gives the initial noise of a batch and, for the ancestral and SDE samplers, the noise
of each step (a `StepNoise`):

* **comfyui** (`ComfyNoise`): the whole batch's initial noise comes from one `torch.randn` call of the
  batch's latent shape on a CPU generator seeded with the seed (ComfyUI `prepare_noise`), so image k
  differs from a one-image run with another seed. Per-step noise comes from a generator on the latent's
  device seeded with the seed (plus one on the CPU, where the initial noise already used the seed), or
  from a Brownian tree for the samplers ComfyUI gives one (`brownian.BrownianNoise`).
* **anima** (`GeneratorNoise`): image k owns a CPU generator seeded `seed + k`; it draws the initial
  noise and then every step's noise, so image k equals a one-image run with seed `seed + k` on every
  device. Images made before the ComfyUI convention existed used this one.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import torch
from torch import Tensor

from anima_engine.config import PRESETS, ModelSpec
from anima_engine.errors import ConfigError

NOISE_CONVENTIONS = ("comfyui", "anima")
"""How seeds become noise; see the module docstring."""

DEFAULT_NOISE = "comfyui"
"""Same seed, same image as ComfyUI (docs/comfyui.md says why this is the default)."""

Generators = torch.Generator | Sequence[torch.Generator] | None
"""One CPU generator for the whole batch, one per batch element, or None for torch's global CPU RNG."""

TreeDevice = Literal["cpu", "device"]
"""Where a Brownian tree is built: on the CPU (ComfyUI `dpmpp_2m_sde`) or the latent's device (`_gpu`)."""

StepNoise = Callable[[Tensor, Tensor], Tensor]
"""`(sigma, sigma_next) -> ε`: standard normal noise shaped like the sampler state for one step."""


class NoiseSource(Protocol):
    """Where a generation's noise comes from."""

    def initial(self, shape: Sequence[int]) -> Tensor:
        """Standard normal float32 noise of `shape` (B, C, T, H, W), on the CPU."""
        ...

    def step_noise(self, x: Tensor, sigmas: Tensor, *, tree: TreeDevice | None) -> StepNoise:
        """Per-step noise for a sampler whose state is `x`, over the schedule `sigmas`.

        `tree` asks for Brownian-tree noise (ComfyUI's SDE samplers); conventions without one ignore it.
        """
        ...


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


@dataclass(frozen=True, slots=True, eq=False)
class GeneratorNoise:
    """The "anima" convention: CPU generators draw the initial noise, then every step's noise.

    `generators` is one generator per image (`make_generators`), one for the whole batch, or None for
    torch's global CPU RNG. Brownian trees are not used: each step gets independent N(0, I) noise, which
    has the distribution of a Brownian increment normalised by √Δt.
    """

    generators: Generators = None

    def initial(self, shape: Sequence[int]) -> Tensor:
        return randn(shape, self.generators)

    def step_noise(self, x: Tensor, sigmas: Tensor, *, tree: TreeDevice | None) -> StepNoise:
        def draw(sigma: Tensor, sigma_next: Tensor) -> Tensor:
            return randn(x.shape, self.generators, device=x.device).to(x.dtype)

        return draw


@dataclass(frozen=True, slots=True)
class ComfyNoise:
    """The "comfyui" convention for `seed` (ComfyUI `prepare_noise`, `default_noise_sampler`)."""

    seed: int

    def initial(self, shape: Sequence[int]) -> Tensor:
        # One draw for the whole batch, in the latent's (B, C, T, H, W) order. With T = 1 the order of the
        # values is that of ComfyUI's 4-D empty latent too, since the time axis adds no stride.
        generator = torch.Generator("cpu").manual_seed(self.seed)
        return torch.randn(tuple(shape), generator=generator, dtype=torch.float32, device="cpu")

    def step_noise(self, x: Tensor, sigmas: Tensor, *, tree: TreeDevice | None) -> StepNoise:
        if tree is not None:
            from anima_engine.brownian import BrownianNoise

            return BrownianNoise(x, sigmas, self.seed, on_cpu=tree == "cpu")
        # On the CPU the initial noise already used `seed`, so ComfyUI seeds the step generator with seed + 1.
        seed = self.seed + 1 if x.device.type == "cpu" else self.seed
        generator = torch.Generator(device=x.device).manual_seed(seed)

        def draw(sigma: Tensor, sigma_next: Tensor) -> Tensor:
            return torch.randn(x.shape, dtype=x.dtype, device=x.device, generator=generator)

        return draw


@dataclass(frozen=True, slots=True, eq=False)
class StackedNoise:
    """Several generations sampled as one batch, each keeping its own noise: `parts` holds each one's
    source and number of images, in batch order. Every image gets exactly the noise it gets alone."""

    parts: tuple[tuple[NoiseSource, int], ...]

    def initial(self, shape: Sequence[int]) -> Tensor:
        return torch.cat([source.initial((images, *shape[1:])) for source, images in self.parts])

    def step_noise(self, x: Tensor, sigmas: Tensor, *, tree: TreeDevice | None) -> StepNoise:
        starts = [sum(images for _, images in self.parts[:k]) for k in range(len(self.parts))]
        draws = [
            source.step_noise(x[start : start + images], sigmas, tree=tree)
            for (source, images), start in zip(self.parts, starts, strict=True)
        ]

        def draw(sigma: Tensor, sigma_next: Tensor) -> Tensor:
            return torch.cat([part(sigma, sigma_next) for part in draws])

        return draw


def make_noise(convention: str, seed: int, batch: int) -> NoiseSource:
    """The noise source of a generation: `comfyui` or `anima` (`NOISE_CONVENTIONS`).

    Raises:
        ConfigError: an unknown convention, or a seed or batch out of range.
    """
    generators = make_generators(seed, batch)  # validates seed and batch for both conventions
    if convention == "anima":
        return GeneratorNoise(generators)
    if convention == "comfyui":
        return ComfyNoise(seed)
    expected = ", ".join(NOISE_CONVENTIONS)
    raise ConfigError(f"unknown noise convention {convention!r}; expected one of {expected}")


def latent_shape(
    batch: int, width: int, height: int, *, spec: ModelSpec = PRESETS["anima"]
) -> tuple[int, int, int, int, int]:
    """(B, z_dim, 1, H/r, W/r) for images of `width` × `height` pixels, r the VAE's spatial ratio (16 and 8
    for Anima); both sides must be multiples of `spec.size_multiple` (16)."""
    multiple, ratio = spec.size_multiple, spec.vae.spatial_ratio
    if width < multiple or height < multiple or width % multiple or height % multiple:
        raise ConfigError(f"width and height must be positive multiples of {multiple}, got {width}x{height}")
    return (batch, spec.vae.z_dim, 1, height // ratio, width // ratio)


def noised(x0: Tensor | None, eps: Tensor, sigma: Tensor) -> Tensor:
    """The flow forward process x = σ·ε + (1 − σ)·x0 in float32 (ComfyUI `CONST.noise_scaling`).

    `x0` None is an empty latent: text-to-image starts from σ·ε (exactly ε at σ = 1).
    """
    sigma = sigma.to(device=eps.device, dtype=torch.float32)
    if x0 is None:
        return sigma * eps
    return sigma * eps + (1 - sigma) * x0.to(eps.device, torch.float32)
