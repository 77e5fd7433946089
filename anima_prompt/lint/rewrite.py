"""Writing fixed prompts back into the file they were read from, keeping the file's structure.

Only the prompts that changed are replaced: a per-line file stays one prompt per line, a JSONL file keeps
its other fields and lines, and the byte-order mark, each line's ending (`\\n`, `\\r\\n`) and the final line
break are kept. The file is re-read first and must still hold the prompts that were linted; the new
content goes through `safewrite.replacing`, and is not renamed into place if the file changed meanwhile.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import cast

from anima_prompt.errors import LintInputError
from anima_prompt.lint.inputs import PromptRecord
from anima_prompt.safewrite import replacing

_BOM = "\ufeff".encode()
_LINE = re.compile(r"([^\r\n]*)(\r\n|\r|\n|$)")


def _split_lines(text: str) -> list[list[str]]:
    """`text` as [content, line ending] pairs; the same line numbering as `inputs.decode`."""
    pieces: list[list[str]] = []
    for match in _LINE.finditer(text):
        if match.start() == len(text) and not match.group(0) and pieces:
            break
        pieces.append([match.group(1), match.group(2)])
    return pieces


def _stamp(status: os.stat_result) -> tuple[int, int, int]:
    return status.st_ino, status.st_size, status.st_mtime_ns


def rewrite_file(path: Path, changes: Sequence[tuple[PromptRecord, str]], *, whole: bool = False) -> None:
    """Replace the prompts of `changes` (each record read from `path`, with its new text) in `path`.

    Args:
        path: the prompt file.
        changes: (record as read, new prompt) pairs; unchanged prompts may be left out.
        whole: the file was read as one prompt (`read_file(..., whole=True)`); ignored for `.jsonl`.

    Raises:
        LintInputError: the file vanished, is read-only or not a regular file, or no longer holds the prompts
            that were read (it changed while being fixed); nothing is written then.
        OSError: the new file cannot be written (full disk, read-only folder); the old one is kept.
    """
    source = str(path)
    try:
        status = os.stat(path)
        if not stat.S_ISREG(status.st_mode):
            raise LintInputError(f"{source}: not a regular file, so it is not rewritten; fix a copy instead")
        if not os.access(path, os.W_OK):
            raise LintInputError(f"{source}: the file is read-only; make it writable to fix it")
        data = path.read_bytes()
    except FileNotFoundError:
        raise LintInputError(f"{source}: vanished before it could be fixed; nothing was written") from None
    before = _stamp(status)
    bom = _BOM if data.startswith(_BOM) else b""
    try:
        text = data[len(bom) :].decode("utf-8")
    except UnicodeDecodeError:
        raise _changed(source) from None
    if whole and path.suffix.lower() != ".jsonl":
        updated = _rewrite_whole(source, text, changes)
    else:
        updated = _rewrite_lines(source, text, changes, jsonl=path.suffix.lower() == ".jsonl")
    with replacing(path) as temporary:
        temporary.write_bytes(bom + updated.encode("utf-8"))
        if _stamp(os.stat(path)) != before:
            raise _changed(source)


def _changed(where: str) -> LintInputError:
    return LintInputError(f"{where}: the file changed while being fixed; nothing was written, run again")


def _rewrite_whole(source: str, text: str, changes: Sequence[tuple[PromptRecord, str]]) -> str:
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    pieces = _split_lines(text)
    ending = next((end for _, end in pieces if end), "\n")
    final = pieces[-1][1] if pieces else ""
    result = normalised.removesuffix("\n")
    for record, new in changes:
        if record.prompt != result:
            raise _changed(source)
        result = new
    return result.replace("\n", ending) + final


def _rewrite_lines(
    source: str, text: str, changes: Sequence[tuple[PromptRecord, str]], *, jsonl: bool
) -> str:
    pieces = _split_lines(text)
    for record, new in changes:
        number = record.line_offset
        where = f"{source}:{number + 1}"
        if number >= len(pieces):
            raise _changed(where)
        content = pieces[number][0]
        if jsonl:
            try:
                value: object = json.loads(content)
            except json.JSONDecodeError:
                raise _changed(where) from None
            if not isinstance(value, dict) or cast("dict[str, object]", value).get("prompt") != record.prompt:
                raise _changed(where)
            value["prompt"] = new
            pieces[number][0] = json.dumps(value, ensure_ascii=False)
        else:
            if content != record.prompt:
                raise _changed(where)
            if "\n" in new or "\r" in new:
                raise LintInputError(
                    f"{where}: the fix would split the prompt over lines; nothing was written"
                )
            pieces[number][0] = new
    return "".join(content + ending for content, ending in pieces)
