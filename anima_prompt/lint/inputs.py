"""Reading prompts from files and standard input, the same way for every command.

Text (a file or standard input) holds one prompt per line, blank lines skipped; with `whole` it is one prompt
(multi-line and multi-paragraph prompts), its final line break not part of it. A `.jsonl` file holds one
JSON record per line (`prompt`, optional `negative` and `settings`). Every problem with a file (missing, a
folder, binary, not UTF-8, too large, a malformed JSONL record) raises `LintInputError` with a one-line
message that names the file and the line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from anima_prompt.errors import LintInputError
from anima_prompt.lint.settings import SETTING_KEYS, LintSettings
from anima_prompt.shapes import table

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_PROMPT_CHARS = 100_000
#: Keys of a JSONL record the linter reads; `loras` and `model` may also be given in `settings`.
RECORD_KEYS = frozenset({"prompt", "negative", "settings", "loras", "model"})
#: Keys of `anima generate` prompt files that say nothing to the linter; skipped without a note.
GENERATION_ONLY = frozenset({"seed", "out"})
GENERATION_ONLY_SETTINGS = frozenset({"batch", "noise", "strength", "denoise"})
ARGUMENT = "<prompt>"
"""The source name of a prompt given on the command line."""
STDIN = "<stdin>"
"""The source (and path) name of prompts read from standard input."""


@dataclass(frozen=True, slots=True)
class PromptRecord:
    """One prompt to lint and where it came from.

    Attributes:
        source: `path`, `path:line`, `<stdin>:line` or `<prompt>`, used in output.
        prompt: the positive prompt.
        negative: the negative prompt, if any.
        settings: generation settings, if any.
        path: the file the prompt was read from (`<stdin>` for standard input), if any.
        line_offset: the line of `path` on which the prompt starts, minus one.
        in_file_positions: whether line and column inside the prompt are also positions in `path` (false for
            JSONL records, whose prompt is a JSON string).
        ignored: keys of a JSONL record the linter does not know and skipped (`id`, `settings.seed`).
    """

    source: str
    prompt: str
    negative: str | None = None
    settings: LintSettings | None = None
    path: str | None = None
    line_offset: int = 0
    in_file_positions: bool = True
    ignored: tuple[str, ...] = ()


def decode(data: bytes, source: str) -> str:
    """`data` as text: UTF-8 (a BOM is dropped) with universal newlines.

    Raises:
        LintInputError: the data is binary or not UTF-8.
    """
    if b"\x00" in data:
        raise LintInputError(f"{source}: binary file, not prompt text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise LintInputError(
            f"{source}: not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start}); "
            "save the file as UTF-8"
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def check_prompt_size(text: str, source: str) -> None:
    """Raise `LintInputError` if `text` is longer than any prompt worth linting."""
    if len(text) > MAX_PROMPT_CHARS:
        raise LintInputError(
            f"{source}: prompt has {len(text):,} characters, "
            f"more than the {MAX_PROMPT_CHARS:,} the linter reads"
        )


def read_file(path: Path, *, whole: bool = False) -> Iterator[PromptRecord]:
    """The prompts in `path`: JSONL records for `.jsonl`, else one per non-empty line, or one if `whole`.

    JSONL records are objects with `prompt` (string), optional `negative` (string), optional `settings`
    (object with `cfg`, `steps`, `width`, `height`, `sampler`, `scheduler`, `variant`, `model`, `loras`)
    and optional `loras` and `model` (as in `settings`). Other keys are skipped and listed in the record's
    `ignored` (`ignored_note` words them); the keys of `anima generate` prompt files that do not concern the
    linter (`seed`, `out`, `batch`, ...) are skipped silently.

    Raises:
        LintInputError: the file cannot be read or a record is malformed.
    """
    source = str(path)
    try:
        if path.is_dir():
            raise LintInputError(f"{source}: is a folder, not a prompt file")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise LintInputError(
                f"{source}: file is {size / 2**20:.0f} MiB, more than the 64 MiB the linter reads"
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise LintInputError(f"{source}: no such file") from None
    except PermissionError:
        raise LintInputError(f"{source}: permission denied") from None
    except OSError as error:
        raise LintInputError(f"{source}: cannot read: {error.strerror}") from None
    text = decode(data, source)
    if path.suffix.lower() == ".jsonl":
        yield from _jsonl(text, source)
    else:
        yield from read_text(text, source, whole=whole)


def read_text(text: str, source: str, *, whole: bool = False) -> Iterator[PromptRecord]:
    """The prompts of `text` (decoded, `\n` line breaks) read from `source`: one per non-empty line, or
    the whole text as one prompt (without its final line break) if `whole`.

    Raises:
        LintInputError: a prompt is longer than `MAX_PROMPT_CHARS`.
    """
    if whole:
        check_prompt_size(text, source)
        yield PromptRecord(source, text.removesuffix("\n"), path=source)
        return
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            check_prompt_size(line, f"{source}:{number}")
            yield PromptRecord(f"{source}:{number}", line, path=source, line_offset=number - 1)


def _jsonl(text: str, source: str) -> Iterator[PromptRecord]:
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            record = table(json.loads(line))
        except json.JSONDecodeError as error:
            raise LintInputError(f"{where}: invalid JSON: {error.msg} (column {error.colno})") from None
        if record is None:
            raise LintInputError(f"{where}: expected a JSON object with a 'prompt' field")
        prompt, negative = record.get("prompt"), record.get("negative")
        if not isinstance(prompt, str):
            raise LintInputError(f"{where}: 'prompt' must be a string")
        if negative is not None and not isinstance(negative, str):
            raise LintInputError(f"{where}: 'negative' must be a string")
        check_prompt_size(prompt, where)
        check_prompt_size(negative or "", where)
        try:
            settings, ignored = _record_settings(record)
        except LintInputError as error:
            raise LintInputError(f"{where}: {error}") from None
        yield PromptRecord(
            where,
            prompt,
            negative,
            settings,
            path=source,
            line_offset=number - 1,
            in_file_positions=False,
            ignored=ignored,
        )


def known_settings(values: Mapping[str, object]) -> dict[str, object]:
    """The keys of a record's `settings` that `LintSettings` reads; the others (`batch`, `seed`, a typo)
    are skipped, as `anima lint --file` skips them."""
    return {key: value for key, value in values.items() if key in SETTING_KEYS}


def _record_settings(record: dict[str, object]) -> tuple[LintSettings | None, tuple[str, ...]]:
    """The settings of a JSONL record (its `settings` with its own `loras` and `model`) and the keys skipped.

    Raises:
        LintInputError: `settings` is not an object, a key is given twice or a value is malformed.
    """
    raw = record.get("settings")
    nested = table(raw)
    if raw is not None and nested is None:
        raise LintInputError("'settings' must be an object")
    values = known_settings(nested or {})
    for key in ("loras", "model"):
        if key in record:
            if key in values:
                raise LintInputError(f"'{key}' is given twice (in the record and in its settings)")
            values[key] = record[key]
    ignored = tuple(
        [key for key in record if key not in RECORD_KEYS | GENERATION_ONLY]
        + [f"settings.{key}" for key in nested or {} if key not in SETTING_KEYS | GENERATION_ONLY_SETTINGS]
    )
    return (LintSettings.from_mapping(values) if values else None), ignored


def ignored_note(records: Iterable[PromptRecord]) -> list[str]:
    """One note per file naming the JSONL keys that were skipped, e.g.
    `prompts.jsonl: ignored keys id, kind (in 232 records)`; none when nothing was skipped."""
    keys: dict[str, dict[str, None]] = {}
    counts: dict[str, int] = {}
    for record in records:
        if record.ignored:
            name = record.path or record.source
            keys.setdefault(name, {}).update(dict.fromkeys(record.ignored))
            counts[name] = counts.get(name, 0) + 1
    notes: list[str] = []
    for name, found in keys.items():
        records_text = f"{counts[name]} record" + ("s" if counts[name] != 1 else "")
        notes.append(f"{name}: ignored keys {', '.join(found)} (in {records_text})")
    return notes
