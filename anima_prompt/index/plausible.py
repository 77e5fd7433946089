"""Which suggestions the user plausibly meant: the filter the linter puts on `suggest()`'s answers.

`suggest()` ranks every tag near a text, which is right for a search box and wrong for a lint finding: a
finding that says "did you mean `tent`?" for `text` misleads. A misspelling turns words into non-words
(`signatre`, `floting hair`); a real word that Danbooru's descriptive tags use (`text`, `cute`, `missing`)
is what the user meant, even if no tag is spelt that way. So a suggestion is plausible when:

- it writes the same words another way: `exact`, `alias`, `spacing`, `word_order` (`miku hatsune`), or
  the tag's qualifier as its last words (`spring season` for `spring (season)`);
  `plural` too, unless it names a character, series or artist (`hair` → `haires` is an artist) or its `s`
  is a word of its own (`cool` → `cool s`);
- `prefix`: the tag only inflects the last word, which is no word of the tag vocabulary, so it was cut
  short (`backlight` → `backlighting`, `cross-eye` → `cross-eyed`; suffixes in `INFLECTIONS`); a new word
  (`ugly` → `ugly bastard`), another word (`color` → `colorized`) or a word of its own (`text` →
  `texting`) is another tag;
- `qualifier`: the tag is no artist, and a character or series, or for one word a tag qualified by a
  series (`frame (idolmaster)`), only when the text is not a word of the tag vocabulary (`nahida` →
  `nahida (genshin impact)`, not `sunny` → `sunny (omori)` nor `ethereal` → `ethereal (zenless zone
  zero)`) and, for one word, the tag has `COMMON_WORD_POSTS` posts or more (not `shion` → `shion
  (tensura)`);
- never a qualified tag for a colour word alone: it names the colour (`orange`, not `orange (fruit)`);
- `fuzzy`: each written word that differs from the tag's word is a misspelling of it: the written word is
  not in the vocabulary of tag words (`index.build`'s `tag_words`) nor a word of any tag's own name (titles
  and names of every category hold much of English, `noon`, `sacred`, `chemist`, and of romanised Japanese,
  `kikai`, which misspellings seldom match: `TagIndex.in_names`), the tag's word is a common one
  (`COMMON_WORD_POSTS`, or the tag is a popular character or series), and the two are at most
  `typo_edits(length)` edits apart (Damerau-Levenshtein, transpositions count once; in a tag of several
  words whose others match, the tag's word with or without a plural `s`: `missing fngers` may mean
  `missing finger`), or another form of it among the tag's other words (`opened mouth` for `open mouth`,
  `age up` for `aged up`); a word of the
  vocabulary counts as misspelt only as the one differing word of a popular or special tag of two words or
  more, one edit from it (`form behind` → `from behind`, `shirt hair` → `short hair`), and words of the
  vocabulary are never joined into another tag (`dark lighting` is no `backlighting`);
- never an artist for a tag (`bad-artist` → `ilya kuvshinov`); for an `@name`, an artist only when it
  keeps the name's numbers (`@ichika87` is no slip for `@ichikawa`: `keeps_numbers`).

`benchmarks/lint_precision.py` measures how often the suggestions of the labelled unknown-tag findings of
`tests/corpus/` hold the tag the user meant (precision) and how often a meant tag is offered (recall);
`COMMON_WORD_POSTS` and `typo_edits` were chosen on the dev split; `docs/benchmarks.md`, "Unknown-tag
suggestions" and later sections, has the figures and the alternatives measured.
"""

import re
from collections.abc import Callable

from anima_prompt.index.records import Suggestion
from anima_prompt.index.suggest import edit_distance
from anima_prompt.tagtext import compact_key, danbooru_name, split_qualifier

#: A word of a tag with at least this many posts in the vocabulary of tag words is a common one.
COMMON_WORD_POSTS = 1000
#: Suffixes that inflect a word: the prefix completions a user plausibly meant.
INFLECTIONS = frozenset({"s", "es", "d", "ed", "ing", "y", "ly", "er", "ers", "ies"})
NAME_CATEGORIES = frozenset({"character", "copyright"})
#: English colour names: alone in a prompt they name the colour, never the object Danbooru qualifies with
#: the same word (`orange (fruit)`, `silver (metal)`, `lavender (flower)`).
_COLOURS = """red orange yellow green blue purple pink brown black white grey gray silver gold golden lavender
violet indigo cyan magenta teal turquoise beige crimson scarlet maroon navy azure vermilion aqua lilac mauve
fuchsia burgundy khaki ivory bronze copper platinum"""
COLOUR_WORDS = frozenset(_COLOURS.split())
#: A tag with this many posts is popular enough that a word one edit from its own, among its other words, is
#: a slip of the keyboard (`form behind`).
POPULAR_TAG_POSTS = 10_000
MIN_INFLECTED_LETTERS = 3  # `age` and `aged`; shorter words inflect into unrelated ones
REAL_WORD_TYPO_LETTERS = 4  # shorter words are one edit from too many others (`ink` and `pink`)
#: Categories of Anima's special tags (quality, score, ...), whose posts the index does not count.
SPECIAL_CATEGORIES = frozenset({"quality"})
ARTIST = "artist"
_SAME_WORDS = frozenset({"exact", "alias", "spacing", "word_order"})

WordPosts = Callable[[str], int]
"""The posts of the descriptive tags holding a word (`TagIndex.word_posts`); 0 for a word none has."""


def _no_franchise(qualifier: str) -> bool:
    return False


def _no_name_word(word: str) -> bool:
    return False


_NUMBER = re.compile(r"\d+")


def keeps_numbers(written: str, name: str) -> bool:
    """Whether `name` holds every number `written` holds: a handle with digits (`ichika87`, a LoRA's artist
    trigger) is not a slip for a name without them.

    Example:
        >>> keeps_numbers("ichika87", "ichikawa"), keeps_numbers("as109", "as109_(artist)")
        (False, True)
    """
    return all(number in name for number in _NUMBER.findall(written))


def typo_edits(length: int) -> int:
    """Edits a misspelt word of `length` letters may hold: none below 4 letters, 1 up to 8, then 2."""
    return 0 if length < 4 else 1 if length < 9 else 2


def plausible(
    text: str,
    suggestion: Suggestion,
    word_posts: WordPosts,
    franchise: Callable[[str], bool] = _no_franchise,
    name_word: Callable[[str], bool] = _no_name_word,
) -> bool:
    """Whether the user plausibly meant `suggestion` by `text` (the rules of the module docstring).

    Args:
        text: the unknown tag as written.
        suggestion: one answer of `suggest(text, ...)`.
        word_posts: the vocabulary of tag words (`TagIndex.word_posts`).
        franchise: whether a qualifier's Danbooru name names a series (`zenless_zone_zero`): a general tag
            qualified so belongs to that series, as a character does.
        name_word: whether a word is a word of some tag's own name, in any category (`TagIndex.in_names`):
            such a word is meant as written as a word of the tag vocabulary is.

    Returns:
        True when the suggestion may be shown.
    """
    category = suggestion.category_name
    if category == ARTIST:
        return False
    written = danbooru_name(text)
    if written in COLOUR_WORDS and split_qualifier(suggestion.name)[1] is not None:
        return False  # the colour, not an object or a character of that name
    reason = suggestion.reason
    if reason in _SAME_WORDS or _qualifier_as_words(written, suggestion.name):
        return True
    if reason == "plural":  # `cool` is no plural of `cool s`: its `s` is a word of its own
        return category not in NAME_CATEGORIES and _words(suggestion.name)[-1:] not in (["s"], ["es"])
    if reason == "prefix":
        base, _ = split_qualifier(suggestion.matched)
        last = _words(written)[-1:] or [""]
        inflected = base.startswith(written) and base[len(written) :] in INFLECTIONS
        return inflected and not word_posts(last[0])
    if reason == "qualifier":
        _, qualifier = split_qualifier(suggestion.matched)
        one_word = len(_words(written)) == 1  # `interface headset` is specific enough for its series' tag
        in_series = one_word and qualifier is not None and franchise(qualifier)
        named = category in NAME_CATEGORIES or in_series
        if not named:
            return True
        # one word names many a minor character (`shion (tensura)`, `lean (konosuba)`): only a popular one
        # is plausibly meant by it
        popular = not one_word or suggestion.post_count >= COMMON_WORD_POSTS
        return popular and not any(word_posts(word) for word in _words(written))
    if reason == "fuzzy":
        return _misspelt(written, suggestion, lambda word: word_posts(word) or int(name_word(word)))
    return False


def _qualifier_as_words(written: str, name: str) -> bool:
    """Whether `written` (a Danbooru name) is the qualified tag `name` with its qualifier written as its last
    words (`spring_season` for `spring_(season)`, `saber_fate` for `saber_(fate)`)."""
    base, qualifier = split_qualifier(name)
    return qualifier is not None and written == f"{base}_{qualifier}"


def _words(name: str) -> list[str]:
    """The words of a Danbooru name without its qualifier."""
    base, _ = split_qualifier(name)
    return [word for word in base.split("_") if word]


def _real_word_typo(mine: str, other: str, suggestion: Suggestion) -> bool:
    """Whether `mine`, the one word of a tag of two words or more that differs from the tag's `other`, is a
    slip of it into another word (`form behind`, `shirt hair`): both have `REAL_WORD_TYPO_LETTERS` letters
    or more and are one edit apart, and the tag is one of Anima's special tags or a popular one
    (`POPULAR_TAG_POSTS`), so the words around it fix the meaning."""
    popular = suggestion.category_name in SPECIAL_CATEGORIES or suggestion.post_count >= POPULAR_TAG_POSTS
    short = min(len(mine), len(other)) < REAL_WORD_TYPO_LETTERS
    return popular and not short and edit_distance(mine, other) == 1


def _misspelt(written: str, suggestion: Suggestion, word_posts: WordPosts) -> bool:
    """Whether every written word that differs from the tag's words is a misspelling of it."""
    ours, theirs = _words(written), _words(suggestion.matched)
    if len(ours) == len(theirs):
        pairs = [(mine, [other]) for mine, other in zip(ours, theirs, strict=True) if mine != other]
    else:  # words joined or split as well: compare what differs as one string
        differing = [word for word in ours if word not in theirs]
        if differing and all(word_posts(word) for word in differing):
            return False  # words of the vocabulary, meant as written (`dark lighting` is no `backlighting`)
        pairs = [("".join(differing), [w for w in theirs if w not in ours])]
    popular_name = suggestion.category_name in NAME_CATEGORIES and suggestion.post_count >= COMMON_WORD_POSTS
    # inside a tag of several words whose other words match, a misspelling may also switch the word between
    # singular and plural (`missing fngers` for `missing finger`), and the tag's word counts as common when
    # its plural is (the vocabulary counts the words of canonical tags; the alias `extra digit` has `digit`)
    in_context = len(ours) == len(theirs) >= 2 and len(pairs) == 1
    for mine, others in pairs:
        if in_context and _inflected(mine, others[0]):
            continue  # another form of the tag's word among its other words (`opened mouth`, `age up`)
        if word_posts(mine):  # a word of the tag vocabulary is meant as written, but for a slip in a tag
            return in_context and _real_word_typo(mine, others[0], suggestion)
        forms = [_number_forms(other) if in_context else {other} for other in others]
        common = all(max(map(word_posts, options)) >= COMMON_WORD_POSTS for options in forms)
        if not popular_name and not common:
            return False
        compact = compact_key(mine)
        target = compact_key("".join(others))
        targets = _number_forms(target) if in_context else {target}
        distance = min(edit_distance(compact, form) for form in targets)
        if distance > typo_edits(len(compact)):
            return False
    return True


def _inflected(mine: str, other: str) -> bool:
    """Whether one word is the other with an inflection (`INFLECTIONS`): `opened` and `open`, `age` and
    `aged`, `printed` and `print`."""
    short, long = sorted((mine, other), key=len)
    return (
        len(short) >= MIN_INFLECTED_LETTERS and long.startswith(short) and long[len(short) :] in INFLECTIONS
    )


def _number_forms(word: str) -> set[str]:
    """`word` with and without a plural `s` (`finger`, `fingers`)."""
    return {word, word + "s", word.removesuffix("s")} - {""}
