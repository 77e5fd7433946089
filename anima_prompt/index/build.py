"""Writes a tag index with sqlite-utils: the body of `TagIndex.build`.

The database is written to a temporary file next to the target and renamed over it (`safewrite.replacing`),
so an interrupted build never leaves a half-written index behind, and the next build removes the temporary
file a killed one left. A file that is not a tag index is not replaced unless asked (`check_target`).
Tables, indexes and rows go through sqlite-utils' API (`Table.create`, `Table.insert_all`,
`Table.create_index`) following `schema.TABLES`; the only raw SQL is the pragmas of the temporary file.
The reading side (`query.py`) uses the standard library's `sqlite3`.
"""

import dataclasses
import json
import logging
import re
import sqlite3
import time
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain, groupby
from pathlib import Path

from sqlite_utils import Database

from anima_prompt.errors import TagIndexError
from anima_prompt.index.schema import (
    APPLICATION_ID,
    CLOSURE_TABLE,
    FUZZY_DISTANCE,
    FUZZY_PREFIX,
    LIVE_ALIAS_STATUSES,
    SCHEMA_VERSION,
    SPECS,
    TABLES,
    WORD_CATEGORIES,
    WORDS_TABLE,
    NameKind,
    StoredTag,
    TableSpec,
    deletion_hashes,
    pack_ids,
)
from anima_prompt.index.sources import CATEGORY_NAMES, LoadedSource
from anima_prompt.index.suggest import ANIMA_VOCAB_PRIOR
from anima_prompt.safewrite import replacing
from anima_prompt.tagtext import (
    compact_key,
    danbooru_name,
    prompt_form,
    split_qualifier,
    unescape_parens,
    word_order_key,
)
from anima_prompt.version import toolkit_version
from anima_prompt.vocab import special_tags

logger = logging.getLogger(__name__)

MAX_WORD_ENTRIES = 6  # later-word search keys per tag
ANIMA_VOCAB_CATEGORY = 5  # Anima's own tags sit with Danbooru's meta tags
_SQLITE_MAGIC = b"SQLite format 3\x00"
_SQLITE_HEADER_BYTES = 100  # the application id is bytes 68-71, big-endian
BATCH_SIZE = 100_000  # rows per insert_all batch; sqlite-utils caps it at 999 bound values per statement

COSPLAY_SUFFIX = "_(cosplay)"  # Danbooru files `character_(cosplay)` as a general tag
_QUALIFIERS = re.compile(r"_?\([^()]*\)")

NameEntry = tuple[str, NameKind, int]
"""A row of the `names` table: (key, kind, tag id)."""


def _create_table(db: Database, spec: TableSpec) -> None:
    """Create the table (without its indexes) in `db`."""
    not_null = {column for column in spec.columns if column not in spec.nullable}
    foreign_keys = list(spec.foreign_keys) or None
    if not spec.without_rowid:
        db.table(spec.name).create(spec.columns, pk=spec.pk, not_null=not_null, foreign_keys=foreign_keys)
        return
    # sqlite-utils has no WITHOUT ROWID option: take its CREATE TABLE and add the clause.
    sql = db.create_table_sql(
        spec.name, spec.columns, pk=spec.pk, not_null=not_null, foreign_keys=foreign_keys
    )
    db.conn.execute(sql.strip().removesuffix(";") + " WITHOUT ROWID")


def _create_indexes(db: Database, spec: TableSpec) -> None:
    """Create the table's indexes (after the bulk insert: faster than keeping them up to date)."""
    table = db.table(spec.name)
    for columns, unique in [(c, False) for c in spec.indexes] + [(c, True) for c in spec.unique]:
        table.create_index(columns, index_name=f"{spec.name}_{'_'.join(columns)}", unique=unique)


@dataclass(slots=True)
class _Tables:
    """Rows gathered in memory before they are written in bulk."""

    tags: dict[tuple[str, str], StoredTag] = field(default_factory=dict[tuple[str, str], StoredTag])
    aliases: dict[tuple[str, str, str], str] = field(default_factory=dict[tuple[str, str, str], str])
    implications: dict[tuple[str, str, str], str] = field(default_factory=dict[tuple[str, str, str], str])

    def add_tag(
        self, name: str, source: str, category: int, category_name: str, post_count: int
    ) -> StoredTag:
        """The row of tag `name` of `source`, added unless it is there already."""
        row = self.tags.get((name, source))
        if row is None:
            plain = prompt_form(name)
            prompt = f"@{plain}" if category_name == "artist" else plain
            display = unescape_parens(plain)
            row = StoredTag(
                len(self.tags) + 1,
                name,
                source,
                category,
                category_name,
                post_count,
                display,
                prompt,
                None,
                None,
            )
            self.tags[(name, source)] = row
        return row


def check_target(target: Path, *, overwrite: bool = False) -> None:
    """Refuse to build over a file the toolkit did not write: anything but a tag index or an empty file.

    Raises:
        TagIndexError: `target` is a folder, or a non-empty file that is not a tag index (unless
            `overwrite`).
    """
    if target.is_dir():
        raise TagIndexError(f"{target} is a folder; give the path of the index file to write")
    if overwrite or not target.exists():
        return
    try:
        with target.open("rb") as stream:
            header = stream.read(_SQLITE_HEADER_BYTES)
    except OSError as error:
        raise TagIndexError(f"cannot read {target}: {error.strerror}") from None
    ours = header.startswith(_SQLITE_MAGIC) and len(header) == _SQLITE_HEADER_BYTES
    if header and not (ours and int.from_bytes(header[68:72], "big") == APPLICATION_ID):
        raise TagIndexError(
            f"{target} exists and is not a tag index; give another path, or pass --force to replace it"
        )


def build_database(
    sources: Sequence[LoadedSource], target: Path, *, include_vocab: bool = True, overwrite: bool = False
) -> None:
    """Write an index of `sources` to `target` through a temporary file and an atomic rename.

    Args:
        sources: the loaded tag sources.
        target: the index file; its folder is created.
        include_vocab: add Anima's own vocabulary.
        overwrite: replace `target` even when it is not a tag index (`check_target`).

    Raises:
        TagIndexError: no source holds tags, `target` is a file the toolkit did not write, or it cannot be
            written.
    """
    check_target(target, overwrite=overwrite)
    if not any(source.info.kind in ("tags", "artists") for source in sources):
        raise TagIndexError("no tag list among the sources; give a tag CSV or an artist list with --source")
    started = time.perf_counter()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with replacing(target) as temporary:
            db = Database(temporary, recursive_triggers=False, execute_plugins=False)
            try:
                _write(db, sources, include_vocab, started)
            finally:
                db.close()
    except (sqlite3.Error, OSError) as error:
        raise TagIndexError(
            f"cannot write the tag index {target}: {_reason(error)}; check the free space and the folder's "
            "permissions, then run again (the previous index is unchanged)"
        ) from None
    logger.info("built %s in %.1f s", target, time.perf_counter() - started)


def _reason(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error)


def _insert(db: Database, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    db.table(table).insert_all(chain([tuple(columns)], rows), batch_size=BATCH_SIZE)


def _insert_records(db: Database, spec: TableSpec, records: Iterable[object]) -> None:
    """Insert dataclass instances whose fields are the columns of `spec` (see `TableSpec.of_rows`)."""
    names = spec.column_names
    _insert(db, spec.name, names, (tuple(getattr(record, name) for name in names) for record in records))


def _write(db: Database, sources: Sequence[LoadedSource], vocab: bool, started: float) -> None:
    # A temporary file needs no journal and no fsync: a failed build is thrown away whole.
    for pragma in ("journal_mode = OFF", "synchronous = OFF", f"application_id = {APPLICATION_ID}"):
        db.conn.execute(f"PRAGMA {pragma}")
    for spec in TABLES:
        _create_table(db, spec)
    tables = _gather(sources, vocab)
    names = sorted(set(_names(tables)))
    _insert_records(db, SPECS["sources"], (source.info for source in sources))
    _insert_records(db, SPECS["tags"], tables.tags.values())
    columns = ("antecedent", "source", "consequent", "status")
    _insert(db, "aliases", columns, ((*key, status) for key, status in tables.aliases.items()))
    _insert(db, "implications", columns, ((*key, status) for key, status in tables.implications.items()))
    closure = sorted(_closure(tables.implications))  # key order packs the WITHOUT ROWID B-tree
    _insert(db, CLOSURE_TABLE, ("antecedent", "source", "consequent", "depth"), closure)
    _insert(db, "names", ("key", "kind", "tag_id"), ((key, int(kind), tag_id) for key, kind, tag_id in names))
    _write_spellings(db, names)
    _insert(db, WORDS_TABLE, ("word", "posts"), sorted(_tag_words(tables).items()))
    for spec in TABLES:
        _create_indexes(db, spec)
    db.analyze()
    meta = {
        "schema_version": str(SCHEMA_VERSION),
        "application": "anima-toolkit",
        "tool_version": toolkit_version(),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "build_seconds": f"{time.perf_counter() - started:.2f}",
        "fuzzy_prefix": str(FUZZY_PREFIX),
        "fuzzy_distance": str(FUZZY_DISTANCE),
        "anima_vocab": "yes" if vocab else "no",
    }
    _insert(db, "meta", ("key", "value"), meta.items())


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
                row = tables.add_tag(entry.name, "artist-list", 1, "artist", 0)
            rank = entry.rank if row.artist_rank is None else min(row.artist_rank, entry.rank)
            tables.tags[(row.name, row.source)] = dataclasses.replace(row, artist_rank=rank)
    if vocab:
        for group, members in special_tags().groups().items():
            for tag in sorted(members):
                name = danbooru_name(tag)
                if (name, "danbooru") not in tables.tags:
                    tables.add_tag(name, "anima", ANIMA_VOCAB_CATEGORY, group, 0)
    # Each tag carries its live aliases as a JSON array, so a lookup is one query; `TagIndex.aliases` reads
    # the same names from the aliases table.
    live: dict[tuple[str, str], list[str]] = defaultdict(list)
    for (antecedent, site, consequent), status in tables.aliases.items():
        if status in LIVE_ALIAS_STATUSES:
            live[(consequent, site)].append(antecedent)
    for key, antecedents in live.items():
        row = tables.tags.get(key)
        if row is not None:
            tables.tags[key] = dataclasses.replace(row, aliases=json.dumps(sorted(antecedents)))
    return tables


def _closure(implications: dict[tuple[str, str, str], str]) -> Iterator[tuple[str, str, str, int]]:
    """(antecedent, source, consequent, depth) for every tag reachable through active implications.

    `depth` is the length of the shortest chain (1 = a direct implication). Danbooru's 30k active
    implications close to about 35k rows, so `implies` reads them instead of walking the graph per query.
    """
    direct: dict[tuple[str, str], list[str]] = defaultdict(list)
    for (antecedent, site, consequent), status in implications.items():
        if status == "active":
            direct[(antecedent, site)].append(consequent)
    for start, site in direct:
        depths = {start: 0}
        queue = deque([start])
        while queue:
            name = queue.popleft()
            for implied in direct.get((name, site), ()):
                if implied not in depths:
                    depths[implied] = depths[name] + 1
                    queue.append(implied)
        del depths[start]
        for implied, depth in depths.items():
            yield start, site, implied, depth


def _tag_words(tables: _Tables) -> dict[str, int]:
    """Every word of the general and meta tags' names (qualifiers left out), with the posts of those tags.

    The vocabulary of tag words: `long` and `hair` from `long_hair`, `text` from `english_text`, and the
    words of Anima's own tags (`worst`, `quality`). A word with many posts is one users write on purpose, not
    a misspelling of a neighbouring tag. `X_(cosplay)` tags are general tags that name characters, so they
    are left out with the other names.
    """
    posts: dict[str, int] = defaultdict(int)
    for row in tables.tags.values():
        if row.source == "anima":
            count = ANIMA_VOCAB_PRIOR  # Anima's own tags have no post count but appear in most prompts
        elif row.category_name in WORD_CATEGORIES and not row.name.endswith(COSPLAY_SUFFIX):
            count = row.post_count
        else:
            continue
        for word in set(_QUALIFIERS.sub("", row.name).split("_")):
            if word:
                posts[word] += count
    return posts


def _names(tables: _Tables) -> Iterator[NameEntry]:
    for row in tables.tags.values():
        key = danbooru_name(row.name)
        yield key, NameKind.NAME, row.id
        words = key.split("_")
        for start in range(1, min(len(words), MAX_WORD_ENTRIES + 1)):
            if words[start] and not words[start].startswith("("):
                yield "_".join(words[start:]), NameKind.WORD, row.id
    live = {
        (antecedent, source): consequent
        for (antecedent, source, consequent), status in tables.aliases.items()
        if status in LIVE_ALIAS_STATUSES
    }
    for (antecedent, source), consequent in live.items():
        for _hop in range(3):  # an alias may point to another alias
            if (consequent, source) in tables.tags or (consequent, source) not in live:
                break
            consequent = live[(consequent, source)]
        row = tables.tags.get((consequent, source))
        if row is not None:
            yield danbooru_name(antecedent), NameKind.ALIAS, row.id


def _write_spellings(db: Database, names: Sequence[NameEntry]) -> None:
    prefixes: dict[str, int] = {}
    rows: list[tuple[int, str, int, str, int, str | None, str | None, int]] = []
    for key, kind, tag_id in names:
        compact = compact_key(key)
        if kind is NameKind.WORD or not compact:
            continue
        base, qualifier = split_qualifier(key)
        words = word_order_key(key)
        prefix_id = prefixes.setdefault(compact[:FUZZY_PREFIX], len(prefixes))
        rows.append(
            (
                tag_id,
                key,
                int(kind is NameKind.ALIAS),
                compact,
                len(compact),
                compact_key(base) if qualifier else None,
                words if "_" in words else None,
                prefix_id,
            )
        )
    _insert(
        db,
        "spellings",
        ("tag_id", "key", "is_alias", "compact", "length", "base", "word_order", "prefix_id"),
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
    _insert(
        db,
        "fuzzy_keys",
        ("hash", "prefix_ids"),
        (
            (high, pack_ids(value & mask for value in group))
            for high, group in groupby(packed, key=lambda value: value >> shift)
        ),
    )
