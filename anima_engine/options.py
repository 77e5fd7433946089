"""The settings of one generation call, validated where they enter, and the model card's variant defaults.

`SamplingOptions` travels from the CLI or the Python API through `pipeline.generate` unchanged; vary it
with `dataclasses.replace`. Width and height are checked before any tensor is allocated.
"""

import math
from dataclasses import dataclass

from anima_engine.config import PRESETS
from anima_engine.errors import ConfigError
from anima_engine.noise import DEFAULT_NOISE, NOISE_CONVENTIONS
from anima_engine.samplers import SAMPLERS
from anima_engine.schedules import SCHEDULES
from anima_prompt.variants import VARIANTS, recommended

SIZE_MULTIPLE = PRESETS["anima"].size_multiple
"""Image sides must be multiples of 16: the VAE's ×8 and the DiT's 2×2 patches."""

MAX_SIDE = 8192
MAX_BATCH = 64


def _check_int(name: str, value: object, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high and value > high):
        bound = f"in [{low}, {high}]" if high else f">= {low}"
        raise ConfigError(f"`{name}` must be an integer {bound}, got {value!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class SamplingOptions:
    """Everything besides the prompts that decides the images.

    Attributes:
        width, height: image size in pixels, positive multiples of 16.
        steps: sampling steps of the full schedule (img2img with `strength` runs the last
            ⌈strength·steps⌉ of them; with `denoise`, all of them).
        cfg: classifier-free guidance scale; 1 runs the prompt alone (no negative pass).
        sampler: a key of `samplers.SAMPLERS`.
        scheduler: a key of `schedules.SCHEDULES`.
        seed: the seed; with `noise="anima"` image k of a batch uses `seed + k`.
        batch: images per prompt.
        strength: img2img denoising strength in (0, 1], diffusers' convention; 1.0 for text-to-image.
        denoise: img2img amount in (0, 1], ComfyUI's KSampler convention (`schedules.denoise_sigmas`);
            at most one of `strength` and `denoise` may be below 1.
        noise: how the seed becomes noise, `comfyui` or `anima` (`noise.NOISE_CONVENTIONS`).
    """

    width: int = 1024
    height: int = 1024
    steps: int = 30
    cfg: float = 4.0
    sampler: str = "er_sde"
    scheduler: str = "simple"
    seed: int = 0
    batch: int = 1
    strength: float = 1.0
    denoise: float = 1.0
    noise: str = DEFAULT_NOISE

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            value = getattr(self, name)
            _check_int(name, value, SIZE_MULTIPLE, MAX_SIDE)
            if value % SIZE_MULTIPLE:
                raise ConfigError(f"`{name}` must be a multiple of {SIZE_MULTIPLE}, got {value}")
        _check_int("steps", self.steps, 1, 10_000)
        _check_int("batch", self.batch, 1, MAX_BATCH)
        _check_int("seed", self.seed, 0, 2**64 - self.batch)
        if isinstance(self.cfg, bool) or not isinstance(self.cfg, int | float) or not math.isfinite(self.cfg):
            raise ConfigError(f"`cfg` must be a finite number, got {self.cfg!r}")
        if self.cfg < 0:
            raise ConfigError(f"`cfg` must be >= 0, got {self.cfg}")
        for name in ("strength", "denoise"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
                raise ConfigError(f"`{name}` must be in (0, 1], got {value!r}")
        if self.strength < 1 and self.denoise < 1:
            raise ConfigError(
                f"give `strength` ({self.strength}) or `denoise` ({self.denoise}) for img2img, not both"
            )
        if self.noise not in NOISE_CONVENTIONS:
            expected = ", ".join(NOISE_CONVENTIONS)
            raise ConfigError(f"unknown noise convention {self.noise!r}; expected one of {expected}")
        if self.sampler not in SAMPLERS:
            raise ConfigError(f"unknown sampler {self.sampler!r}; expected one of {', '.join(SAMPLERS)}")
        if self.scheduler not in SCHEDULES:
            raise ConfigError(f"unknown scheduler {self.scheduler!r}; expected one of {', '.join(SCHEDULES)}")


def variant_options(variant: str) -> SamplingOptions:
    """The default `SamplingOptions` of a DiT variant: the model card's CFG, steps and sampler
    (`anima_prompt.variants`, `data/variants.toml`).

    Raises:
        ConfigError: an unknown variant.
    """
    if variant not in VARIANTS:
        raise ConfigError(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")
    card = recommended(variant)
    return SamplingOptions(steps=card.steps, cfg=card.cfg, sampler=card.sampler)
