"""The tag index: a read-only SQLite database of tags, aliases, implications and artist styles.

`TagIndex.build(...)` (the writer in `build.py`, on sqlite-utils) is the only writer; every query here goes
through the standard library's `sqlite3`, opening the file read-only and immutable
(`file:...?mode=ro&immutable=1`: a build never writes an index in place but renames a new file over it, so
an open file never changes and SQLite takes no file lock per query), one connection per thread, so one
`TagIndex` can be shared between threads. Rows become the dataclasses of `schema.py` and
`records.py`: a query either selects the columns named by the fields of the dataclass it fills, in the
fields' order (the hot paths: `lookup`, `implies`), or reads its columns by name (`sqlite3.Row`). The
layout is `schema.TABLES`, documented in `docs/index.md`.

Example:
    >>> index = TagIndex.open()                      # doctest: +SKIP
    >>> index.lookup("Hatsune Miku").category_name   # doctest: +SKIP
    'character'
"""

import json
import os
import sqlite3
import threading
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from anima_prompt.errors import TagIndexError
from anima_prompt.index.records import IndexInfo, SourceInfo, Spelling, Suggestion, TagInfo
from anima_prompt.index.schema import (
    APPLICATION_ID,
    CLOSURE_TABLE,
    LAYOUT_TABLES,
    LIVE_ALIAS_STATUSES,
    SCHEMA_VERSION,
    SOURCE_PRIORITY,
    SPECS,
    UNRANKED_SOURCE,
    WORDS_TABLE,
    NameKind,
    StoredTag,
    deletion_hashes,
    unpack_ids,
)
from anima_prompt.index.suggest import suggest
from anima_prompt.places import user_data_dir
from anima_prompt.tagtext import compact_key, danbooru_name

if TYPE_CHECKING:  # reading a built index needs none of the source readers (csv, gzip, hashlib)
    from anima_prompt.index.sources import LoadedSource

__all__ = ["ENV_VAR", "IndexInfo", "Spelling", "TagIndex", "TagInfo", "default_index_path"]

ENV_VAR = "ANIMA_TAG_INDEX"
INDEX_FILENAME = "tags.sqlite"
MMAP_BYTES = 256 << 20  # read pages through the OS cache instead of copying them

_TAG_COLUMNS = ", ".join(f"t.{field.name}" for field in fields(StoredTag))  # StoredTag's fields, in order
_SPELLING_COLUMNS = "s.key, s.compact, s.is_alias, t.name, t.post_count, t.category_name, t.source"
_PRIORITY_SQL = (
    "CASE t.source "
    + " ".join(f"WHEN '{s}' THEN {p}" for s, p in SOURCE_PRIORITY.items())
    + f" ELSE {UNRANKED_SOURCE} END"
)
_LIVE_STATUSES_SQL = ",".join(f"'{status}'" for status in LIVE_ALIAS_STATUSES)
_NAME_OR_ALIAS = f"n.kind BETWEEN {NameKind.NAME:d} AND {NameKind.ALIAS:d}"
_UNNAMED = 9  # `kind` of the closure rows of a key that names no tag (see `_relatives`)
SpellingField = Literal["key", "compact", "base", "word_order"]


def default_index_path() -> Path:
    """Where the index lives: `$ANIMA_TAG_INDEX`, else `tags.sqlite` in the user data directory."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override).expanduser()
    return user_data_dir() / INDEX_FILENAME


@dataclass(frozen=True, slots=True)
class _Hit(StoredTag):
    """A `tags` row reached through the `names` table, and how (`NameKind`): `_TAG_COLUMNS, n.kind`."""

    kind: int

    def rank(self) -> tuple[int, int, int]:
        """`lookup`'s order of a key's rows: names before aliases, then by source, then most posts first."""
        return self.kind, self.priority(), -self.post_count

    def info(self) -> TagInfo:
        """The row as `lookup` and `search` hand it out."""
        return TagInfo(
            name=self.name,
            display=self.display,
            prompt=self.prompt,
            category=self.category,
            category_name=self.category_name,
            source=self.source,
            post_count=self.post_count,
            aliases=tuple(json.loads(self.aliases)) if self.aliases else (),
            artist_rank=self.artist_rank,
            matched="alias" if self.kind == NameKind.ALIAS else "exact",
        )


@dataclass(frozen=True, slots=True)
class _Relative:
    """A row of `_relatives`' query: a tag the key names (`kind` `_UNNAMED` when none) and one relative."""

    kind: int
    source: str
    post_count: int
    tag_id: int
    relative: str | None

    def rank(self) -> tuple[int, int, int]:
        return self.kind, SOURCE_PRIORITY.get(self.source, UNRANKED_SOURCE), -self.post_count


def _spelling(row: sqlite3.Row) -> Spelling:
    return Spelling(
        key=row["key"],
        compact=row["compact"],
        is_alias=bool(row["is_alias"]),
        name=row["name"],
        post_count=row["post_count"],
        category_name=row["category_name"],
        source=row["source"],
    )


def _missing_message(path: Path) -> str:
    return (
        f"no tag index at {path}; build one with `anima index build --source PATH` "
        "or fetch the pinned lists with `anima index download`"
    )


class TagIndex:
    """Read-only access to a built tag index, safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._check()

    @classmethod
    def open(cls, path: Path | str | None = None) -> "TagIndex":
        """Open an index read-only.

        Args:
            path: the database; None means `default_index_path()` (`$ANIMA_TAG_INDEX` or the user data
                directory).

        Raises:
            TagIndexError: the file is missing, not SQLite, or not an index of this schema version.
        """
        resolved = Path(path) if path is not None else default_index_path()
        if not resolved.is_file():
            raise TagIndexError(_missing_message(resolved))
        return cls(resolved)

    @classmethod
    def build(
        cls,
        sources: Sequence["LoadedSource | Path"],
        path: Path | str | None = None,
        *,
        include_vocab: bool = True,
        overwrite: bool = False,
    ) -> "TagIndex":
        """Build an index from tag sources (written with sqlite-utils) into a temporary file, then swap it in.

        Args:
            sources: loaded sources or paths (formats detected) of tag CSVs, alias/implication dumps and
                artist lists, in any order.
            path: the database to write; None means `default_index_path()`.
            include_vocab: add Anima's own vocabulary (quality, score, year, … tags).
            overwrite: replace `path` even when it is a file that is not a tag index.

        Returns:
            The new index, opened read-only.

        Raises:
            TagIndexError: a source is missing or malformed, no source holds tags, or `path` is a file
                that is not a tag index (and not `overwrite`).
        """
        from anima_prompt.index.build import build_database  # sqlite-utils only when writing
        from anima_prompt.index.sources import load_source

        loaded = [source if not isinstance(source, Path) else load_source(source) for source in sources]
        target = Path(path) if path is not None else default_index_path()
        build_database(loaded, target, include_vocab=include_vocab, overwrite=overwrite)
        return cls(target)

    # -- connections -----------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            uri = f"{self.path.resolve().as_uri()}?mode=ro&immutable=1"
            try:
                connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
            except sqlite3.Error as error:
                raise TagIndexError(f"cannot open the tag index {self.path}: {error}") from None
            connection.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def _query(self, sql: str, parameters: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """The rows of a query as tuples, in the order of its columns."""
        return self._fetch(sql, parameters, None)

    def _named(self, sql: str, parameters: Sequence[object] = ()) -> list[sqlite3.Row]:
        """The rows of a query, read by column name."""
        return self._fetch(sql, parameters, sqlite3.Row)

    def _fetch(self, sql: str, parameters: Sequence[object], factory: type[sqlite3.Row] | None) -> list[Any]:
        try:
            cursor = self._connection().cursor()
            cursor.row_factory = factory
            return cursor.execute(sql, parameters).fetchall()
        except sqlite3.Error as error:
            raise TagIndexError(
                f"{self.path}: query failed ({error}); rebuild with `anima index build`"
            ) from None

    def close(self) -> None:
        """Close every connection this index opened."""
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()

    def __enter__(self) -> "TagIndex":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check(self) -> None:
        foreign = f"{self.path} is not an anima tag index"
        try:
            connection = self._connection()
            app_id = connection.execute("PRAGMA application_id").fetchone()[0]
            if app_id != APPLICATION_ID:
                raise TagIndexError(f"{foreign}; build one with `anima index build --source PATH`")
            row = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            present = {
                name
                for (name,) in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN "
                    f"({', '.join('?' * len(LAYOUT_TABLES))})",
                    LAYOUT_TABLES,
                )
            }
        except sqlite3.DatabaseError as error:
            raise TagIndexError(f"{foreign} ({error}); rebuild it with `anima index build`") from None
        found = "none" if row is None else str(row[0])
        if found != str(SCHEMA_VERSION):
            raise TagIndexError(
                f"{self.path} has index schema {found}, this version reads {SCHEMA_VERSION}; "
                "rebuild it with `anima index build`"
            )
        missing = [name for name in LAYOUT_TABLES if name not in present]
        if missing:
            raise TagIndexError(
                f"{self.path} was built by an earlier development version (no {missing[0]} table); "
                "rebuild it with `anima index build`"
            )

    # -- lookups ---------------------------------------------------------------------------------

    def _hits(self, sql: str, parameters: Sequence[object]) -> list[_Hit]:
        """Rows of a query selecting `_TAG_COLUMNS` and the name's `kind`."""
        return [_Hit(*row) for row in self._query(sql, parameters)]

    def lookup(self, text: str) -> TagInfo | None:
        """The tag a user meant by `text`, written in any spelling, or None.

        Accepts `hatsune_miku`, `Hatsune Miku`, `@wlop`, `saber \\(fate\\)` and alias names such as
        `1girls` (→ `1girl`, matched `alias`).
        """
        key = danbooru_name(text)
        if not key:
            return None
        # One query (the tag's aliases are stored with it). The few rows of one key are ranked here, not
        # with ORDER BY: SQLite would build a temporary b-tree for every lookup.
        hits = self._hits(
            f"SELECT {_TAG_COLUMNS}, n.kind AS kind FROM names n JOIN tags t ON t.id = n.tag_id "
            f"WHERE n.key = ? AND {_NAME_OR_ALIAS}",
            (key,),
        )
        return min(hits, key=_Hit.rank).info() if hits else None

    def word_posts(self, word: str) -> int:
        """The posts of the general and meta tags whose name holds `word` (`hair` → 28 million; 0 for a
        word no such tag has): how common the word is in Danbooru's descriptive vocabulary."""
        rows = self._query(f"SELECT posts FROM {WORDS_TABLE} WHERE word = ?", (word,))
        return int(rows[0][0]) if rows else 0

    def in_names(self, word: str) -> bool:
        """Whether `word` (lowercase) is a word of some tag's own name, in any category, aliases left out
        (`noon` in a title, `kikai` in a name; up to the name's seventh word): a real word, seldom a
        misspelling."""
        rows = self._query(
            "SELECT 1 FROM names WHERE key >= ? AND key < ? AND kind != ? LIMIT 1",
            (word, word + "`", int(NameKind.ALIAS)),
        )
        return bool(rows)

    def is_artist(self, text: str) -> bool:
        """Whether `text` (any spelling, `@` optional) resolves to an artist tag."""
        info = self.lookup(text)
        return info is not None and info.is_artist

    def aliases(self, name: str, source: str = "danbooru") -> tuple[str, ...]:
        """Live alias names pointing to the canonical `name` of `source` (sorted).

        For a tag found by `lookup` or `search` the same names are already in `TagInfo.aliases`.
        """
        rows = self._named(
            "SELECT antecedent FROM aliases "
            f"WHERE consequent = ? AND source = ? AND status IN ({_LIVE_STATUSES_SQL}) ORDER BY antecedent",
            (name, source),
        )
        return tuple(str(row["antecedent"]) for row in rows)

    def search(self, prefix: str, category: int | str | None = None, limit: int = 20) -> tuple[TagInfo, ...]:
        """Tags whose name, an alias, or a later word starts with `prefix`, most posts first.

        Args:
            prefix: any spelling (`long h`, `Hatsune`, `@wl`); `miku` also finds `hatsune_miku`.
            category: a category number or name (`character`); None for all.
            limit: at most this many results.
        """
        key = danbooru_name(prefix)
        if not key or limit <= 0:
            return ()
        where = "n.key >= ? AND n.key < ?"
        parameters: list[str | int] = [key, key + "\U0010ffff"]
        if isinstance(category, int):
            where += " AND t.category = ?"
            parameters.append(category)
        elif category is not None:
            where += " AND t.category_name = ?"
            parameters.append(category)
        hits = self._hits(
            f"SELECT {_TAG_COLUMNS}, MIN(n.kind) AS kind FROM names n JOIN tags t ON t.id = n.tag_id "
            f"WHERE {where} GROUP BY t.id ORDER BY t.post_count DESC, {_PRIORITY_SQL}, t.name LIMIT ?",
            [*parameters, limit * 2],
        )
        results: dict[str, TagInfo] = {}
        for hit in hits:
            if hit.name not in results and len(results) < limit:
                results[hit.name] = hit.info()
        return tuple(results.values())

    def categories(self) -> tuple[tuple[int, str], ...]:
        """The (number, name) categories the index's tags use, sorted."""
        return tuple(sorted(self._query("SELECT DISTINCT category, category_name FROM tags")))

    def implies(self, text: str, *, transitive: bool = True) -> tuple[str, ...]:
        """Tags that `text` implies through active implications (`very long hair` → `long_hair`, …).

        Args:
            text: any spelling of a tag; aliases are resolved first.
            transitive: follow implications of implied tags too.
        """
        return self._relatives(text, "antecedent", "consequent", transitive)

    def implied_by(self, text: str, *, transitive: bool = False) -> tuple[str, ...]:
        """Tags that imply `text` through active implications (`long_hair` ← `very_long_hair`, …)."""
        return self._relatives(text, "consequent", "antecedent", transitive)

    def _relatives(
        self,
        text: str,
        start: Literal["antecedent", "consequent"],
        end: Literal["antecedent", "consequent"],
        transitive: bool,
    ) -> tuple[str, ...]:
        # One query, indexed reads only: the closure stored at build time for every row the key names
        # (`lookup` picks among them here, as SQL ordering would build temporary b-trees), and for the key
        # itself as a Danbooru name when it names no tag.
        depth = "" if transitive else " AND c.depth = 1"
        rows = [
            _Relative(*row)
            for row in self._query(
                f"SELECT n.kind AS kind, t.source AS source, t.post_count AS post_count, t.id AS tag_id, "
                f"c.{end} AS relative FROM names n JOIN tags t ON t.id = n.tag_id "
                f"LEFT JOIN {CLOSURE_TABLE} c ON c.{start} = t.name AND c.source = t.source{depth} "
                f"WHERE n.key = ?1 AND {_NAME_OR_ALIAS} "
                f"UNION ALL SELECT {_UNNAMED}, 'danbooru', 0, 0, {end} FROM {CLOSURE_TABLE} c "
                f"WHERE c.{start} = ?1 AND c.source = 'danbooru'{depth}",
                (danbooru_name(text),),
            )
        ]
        named = [row for row in rows if row.kind != _UNNAMED]
        if named:
            best = min(named, key=_Relative.rank).tag_id
            rows = [row for row in named if row.tag_id == best]
        return tuple(sorted(row.relative for row in rows if row.relative is not None))

    def artists(self, prefix: str = "", *, listed_only: bool = False, limit: int = 50) -> tuple[TagInfo, ...]:
        """Artist tags, those of a loaded artist list first (by rank), then by post count.

        Args:
            prefix: only names starting with it (any spelling, `@` optional).
            listed_only: only artists of a loaded artist list (the styles Anima was trained on).
            limit: at most this many.
        """
        key = danbooru_name(prefix)
        where = "t.category_name = 'artist' AND t.name >= ? AND t.name < ?"
        if listed_only:
            where += " AND t.artist_rank IS NOT NULL"
        hits = self._hits(
            f"SELECT {_TAG_COLUMNS}, {NameKind.NAME:d} AS kind FROM tags t WHERE {where} "
            "ORDER BY t.artist_rank IS NULL, t.artist_rank, t.post_count DESC, t.name LIMIT ?",
            (key, key + "\U0010ffff", limit),
        )
        return tuple(hit.info() for hit in hits)

    def suggest(self, text: str, limit: int = 5) -> tuple[Suggestion, ...]:
        """Tags the user probably meant by `text` (see `anima_prompt.index.suggest.suggest`)."""
        return suggest(text, self, limit=limit)

    # -- suggestion candidates (`suggest.Candidates`) ----------------------------------------------

    def spellings_where(self, field: SpellingField, values: Collection[str]) -> tuple[Spelling, ...]:
        """Spellings whose `field` equals one of `values` (exact, indexed lookups)."""
        if field not in ("key", "compact", "base", "word_order") or not values:
            return ()
        marks = ",".join("?" * len(values))
        rows = self._named(
            f"SELECT {_SPELLING_COLUMNS} FROM spellings s JOIN tags t ON t.id = s.tag_id "
            f"WHERE s.{field} IN ({marks})",
            list(values),
        )
        return tuple(_spelling(row) for row in rows)

    def near_compacts(
        self, variants: Iterable[str], *, max_distance: int, min_length: int, max_length: int
    ) -> list[tuple[int, str]]:
        """Spellings whose compact key may lie within `max_distance` edits of one of `variants`, as
        `(spelling id, compact key)` pairs.

        A shortlist from the stored deletion keys (false positives possible, to be ranked by the caller),
        limited to compact keys of `min_length` to `max_length` characters; fetch the ones kept after
        ranking with `spellings_by_id`.
        """
        prefix_ids = self._near_prefix_ids(variants, max_distance)
        if not prefix_ids:
            return []
        return self._query(
            f"SELECT s.id, s.compact FROM spellings s "
            f"WHERE s.prefix_id IN ({','.join('?' * len(prefix_ids))}) AND s.length BETWEEN ? AND ?",
            [*prefix_ids, min_length, max_length],
        )

    def spellings_by_id(self, ids: Sequence[int]) -> tuple[Spelling, ...]:
        """The spellings with the ids `near_compacts` returned, in the order of `ids`."""
        if not ids:
            return ()
        rows = self._named(
            f"SELECT s.id AS id, {_SPELLING_COLUMNS} FROM spellings s JOIN tags t ON t.id = s.tag_id "
            f"WHERE s.id IN ({','.join('?' * len(ids))})",
            [*ids],
        )
        found = {int(row["id"]): _spelling(row) for row in rows}
        return tuple(found[spelling_id] for spelling_id in ids)

    def _near_prefix_ids(self, variants: Iterable[str], max_distance: int) -> set[int]:
        hashes: set[int] = set()
        for variant in variants:
            hashes |= deletion_hashes(variant, max_distance)
        if not hashes:
            return set()
        rows = self._named(
            f"SELECT prefix_ids FROM fuzzy_keys WHERE hash IN ({','.join('?' * len(hashes))})", [*hashes]
        )
        return {prefix_id for row in rows for prefix_id in unpack_ids(row["prefix_ids"])}

    def prefixed(self, key: str, *, limit: int) -> tuple[Spelling, ...]:
        """The most-posted tags whose name or alias starts with `key` (a Danbooru name) and is longer."""
        rows = self._named(
            f"SELECT n.key AS key, n.kind = {NameKind.ALIAS:d} AS is_alias, t.name AS name, "
            "t.post_count AS post_count, t.category_name AS category_name, t.source AS source "
            "FROM names n JOIN tags t ON t.id = n.tag_id "
            f"WHERE n.key > ? AND n.key < ? AND {_NAME_OR_ALIAS} "
            "ORDER BY t.post_count DESC LIMIT ?",
            (key, key + "\U0010ffff", limit),
        )
        return tuple(
            Spelling(
                key=row["key"],
                compact=compact_key(row["key"]),
                is_alias=bool(row["is_alias"]),
                name=row["name"],
                post_count=row["post_count"],
                category_name=row["category_name"],
                source=row["source"],
            )
            for row in rows
        )

    # -- metadata --------------------------------------------------------------------------------

    def info(self) -> IndexInfo:
        """The metadata table, the recorded sources and row counts."""
        meta = {
            str(row["key"]): str(row["value"])
            for row in self._named("SELECT key, value FROM meta ORDER BY key")
        }
        columns = SPECS["sources"].column_names
        sources = tuple(
            SourceInfo(**{name: row[name] for name in columns})
            for row in self._named(f"SELECT {', '.join(columns)} FROM sources ORDER BY rowid")
        )
        counts = {
            table: int(self._named(f"SELECT COUNT(*) AS count FROM {table}")[0]["count"])
            for table in ("tags", "aliases", "implications", "spellings")
        }
        return IndexInfo(str(self.path), meta, sources, counts)
