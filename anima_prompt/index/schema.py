"""The tag index's file layout, shared by the writer (`build`) and the reader (`query`).

The tables are the `TABLES` tuple: one `TableSpec` per table (documented in `docs/index.md`). The `tags`
and `sources` tables are declared by the dataclass of their rows (`StoredTag`, `records.SourceInfo`), so the
writer's rows, the reader's queries and the table agree by construction. The keys both sides compute
(deletion hashes of the fuzzy search, packed id lists) are here too.
"""

import dataclasses
import enum
import sys
import types
import zlib
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, get_args

from anima_prompt.index.records import SourceInfo

SCHEMA_VERSION = 1
APPLICATION_ID = 0x416E6D31  # "Anm1": marks the file as an anima tag index
CLOSURE_TABLE = "implication_closure"
WORDS_TABLE = "tag_words"
#: Tables added to schema 1 during its development: files built before them lack them and are refused.
LAYOUT_TABLES = (CLOSURE_TABLE, WORDS_TABLE)
#: The categories whose tags make up the vocabulary of tag words (`tag_words`): the descriptive tags.
WORD_CATEGORIES = frozenset({"general", "meta"})
FUZZY_PREFIX = 7  # characters of each compact key that carry the deletion neighbourhood
FUZZY_DISTANCE = 2  # deletions stored per prefix
HASH_MASK = (1 << 28) - 1  # 28-bit keys fit a 4-byte rowid; rare collisions only add candidates
LIVE_ALIAS_STATUSES = ("active", "listed")
# Lookup prefers Danbooru's own tags, then artist-list entries, Anima's vocabulary, then e621.
SOURCE_PRIORITY: dict[str, int] = {"danbooru": 0, "artist-list": 1, "anima": 2, "e621": 3}
UNRANKED_SOURCE = 9


class NameKind(enum.IntEnum):
    """`names.kind`: what a search key is to its tag."""

    NAME = 0  # the tag's own name
    ALIAS = 1  # a live alias of it
    WORD = 2  # the name from a later word on (`miku_(append)` for `hatsune_miku_(append)`)


@dataclass(frozen=True, slots=True)
class StoredTag:
    """A row of the `tags` table.

    Attributes:
        id: the row id (1, 2, ... in build order).
        name: the site's spelling, e.g. `saber_(fate)`.
        source: `danbooru`, `e621`, `artist-list` or `anima`.
        category: the site's category number.
        category_name: the category's name (for Anima's own tags, their group).
        post_count: posts carrying the tag.
        display: the name with spaces, e.g. `saber (fate)`.
        prompt: how Anima wants it written, e.g. `saber \\(fate\\)`, `@wlop`.
        artist_rank: position in a loaded artist list (1 = most trained), or None.
        aliases: the live alias names pointing to the tag, sorted, as a JSON array; None when there are none.
    """

    id: int
    name: str
    source: str
    category: int
    category_name: str
    post_count: int
    display: str
    prompt: str
    artist_rank: int | None
    aliases: str | None

    def priority(self) -> int:
        """How `lookup` ranks the row's source (lower first)."""
        return SOURCE_PRIORITY.get(self.source, UNRANKED_SOURCE)


@dataclass(frozen=True, slots=True)
class TableSpec:
    """One table of the index, as sqlite-utils creates it.

    Attributes:
        name: the table's name.
        columns: column name → Python type (`str` TEXT, `int` INTEGER, `bytes` BLOB), in order.
        pk: the primary key column or columns, or None for a plain rowid table.
        nullable: columns that may hold NULL; every other column is NOT NULL.
        foreign_keys: (column, other table, other column) references.
        indexes: column tuples indexed after the rows are in, named `<table>_<columns>`.
        unique: column tuples with a unique index.
        without_rowid: store the rows in the primary key's B-tree (`WITHOUT ROWID`) instead of a rowid
            table plus an index: half the size for tables that are only read by their key.
    """

    name: str
    columns: dict[str, type]
    pk: str | tuple[str, ...] | None = None
    nullable: tuple[str, ...] = ()
    foreign_keys: tuple[tuple[str, str, str], ...] = ()
    indexes: tuple[tuple[str, ...], ...] = ()
    unique: tuple[tuple[str, ...], ...] = ()
    without_rowid: bool = False

    @classmethod
    def of_rows(
        cls,
        name: str,
        row: type[Any],
        *,
        pk: str | None = None,
        indexes: tuple[tuple[str, ...], ...] = (),
        unique: tuple[tuple[str, ...], ...] = (),
    ) -> "TableSpec":
        """The table whose rows are instances of the dataclass `row`: a column per field, in order;
        fields typed `X | None` are the nullable columns."""
        columns: dict[str, type] = {}
        nullable: list[str] = []
        for field in dataclasses.fields(row):
            kind: Any = field.type
            if isinstance(kind, types.UnionType):
                (kind,) = (part for part in get_args(kind) if part is not type(None))
                nullable.append(field.name)
            columns[field.name] = str if get_args(kind) else kind  # Literal["a", "b"] is stored as text
        return cls(name, columns, pk, tuple(nullable), indexes=indexes, unique=unique)

    @property
    def column_names(self) -> tuple[str, ...]:
        """The columns, in order."""
        return tuple(self.columns)


_RELATION = {"antecedent": str, "consequent": str, "source": str, "status": str}

TABLES: tuple[TableSpec, ...] = (
    TableSpec("meta", {"key": str, "value": str}, pk="key"),
    TableSpec.of_rows("sources", SourceInfo),
    TableSpec.of_rows("tags", StoredTag, pk="id", indexes=(("artist_rank",),), unique=(("name", "source"),)),
    TableSpec("aliases", _RELATION, indexes=(("consequent", "source"),)),
    TableSpec("implications", _RELATION),
    TableSpec(
        CLOSURE_TABLE,
        {"antecedent": str, "source": str, "consequent": str, "depth": int},
        pk=("antecedent", "source", "consequent"),
        indexes=(("consequent", "source", "depth"),),
        without_rowid=True,
    ),
    TableSpec(
        "names",
        {"key": str, "kind": int, "tag_id": int},
        pk=("key", "kind", "tag_id"),
        foreign_keys=(("tag_id", "tags", "id"),),
        without_rowid=True,
    ),
    TableSpec(
        "spellings",
        {
            "id": int,
            "tag_id": int,
            "key": str,
            "is_alias": int,
            "compact": str,
            "length": int,
            "base": str,
            "word_order": str,
            "prefix_id": int,
        },
        pk="id",
        nullable=("base", "word_order"),
        foreign_keys=(("tag_id", "tags", "id"),),
        indexes=(("compact",), ("base",), ("word_order",), ("prefix_id", "length")),
    ),
    TableSpec("fuzzy_keys", {"hash": int, "prefix_ids": bytes}, pk="hash"),
    TableSpec(WORDS_TABLE, {"word": str, "posts": int}, pk="word", without_rowid=True),
)
SPECS = {spec.name: spec for spec in TABLES}


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


def unpack_ids(blob: bytes) -> "array[int]":
    """The integers of a blob written by `pack_ids`."""
    ids = array("I", blob)
    if sys.byteorder == "big":
        ids.byteswap()
    return ids
