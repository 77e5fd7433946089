"""A1111 / Forge `parameters` text: prompt lines, `Negative prompt:` lines, then `Key: value, …` settings.

>>> s = settings_from_parameters("1girl <lora:style:0.7>\\nNegative prompt: lowres\\n"
...     "Steps: 30, Sampler: DPM++ 2M Karras, CFG scale: 4.5, Seed: 7, Size: 896x1152")
>>> s.prompt, s.negative, s.sampler, s.scheduler, s.width, s.loras[0].strength
('1girl', 'lowres', 'dpmpp_2m', 'karras', 896, 0.7)
"""

import json
import re
from collections.abc import Callable
from typing import Any

from anima_prompt.imagemeta.settings import ImageSettings, LoraSetting
from anima_prompt.loras import LoraReferenceError, lora_tags, without_loras
from anima_prompt.sampler_names import scheduler_name, split_legacy_sampler

NEGATIVE_PREFIX = "Negative prompt:"
SETTING = re.compile(r'\s*([\w][\w \-/+]*):\s*("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)')
"""One `Key: value` pair; a value with commas or colons is a JSON string (A1111's `quote`)."""
SIZE = re.compile(r"^\s*(\d+)\s*x\s*(\d+)\s*$")

# Keys that only describe the file or the software, so they are neither mapped nor reported.
IGNORED = frozenset(
    {"model hash", "version", "lora hashes", "ti hashes", "vae hash", "hashes", "emphasis",
     "schedule max sigma", "schedule min sigma", "schedule rho", "pad conds"}
)  # fmt: skip


def _settings_line(lines: list[str]) -> tuple[list[str], str]:
    # The settings are on the last line that holds `Steps:` (A1111 puts them last).
    for index in range(len(lines) - 1, -1, -1):
        if re.match(r"\s*Steps:\s*\d", lines[index]):
            return lines[:index], lines[index]
    return lines, ""


def _split_texts(lines: list[str]) -> tuple[str, str]:
    prompt: list[str] = []
    negative: list[str] | None = None
    for line in lines:
        if negative is None and line.startswith(NEGATIVE_PREFIX):
            negative = [line[len(NEGATIVE_PREFIX) :].strip()]
        elif negative is None:
            prompt.append(line)
        else:
            negative.append(line)
    return "\n".join(prompt).strip(), "\n".join(negative or []).strip()


def parse_settings_line(line: str) -> dict[str, str]:
    """`Steps: 30, Sampler: Euler a, …` as an ordered dict of key → value (quoted values unquoted)."""
    found: dict[str, str] = {}
    for match in SETTING.finditer(line):
        key, value = match.group(1).strip(), match.group(2).strip()
        if value.startswith('"'):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                value = value.strip('"')
        if key:
            found[key] = value
    return found


def _number(convert: Callable[[str], float | int], value: str) -> float | int | None:
    try:
        return convert(value)
    except ValueError:
        return None


def settings_from_parameters(text: str) -> ImageSettings:
    """Read an A1111/Forge `parameters` text; unknown keys and unknown sampler labels go to `unmapped`."""
    lines = text.replace("\r\n", "\n").split("\n")
    text_lines, settings_line = _settings_line(lines)
    prompt, negative = _split_texts(text_lines)
    values: dict[str, Any] = {}  # ImageSettings' keyword arguments, each of its own type
    unmapped: list[str] = []
    from anima_prompt.parser import parse
    from anima_prompt.render import render

    try:
        tree = parse(prompt)
        loras = tuple(LoraSetting(tag.name, tag.strength) for tag in lora_tags(tree))
        prompt = render(without_loras(tree)).strip()
    except LoraReferenceError as error:
        loras = ()
        unmapped.append(str(error))
    fields = parse_settings_line(settings_line)
    for key, value in fields.items():
        folded = key.casefold()
        if folded == "steps":
            values["steps"] = _number(int, value)
        elif folded == "cfg scale":
            values["cfg"] = _number(float, value)
        elif folded == "seed":
            values["seed"] = _number(int, value)
        elif folded == "size" and (size := SIZE.match(value)):
            values["width"], values["height"] = int(size.group(1)), int(size.group(2))
        elif folded == "sampler":
            sampler, legacy_scheduler = split_legacy_sampler(value)
            if sampler is None:
                unmapped.append(f"sampler {value!r}")
            values["sampler"] = sampler
            values.setdefault("scheduler", legacy_scheduler)
        elif folded == "schedule type":
            values["scheduler"] = scheduler_name(value)
            if values["scheduler"] is None and value.casefold() != "automatic":
                unmapped.append(f"schedule type {value!r}")
        elif folded == "denoising strength":
            values["strength"] = _number(float, value)
        elif folded == "denoise":
            values["denoise"] = _number(float, value)
        elif folded == "model":
            values["model"] = value
        elif folded == "noise" and value in ("comfyui", "anima"):
            values["noise"] = value
        elif folded == "batch size":
            values["batch"] = _number(int, value)
        elif folded == "batch pos":
            values["batch_index"] = _number(int, value)
        elif folded not in IGNORED:
            unmapped.append(f"{key}: {value}")
    if values.get("strength") is not None and "hires upscale" in {k.casefold() for k in fields}:
        # txt2img with hires fix: the strength belongs to the second pass, which is not mapped.
        values["strength"] = None
    return ImageSettings(
        source="a1111",
        prompt=prompt or None,
        negative=negative or None,
        loras=loras,
        unmapped=tuple(unmapped),
        **values,
    )
