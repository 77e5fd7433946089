"""Writes a tag index: the body of `TagIndex.build`.

The database is written to a temporary file next to the target and moved over it with `os.replace`, so an
interrupted build never leaves a half-written index behind.
"""

import logging
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from itertools import groupby
from pathlib import Path

from anima_prompt.errors import TagIndexError
from anima_prompt.importers import CATEGORY_NAMES, LoadedSource
from anima_prompt.tagindex import (
    ALIAS,
    APPLICATION_ID,
    FUZZY_DISTANCE,
    FUZZY_PREFIX,
    LIVE_ALIAS_STATUSES,
    NAME,
    SCHEMA,
    SCHEMA_VERSION,
    WORD,
    deletion_hashes,
    pack_ids,
)
from anima_prompt.tagtext import (
    compact_key,
    danbooru_name,
    prompt_form,
    split_qualifier,
    unescape_parens,
    word_order_key,
)
from anima_prompt.vocab import special_tags

logger = logging.getLogger(__name__)

MAX_WORD_ENTRIES = 6  # later-word search keys per tag
ANIMA_VOCAB_CATEGORY = 5  # Anima's own tags sit with Danbooru's meta tags


@dataclass(slots=True)
class _Tables:
    """Rows gathered in memory before they are written in bulk."""

    tags: dict[tuple[str, str], list[object]] = field(default_factory=dict)
    aliases: dict[tuple[str, str, str], str] = field(default_factory=dict)
    implications: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def add_tag(self, name: str, source: str, category: int, category_name: str, post_count: int) -> None:
        if (name, source) in self.tags:
            return
        artist = category_name == "artist"
        prompt = prompt_form(name, artist=artist)
        display = unescape_parens(prompt_form(name))
        row: list[object] = [len(self.tags) + 1, name, source, category, category_name, post_count]
        self.tags[(name, source)] = [*row, display, prompt, None]


def build_database(sources: Sequence[LoadedSource], target: Path, *, include_vocab: bool = True) -> None:
    """Write an index of `sources` to `target` through a temporary file and an atomic rename.

    Raises:
        TagIndexError: no source holds tags, or the target directory cannot be written.
    """
    if not any(source.info.kind in ("tags", "artists") for source in sources):
        raise TagIndexError("no tag list among the sources; give a tag CSV or an artist list with --source")
    started = time.perf_counter()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise TagIndexError(f"cannot create {target.parent}: {error}") from None
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    try:
        connection = sqlite3.connect(temporary)
        try:
            _write(connection, sources, include_vocab, started)
        finally:
            connection.close()
        os.replace(temporary, target)
    except sqlite3.Error as error:
        raise TagIndexError(f"cannot write the tag index {target}: {error}") from None
    finally:
        temporary.unlink(missing_ok=True)
    logger.info("built %s in %.1f s", target, time.perf_counter() - started)


def _write(
    connection: sqlite3.Connection, sources: Sequence[LoadedSource], vocab: bool, started: float
) -> None:
    connection.executescript(
        f"PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA application_id = {APPLICATION_ID};"
    )
    connection.executescript(SCHEMA)
    tables = _gather(sources, vocab)
    tag_ids = {key: row[0] for key, row in tables.tags.items()}
    names = sorted(set(_names(tables, tag_ids)))
    with connection:
        connection.executemany(
            "INSERT INTO sources (path, format, site, kind, sha256, size, date, records) "
            "VALUES (?,?,?,?,?,?,?,?)",
            [
                (
                    s.info.path,
                    s.info.format,
                    s.info.site,
                    s.info.kind,
                    s.info.sha256,
                    s.info.size,
                    s.info.date,
                    s.info.records,
                )
                for s in sources
            ],
        )
        connection.executemany("INSERT INTO tags VALUES (?,?,?,?,?,?,?,?,?)", tables.tags.values())
        for table, rows in (("aliases", tables.aliases), ("implications", tables.implications)):
            connection.executemany(
                f"INSERT INTO {table} (antecedent, source, consequent, status) VALUES (?,?,?,?)",
                [(*key, status) for key, status in rows.items()],
            )
        connection.executemany("INSERT INTO names VALUES (?,?,?)", names)
        _write_spellings(connection, names)
        connection.execute("ANALYZE")
        meta = {
            "schema_version": str(SCHEMA_VERSION),
            "application": "anima-toolkit",
            "tool_version": _tool_version(),
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "build_seconds": f"{time.perf_counter() - started:.2f}",
            "fuzzy_prefix": str(FUZZY_PREFIX),
            "fuzzy_distance": str(FUZZY_DISTANCE),
            "anima_vocab": "yes" if vocab else "no",
        }
        connection.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
    connection.execute("VACUUM")  # pack the pages of indexes filled in random order


def _tool_version() -> str:
    try:
        return metadata.version("anima-toolkit")
    except metadata.PackageNotFoundError:
        return "source checkout"


def _gather(sources: Sequence[LoadedSource], vocab: bool) -> _Tables:
    tables = _Tables()
    for source in sources:
        site = source.info.site
        categories = CATEGORY_NAMES.get(site, {})
        for row in source.tags:
            tables.add_tag(row.name, site, row.category, categories[row.category], row.post_count)
            for alias in row.aliases:
                tables.aliases.setdefault((alias, site, row.name), "listed")
    for source in sources:
        target = tables.aliases if source.info.kind == "aliases" else tables.implications
        for relation in source.relations:
            target[(relation.antecedent, source.info.site, relation.consequent)] = relation.status
    for source in sources:
        for entry in source.artists:
            row = tables.tags.get((entry.name, "danbooru"))
            if row is None:
                tables.add_tag(entry.name, "artist-list", 1, "artist", 0)
                row = tables.tags[(entry.name, "artist-list")]
            rank = row[8]
            row[8] = entry.rank if not isinstance(rank, int) else min(rank, entry.rank)
    if vocab:
        for group, members in special_tags().groups().items():
            for tag in sorted(members):
                name = danbooru_name(tag)
                if (name, "danbooru") not in tables.tags:
                    tables.add_tag(name, "anima", ANIMA_VOCAB_CATEGORY, group, 0)
    return tables


def _names(tables: _Tables, tag_ids: dict[tuple[str, str], object]) -> Iterator[tuple[str, int, object]]:
    for (name, _source), row in tables.tags.items():
        key = danbooru_name(name)
        yield key, NAME, row[0]
        words = key.split("_")
        for start in range(1, min(len(words), MAX_WORD_ENTRIES + 1)):
            if words[start] and not words[start].startswith("("):
                yield "_".join(words[start:]), WORD, row[0]
    live = {
        (antecedent, source): consequent
        for (antecedent, source, consequent), status in tables.aliases.items()
        if status in LIVE_ALIAS_STATUSES
    }
    for (antecedent, source), consequent in live.items():
        for _hop in range(3):  # an alias may point to another alias
            if (consequent, source) in tag_ids or (consequent, source) not in live:
                break
            consequent = live[(consequent, source)]
        tag_id = tag_ids.get((consequent, source))
        if tag_id is not None:
            yield danbooru_name(antecedent), ALIAS, tag_id


def _write_spellings(connection: sqlite3.Connection, names: Sequence[tuple[str, int, object]]) -> None:
    prefixes: dict[str, int] = {}
    rows = []
    for key, kind, tag_id in names:
        compact = compact_key(key)
        if kind == WORD or not compact:
            continue
        base, qualifier = split_qualifier(key)
        words = word_order_key(key)
        prefix_id = prefixes.setdefault(compact[:FUZZY_PREFIX], len(prefixes))
        rows.append(
            (
                tag_id,
                key,
                int(kind == ALIAS),
                compact,
                len(compact),
                compact_key(base) if qualifier else None,
                words if "_" in words else None,
                prefix_id,
            )
        )
    connection.executemany(
        "INSERT INTO spellings (tag_id, key, is_alias, compact, length, base, word_order, prefix_id) "
        "VALUES (?,?,?,?,?,?,?,?)",
        rows,
    )
    # Group the (hash, prefix) pairs by hash: one int per pair sorts much faster than tuples.
    shift = max(len(prefixes), 1).bit_length()
    mask = (1 << shift) - 1
    packed = sorted(
        (hash_value << shift) | prefix_id
        for prefix, prefix_id in prefixes.items()
        for hash_value in deletion_hashes(prefix, FUZZY_DISTANCE)
    )
    connection.executemany(
        "INSERT INTO fuzzy_keys VALUES (?, ?)",
        (
            (high, pack_ids(value & mask for value in group))
            for high, group in groupby(packed, key=lambda value: value >> shift)
        ),
    )
