"""The section of the model card's order each item of a prompt belongs to (`anima_prompt.sections`).

Tags are placed by `sections.tag_section`, through the run's cached index when there is one; `@artists` are
always artists; phrases, foreign syntax and errors belong to no section.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from anima_prompt.lint.analysis import Item, Kind
from anima_prompt.lint.lookup import CACHE_LIMIT, CachedIndex
from anima_prompt.sections import Section, tag_section


def section_of(item: Item, index: CachedIndex | None) -> Section | None:
    """The section `item` belongs to, or `None` when unknown (phrases, foreign syntax, unknown tags)."""
    if item.kind is Kind.ARTIST:
        return Section.ARTIST
    if item.kind is not Kind.TAG:
        return None
    return index.section(item.name) if index is not None else _section_without_index(item.name)


def sections_of(items: Sequence[Item], index: CachedIndex | None) -> list[Section | None]:
    """`section_of` for each of `items` (rules that place every item call this)."""
    return [section_of(item, index) for item in items]


@lru_cache(maxsize=CACHE_LIMIT)
def _section_without_index(name: str) -> Section | None:
    return tag_section(name)
