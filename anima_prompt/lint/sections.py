"""The model card's section of a prompt item: quality/meta/year/safety, count, character, series, artist,
general.

The card orders a tag prompt as `[quality/meta/year/safety] [1girl/1boy/...] [character] [series] [artist]
[general tags]`; order within a section does not matter. Natural language may go anywhere.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence

from anima_prompt.lint.analysis import Item, Kind
from anima_prompt.lint.lookup import CachedIndex

COUNT_TAG = re.compile(r"(?:\d+\+?(?:girl|boy|other)s?|multiple[ _](?:girls|boys|others)|no[ _]humans)")
_PREFIX_GROUPS = frozenset({"quality", "score", "year", "period", "meta", "safety"})


class Section(enum.IntEnum):
    """Sections in the model card's order."""

    PREFIX = 0
    COUNT = 1
    CHARACTER = 2
    SERIES = 3
    ARTIST = 4
    GENERAL = 5

    @property
    def label(self) -> str:
        """How the section is named in messages."""
        return {
            Section.PREFIX: "quality/meta/year/safety",
            Section.COUNT: "count (1girl, ...)",
            Section.CHARACTER: "character",
            Section.SERIES: "series",
            Section.ARTIST: "artist",
            Section.GENERAL: "general",
        }[self]


_SECTIONS = {
    "artist": Section.ARTIST,
    "character": Section.CHARACTER,
    "copyright": Section.SERIES,
    "meta": Section.PREFIX,
    "quality": Section.PREFIX,
    "score": Section.PREFIX,
    "year": Section.PREFIX,
    "period": Section.PREFIX,
    "safety": Section.PREFIX,
}


def special_group(item: Item) -> str | None:
    """The Anima special-tag group of a tag item (`quality`, `score`, `safety`, ...), or `None`."""
    return item.special


def section_of(item: Item, index: CachedIndex | None) -> Section | None:
    """The section `item` belongs to, or `None` when unknown (phrases, foreign syntax, unknown tags)."""
    if item.kind is Kind.ARTIST:
        return Section.ARTIST
    if item.kind is not Kind.TAG:
        return None
    if index is None:
        return _tag_section(item, None)
    section = index.sections.get(item.text, _UNSEEN)  # the name follows from the text
    if section is _UNSEEN:
        section = index.sections[item.text] = _tag_section(item, index)
    return section  # type: ignore[return-value]


_UNSEEN = object()


def sections_of(items: Sequence[Item], index: CachedIndex | None) -> list[Section | None]:
    """`section_of` for each of `items`, in one pass (rules that place every item call this)."""
    if index is None:
        return [section_of(item, None) for item in items]
    cache = index.sections
    sections: list[Section | None] = []
    for item in items:
        kind = item.kind
        if kind is Kind.TAG:
            section = cache.get(item.text, _UNSEEN)
            if section is _UNSEEN:
                section = cache[item.text] = _tag_section(item, index)
            sections.append(section)  # type: ignore[arg-type]
        else:
            sections.append(Section.ARTIST if kind is Kind.ARTIST else None)
    return sections


def _tag_section(item: Item, index: CachedIndex | None) -> Section | None:
    group = special_group(item)
    if group in _PREFIX_GROUPS:
        return Section.PREFIX
    if group is not None:
        return None
    if COUNT_TAG.fullmatch(item.name):
        return Section.COUNT
    info = index.lookup(item.text) if index is not None else None
    if info is None:
        return None
    return _SECTIONS.get(info.category, Section.GENERAL)
