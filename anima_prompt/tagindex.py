"""The tag index: a read-only SQLite database of tags, aliases, implications and artist styles.

`TagIndex.build(...)` (implemented with sqlite-utils in `indexbuild.py`, which also holds the schema) is the
only writer; every query here goes through the standard library's `sqlite3`, opening the file read-only
(`file:...?mode=ro`), one connection per thread, so one `TagIndex` can be shared between threads. The schema
is documented in `docs/index.md`; the result types live in `tagtypes.py`.

Example:
    >>> index = TagIndex.open()                      # doctest: +SKIP
    >>> index.lookup("Hatsune Miku").category_name   # doctest: +SKIP
    'character'
"""

import json
import os
import sqlite3
import sys
import threading
import zlib
from array import array
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from anima_prompt.errors import TagIndexError
from anima_prompt.places import user_data_dir
from anima_prompt.tagtext import compact_key, danbooru_name
from anima_prompt.tagtypes import IndexInfo, Spelling, Suggestion, TagInfo

if TYPE_CHECKING:
    from anima_prompt.importers import LoadedSource

__all__ = [
    "APPLICATION_ID",
    "ENV_VAR",
    "SCHEMA_VERSION",
    "IndexInfo",
    "Spelling",
    "TagIndex",
    "TagInfo",
    "default_index_path",
]

ENV_VAR = "ANIMA_TAG_INDEX"
INDEX_FILENAME = "tags.sqlite"
SCHEMA_VERSION = 1
MMAP_BYTES = 256 << 20  # read pages through the OS cache instead of copying them
APPLICATION_ID = 0x416E6D31  # "Anm1": marks the file as an anima tag index
FUZZY_PREFIX = 7  # characters of each compact key that carry the deletion neighbourhood
FUZZY_DISTANCE = 2  # deletions stored per prefix
HASH_MASK = (1 << 28) - 1  # 28-bit keys fit a 4-byte rowid; rare collisions only add candidates

# Lookup prefers Danbooru's own tags, then artist-list entries, Anima's vocabulary, then e621.
SOURCE_PRIORITY: dict[str, int] = {"danbooru": 0, "artist-list": 1, "anima": 2, "e621": 3}
NAME, ALIAS, WORD = 0, 1, 2  # names.kind
LIVE_ALIAS_STATUSES = ("active", "listed")
CLOSURE_TABLE = "implication_closure"  # written by builds of this layout; older files lack it

_TAG_COLUMNS = (
    "t.id, t.name, t.source, t.category, t.category_name, t.post_count, t.display, t.prompt, t.artist_rank, "
    "t.aliases"
)
_SPELLING_COLUMNS = "s.key, s.compact, s.is_alias, t.name, t.post_count, t.category_name, t.source"
_PRIORITY_SQL = (
    "CASE t.source " + " ".join(f"WHEN '{s}' THEN {p}" for s, p in SOURCE_PRIORITY.items()) + " ELSE 9 END"
)
# (name, source) of the tag a key names, picked as `lookup` picks it, else the key itself as a Danbooru
# name: where `implies` and `implied_by` start.
SpellingField = Literal["key", "compact", "base", "word_order"]


def default_index_path() -> Path:
    """Where the index lives: `$ANIMA_TAG_INDEX`, else `tags.sqlite` in the user data directory."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override).expanduser()
    return user_data_dir() / INDEX_FILENAME


def deletion_hashes(text: str, max_distance: int) -> set[int]:
    """Hashes of every string made by deleting up to `max_distance` characters from `text`'s prefix.

    Both the build and the queries use this function, so their keys agree. The prefix is the first
    `FUZZY_PREFIX` characters; strings within `FUZZY_DISTANCE` edits have prefixes that share a key
    (the symmetric-deletion scheme of SymSpell).
    """
    level = {text[:FUZZY_PREFIX]}
    keys = set(level)
    for _ in range(max_distance):
        level = {word[:i] + word[i + 1 :] for word in level for i in range(len(word))}
        keys |= level
    return {zlib.crc32(key.encode()) & HASH_MASK for key in keys}


def pack_ids(ids: Iterable[int]) -> bytes:
    """Unsigned 32-bit little-endian integers as one blob (the posting lists of `fuzzy_keys`)."""
    packed = array("I", ids)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def unpack_ids(blob: bytes) -> array:
    """The integers of a blob written by `pack_ids`."""
    ids = array("I", blob)
    if sys.byteorder == "big":
        ids.byteswap()
    return ids


def _lookup_rank(row: tuple) -> tuple[int, int, int]:
    """`lookup`'s order of a name's rows: names before aliases, then by source, then most posts first."""
    return row[-1], SOURCE_PRIORITY.get(row[2], 9), -row[5]


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
        from anima_prompt.importers import load_source
        from anima_prompt.indexbuild import build_database

        loaded = [source if not isinstance(source, Path) else load_source(source) for source in sources]
        target = Path(path) if path is not None else default_index_path()
        build_database(loaded, target, include_vocab=include_vocab, overwrite=overwrite)
        return cls(target)

    # -- connections -----------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            try:
                connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
            except sqlite3.Error as error:
                raise TagIndexError(f"cannot open the tag index {self.path}: {error}") from None
            connection.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def _query(self, sql: str, parameters: Sequence[object] = ()) -> list[tuple]:
        try:
            return self._connection().execute(sql, parameters).fetchall()
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
            (app_id,) = connection.execute("PRAGMA application_id").fetchone()
            if app_id != APPLICATION_ID:
                raise TagIndexError(f"{foreign}; build one with `anima index build --source PATH`")
            row = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            current = connection.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (CLOSURE_TABLE,)
            ).fetchone()
        except sqlite3.DatabaseError as error:
            raise TagIndexError(f"{foreign} ({error}); rebuild it with `anima index build`") from None
        if row is None or row[0] != str(SCHEMA_VERSION):
            found = row[0] if row else "none"
            raise TagIndexError(
                f"{self.path} has index schema {found}, this version reads {SCHEMA_VERSION}; "
                "rebuild it with `anima index build`"
            )
        if current is None:
            raise TagIndexError(
                f"{self.path} was built by an earlier development version (no {CLOSURE_TABLE} table); "
                "rebuild it with `anima index build`"
            )

    # -- lookups ---------------------------------------------------------------------------------

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
        rows = self._query(
            f"SELECT {_TAG_COLUMNS}, n.kind FROM names n JOIN tags t ON t.id = n.tag_id "
            f"WHERE n.key = ? AND n.kind BETWEEN {NAME} AND {ALIAS}",
            (key,),
        )
        if not rows:
            return None
        *tag, kind = min(rows, key=_lookup_rank)
        return self._info(tuple(tag), "exact" if kind == NAME else "alias")

    def is_artist(self, text: str) -> bool:
        """Whether `text` (any spelling, `@` optional) resolves to an artist tag."""
        info = self.lookup(text)
        return info is not None and info.is_artist

    def aliases(self, name: str, source: str = "danbooru") -> tuple[str, ...]:
        """Live alias names pointing to the canonical `name` of `source` (sorted).

        For a tag found by `lookup` or `search` the same names are already in `TagInfo.aliases`.
        """
        statuses = ",".join(f"'{status}'" for status in LIVE_ALIAS_STATUSES)
        rows = self._query(
            f"SELECT antecedent FROM aliases WHERE consequent = ? AND source = ? AND status IN ({statuses}) "
            "ORDER BY antecedent",
            (name, source),
        )
        return tuple(row[0] for row in rows)

    @staticmethod
    def _info(row: tuple, matched: str) -> TagInfo:
        _id, name, source, category, category_name, post_count, display, prompt, artist_rank, aliases = row
        return TagInfo(
            name=name,
            display=display,
            prompt=prompt,
            category=category,
            category_name=category_name,
            source=source,
            post_count=post_count,
            aliases=tuple(json.loads(aliases)) if aliases else (),
            artist_rank=artist_rank,
            matched=matched,
        )

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
        where, parameters = "n.key >= ? AND n.key < ?", [key, key + "\U0010ffff"]
        if isinstance(category, int):
            where += " AND t.category = ?"
            parameters.append(category)
        elif category is not None:
            where += " AND t.category_name = ?"
            parameters.append(category)
        rows = self._query(
            f"SELECT {_TAG_COLUMNS}, MIN(n.kind) FROM names n JOIN tags t ON t.id = n.tag_id WHERE {where} "
            f"GROUP BY t.id ORDER BY t.post_count DESC, {_PRIORITY_SQL}, t.name LIMIT ?",
            [*parameters, limit * 2],
        )
        results: list[TagInfo] = []
        seen: set[str] = set()
        for *tag, kind in rows:
            if tag[1] not in seen and len(results) < limit:
                seen.add(tag[1])
                results.append(self._info(tuple(tag), "alias" if kind == ALIAS else "exact"))
        return tuple(results)

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

    def _relatives(self, text: str, start: str, end: str, transitive: bool) -> tuple[str, ...]:
        # One query, indexed reads only: the closure stored at build time for every row the key names
        # (`lookup` picks among them here, as SQL ordering would build temporary b-trees), and for the key
        # itself as a Danbooru name when it names no tag.
        depth = "" if transitive else " AND c.depth = 1"
        rows = self._query(
            f"SELECT n.kind, t.source, t.post_count, t.id, c.{end} "
            "FROM names n JOIN tags t ON t.id = n.tag_id "
            f"LEFT JOIN {CLOSURE_TABLE} c ON c.{start} = t.name AND c.source = t.source{depth} "
            f"WHERE n.key = ?1 AND n.kind BETWEEN {NAME} AND {ALIAS} "
            f"UNION ALL SELECT 9, 'danbooru', 0, 0, {end} FROM {CLOSURE_TABLE} c "
            f"WHERE c.{start} = ?1 AND c.source = 'danbooru'{depth}",
            (danbooru_name(text),),
        )
        named = [row for row in rows if row[0] != 9]
        if named:
            best = min(named, key=lambda row: (row[0], SOURCE_PRIORITY.get(row[1], 9), -row[2]))[3]
            return tuple(sorted(row[4] for row in named if row[3] == best and row[4] is not None))
        return tuple(sorted(row[4] for row in rows))

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
        rows = self._query(
            f"SELECT {_TAG_COLUMNS} FROM tags t WHERE {where} "
            "ORDER BY t.artist_rank IS NULL, t.artist_rank, t.post_count DESC, t.name LIMIT ?",
            (key, key + "\U0010ffff", limit),
        )
        return tuple(self._info(row, "exact") for row in rows)

    def suggest(self, text: str, limit: int = 5) -> "tuple[Suggestion, ...]":
        """Tags the user probably meant by `text` (see `anima_prompt.suggest.suggest`)."""
        from anima_prompt.suggest import suggest

        return suggest(text, self, limit=limit)

    # -- suggestion candidates (used by suggest.py) ----------------------------------------------

    def spellings_where(self, field: SpellingField, values: Collection[str]) -> tuple[Spelling, ...]:
        """Spellings whose `field` equals one of `values` (exact, indexed lookups)."""
        if field not in ("key", "compact", "base", "word_order") or not values:
            return ()
        marks = ",".join("?" * len(values))
        rows = self._query(
            f"SELECT {_SPELLING_COLUMNS} FROM spellings s JOIN tags t ON t.id = s.tag_id "
            f"WHERE s.{field} IN ({marks})",
            list(values),
        )
        return tuple(Spelling(r[0], r[1], bool(r[2]), *r[3:]) for r in rows)

    def near(
        self, variants: Iterable[str], *, max_distance: int, min_length: int, max_length: int
    ) -> tuple[Spelling, ...]:
        """Spellings whose compact key may lie within `max_distance` edits of one of `variants`.

        A shortlist from the stored deletion keys (false positives possible, to be ranked by the caller),
        limited to compact keys of `min_length` to `max_length` characters.
        """
        prefix_ids = self._near_prefix_ids(variants, max_distance)
        if not prefix_ids:
            return ()
        rows = self._query(
            f"SELECT {_SPELLING_COLUMNS} FROM spellings s JOIN tags t ON t.id = s.tag_id "
            f"WHERE s.prefix_id IN ({','.join('?' * len(prefix_ids))}) AND s.length BETWEEN ? AND ?",
            [*prefix_ids, min_length, max_length],
        )
        return tuple(Spelling(r[0], r[1], bool(r[2]), *r[3:]) for r in rows)

    def near_compacts(
        self, variants: Iterable[str], *, max_distance: int, min_length: int, max_length: int
    ) -> list[tuple[int, str]]:
        """The shortlist of `near` as `(spelling id, compact key)` pairs, in the same order.

        Cheaper than `near` when most of the shortlist is thrown away after ranking: fetch the kept ones
        with `spellings_by_id`.
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
        rows = self._query(
            f"SELECT s.id, {_SPELLING_COLUMNS} FROM spellings s JOIN tags t ON t.id = s.tag_id "
            f"WHERE s.id IN ({','.join('?' * len(ids))})",
            [*ids],
        )
        found = {r[0]: Spelling(r[1], r[2], bool(r[3]), *r[4:]) for r in rows}
        return tuple(found[spelling_id] for spelling_id in ids)

    def _near_prefix_ids(self, variants: Iterable[str], max_distance: int) -> set[int]:
        hashes: set[int] = set()
        for variant in variants:
            hashes |= deletion_hashes(variant, max_distance)
        if not hashes:
            return set()
        blobs = self._query(
            f"SELECT prefix_ids FROM fuzzy_keys WHERE hash IN ({','.join('?' * len(hashes))})", [*hashes]
        )
        return {prefix_id for (blob,) in blobs for prefix_id in unpack_ids(blob)}

    def prefixed(self, key: str, *, limit: int) -> tuple[Spelling, ...]:
        """The most-posted tags whose name or alias starts with `key` (a Danbooru name) and is longer."""
        rows = self._query(
            f"SELECT n.key, n.kind = {ALIAS}, t.name, t.post_count, t.category_name, t.source "
            "FROM names n JOIN tags t ON t.id = n.tag_id "
            f"WHERE n.key > ? AND n.key < ? AND n.kind IN ({NAME}, {ALIAS}) "
            "ORDER BY t.post_count DESC LIMIT ?",
            (key, key + "\U0010ffff", limit),
        )
        return tuple(Spelling(r[0], compact_key(r[0]), bool(r[1]), *r[2:]) for r in rows)

    # -- metadata --------------------------------------------------------------------------------

    def info(self) -> IndexInfo:
        """The metadata table, the recorded sources and row counts."""
        meta = dict(self._query("SELECT key, value FROM meta ORDER BY key"))
        columns = ("path", "format", "site", "kind", "sha256", "size", "date", "records")
        sources = tuple(
            dict(zip(columns, row, strict=True))
            for row in self._query(f"SELECT {', '.join(columns)} FROM sources ORDER BY id")
        )
        counts = {
            table: self._query(f"SELECT COUNT(*) FROM {table}")[0][0]
            for table in ("tags", "aliases", "implications", "spellings")
        }
        return IndexInfo(str(self.path), meta, sources, counts)
