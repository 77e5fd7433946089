"""Readers for the tag lists the index is built from.

Formats:

- `danbooru-csv` / `e621-csv`: the tagcomplete-style CSV `name,category,post_count,"aliases"` (no header),
  with each site's own category numbering;
- `danbooru-aliases-json` / `danbooru-implications-json`: Danbooru's `/tag_aliases.json` and
  `/tag_implications.json` dumps (one JSON array, optionally gzipped); records repeated by id are dropped;
- `e621-aliases-csv` / `e621-implications-csv`: e621's `db_export` relation CSVs (header
  `id,antecedent_name,consequent_name,created_at,status`, optionally gzipped);
- `artist-list`: one `@name` per line with escaped brackets after a comment header, ordered by training
  frequency (the Anima Style Explorer artist index).

Every reader returns plain records; `load_source` adds what the index records about the file itself.
"""

import csv
import gzip
import io
import json
import logging
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from anima_prompt.errors import TagIndexError
from anima_prompt.hashing import file_sha256
from anima_prompt.index.records import Kind, Site, SourceInfo
from anima_prompt.shapes import items, table
from anima_prompt.tagtext import danbooru_name

DANBOORU_CATEGORIES: dict[int, str] = {
    0: "general",
    1: "artist",
    3: "copyright",
    4: "character",
    5: "meta",
    6: "deprecated",
}
E621_CATEGORIES: dict[int, str] = {
    0: "general",
    1: "artist",
    2: "contributor",
    3: "copyright",
    4: "character",
    5: "species",
    6: "invalid",
    7: "meta",
    8: "lore",
}
CATEGORY_NAMES: dict[str, dict[int, str]] = {"danbooru": DANBOORU_CATEGORIES, "e621": E621_CATEGORIES}

FORMATS: dict[str, tuple[Site, Kind]] = {
    "danbooru-csv": ("danbooru", "tags"),
    "e621-csv": ("e621", "tags"),
    "danbooru-aliases-json": ("danbooru", "aliases"),
    "danbooru-implications-json": ("danbooru", "implications"),
    "e621-aliases-csv": ("e621", "aliases"),
    "e621-implications-csv": ("e621", "implications"),
    "artist-list": ("danbooru", "artists"),
}

logger = logging.getLogger(__name__)

_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")
E621_ONLY_CATEGORIES = frozenset({2, 7, 8})
"""e621 categories Danbooru does not have (contributor, meta, lore): every real e621 list holds some."""
SITE_CHECK_ROWS = 1000
"""A list declared as e621 with this many rows and no e621-only category is probably Danbooru's."""
_E621_HEADER = ["id", "antecedent_name", "consequent_name", "created_at", "status"]
_COMMENT_PREFIXES = ("#", "//", ";")


@dataclass(frozen=True, slots=True)
class TagRow:
    """One row of a tag CSV: the site's name, category number, post count and alias names."""

    name: str
    category: int
    post_count: int
    aliases: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Relation:
    """An alias or implication: `antecedent` → `consequent`, with the site's status word."""

    antecedent: str
    consequent: str
    status: str


@dataclass(frozen=True, slots=True)
class ArtistEntry:
    """One line of an artist list: the Danbooru name and its 1-based rank in the file."""

    name: str
    rank: int


@dataclass(frozen=True, slots=True)
class LoadedSource:
    """An input file read into records of one kind (the other tuples are empty)."""

    info: SourceInfo
    tags: tuple[TagRow, ...] = ()
    relations: tuple[Relation, ...] = ()
    artists: tuple[ArtistEntry, ...] = ()


def _open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def _first_line(path: Path) -> str:
    try:
        with _open_text(path) as stream:
            return stream.readline(4096)
    except _READ_ERRORS as error:
        raise TagIndexError(f"{path}: {read_problem(error)}") from None


_READ_ERRORS = (OSError, EOFError, zlib.error, UnicodeDecodeError, csv.Error)


def read_problem(error: Exception) -> str:
    """What went wrong reading a source file, and what to do, for one of `_READ_ERRORS`."""
    if isinstance(error, EOFError):
        return "the compressed file is cut short; download it again"
    if isinstance(error, gzip.BadGzipFile | zlib.error):
        return f"not a valid gzip file ({error}); download it again"
    if isinstance(error, UnicodeDecodeError):
        return f"not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset {error.start})"
    if isinstance(error, csv.Error):
        return f"malformed CSV: {error}"
    if isinstance(error, OSError):
        return f"cannot read: {error.strerror or error}"
    return str(error)


def _complete_lines(path: Path, stream: Iterable[str]) -> Iterator[str]:
    """The lines of `stream`; the last must end with a line break, else the file was cut short."""
    number, last = 0, "\n"
    for line in stream:
        number, last = number + 1, line
        yield line
    if not last.endswith(("\n", "\r")):
        raise TagIndexError(
            f"{path}:{number}: the last line has no line break, so the file looks cut short; "
            "download it again (or end the file with a line break)"
        )


def detect_format(path: Path) -> str:
    """Guess the format of a tag source from its name and first line.

    Args:
        path: the file.

    Returns:
        One of `FORMATS`.

    Raises:
        TagIndexError: the format cannot be told; pass it explicitly.
    """
    name = path.name.lower()
    relation = "aliases" if "alias" in name else "implications" if "implication" in name else None
    first = _first_line(path).lstrip("\ufeff").strip()
    if first.startswith("["):
        if relation is None:
            raise TagIndexError(
                f"{path}: a JSON dump, but the name says neither aliases nor implications; use --format"
            )
        return f"danbooru-{relation}-json"
    if first.replace(" ", "").startswith("id,antecedent_name,consequent_name"):
        if relation is None:
            raise TagIndexError(
                f"{path}: a relation CSV, but the name says neither aliases nor implications; use --format"
            )
        return f"e621-{relation}-csv"
    if first.startswith("@") or first.startswith(_COMMENT_PREFIXES) or name.endswith(".txt"):
        return "artist-list"
    if name.endswith((".csv", ".csv.gz")):
        return "e621-csv" if "e621" in name or _has_e621_categories(path) else "danbooru-csv"
    raise TagIndexError(f"{path}: unknown tag source format; use --format ({', '.join(FORMATS)})")


def _has_e621_categories(path: Path) -> bool:
    with _open_text(path) as stream:
        for row in csv.reader(stream):
            if len(row) >= 2 and row[1].strip() in {"2", "7", "8"}:
                return True
    return False


def read_tag_csv(path: Path, site: Site) -> tuple[TagRow, ...]:
    """Read a tagcomplete-style CSV: `name,category,post_count,"alias1,alias2"` per row, no header.

    Args:
        path: the CSV (optionally `.gz`).
        site: `danbooru` or `e621`, which decides what the category numbers mean.

    Raises:
        TagIndexError: a row is malformed or has a category the site does not define; the message names
            the file and line.
    """
    categories = CATEGORY_NAMES[site]
    rows: list[TagRow] = []
    with _open_text(path) as stream:
        for line_number, row in enumerate(csv.reader(_complete_lines(path, stream), strict=True), start=1):
            if not row:
                continue
            if len(row) < 3:
                raise TagIndexError(f"{path}:{line_number}: expected name,category,post_count[,aliases]")
            name, category_text, count_text = row[0], row[1], row[2]
            if not name.strip():  # e621's list has a row without a name
                continue
            if not name.isprintable():
                raise TagIndexError(
                    f"{path}:{line_number}: {name!r} is not a tag name (control characters); "
                    "is this a tag list?"
                )
            try:
                category, post_count = int(category_text), int(count_text)
            except ValueError:
                raise TagIndexError(
                    f"{path}:{line_number}: category and post count must be integers, got "
                    f"{category_text!r} and {count_text!r}"
                ) from None
            if category not in categories:
                raise TagIndexError(f"{path}:{line_number}: category {category} is not a {site} category")
            aliases = (
                tuple(a for a in (part.strip() for part in row[3].split(",")) if a) if len(row) > 3 else ()
            )
            rows.append(TagRow(name.strip(), category, post_count, aliases))
    if site == "e621":
        _check_e621(path, rows)
    return tuple(rows)


def _check_e621(path: Path, rows: list[TagRow]) -> None:
    """Warn when a list read as e621 looks like Danbooru's (the category numbers mean different things)."""
    if "danbooru" in path.name.lower():
        logger.warning(
            "%s: read as e621-csv, but the name says danbooru; if so, use --format danbooru-csv", path
        )
    elif len(rows) >= SITE_CHECK_ROWS and not any(row.category in E621_ONLY_CATEGORIES for row in rows):
        logger.warning(
            "%s: read as e621-csv, but none of its %d rows has an e621-only category (2, 7, 8), so it looks "
            "like a Danbooru list; if so, use --format danbooru-csv",
            path,
            len(rows),
        )


def read_danbooru_relations(path: Path) -> tuple[Relation, ...]:
    """Read a Danbooru alias or implication JSON dump, dropping records repeated by `id`.

    Raises:
        TagIndexError: the file is not a JSON array of relation records.
    """
    try:
        with _open_text(path) as stream:
            records = items(json.load(stream))
    except (OSError, ValueError) as error:
        raise TagIndexError(f"{path}: not a readable JSON dump: {error}") from None
    if records is None:
        raise TagIndexError(f"{path}: expected a JSON array of alias or implication records")
    seen: set[int] = set()
    relations: list[Relation] = []
    for index, value in enumerate(records):
        record = table(value) or {}
        record_id, antecedent = record.get("id"), record.get("antecedent_name")
        consequent, status = record.get("consequent_name"), record.get("status")
        if not (
            isinstance(record_id, int)
            and isinstance(antecedent, str)
            and isinstance(consequent, str)
            and isinstance(status, str)
        ):
            raise TagIndexError(
                f"{path}: record {index} lacks id, antecedent_name, consequent_name or status"
            )
        if record_id not in seen:
            seen.add(record_id)
            relations.append(Relation(antecedent, consequent, status))
    return tuple(relations)


def read_e621_relations(path: Path) -> tuple[Relation, ...]:
    """Read an e621 `db_export` alias or implication CSV (header `id,antecedent_name,...,status`).

    Raises:
        TagIndexError: the header or a row is malformed.
    """
    relations: list[Relation] = []
    seen: set[str] = set()
    with _open_text(path) as stream:
        reader = csv.reader(_complete_lines(path, stream), strict=True)
        header = [column.strip() for column in next(reader, list[str]())]
        if header[:3] != _E621_HEADER[:3] or "status" not in header:
            raise TagIndexError(f"{path}:1: expected the header {','.join(_E621_HEADER)}")
        status_column = header.index("status")
        for line_number, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) <= status_column:
                raise TagIndexError(f"{path}:{line_number}: expected {len(header)} columns, got {len(row)}")
            if row[0] in seen:
                continue
            seen.add(row[0])
            relations.append(Relation(row[1], row[2], row[status_column]))
    return tuple(relations)


def read_artist_list(path: Path) -> tuple[ArtistEntry, ...]:
    """Read an artist list: one `@name` per line (brackets escaped), comments and blank lines skipped.

    Raises:
        TagIndexError: a line does not start with `@`; the message names the file and line.
    """
    entries: list[ArtistEntry] = []
    seen: set[str] = set()
    with _open_text(path) as stream:
        for line_number, raw in enumerate(stream, start=1):
            line = raw.strip().lstrip("\ufeff")
            if not line or line.startswith(_COMMENT_PREFIXES):
                continue
            if not line.startswith("@"):
                raise TagIndexError(f"{path}:{line_number}: expected an @artist line, got {line[:40]!r}")
            name = danbooru_name(line)
            if name and name not in seen:
                seen.add(name)
                entries.append(ArtistEntry(name, len(entries) + 1))
    return tuple(entries)


def load_source(path: Path, fmt: str | None = None) -> LoadedSource:
    """Read one tag source file, detecting its format unless `fmt` is given.

    Args:
        path: the file.
        fmt: one of `FORMATS`, or None to detect it.

    Returns:
        The records and a `SourceInfo` with the file's sha256, size and the date in its name.

    Raises:
        TagIndexError: the file is missing, the format is unknown, or the content is malformed.
    """
    if not path.is_file():
        raise TagIndexError(f"{path}: no such file")
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise TagIndexError(f"{path}: unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    site, kind = FORMATS[fmt]
    tags: tuple[TagRow, ...] = ()
    relations: tuple[Relation, ...] = ()
    artists: tuple[ArtistEntry, ...] = ()
    try:
        if kind == "tags":
            tags = read_tag_csv(path, site)
        elif kind == "artists":
            artists = read_artist_list(path)
        elif fmt.endswith("-json"):
            relations = read_danbooru_relations(path)
        else:
            relations = read_e621_relations(path)
        sha256, size = file_sha256(path), path.stat().st_size
    except _READ_ERRORS as error:
        raise TagIndexError(f"{path}: {read_problem(error)}") from None
    date = _DATE.search(path.name)
    info = SourceInfo(
        path=str(path),
        format=fmt,
        site=site,
        kind=kind,
        sha256=sha256,
        size=size,
        date=date.group(1) if date else None,
        records=len(tags) + len(relations) + len(artists),
    )
    return LoadedSource(info, tags, relations, artists)
