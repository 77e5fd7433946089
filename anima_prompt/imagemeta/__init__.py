"""Generation settings read back from images: this toolkit's PNGs, ComfyUI's and A1111/Forge's.

Torch-free: PNG text chunks are read with the standard library. `settings_from_png` is the entry point;
the format readers are public so other tools (the linter, `anima info`) can use them on their own.
"""

from anima_prompt.imagemeta.a1111 import parse_settings_line, settings_from_parameters
from anima_prompt.imagemeta.comfy import parse_prompt, parse_workflow, settings_from_graph
from anima_prompt.imagemeta.png import read_png_text
from anima_prompt.imagemeta.read import settings_from_png, settings_from_texts
from anima_prompt.imagemeta.record import settings_from_record
from anima_prompt.imagemeta.settings import ImageSettings, LoraSetting

__all__ = [
    "ImageSettings",
    "LoraSetting",
    "parse_prompt",
    "parse_settings_line",
    "parse_workflow",
    "read_png_text",
    "settings_from_graph",
    "settings_from_parameters",
    "settings_from_png",
    "settings_from_record",
    "settings_from_texts",
]
