"""The sections of the model card's tag order and the section of each tag.

The card orders a tag prompt as `[quality/meta/year/safety] [1girl/1boy/...] [character] [series] [artist]
[general tags]`; order within a section does not matter. `Section` is that order; which tags belong to each
section is data (`[count]` and `[sections]` of `data/anima_vocab.toml`). `normalize(..., reorder=True)` and
the linter's order rules both place tags with `tag_section`.
"""

import enum
from collections.abc import Callable
from functools import cache

from anima_prompt.errors import AnimaPromptError
from anima_prompt.index.records import TagInfo
from anima_prompt.vocab import VOCAB_FILE, special_group, special_tags


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
        return _LABELS[self]


_LABELS = {
    Section.PREFIX: "quality/meta/year/safety",
    Section.COUNT: "count (1girl, ...)",
    Section.CHARACTER: "character",
    Section.SERIES: "series",
    Section.ARTIST: "artist",
    Section.GENERAL: "general",
}


@cache
def _by_category() -> dict[str, Section]:
    """Section of each Anima group and tag-index category name listed in the vocabulary's `[sections]`."""
    sections: dict[str, Section] = {}
    for name, categories in special_tags().sections:
        try:
            section = Section[name.upper()]
        except KeyError:
            known = ", ".join(section.name.lower() for section in Section)
            raise AnimaPromptError(f"{VOCAB_FILE}: [sections] has no section {name!r} ({known})") from None
        sections.update(dict.fromkeys(categories, section))
    return sections


def tag_section(name: str, lookup: Callable[[str], TagInfo | None] | None = None) -> Section | None:
    """The section of a tag (an `@artist` is always `Section.ARTIST`).

    Args:
        name: the tag's Danbooru name (`1girl`, `hatsune_miku`, `best_quality`).
        lookup: finds the tag in the tag index; called only for tags that are neither Anima's own nor count
            tags.

    Returns:
        The section of Anima's group for its own tags (None for dataset tags, which belong to no section),
        `COUNT` for count tags, else the section of the index's category (`GENERAL` for categories the
        card does not name); None when there is no index or it does not know the tag.

    Example:
        >>> tag_section("best_quality"), tag_section("1girl"), tag_section("long_hair")
        (<Section.PREFIX: 0>, <Section.COUNT: 1>, None)
    """
    group = special_group(name)
    if group is not None:
        return _by_category().get(group)
    if special_tags().is_count(name):
        return Section.COUNT
    info = lookup(name) if lookup is not None else None
    if info is None:
        return None
    return _by_category().get(info.category_name, Section.GENERAL)
