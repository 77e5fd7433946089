"""Which metadata an image carries, and the settings read from it."""

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from anima_prompt.errors import ImageMetadataError
from anima_prompt.imagemeta.a1111 import settings_from_parameters
from anima_prompt.imagemeta.comfy import parse_prompt, parse_workflow, settings_from_graph
from anima_prompt.imagemeta.png import read_png_text
from anima_prompt.imagemeta.record import settings_from_record
from anima_prompt.imagemeta.settings import ImageSettings

SOURCES = ("anima", "prompt", "workflow", "parameters")
"""The text chunks read, in order of preference: the first one present is used."""


def _json(text: str, key: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ImageMetadataError(f"the {key!r} text is not JSON: {error}") from None


def settings_from_texts(texts: Mapping[str, str]) -> ImageSettings:
    """The settings in a PNG's text chunks: this toolkit's record, a ComfyUI prompt or workflow, or A1111's.

    Raises:
        ImageMetadataError: none of `SOURCES` is present, or the one used is malformed.
    """
    if "anima" in texts:
        return settings_from_record(texts["anima"])
    if "prompt" in texts:
        return settings_from_graph(parse_prompt(_json(texts["prompt"], "prompt")), source="comfyui-prompt")
    if "workflow" in texts:
        graph, skipped = parse_workflow(_json(texts["workflow"], "workflow"))
        settings = settings_from_graph(graph, source="comfyui-workflow")
        return settings if not skipped else _with_unmapped(settings, skipped)
    if "parameters" in texts:
        return settings_from_parameters(texts["parameters"])
    found = ", ".join(sorted(texts)) or "none"
    raise ImageMetadataError(
        f"no generation settings: expected a text chunk {', '.join(map(repr, SOURCES))} (found: {found})"
    )


def _with_unmapped(settings: ImageSettings, extra: tuple[str, ...]) -> ImageSettings:
    return replace(settings, unmapped=(*extra, *settings.unmapped))


def settings_from_png(path: str | Path) -> ImageSettings:
    """Read the generation settings stored in a PNG file (see `settings_from_texts`).

    Raises:
        ImageMetadataError: the file is unreadable or not a PNG (message starts with the path), or it
            carries no settings this toolkit can read.
    """
    texts = read_png_text(path)
    try:
        return settings_from_texts(texts)
    except ImageMetadataError as error:
        raise ImageMetadataError(f"{path}: {error}") from None
