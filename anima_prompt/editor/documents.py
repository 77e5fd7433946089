"""Prompt documents: where the prompts of a file are, and how an offset in a prompt maps to the file.

Four kinds of file hold prompts (`document_kind` decides from the path):

- `prompt`: a `.prompt` file is one prompt (line breaks included);
- `caption`: a `.txt` file is one prompt, the caption of the image beside it;
- `wildcards`: a `.txt` file in a folder named `wildcards` (at any depth; the folder of Dynamic Prompts and
  of ComfyUI's wildcard nodes), or matching a `wildcards` pattern of the configuration, holds one prompt
  per line; blank lines and lines starting with `#` (comments) are skipped;
- `jsonl`: a `.jsonl` file holds one record per line, as `anima lint --file` reads it; the record's
  `prompt` and `negative` strings are separate regions, linted together with its `settings`.

As `anima lint` reads files, a final line break is not part of a whole-file prompt, and `\\r\\n` counts as
one line break. In JSONL every character of a decoded string maps back to its escape sequence in the file
(`\\n`, `\\"`, `\\u00e9`, a surrogate pair), and replacement text is escaped on the way back.
"""

import enum
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import PurePath
from typing import cast

from anima_prompt.editor.results import Edit

WILDCARD_FOLDER = "wildcards"
_LINE = re.compile(r"[^\r\n]*(\r\n|\r|\n|$)")
_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_DECODER = json.JSONDecoder()
_SPACE = " \t\n\r"


def json_escape(text: str) -> str:
    """`text` as the inside of a JSON string (non-ASCII characters kept as they are)."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


class DocumentKind(enum.StrEnum):
    """How a file holds prompts (see the module docstring)."""

    PROMPT = "prompt"
    CAPTION = "caption"
    WILDCARDS = "wildcards"
    JSONL = "jsonl"


def is_wildcard_file(path: PurePath, patterns: tuple[str, ...] = ()) -> bool:
    """Whether the `.txt` file `path` holds one prompt per line: it sits in a `wildcards` folder (at any
    depth, any case) or matches one of `patterns` (`fnmatch` globs against the whole path)."""
    if any(part.lower() == WILDCARD_FOLDER for part in path.parent.parts):
        return True
    return any(fnmatch(str(path), pattern) for pattern in patterns)


def document_kind(path: PurePath, *, wildcards: tuple[str, ...] = ()) -> DocumentKind:
    """The kind of prompt file `path` is; any other suffix is read as one prompt, like `.prompt`.

    Args:
        path: the file's path.
        wildcards: glob patterns of further wildcard files (the configuration's `wildcards`).
    """
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return DocumentKind.JSONL
    if suffix == ".txt":
        return DocumentKind.WILDCARDS if is_wildcard_file(path, wildcards) else DocumentKind.CAPTION
    return DocumentKind.PROMPT


@dataclass(frozen=True, slots=True)
class Region:
    """A prompt as the services see it (`text`), and where each of its characters is in the document.

    Attributes:
        text: the prompt: decoded for JSON strings, with `\\n` for every line break.
        start: the document offset of `text[0]`.
        offsets: the document offset of each character of `text` and, last, of its end; empty when the
            text is a plain copy of the document from `start` on.
        escaped: whether the region is a JSON string, so replacement text must be escaped.
    """

    text: str
    start: int
    offsets: tuple[int, ...] = ()
    escaped: bool = False

    @property
    def end(self) -> int:
        """The document offset just after the region's text."""
        return self.offsets[-1] if self.offsets else self.start + len(self.text)

    def to_document(self, offset: int) -> int:
        """The document offset of the prompt offset `offset`."""
        return self.offsets[offset] if self.offsets else self.start + offset

    def to_text(self, offset: int) -> int | None:
        """The prompt offset of the document offset `offset`, or None outside the region (its end
        included); inside an escape sequence it is the escaped character's offset."""
        if not self.start <= offset <= self.end:
            return None
        if not self.offsets:
            return offset - self.start
        low, high = 0, len(self.offsets) - 1
        while low < high:  # the last character starting at or before `offset`
            middle = (low + high + 1) // 2
            if self.offsets[middle] <= offset:
                low = middle
            else:
                high = middle - 1
        return low

    def edit(self, edit: Edit) -> Edit:
        """A prompt edit as an edit of the document."""
        text = json_escape(edit.text) if self.escaped else edit.text
        return Edit(self.to_document(edit.start), self.to_document(edit.end), text)

    def replace(self, new_text: str) -> Edit | None:
        """The document edit that turns the region's text into `new_text` (the changed middle only), or
        None when it is the same."""
        old = self.text
        if old == new_text:
            return None
        prefix = 0
        limit = min(len(old), len(new_text))
        while prefix < limit and old[prefix] == new_text[prefix]:
            prefix += 1
        suffix = 0
        while suffix < limit - prefix and old[len(old) - 1 - suffix] == new_text[len(new_text) - 1 - suffix]:
            suffix += 1
        return self.edit(Edit(prefix, len(old) - suffix, new_text[prefix : len(new_text) - suffix]))


@dataclass(frozen=True, slots=True)
class Entry:
    """One prompt to lint: a whole file, a line, or a JSONL record.

    Attributes:
        prompt: the prompt's region.
        negative: the negative prompt's region (JSONL records only).
        settings: the record's generation settings, as written (JSONL records only).
        settings_span: the document span of the `settings` value, or of the record when it has none.
    """

    prompt: Region
    negative: Region | None = None
    settings: Mapping[str, object] | None = None
    settings_span: tuple[int, int] = (0, 0)

    def regions(self) -> tuple[tuple[str, Region], ...]:
        """The regions by target name (`prompt`, `negative`)."""
        found = [("prompt", self.prompt)]
        if self.negative is not None:
            found.append(("negative", self.negative))
        return tuple(found)


@dataclass(frozen=True, slots=True)
class DocumentError:
    """A part of the document that holds no readable prompt (a malformed JSONL line)."""

    start: int
    end: int
    message: str


@dataclass(frozen=True, slots=True)
class Document:
    """A prompt file split into entries.

    Example:
        >>> document = Document.parse('{"prompt": "1girl,\\\\nsmile"}', DocumentKind.JSONL)
        >>> region = document.entries[0].prompt
        >>> region.text, region.to_document(6), region.to_document(7)
        ('1girl,\\nsmile', 18, 20)
    """

    text: str
    kind: DocumentKind
    entries: tuple[Entry, ...]
    errors: tuple[DocumentError, ...] = ()

    @classmethod
    def parse(cls, text: str, kind: DocumentKind) -> "Document":
        """Split `text` into the entries of a document of `kind`."""
        if kind is DocumentKind.JSONL:
            entries: list[Entry] = []
            errors: list[DocumentError] = []
            for start, line in _lines(text):
                if line.strip():
                    _record(line, start, entries, errors)
            return cls(text, kind, tuple(entries), tuple(errors))
        if kind is DocumentKind.WILDCARDS:
            regions = (
                Region(line, start)
                for start, line in _lines(text)
                if line.strip() and not line.lstrip().startswith("#")
            )
            return cls(text, kind, tuple(Entry(region) for region in regions))
        return cls(text, kind, (Entry(_whole(text)),))

    def entry_at(self, offset: int) -> tuple[Entry, str, Region] | None:
        """The entry, target name and region holding document offset `offset`, if any."""
        for entry in self.entries:
            for target, region in entry.regions():
                if region.start <= offset <= region.end:
                    return entry, target, region
        return None


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """Each line's start offset and content, without its line break."""
    for match in _LINE.finditer(text):
        if match.start() == len(text) and match.start() > 0:
            break
        yield match.start(), match.group(0).rstrip("\r\n")


def _whole(text: str) -> Region:
    """The whole text as one prompt: `\\r\\n` and `\\r` read as `\\n`, the final line break left out."""
    if "\r" not in text:
        return Region(text.removesuffix("\n"), 0)
    chars: list[str] = []
    offsets: list[int] = []
    index = 0
    while index < len(text):
        offsets.append(index)
        if text.startswith("\r\n", index):
            chars.append("\n")
            index += 2
        else:
            chars.append("\n" if text[index] == "\r" else text[index])
            index += 1
    offsets.append(len(text))
    if chars and chars[-1] == "\n":
        chars.pop()
        offsets.pop()
    return Region("".join(chars), 0, tuple(offsets))


def _record(line: str, start: int, entries: list[Entry], errors: list[DocumentError]) -> None:
    """Read one JSONL line into `entries`, or its problem into `errors` (the messages of `anima lint`)."""
    where = (start, start + len(line))
    try:
        values, spans = _scan_object(line)
    except json.JSONDecodeError as error:
        errors.append(DocumentError(*where, f"invalid JSON: {error.msg} (column {error.colno})"))
        return
    except ValueError:
        errors.append(DocumentError(*where, "expected a JSON object with a 'prompt' field"))
        return
    prompt, negative, settings = values.get("prompt"), values.get("negative"), values.get("settings")
    problem = None
    if not isinstance(prompt, str):
        problem = "'prompt' must be a string"
    elif negative is not None and not isinstance(negative, str):
        problem = "'negative' must be a string"
    elif settings is not None and not isinstance(settings, dict):
        problem = "'settings' must be an object"
    if problem is not None:
        errors.append(DocumentError(*where, problem))
        return
    settings_span = spans.get("settings", (0, len(line)))
    entries.append(
        Entry(
            _string_region(line, start, spans["prompt"]),
            _string_region(line, start, spans["negative"]) if negative is not None else None,
            cast("dict[str, object]", settings) if isinstance(settings, dict) and settings else None,
            (start + settings_span[0], start + settings_span[1]),
        )
    )


def _skip_space(line: str, index: int) -> int:
    while index < len(line) and line[index] in _SPACE:
        index += 1
    return index


def _scan_object(line: str) -> tuple[dict[str, object], dict[str, tuple[int, int]]]:
    """The top-level values of a JSON object line and the span of each (a later duplicate key wins, as in
    `json.loads`).

    Raises:
        json.JSONDecodeError: the line is not valid JSON.
        ValueError: the line is valid JSON but not an object.
    """
    parsed = json.loads(line)  # the same errors and messages as `anima lint`
    if not isinstance(parsed, dict):
        raise ValueError("not an object")
    values: dict[str, object] = {}
    spans: dict[str, tuple[int, int]] = {}
    index = _skip_space(line, 0) + 1  # after `{`
    while True:
        index = _skip_space(line, index)
        if line[index] == "}":
            return values, spans
        key, index = cast("tuple[str, int]", json.decoder.scanstring(line, index + 1))  # type: ignore[attr-defined]
        index = _skip_space(line, _skip_space(line, index) + 1)  # after `:`
        value, end = _DECODER.raw_decode(line, index)
        values[key], spans[key] = value, (index, end)
        index = _skip_space(line, end)
        if line[index] == ",":
            index += 1


def _string_region(line: str, line_start: int, span: tuple[int, int]) -> Region:
    """The decoded JSON string `line[span[0]:span[1]]` (quotes included), each character mapped to its
    escape sequence."""
    quote, end = span
    raw = line[quote + 1 : end - 1]
    if "\\" not in raw:
        return Region(raw, line_start + quote + 1, escaped=True)
    chars: list[str] = []
    offsets: list[int] = []
    index = quote + 1
    while line[index] != '"':
        offsets.append(line_start + index)
        if line[index] != "\\":
            chars.append(line[index])
            index += 1
            continue
        code = line[index + 1]
        if code != "u":
            chars.append(_SIMPLE_ESCAPES[code])
            index += 2
            continue
        point = int(line[index + 2 : index + 6], 16)
        index += 6
        if 0xD800 <= point <= 0xDBFF and line.startswith("\\u", index):
            low = int(line[index + 2 : index + 6], 16)
            if 0xDC00 <= low <= 0xDFFF:
                point = 0x10000 + ((point - 0xD800) << 10) + (low - 0xDC00)
                index += 6
        chars.append(chr(point))
    offsets.append(line_start + index)
    return Region("".join(chars), line_start + quote + 1, tuple(offsets), escaped=True)
