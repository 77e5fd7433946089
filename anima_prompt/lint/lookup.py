"""The tag index as the linter uses it: lookups, suggestions and implications, cached for a whole run.

A file of a thousand prompts repeats the same few hundred tags, so every answer is cached by the key it
was asked for; the caches live as long as the `CachedIndex` (one `Linter`) and hold at most `CACHE_LIMIT`
entries each (the oldest answers are dropped first), so a long-running process does not grow without end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from anima_prompt.lint.analysis import tag_name

#: Most entries kept in each cache (a 100,000-prompt file has fewer distinct tags).
CACHE_LIMIT = 50_000


class BoundedCache(dict):  # type: ignore[type-arg]
    """A dict that drops its oldest entries once it holds `limit` of them."""

    __slots__ = ("limit",)

    def __init__(self, limit: int = CACHE_LIMIT) -> None:
        super().__init__()
        self.limit = limit

    def __setitem__(self, key: object, value: object) -> None:
        if len(self) >= self.limit and key not in self:
            del self[next(iter(self))]
        super().__setitem__(key, value)


@dataclass(frozen=True, slots=True)
class TagInfo:
    """What the index knows about one written tag.

    Attributes:
        name: the canonical name (`long_hair`).
        category: the category name: `general`, `artist`, `copyright`, `character`, `meta`, ... (for
            Anima's own tags, their group: `quality`, `safety`, ...).
        via_alias: whether the written text is an alias of `name` rather than `name` itself.
    """

    name: str
    category: str
    via_alias: bool

    @property
    def is_artist(self) -> bool:
        """Whether the tag is an artist tag."""
        return self.category == "artist"


class CachedIndex:
    """A `TagIndex` with per-run caches of `lookup`, `suggest` and `implies`.

    Args:
        index: an open `anima_prompt.index.query.TagIndex`.
    """

    def __init__(self, index: Any) -> None:
        self.index = index
        self._lookups: dict[str, TagInfo | None] = BoundedCache()
        self._suggestions: dict[tuple[str, int, bool], tuple[str, ...]] = BoundedCache()
        self._implied: dict[str, frozenset[str]] = BoundedCache()
        self.sections: dict[str, object] = BoundedCache()  # `sections.section_of` by tag text

    def lookup(self, text: str) -> TagInfo | None:
        """The index entry for a tag written in any form, or `None` when the index does not know it."""
        try:
            return self._lookups[text]
        except KeyError:
            pass
        key = tag_name(text)
        if key in self._lookups:
            info = self._lookups[key]
        else:
            found = self.index.lookup(key) if key else None
            info = None
            if found is not None:
                info = TagInfo(found.name, str(found.category_name), str(found.matched) == "alias")
            self._lookups[key] = info
        self._lookups[text] = info
        return info

    def suggest(self, text: str, limit: int, *, artists: bool = False) -> tuple[str, ...]:
        """Danbooru names close to `text`, best first; only artist tags when `artists`."""
        key = (tag_name(text), limit, artists)
        if key in self._suggestions:
            return self._suggestions[key]
        names: list[str] = []
        for suggestion in _suggest(self.index, key[0], limit * 4 if artists else limit):
            if artists and suggestion.category_name != "artist":
                continue
            if suggestion.name not in names:
                names.append(suggestion.name)
            if len(names) == limit:
                break
        self._suggestions[key] = tuple(names)
        return self._suggestions[key]

    def implies(self, name: str) -> frozenset[str]:
        """The Danbooru names that tag `name` implies (transitively; one indexed query, cached)."""
        cached = self._implied.get(name)
        if cached is None:
            cached = self._implied[name] = frozenset(self.index.implies(name)) - {name}
        return cached


def _suggest(index: Any, text: str, limit: int) -> tuple[Any, ...]:
    from anima_prompt.index.suggest import suggest

    return suggest(text, index, limit=limit)
