"""Prompt files for `anima generate --file`: records → requests, a pure step (no model, no output).

Formats:
- `.jsonl`: one JSON object per line with `prompt` (string, required) and optionally `negative` (string),
  `seed` (integer), `loras` (a list of `"NAME_OR_PATH[:STRENGTH]"` strings or `{"name", "strength"}`
  objects), `out` (the output file name, without folders) and `settings` (an object with `width`,
  `height`, `steps`, `cfg`, `sampler`, `scheduler`, `batch`, `strength`, `variant`, and `loras` as in
  `anima lint`'s records). Blank lines are skipped.
- any other file: one prompt per non-empty line.
- `-`: standard input, JSONL when its first non-blank character is `{`, else one prompt per line.

Every record becomes a request: the command line's settings, then the record's. A record that cannot
become one is an `Entry` with an `error` naming the problem; `location` (`file:line`) names the record.
"""

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from anima_engine.errors import AnimaEngineError, ConfigError
from anima_engine.request import GenerationRequest
from anima_prompt.errors import AnimaPromptError
from anima_prompt.loras import parse_lora_option

STDIN = "-"
SETTINGS = {
    "width": int,
    "height": int,
    "steps": int,
    "cfg": float,
    "sampler": str,
    "scheduler": str,
    "batch": int,
    "noise": str,
    "strength": float,
    "denoise": float,
    "variant": str,
}
RECORD_KEYS = ("prompt", "negative", "seed", "loras", "out", "settings")
OUT_NAME = re.compile(r"[^/\\\x00-\x1f]+")


@dataclass(frozen=True, slots=True)
class Entry:
    """One record of a prompt file.

    Attributes:
        location: `file:line` (`<stdin>:line` for standard input).
        request: the request, or None when the record is bad.
        out: the output file name the record asks for, without `.png`; None: derived from the request.
        error: what is wrong with the record (one line), or None.
    """

    location: str
    request: GenerationRequest | None
    out: str | None = None
    error: str | None = None


class PromptFileError(AnimaEngineError, ValueError):
    """The prompt file as a whole cannot be read (missing, a folder, binary, not UTF-8)."""


def read_text(source: str, stdin_text: str | None = None) -> tuple[str, str]:
    """`(name used in locations, text)` of a prompt file path, or of standard input for `-`.

    Raises:
        PromptFileError: the file cannot be read or is not UTF-8 text.
    """
    from anima_prompt.lint.inputs import decode

    if source == STDIN:
        return "<stdin>", (stdin_text or "").replace("\r\n", "\n").replace("\r", "\n")
    path = Path(source)
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise PromptFileError(f"{source}: is a folder, not a prompt file") from None
    except FileNotFoundError:
        raise PromptFileError(f"{source}: no such file") from None
    except OSError as error:
        raise PromptFileError(f"{source}: cannot read: {error.strerror}") from None
    try:
        return source, decode(data, source)
    except AnimaPromptError as error:
        raise PromptFileError(str(error)) from None


def read_whole(source: str, stdin_text: str | None = None) -> str:
    """A prompt file or standard input (`-`) as one prompt, without its final line breaks.

    Raises:
        PromptFileError: it cannot be read, is not UTF-8 text, or holds no prompt.
    """
    name, text = read_text(source, stdin_text)
    if not text.strip():
        raise PromptFileError(f"{name}: no prompt (the text is empty)")
    return text.rstrip("\n")


def read_entries(name: str, text: str, base: GenerationRequest, *, jsonl: bool | None = None) -> list[Entry]:
    """The records of a prompt file as requests: `base` with each record's fields.

    Args:
        name: how locations name the file.
        text: its content.
        base: the settings every record starts from (its `prompt` is replaced).
        jsonl: whether the records are JSON lines; None decides from the name (`.jsonl`) or, for
            standard input, from the first non-blank character.
    """
    if jsonl is None:
        jsonl = is_jsonl(name, text)
    return [read_entry(line, base, jsonl=jsonl) for line in record_lines(name, text)]


def is_jsonl(name: str, text: str) -> bool:
    """Whether a prompt file holds JSON lines: a `.jsonl` name, or standard input starting with `{`."""
    return name.lower().endswith(".jsonl") or (name == "<stdin>" and text.lstrip().startswith("{"))


@dataclass(frozen=True, slots=True)
class RecordLine:
    """One non-blank line of a prompt file and where it is (`file:line`)."""

    location: str
    text: str


def record_lines(name: str, text: str) -> list[RecordLine]:
    """The non-blank lines of a prompt file, each with its location."""
    return [
        RecordLine(f"{name}:{number}", line)
        for number, line in enumerate(text.split("\n"), start=1)
        if line.strip()
    ]


def read_entry(line: RecordLine, base: GenerationRequest, *, jsonl: bool) -> Entry:
    """One record as a request (`base` with the record's fields), or an `Entry` naming what is wrong."""
    try:
        if jsonl:
            request, out = _json_record(line.text, base)
        else:
            request, out = replace(base, prompt=line.text), None
    except (AnimaEngineError, AnimaPromptError) as error:
        return Entry(line.location, None, error=str(error))
    return Entry(line.location, request, out)


def _json_record(line: str, base: GenerationRequest) -> tuple[GenerationRequest, str | None]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise ConfigError(f"invalid JSON: {error.msg} (column {error.colno})") from None
    if not isinstance(record, dict):
        raise ConfigError("expected a JSON object with a 'prompt' field")
    unknown = sorted(set(record) - set(RECORD_KEYS))
    if unknown:
        raise ConfigError(f"unknown field {unknown[0]!r}; expected {', '.join(RECORD_KEYS)}")
    changes: dict[str, object] = {"prompt": _string(record, "prompt", required=True)}
    if "negative" in record:
        changes["negative"] = _string(record, "negative")
    if "seed" in record:
        changes["seed"] = _whole(record["seed"], "seed")
    settings = record.get("settings", {})
    if not isinstance(settings, dict):
        raise ConfigError("'settings' must be an object")
    changes |= _settings(settings)
    if "loras" in record and "loras" in settings:
        raise ConfigError("'loras' is given twice (in the record and in its settings)")
    loras = record.get("loras", settings.get("loras"))
    if loras is not None:
        changes["loras"] = (*base.loras, *_loras(loras))
    out = record.get("out")
    if out is not None and (not isinstance(out, str) or not OUT_NAME.fullmatch(out) or out in (".", "..")):
        raise ConfigError(f"'out' must be a file name without folders, got {out!r}")
    return replace(base, **changes), (out.removesuffix(".png") if out else None)  # type: ignore[arg-type]


def _string(record: Mapping[str, object], key: str, *, required: bool = False) -> str:
    value = record.get(key)
    if not isinstance(value, str) or (required and not value.strip()):
        raise ConfigError(f"'{key}' must be a {'non-empty ' if required else ''}string")
    return value


def _whole(value: object, key: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"'{key}' must be a whole number, got {value!r}")
    return value


def _settings(settings: Mapping[str, object]) -> dict[str, object]:
    known = sorted((*SETTINGS, "loras"))
    changes: dict[str, object] = {}
    for key, value in settings.items():
        if key == "loras" or value is None:
            continue
        kind = SETTINGS.get(key)
        if kind is None:
            raise ConfigError(f"unknown setting {key!r}; expected one of {', '.join(known)}")
        if kind is int:
            changes[key] = _whole(value, key)
        elif kind is float:
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ConfigError(f"'{key}' must be a number, got {value!r}")
            changes[key] = float(value)
        elif not isinstance(value, str):
            raise ConfigError(f"'{key}' must be a string, got {value!r}")
        else:
            changes[key] = value
    return changes


def _loras(value: object) -> tuple[tuple[str, float], ...]:
    if not isinstance(value, list):
        raise ConfigError("'loras' must be a list")
    pairs = []
    for item in value:
        if isinstance(item, str):
            pairs.append(parse_lora_option(item))
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            strength = item.get("strength", 1.0)
            if isinstance(strength, bool) or not isinstance(strength, int | float):
                raise ConfigError(f"LoRA {item['name']!r}: strength must be a number, got {strength!r}")
            pairs.append((item["name"], float(strength)))
        else:
            raise ConfigError(f"'loras' items must be strings or objects with a 'name', got {item!r}")
    return tuple(pairs)
