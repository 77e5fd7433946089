"""Generation settings read from an image (`anima_prompt.imagemeta`) as this engine's options.

`reproduction` says which `SamplingOptions` fields, texts and LoRAs the image fixes, and lists, as notes,
what it cannot reproduce: the graph parts the reader could not map, and settings that name things the
engine does not load by name (the model file, ComfyUI's img2img input image). `request_from_png` applies
it to a `GenerationRequest` (`anima generate --from IMAGE`).
"""

from collections.abc import Collection
from dataclasses import dataclass, replace
from pathlib import Path

from anima_engine.request import GenerationRequest
from anima_prompt.imagemeta import ImageSettings, settings_from_png
from anima_prompt.loras import parse_lora_option

OPTION_FIELDS = (
    "width",
    "height",
    "steps",
    "cfg",
    "sampler",
    "scheduler",
    "seed",
    "batch",
    "noise",
    "denoise",
)
"""`SamplingOptions` fields that settings read from an image can fill (same names in `ImageSettings`)."""


@dataclass(frozen=True, slots=True)
class Reproduction:
    """What an image's settings fix for a new generation.

    Attributes:
        options: `SamplingOptions` field → value, for the fields the image gave.
        prompt, negative: the texts (None when the image had none).
        loras: `NAME:STRENGTH` values in the form of the `--lora` option.
        notes: what will not be reproduced, one phrase each.
    """

    options: dict[str, object]
    prompt: str | None
    negative: str | None
    loras: tuple[str, ...]
    notes: tuple[str, ...]


def reproduction(settings: ImageSettings, *, init_image: bool) -> Reproduction:
    """The engine's view of `settings`; see `Reproduction`.

    Without an init image (`init_image` False) an img2img `denoise` or `strength` is left out and noted.
    """
    options = {name: getattr(settings, name) for name in OPTION_FIELDS if getattr(settings, name) is not None}
    notes = list(settings.unmapped)
    for name in ("denoise", "strength"):
        value = getattr(settings, name)
        if value is not None and value < 1 and not init_image:
            options.pop(name, None)
            notes.append(f"img2img {name} {value:g} (give --init-image to apply it)")
        elif value is not None and value < 1:
            options[name] = value
    if settings.model is not None:
        notes.append(f"model file {settings.model!r} (the model found as usual is used)")
    if settings.init_image is not None and not init_image:
        notes.append(f"img2img input {settings.init_image!r} (give it with --init-image)")
    loras = tuple(f"{lora.name}:{lora.strength:g}" for lora in settings.loras)
    return Reproduction(options, settings.prompt, settings.negative, loras, tuple(notes))


@dataclass(frozen=True, slots=True)
class ImageRequest:
    """A request that reproduces an image, and what it cannot reproduce (`Reproduction.notes`)."""

    request: GenerationRequest
    notes: tuple[str, ...]


def request_from_png(
    path: Path, base: GenerationRequest | None = None, *, keep: Collection[str] = ()
) -> ImageRequest:
    """The request that makes the image at `path` again, from its metadata (ours, ComfyUI, A1111/Forge).

    Args:
        base: the request the image's settings are applied to (its LoRAs come after the image's);
            None: `GenerationRequest(prompt="")`. Its prompt is kept when the image has none.
        keep: fields of `base` the image must not change (options a user gave), e.g. `{"seed"}`.

    Raises:
        AnimaPromptError: the file is not a PNG, holds no generation settings, or a LoRA strength in
            them is not a number (`ImageMetadataError` and the LoRA option's error).
    """
    base = GenerationRequest(prompt="") if base is None else base
    found = reproduction(settings_from_png(path), init_image=base.init_image is not None)
    changes: dict[str, object] = {name: value for name, value in found.options.items() if name not in keep}
    for name in ("prompt", "negative"):
        value = getattr(found, name)
        if value is not None and name not in keep:
            changes[name] = value
    if "loras" not in keep:
        changes["loras"] = (*(parse_lora_option(value) for value in found.loras), *base.loras)
    return ImageRequest(replace(base, **changes), found.notes)  # type: ignore[arg-type]
