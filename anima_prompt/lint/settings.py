"""Generation settings the linter checks alongside a prompt: CFG, steps, size, sampler, variant, LoRAs."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from anima_prompt.errors import LintInputError
from anima_prompt.variants import Variant


@dataclass(frozen=True, slots=True)
class LintSettings:
    """Generation settings known for a prompt; every field is optional.

    Attributes:
        cfg: classifier-free guidance scale.
        steps: sampling steps.
        width: image width in pixels.
        height: image height in pixels.
        sampler: the sampler name as the front end spells it (`er_sde`, `euler_ancestral`, ...).
        variant: which Anima checkpoint runs the prompt.
        loras: LoRAs applied besides the prompt's `<lora:...>` tags (`anima generate --lora`), as
            `(name or path, strength)` pairs in order.

    Raises:
        LintInputError: a value is of the wrong type or out of its possible range.
    """

    cfg: float | None = None
    steps: int | None = None
    width: int | None = None
    height: int | None = None
    sampler: str | None = None
    variant: Variant | None = None
    loras: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        if self.cfg is not None:
            if isinstance(self.cfg, bool) or not isinstance(self.cfg, int | float):
                raise LintInputError(f"cfg must be a number, got {self.cfg!r}")
            if not math.isfinite(self.cfg) or self.cfg < 0:
                raise LintInputError(f"cfg must be a finite number >= 0, got {self.cfg!r}")
        for name in ("steps", "width", "height"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise LintInputError(f"{name} must be a whole number, got {value!r}")
            if value < 1 or value > 1_000_000:
                raise LintInputError(f"{name} must be between 1 and 1000000, got {value}")
        if self.sampler is not None and not isinstance(self.sampler, str):
            raise LintInputError(f"sampler must be a string, got {self.sampler!r}")
        if self.variant is not None and not isinstance(self.variant, Variant):
            raise LintInputError(f"variant must be a Variant, got {self.variant!r}")
        if not isinstance(self.loras, tuple) or not all(_is_lora_pair(pair) for pair in self.loras):
            raise LintInputError(
                f"loras must be (name, strength) pairs with a non-empty name and a finite strength, "
                f"got {self.loras!r}"
            )

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> LintSettings:
        """Settings from a JSON-like mapping (`{"cfg": 4.5, "width": 1024, "variant": "turbo"}`).

        Integral floats such as `1024.0` are accepted for whole-number fields; `None` means unknown.
        `loras` is a list of `"NAME_OR_PATH[:STRENGTH]"` strings (as `anima generate --lora` takes them)
        or of `{"name": ..., "strength": ...}` objects.

        Raises:
            LintInputError: an unknown key or a value of the wrong type.
        """
        known = {"cfg", "steps", "width", "height", "sampler", "variant", "loras"}
        unknown = sorted(set(values) - known)
        if unknown:
            raise LintInputError(
                f"unknown setting {unknown[0]!r}; expected one of {', '.join(sorted(known))}"
            )
        fields: dict[str, object] = {}
        for key, value in values.items():
            if value is None:
                continue
            if key in {"steps", "width", "height"} and isinstance(value, float) and value.is_integer():
                value = int(value)
            if key == "variant":
                if not isinstance(value, str):
                    raise LintInputError(f"variant must be a string, got {value!r}")
                value = Variant.parse(value)
            if key == "loras":
                value = _lora_list(value)
            fields[key] = value
        return cls(**fields)  # type: ignore[arg-type]

    @property
    def is_empty(self) -> bool:
        """Whether no setting is known."""
        return not self.loras and all(
            getattr(self, name) is None for name in self.__slots__ if name != "loras"
        )


def _is_lora_pair(pair: object) -> bool:
    if not isinstance(pair, tuple) or len(pair) != 2:
        return False
    name, strength = pair
    return (
        isinstance(name, str)
        and bool(name.strip())
        and isinstance(strength, int | float)
        and not isinstance(strength, bool)
        and math.isfinite(strength)
    )


def _lora_list(value: object) -> tuple[tuple[str, float], ...]:
    """`loras` from JSON: `"name[:strength]"` strings or `{"name": ..., "strength": ...}` objects."""
    from anima_prompt.loras import LoraReferenceError, parse_lora_option

    if not isinstance(value, list):
        raise LintInputError(f"loras must be a list, got {value!r}")
    pairs: list[tuple[str, float]] = []
    for entry in value:
        if isinstance(entry, str):
            try:
                name, strength = parse_lora_option(entry)
            except LoraReferenceError:
                problem = "has a strength that is not a number" if entry.strip() else "names no LoRA"
                raise LintInputError(f"loras: {entry!r} {problem}") from None
        elif isinstance(entry, dict) and set(entry) <= {"name", "strength"} and "name" in entry:
            name, strength = entry["name"], entry.get("strength", 1.0)
            if (
                not isinstance(name, str)
                or isinstance(strength, bool)
                or not isinstance(strength, int | float)
            ):
                raise LintInputError(f"loras: {entry!r} needs a string name and a number strength")
        else:
            raise LintInputError(
                f"loras: expected 'NAME[:STRENGTH]' or {{'name': ..., 'strength': ...}}, got {entry!r}"
            )
        try:
            pairs.append((name, float(strength)))
        except OverflowError:
            raise LintInputError(f"loras: strength of {entry!r} is out of range") from None
    return tuple(pairs)
