"""The values the tag index hands out: found tags, stored spellings, suggestions and index metadata.

Plain frozen dataclasses with no database code, so importing them costs nothing; `TagIndex` (in
`index/query.py`) and `suggest()` (in `index/suggest.py`) build them.
"""

from dataclasses import dataclass
from typing import Literal

Site = Literal["danbooru", "e621", "anima"]
Kind = Literal["tags", "aliases", "implications", "artists"]


@dataclass(frozen=True, slots=True)
class TagInfo:
    """A tag found in the index.

    Attributes:
        name: the canonical name as the site writes it, e.g. `hatsune_miku`.
        display: the name with spaces, e.g. `hatsune miku`.
        prompt: how Anima wants it written: `hatsune miku`, `saber \\(fate\\)`, `@wlop`.
        category: the site's category number (Danbooru: 0 general, 1 artist, 3 copyright, 4 character,
            5 meta; e621 numbers mean e621's categories).
        category_name: the category's name, e.g. `character`; Anima's own tags carry their group
            (`quality`, `safety`, ...).
        source: `danbooru`, `e621`, `artist-list` or `anima`.
        post_count: posts carrying the tag on the data's date (0 when unknown).
        aliases: live alias names that point to this tag.
        artist_rank: position in a loaded artist list (1 = most trained), or None.
        matched: how the query reached it: `exact` or `alias`.

    Example:
        >>> info = TagInfo("wlop", "wlop", "@wlop", 1, "artist", "danbooru", 9000, (), 2, "exact")
        >>> info.is_artist
        True
    """

    name: str
    display: str
    prompt: str
    category: int
    category_name: str
    source: str
    post_count: int
    aliases: tuple[str, ...]
    artist_rank: int | None
    matched: str

    @property
    def is_artist(self) -> bool:
        """Whether the tag names an artist (in the site's own numbering)."""
        return self.category_name == "artist"


@dataclass(frozen=True, slots=True)
class Spelling:
    """One spelling of a tag (its name or an alias) as stored for suggestions.

    Attributes:
        key: the spelling as a Danbooru name (`miku_hatsune` for an alias, else the tag's name).
        compact: `key` without separators (`mikuhatsune`).
        is_alias: whether `key` is an alias rather than the tag's own name.
        name: the tag's canonical name.
        post_count: posts carrying the tag.
        category_name: the tag's category, e.g. `character`.
        source: `danbooru`, `e621`, `artist-list` or `anima`.
    """

    key: str
    compact: str
    is_alias: bool
    name: str
    post_count: int
    category_name: str
    source: str


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A tag the user may have meant.

    Attributes:
        name: the canonical tag name, e.g. `tracer_(overwatch)`.
        score: how close the text is to the spelling that matched, 0–100 (100 = same tag).
        reason: `exact`, `alias`, `spacing`, `plural`, `word_order`, `qualifier`, `prefix` or `fuzzy`.
        matched: the spelling that matched (the name or one of its aliases).
        post_count: posts carrying the tag.
        category_name: the tag's category, e.g. `character`.
    """

    name: str
    score: float
    reason: str
    matched: str
    post_count: int
    category_name: str


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """What the index records about an input file (a row of its `sources` table).

    Attributes:
        path: the file as given to the build.
        format: one of `index.sources.FORMATS`.
        site: whose data it is: `danbooru`, `e621` or `anima`.
        kind: what it holds: `tags`, `aliases`, `implications` or `artists`.
        sha256: the file's hex digest.
        size: the file's size in bytes.
        date: the `YYYY-MM-DD` in its name, or None.
        records: how many records were read from it.
    """

    path: str
    format: str
    site: Site
    kind: Kind
    sha256: str
    size: int
    date: str | None
    records: int


@dataclass(frozen=True, slots=True)
class IndexInfo:
    """What `anima index info` prints: the metadata table, the sources and the row counts.

    Attributes:
        path: the database file.
        meta: the `meta` table (`schema_version`, `built_at`, `build_seconds`, ...).
        sources: the input files, in build order.
        counts: rows of the `tags`, `aliases`, `implications` and `spellings` tables.
    """

    path: str
    meta: dict[str, str]
    sources: tuple[SourceInfo, ...]
    counts: dict[str, int]
