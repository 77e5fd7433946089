"""The tag index as the linter uses it: lookups, suggestions, implications and sections, cached for a run.

A file of a thousand prompts repeats the same few hundred tags, so every answer is cached by the key it
was asked for (`functools.lru_cache`, one set of caches per `CachedIndex`, that is per `Linter`), each
holding at most `CACHE_LIMIT` entries so a long-running process does not grow without end.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

from anima_prompt.index.plausible import COMMON_WORD_POSTS, keeps_numbers, plausible
from anima_prompt.index.records import TagInfo
from anima_prompt.lint.analysis import tag_name
from anima_prompt.sections import Section, tag_section
from anima_prompt.tagtext import compact_key

if TYPE_CHECKING:
    from anima_prompt.index.query import TagIndex

#: Most entries kept in each cache (a 100,000-prompt file has fewer distinct tags).
CACHE_LIMIT = 50_000


class CachedIndex:
    """A `TagIndex` with per-run caches of `lookup`, `suggest`, `implies` and the card section of tags.

    The cached functions are attributes (`functools.lru_cache` wrappers): rules call them for every tag of
    every prompt, and a cache hit then costs no Python frame.

    Args:
        index: an open tag index.

    Attributes:
        lookup: the index entry for a tag written in any form, or `None` when the index does not know it.
        implies: the Danbooru names that a tag (a Danbooru name) implies, transitively, without itself.
        section: the card section of a tag (a Danbooru name), see `sections.tag_section`; an alias of a
            character or series that is only common words and shares none with it is a general tag.
        word_posts: the posts of the descriptive tags holding a word (`TagIndex.word_posts`).
    """

    def __init__(self, index: TagIndex) -> None:
        self.index = index
        self._by_name = lru_cache(maxsize=CACHE_LIMIT)(self._lookup_name)
        self._suggested = lru_cache(maxsize=CACHE_LIMIT)(self._suggest_names)
        self.lookup: Callable[[str], TagInfo | None] = lru_cache(maxsize=CACHE_LIMIT)(self._lookup_text)
        self.implies: Callable[[str], frozenset[str]] = lru_cache(maxsize=CACHE_LIMIT)(self._implies)
        self.section: Callable[[str], Section | None] = lru_cache(maxsize=CACHE_LIMIT)(self._section)
        self.word_posts: Callable[[str], int] = lru_cache(maxsize=CACHE_LIMIT)(index.word_posts)
        self._in_names = lru_cache(maxsize=CACHE_LIMIT)(index.in_names)
        self._qualified_base = lru_cache(maxsize=CACHE_LIMIT)(self._is_qualified_base)
        self._franchise = lru_cache(maxsize=CACHE_LIMIT)(self._names_series)

    def is_tag(self, name: str) -> bool:
        """Whether `name` (a Danbooru name) is a known tag or alias, or a qualified tag's name without its
        qualifier (`noelle`): the linter's parser reads items with it (`boundary.TagVocabulary`)."""
        return self._by_name(name) is not None or self._qualified_base(name)

    def _is_qualified_base(self, name: str) -> bool:
        return bool(self.index.spellings_where("base", [compact_key(name)]))

    def _names_series(self, qualifier: str) -> bool:
        """Whether a qualifier (`zenless_zone_zero`) is a copyright tag: the series a tag belongs to."""
        info = self._by_name(qualifier)
        return info is not None and info.category_name == "copyright"

    def _lookup_text(self, text: str) -> TagInfo | None:
        return self._by_name(tag_name(text))  # spellings of one tag share one index query

    def _lookup_name(self, name: str) -> TagInfo | None:
        return self.index.lookup(name) if name else None

    def suggest(self, text: str, limit: int, *, artists: bool = False) -> tuple[str, ...]:
        """Danbooru names the user plausibly meant by `text`, best first (`index.plausible`); with
        `artists`, the artist tags close to it."""
        return self._suggested(tag_name(text), limit, artists)

    def _suggest_names(self, name: str, limit: int, artists: bool) -> tuple[str, ...]:
        names: list[str] = []
        for suggestion in self.index.suggest(name, limit=limit * 4):
            if artists:
                if suggestion.category_name != "artist" or not keeps_numbers(name, suggestion.name):
                    continue
            elif not plausible(name, suggestion, self.word_posts, self._franchise, self._in_names):
                continue
            if suggestion.name not in names:
                names.append(suggestion.name)
            if len(names) == limit:
                break
        return tuple(names)

    def _implies(self, name: str) -> frozenset[str]:
        return frozenset(self.index.implies(name)) - {name}

    def _section(self, name: str) -> Section | None:
        section = tag_section(name, self.lookup)
        if section in (Section.CHARACTER, Section.SERIES) and self._word_for_a_name(name):
            return Section.GENERAL
        return section

    def _word_for_a_name(self, name: str) -> bool:
        """Whether `name` is an alias of a character or series that shares no word with it and is made of
        common words of the descriptive tags (`love`, an alias of `chuunibyou_demo_koi_ga_shitai!`): such
        text means the words, not the name (`saber` for `saber_(fate)` shares its word and stays a name)."""
        info = self.lookup(name)
        if info is None or info.name == name:
            return False
        written = name.split("_")
        return not set(written) & set(info.name.replace("(", "").replace(")", "").split("_")) and all(
            self.word_posts(word) >= COMMON_WORD_POSTS for word in written
        )
