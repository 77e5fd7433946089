"""The released Anima DiT variants and the settings the model card recommends for each (`data/variants.toml`).

`anima generate` takes its default CFG, steps and sampler from here; the linter its recommended ranges.
"""

import enum
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from typing import cast

from anima_prompt.errors import AnimaPromptError, LintInputError
from anima_prompt.resources import data_path

VARIANTS_FILE = "variants.toml"


class Variant(enum.StrEnum):
    """The released Anima DiT variants; each has its own file name prefix `anima-<variant>`."""

    BASE = "base"
    AESTHETIC = "aesthetic"
    TURBO = "turbo"

    @classmethod
    def parse(cls, text: str) -> "Variant":
        """The variant named by `text`: `base`, `aesthetic`, `turbo`, or a checkpoint file name.

        `anima-turbo-v1.0.safetensors` and `Anima-Aesthetic` are recognised by the word they contain.

        Raises:
            LintInputError: no variant word in `text`.
        """
        key = text.strip().lower()
        for variant in (cls.TURBO, cls.AESTHETIC, cls.BASE):
            if re.search(rf"(^|[^a-z]){variant.value}([^a-z]|$)", key):
                return variant
        raise LintInputError(f"unknown model variant {text!r}; expected base, aesthetic or turbo")


VARIANTS: tuple[str, ...] = tuple(variant.value for variant in Variant)
"""The variant names, in release order."""


@dataclass(frozen=True, slots=True)
class Recommended:
    """The model card's settings for one variant.

    Attributes:
        cfg: the guidance scale `anima generate` uses by default.
        cfg_range: the recommended CFG range, inclusive.
        steps: the sampling steps `anima generate` uses by default.
        steps_range: the recommended steps, inclusive.
        sampler: the recommended sampler.
    """

    cfg: float
    cfg_range: tuple[float, float]
    steps: int
    steps_range: tuple[int, int]
    sampler: str


def recommended(variant: Variant | str) -> Recommended:
    """The recommended settings of `variant` (a `Variant` or its name).

    Raises:
        ValueError: an unknown variant name.
        AnimaPromptError: `data/variants.toml` is unreadable or malformed.

    Example:
        >>> recommended("turbo").steps_range
        (8, 12)
    """
    return _table()[Variant(variant)]


@cache
def _table() -> dict[Variant, Recommended]:
    path = data_path(VARIANTS_FILE)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise AnimaPromptError(f"{path}: cannot read the variant settings: {error}") from None
    missing = [variant.value for variant in Variant if not isinstance(document.get(variant.value), dict)]
    if missing:
        raise AnimaPromptError(f"{path}: malformed variant settings: no [{missing[0]}] table")
    try:
        return {variant: _entry(document[variant.value]) for variant in Variant}
    except KeyError as error:
        raise AnimaPromptError(f"{path}: malformed variant settings: no {error} setting") from None
    except (TypeError, ValueError) as error:
        raise AnimaPromptError(f"{path}: malformed variant settings: {error}") from None


def _entry(table: dict[str, object]) -> Recommended:
    cfg_low, cfg_high = _pair(table["cfg-range"])
    steps_low, steps_high = _pair(table["steps-range"])
    if not (steps_low.is_integer() and steps_high.is_integer()):
        raise TypeError(f"steps-range must be whole numbers, got {table['steps-range']!r}")
    cfg, steps, sampler = table["cfg"], table["steps"], table["sampler"]
    if not isinstance(cfg, float | int) or not isinstance(steps, int) or not isinstance(sampler, str):
        raise TypeError(f"cfg, steps and sampler must be a number, a whole number and a name, got {table}")
    if not cfg_low <= cfg <= cfg_high or not steps_low <= steps <= steps_high:
        raise ValueError(f"the defaults must lie in their ranges, got {table}")
    return Recommended(float(cfg), (cfg_low, cfg_high), steps, (int(steps_low), int(steps_high)), sampler)


def _pair(value: object) -> tuple[float, float]:
    if not isinstance(value, list):
        raise TypeError(f"expected a [low, high] pair, got {value!r}")
    items = cast("list[object]", value)
    if len(items) != 2:
        raise TypeError(f"expected a [low, high] pair, got {value!r}")
    low, high = items
    if not isinstance(low, int | float) or not isinstance(high, int | float):
        raise TypeError(f"expected a [low, high] pair of numbers, got {value!r}")
    low, high = float(low), float(high)
    if low > high:
        raise ValueError(f"expected low <= high, got {value!r}")
    return low, high
