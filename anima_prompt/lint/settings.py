"""Generation settings the linter checks alongside a prompt: CFG, steps, size, sampler, scheduler, model
variant, LoRAs."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from anima_prompt.errors import LintInputError
from anima_prompt.sampler_names import is_cfg_pp
from anima_prompt.shapes import items, table
from anima_prompt.variants import Variant

SETTING_KEYS = frozenset(
    {"cfg", "steps", "width", "height", "sampler", "scheduler", "variant", "model", "loras"}
)
"""The keys `LintSettings.from_mapping` reads."""


@dataclass(frozen=True, slots=True)
class LintSettings:
    """Generation settings known for a prompt; every field is optional.

    Attributes:
        cfg: classifier-free guidance scale.
        steps: sampling steps.
        width: image width in pixels.
        height: image height in pixels.
        sampler: the sampler name as the front end spells it (`er_sde`, `Euler a`, `DPM++ 2M Karras`, ...).
        scheduler: the scheduler name as the front end spells it (`simple`, `Karras`, `beta57`, ...).
        variant: which Anima checkpoint runs the prompt.
        model: the checkpoint (file) name, when known; it gives the variant when `variant` is not set and
            the name contains `base`, `aesthetic` or `turbo`.
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
    scheduler: str | None = None
    variant: Variant | None = None
    model: str | None = None
    loras: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        if self.cfg is not None and (not math.isfinite(self.cfg) or self.cfg < 0):
            raise LintInputError(f"cfg must be a finite number >= 0, got {self.cfg!r}")
        for name, value in (("steps", self.steps), ("width", self.width), ("height", self.height)):
            if value is not None and not 1 <= value <= 1_000_000:
                raise LintInputError(f"{name} must be between 1 and 1000000, got {value}")
        for name, strength in self.loras:
            if not name.strip() or not math.isfinite(strength):
                raise LintInputError(
                    f"loras must be (name, strength) pairs with a non-empty name and a finite strength, "
                    f"got {self.loras!r}"
                )

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> LintSettings:
        """Settings from a JSON-like mapping (`{"cfg": 4.5, "width": 1024, "variant": "turbo"}`).

        Integral floats such as `1024.0` are accepted for whole-number fields; `None` means unknown.
        `loras` is a list of `"NAME_OR_PATH[:STRENGTH]"` strings (as `anima generate --lora` takes them)
        or of `{"name": ..., "strength": ...}` objects. A `model` that names a variant
        (`anima-turbo.safetensors`) sets the variant when `variant` is absent.

        Raises:
            LintInputError: an unknown key (see `SETTING_KEYS`) or a value of the wrong type.
        """
        unknown = sorted(set(values) - SETTING_KEYS)
        if unknown:
            raise LintInputError(
                f"unknown setting {unknown[0]!r}; expected one of {', '.join(sorted(SETTING_KEYS))}"
            )
        texts = {name: _text(values, name) for name in ("sampler", "scheduler", "variant", "model")}
        variant, model, loras = texts["variant"], texts["model"], values.get("loras")
        return cls(
            cfg=_number(values.get("cfg")),
            steps=_whole(values, "steps"),
            width=_whole(values, "width"),
            height=_whole(values, "height"),
            sampler=texts["sampler"],
            scheduler=texts["scheduler"],
            variant=Variant.parse(variant) if variant is not None else _named_variant(model),
            model=model,
            loras=() if loras is None else _lora_list(loras),
        )

    @property
    def negative_used(self) -> bool:
        """Whether the negative prompt can change the image: not at CFG 1, where guidance
        `neg + cfg * (pos - neg)` is the positive prediction alone and samplers skip the negative pass, unless
        the sampler is a CFG++ one (`euler_cfg_pp`), which uses the negative prediction in every step."""
        return self.cfg != 1 or (self.sampler is not None and is_cfg_pp(self.sampler))

    @property
    def is_empty(self) -> bool:
        """Whether no setting is known."""
        return not self.loras and all(
            getattr(self, name) is None for name in self.__slots__ if name != "loras"
        )


def _text(values: Mapping[str, object], name: str) -> str | None:
    value = values.get(name)
    if value is not None and not isinstance(value, str):
        raise LintInputError(f"{name} must be a string, got {value!r}")
    return value


def _named_variant(model: str | None) -> Variant | None:
    """The variant a checkpoint name names, or None (also for a name of another model)."""
    if model is None:
        return None
    try:
        return Variant.parse(model)
    except LintInputError:
        return None


def _number(value: object) -> float | None:
    """`cfg`: a number (not a boolean), or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LintInputError(f"cfg must be a number, got {value!r}")
    return float(value)


def _whole(values: Mapping[str, object], name: str) -> int | None:
    """`steps`, `width` or `height`: a whole number (`1024.0` too), or None."""
    value = values.get(name)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise LintInputError(f"{name} must be a whole number, got {value!r}")


def _lora_list(value: object) -> tuple[tuple[str, float], ...]:
    """`loras` from JSON: `"name[:strength]"` strings or `{"name": ..., "strength": ...}` objects."""
    from anima_prompt.loras import LoraReferenceError, parse_lora_option

    entries = items(value)
    if entries is None:
        raise LintInputError(f"loras must be a list, got {value!r}")
    pairs: list[tuple[str, float]] = []
    for entry in entries:
        fields = table(entry)
        if isinstance(entry, str):
            try:
                name, strength = parse_lora_option(entry)
            except LoraReferenceError:
                problem = "has a strength that is not a number" if entry.strip() else "names no LoRA"
                raise LintInputError(f"loras: {entry!r} {problem}") from None
        elif fields is not None and set(fields) <= {"name", "strength"} and "name" in fields:
            name, strength = fields["name"], fields.get("strength", 1.0)
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
