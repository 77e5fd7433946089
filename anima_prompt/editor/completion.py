"""Tag and `@artist` completion: the word being typed, then candidates by prefix, alias and fuzzy match.

The word is found by scanning the text around the cursor, not by parsing: text being typed is often not
yet a prompt (an unclosed `(`, half an escape). A word ends at an unescaped comma, bracket, `|`, `:`, `<`,
`>` or line break, or at a sentence end (`. `); a word right after `:` (a weight) or `<` (a LoRA tag) is
not completed.

Prefix lookups of one to three characters read thousands of index rows (up to tens of milliseconds), so
their answers are kept once computed; `TagCompleter.warm()` computes all one- and two-character ones
ahead, and every later keystroke is a dictionary lookup or an indexed range read of a longer prefix.
"""

import itertools
import string
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from anima_prompt.editor.results import Completion, Completions
from anima_prompt.index.records import TagInfo
from anima_prompt.index.suggest import suggest
from anima_prompt.tagtext import danbooru_name, keeps_underscores

if TYPE_CHECKING:
    from anima_prompt.index.query import TagIndex

WORD_STOPS = frozenset(",\n\r()[]{}|:<>")
NO_COMPLETION_AFTER = frozenset(":<")  # a weight number, or a `<lora:...>` tag
SHORT_KEY = 3  # answers for keys this long or shorter are kept once computed
WARM_KEY = 2  # ... and computed ahead by `warm()` up to this length (3 would be 93,000 queries)
MAX_WORD = 64  # longer "words" are prose, not a tag being typed
FUZZY_BELOW = 5  # look for likely typos when fewer prefix matches than this were found
FUZZY_MIN_KEY = 4  # ... and the typed key has at least this many characters
SHORT_KEY_ALPHABET = string.ascii_lowercase + string.digits


def display_name(name: str) -> str:
    """A Danbooru name as people read it: spaces for underscores, except in `score_N` and kaomoji."""
    return name if keeps_underscores(name) else name.replace("_", " ")


def _escaped(text: str, position: int) -> bool:
    """Whether `text[position]` is escaped by an odd number of backslashes before it."""
    count = 0
    while position - count - 1 >= 0 and text[position - count - 1] == "\\":
        count += 1
    return count % 2 == 1


def _is_stop(text: str, position: int) -> bool:
    char = text[position]
    if char in WORD_STOPS:
        return not _escaped(text, position)
    # A sentence end: `. `, `! ` or `? ` before the word.
    return char == " " and position > 0 and text[position - 1] in ".!?"


def word_bounds(text: str, offset: int) -> tuple[int, int] | None:
    """The `[start, end)` of the word around `offset` that completion would replace, or None.

    `start` skips leading spaces; `end` runs to the end of the word after the cursor. None when the
    cursor follows `:` or `<` (a weight or a LoRA tag), or the word is too long to be a tag.
    """
    start = offset
    while start > 0 and not _is_stop(text, start - 1):
        start -= 1
    if start > 0 and text[start - 1] in NO_COMPLETION_AFTER and not _escaped(text, start - 1):
        return None
    while start < offset and text[start].isspace():
        start += 1
    end = offset
    while end < len(text) and not _is_stop(text, end):
        end += 1
    while end > offset and text[end - 1].isspace():
        end -= 1
    if offset - start > MAX_WORD:
        return None
    return start, end


class TagCompleter:
    """Completion candidates from one tag index, with the answers for short prefixes kept.

    Safe to share between threads (the index opens one connection per thread).
    """

    def __init__(self, index: "TagIndex") -> None:
        self.index = index
        self._short: dict[tuple[str, bool], tuple[TagInfo, ...]] = {}
        self._lock = threading.Lock()
        self.fetch = 40  # rows kept per short prefix, enough for any `limit` the editors ask for

    def complete(self, text: str, offset: int, *, limit: int = 20) -> Completions:
        """The candidates for the word at `offset` in `text`, best first (see `EditorServices.complete`)."""
        bounds = word_bounds(text, offset)
        if bounds is None:
            return Completions(offset, offset, ())
        start, end = bounds
        typed = text[start:offset]
        artist = typed.startswith("@")
        key = danbooru_name(typed)
        if not key or limit <= 0:
            return Completions(start, end, ())
        items = [_from_info(info, key) for info in self._prefixed(key, artist, limit)]
        if len(items) < FUZZY_BELOW and len(key) >= FUZZY_MIN_KEY:
            seen = {item.insert for item in items}
            items += [item for item in self._fuzzy(typed, artist, limit) if item.insert not in seen]
        return Completions(start, end, tuple(items[:limit]))

    def warm(self, stop: threading.Event | None = None) -> None:
        """Compute and keep the answers for every one- and two-character prefix (a second or two).

        Args:
            stop: when set (from another thread), warming ends after the prefix being computed.
        """
        for artist in (False, True):
            for length in range(1, WARM_KEY + 1):
                for letters in itertools.product(SHORT_KEY_ALPHABET, repeat=length):
                    if stop is not None and stop.is_set():
                        return
                    self._prefixed("".join(letters), artist, self.fetch)

    def _prefixed(self, key: str, artist: bool, limit: int) -> tuple[TagInfo, ...]:
        category = "artist" if artist else None
        if len(key) > SHORT_KEY or limit > self.fetch:
            return self.index.search(key, category=category, limit=limit)
        kept = self._short.get((key, artist))
        if kept is None:
            kept = self.index.search(key, category=category, limit=self.fetch)
            with self._lock:
                self._short[(key, artist)] = kept
        return kept[:limit]

    def _fuzzy(self, typed: str, artist: bool, limit: int) -> Iterable[Completion]:
        for suggestion in suggest(typed, self.index, limit=limit):
            if artist and suggestion.category_name != "artist":
                continue
            info = self.index.lookup(suggestion.name)
            if info is None:
                continue
            matched = display_name(suggestion.matched)
            alias_of = info.display if danbooru_name(suggestion.matched) != info.name else None
            yield Completion(matched, info.prompt, info.category_name, info.post_count, alias_of, "fuzzy")


def _from_info(info: TagInfo, key: str) -> Completion:
    """A prefix candidate; found through an alias, it is labelled with that alias."""
    if info.matched == "alias":
        alias = next((name for name in info.aliases if name.startswith(key)), None)
        if alias is not None:
            return Completion(
                display_name(alias), info.prompt, info.category_name, info.post_count, info.display, "alias"
            )
    return Completion(info.display, info.prompt, info.category_name, info.post_count, None, "prefix")
