"""This toolkit's own `anima` record (the JSON `GenerationRecord` the engine writes), read without torch."""

import json
from typing import Any

from anima_prompt.errors import ImageMetadataError
from anima_prompt.imagemeta.settings import ImageSettings, LoraSetting
from anima_prompt.shapes import items, table

RECORD_NOISE_DEFAULT = "anima"
"""Records written before the noise convention was recorded were all made with the anima convention."""

_FIELDS: dict[str, type | tuple[type, ...]] = {
    "prompt": str, "negative": str, "seed": int, "steps": int, "cfg": (int, float), "sampler": str,
    "scheduler": str, "width": int, "height": int, "batch": int, "batch_index": int,
    "denoise": (int, float), "strength": (int, float), "noise": str,
}  # fmt: skip


def _files(data: dict[str, object], key: str) -> list[tuple[str, dict[str, object]]]:
    """The record's `key` list of files as (name, fields) pairs."""
    listed = items(data.get(key, []))
    if listed is None:
        raise ImageMetadataError(f"the 'anima' record's {key!r} is not a list of files with names")
    files: list[tuple[str, dict[str, object]]] = []
    for entry in listed:
        fields = table(entry)
        name = fields.get("name") if fields is not None else None
        if fields is None or not isinstance(name, str):
            raise ImageMetadataError(f"the 'anima' record's {key!r} is not a list of files with names")
        files.append((name, fields))
    return files


def _weight(fields: dict[str, object]) -> float:
    weight = fields.get("weight")
    if weight is None:
        return 1.0
    if isinstance(weight, bool) or not isinstance(weight, int | float):
        raise ImageMetadataError(f"the 'anima' record has a LoRA weight that is not a number: {weight!r}")
    return float(weight) or 1.0


def settings_from_record(text: str) -> ImageSettings:
    """Read the `anima` text chunk.

    Raises:
        ImageMetadataError: the record is not JSON, or a field has the wrong type (named in the message).
    """
    try:
        data = table(json.loads(text))
    except json.JSONDecodeError as error:
        raise ImageMetadataError(f"the 'anima' record is not JSON: {error}") from None
    if data is None:
        raise ImageMetadataError("the 'anima' record is not a JSON object")
    values: dict[str, Any] = {}
    for key, kind in _FIELDS.items():
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, kind):
            raise ImageMetadataError(f"the 'anima' record's {key!r} has the wrong type: {value!r}")
        values[key] = float(value) if isinstance(value, int | float) and kind == (int, float) else value
    for key, written in (("encoded", "prompt"), ("encoded_negative", "negative")):
        encoded = data.get(key)  # format 2 keeps the prompt as written (LoRA tags in it) and as encoded
        if encoded is not None and not isinstance(encoded, str):
            raise ImageMetadataError(f"the 'anima' record's {key!r} has the wrong type: {encoded!r}")
        if encoded is not None:
            values[written] = encoded
    values.setdefault("noise", RECORD_NOISE_DEFAULT)
    dit = next((name for name, fields in _files(data, "models") if fields.get("role") == "dit"), None)
    loras = tuple(LoraSetting(name, _weight(fields)) for name, fields in _files(data, "loras"))
    return ImageSettings(source="anima", model=dit, loras=loras, **values)
