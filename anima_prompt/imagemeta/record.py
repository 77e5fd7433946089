"""This toolkit's own `anima` record (the JSON `GenerationRecord` the engine writes), read without torch."""

import json
from typing import Any

from anima_prompt.errors import ImageMetadataError
from anima_prompt.imagemeta.settings import ImageSettings, LoraSetting

RECORD_NOISE_DEFAULT = "anima"
"""Records written before the noise convention was recorded were all made with the anima convention."""

_FIELDS: dict[str, type | tuple[type, ...]] = {
    "prompt": str, "negative": str, "seed": int, "steps": int, "cfg": (int, float), "sampler": str,
    "scheduler": str, "width": int, "height": int, "batch": int, "batch_index": int,
    "denoise": (int, float), "strength": (int, float), "noise": str,
}  # fmt: skip


def _files(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    files = data.get(key, [])
    if not isinstance(files, list) or not all(
        isinstance(f, dict) and isinstance(f.get("name"), str) for f in files
    ):
        raise ImageMetadataError(f"the 'anima' record's {key!r} is not a list of files with names")
    return files


def settings_from_record(text: str) -> ImageSettings:
    """Read the `anima` text chunk.

    Raises:
        ImageMetadataError: the record is not JSON, or a field has the wrong type (named in the message).
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ImageMetadataError(f"the 'anima' record is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise ImageMetadataError("the 'anima' record is not a JSON object")
    values: dict[str, Any] = {}
    for key, kind in _FIELDS.items():
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, kind):
            raise ImageMetadataError(f"the 'anima' record's {key!r} has the wrong type: {value!r}")
        values[key] = float(value) if key in ("cfg", "denoise", "strength") else value
    values.setdefault("noise", RECORD_NOISE_DEFAULT)
    dit = next((f["name"] for f in _files(data, "models") if f.get("role") == "dit"), None)
    loras = tuple(LoraSetting(f["name"], float(f.get("weight") or 1.0)) for f in _files(data, "loras"))
    return ImageSettings(source="anima", model=dit, loras=loras, **values)
