"""Spelling suggestions for tags: what did the user mean by `izumi nanase`, `miku hatsune` or `lnog hair`?

Candidates come from the index's indexed keys (SQL), ranking from rapidfuzz over that shortlist only:

1. exact keys: the name itself, an alias, the name without separators (`izuminanase`), the words in
   another order (`miku_hatsune`), the name without its qualifier (`tracer` → `tracer_(overwatch)`),
   singular/plural slips, and names the text is a prefix of;
2. a deletion-neighbourhood shortlist for typos (SymSpell's scheme on the first characters), scored with
   the Damerau-Levenshtein distance so a transposition counts as one edit.

Each candidate gets a cost (0 for an exact hit, about 1 per edit); the ranking subtracts a popularity prior
(log of the post count), because users mostly mean popular tags. This is the only module that imports
rapidfuzz.
"""

import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from anima_prompt.index.records import Spelling, Suggestion
from anima_prompt.tagtext import compact_key, danbooru_name, split_qualifier, word_order_key

__all__ = [
    "COSTS",
    "Candidates",
    "Suggestion",
    "edit_distance",
    "max_distance_for",
    "plural_variants",
    "suggest",
]

# Costs of the exact-key reasons, in edit units.
COSTS: dict[str, float] = {
    "exact": 0.0,
    "alias": 0.05,
    "spacing": 0.3,
    "plural": 0.5,
    "word_order": 0.5,
    "qualifier": 0.6,
    "prefix": 0.6,
}
PREFIX_COST_PER_CHAR = 0.25
ANIMA_VOCAB_PRIOR = 1_000_000  # Anima's own tags have no post count but appear in most prompts


class Candidates(Protocol):
    """Where suggestions come from: the indexed keys of a tag index (`TagIndex` is one)."""

    def spellings_where(
        self, field: Literal["key", "compact", "base", "word_order"], values: Collection[str]
    ) -> tuple[Spelling, ...]:
        """Spellings whose `field` equals one of `values`."""
        ...

    def prefixed(self, key: str, *, limit: int) -> tuple[Spelling, ...]:
        """The most-posted spellings that start with `key` and are longer."""
        ...

    def near_compacts(
        self, variants: Iterable[str], *, max_distance: int, min_length: int, max_length: int
    ) -> list[tuple[int, str]]:
        """`(spelling id, compact key)` of spellings that may lie within `max_distance` edits."""
        ...

    def spellings_by_id(self, ids: Sequence[int]) -> tuple[Spelling, ...]:
        """The spellings with these ids, in order."""
        ...


@dataclass(frozen=True, slots=True)
class _Candidate:
    spelling: Spelling
    cost: float
    reason: str


def edit_distance(first: str, second: str) -> int:
    """The Damerau-Levenshtein distance of two strings (a transposition is one edit)."""
    from rapidfuzz.distance import DamerauLevenshtein

    return DamerauLevenshtein.distance(first, second)


def max_distance_for(length: int) -> int:
    """Edits tolerated for a text of `length` compact characters: 0 up to 3, 1 up to 5, then 2."""
    return 0 if length <= 3 else 1 if length <= 5 else 2


def plural_variants(key: str) -> set[str]:
    """The Danbooru name with one word switched between singular and plural (`hand_on_hips` → `hands_…`)."""
    words = key.split("_")
    variants: set[str] = set()
    for position, word in enumerate(words):
        if len(word) < 3 or not word.isalpha():
            continue
        forms = {word + "s", word + "es"}
        if word.endswith("ies"):
            forms = {word[:-3] + "y"}
        elif word.endswith("es"):
            forms = {word[:-2], word[:-1]}
        elif word.endswith("s"):
            forms = {word[:-1]}
        elif word.endswith("y"):
            forms.add(word[:-1] + "ies")
        for form in forms:
            variants.add("_".join([*words[:position], form, *words[position + 1 :]]))
    return variants


def _exact_candidates(index: Candidates, key: str, compact: str) -> list[_Candidate]:
    found: list[_Candidate] = []
    for spelling in index.spellings_where("compact", [compact]):
        if spelling.key == key:
            found.append(_Candidate(spelling, COSTS["alias" if spelling.is_alias else "exact"], ""))
        else:
            found.append(_Candidate(spelling, COSTS["spacing"], "spacing"))
    plurals = {compact_key(variant) for variant in plural_variants(key)} - {compact}
    found += [_Candidate(s, COSTS["plural"], "plural") for s in index.spellings_where("compact", plurals)]
    if "_" in key:
        for spelling in index.spellings_where("word_order", [word_order_key(key)]):
            extra = COSTS["qualifier"] if split_qualifier(spelling.key)[1] else 0.0
            found.append(_Candidate(spelling, COSTS["word_order"] + extra, "word_order"))
    if split_qualifier(key)[1] is None:
        qualified = index.spellings_where("base", [compact])
        found += [_Candidate(s, COSTS["qualifier"], "qualifier") for s in qualified]
        # an alias renaming a qualified tag's base (`photograph_(object)` for `photo_(object)`) makes its base
        # a name of the target's other senses too (`photo_(medium)`)
        bases = {
            compact_key(target[0])
            for spelling in qualified
            if spelling.is_alias
            and (target := split_qualifier(spelling.name))[1] is not None
            and target[1] == split_qualifier(spelling.key)[1]
        } - {compact}
        found += [
            _Candidate(s, COSTS["qualifier"], "qualifier") for s in index.spellings_where("base", bases)
        ]
    for spelling in index.prefixed(key, limit=10):
        missing = len(spelling.compact) - len(compact)
        found.append(_Candidate(spelling, COSTS["prefix"] + PREFIX_COST_PER_CHAR * missing, "prefix"))
    return found


def _fuzzy_candidates(index: Candidates, compact: str, max_distance: int) -> list[_Candidate]:
    from rapidfuzz import process
    from rapidfuzz.distance import DamerauLevenshtein

    shortlist = index.near_compacts(
        [compact],
        max_distance=max_distance,
        min_length=len(compact) - max_distance,
        max_length=len(compact) + max_distance,
    )
    if not shortlist:
        return []
    choices = {position: row[1] for position, row in enumerate(shortlist)}
    matches = process.extract(
        compact, choices, scorer=DamerauLevenshtein.distance, score_cutoff=max_distance, limit=None
    )
    kept = [(distance, position) for _, distance, position in matches if distance]
    spellings = index.spellings_by_id([shortlist[position][0] for _, position in kept])
    return [
        _Candidate(spelling, float(distance), "fuzzy")
        for spelling, (distance, _) in zip(spellings, kept, strict=True)
    ]


def _prior(spelling: Spelling) -> float:
    count = ANIMA_VOCAB_PRIOR if spelling.source == "anima" else spelling.post_count
    return math.log10(count + 1)


def suggest(
    text: str,
    index: Candidates,
    *,
    limit: int = 5,
    popularity: float = 0.3,
    max_distance: int | None = None,
) -> tuple[Suggestion, ...]:
    """Tags the user probably meant by `text`, best first.

    Args:
        text: a tag in any spelling, possibly misspelt: `izumi nanase`, `miku hatsune`, `tracer`, `1girsl`.
        index: the tag index.
        limit: at most this many suggestions.
        popularity: weight of the popularity prior, in edits per tenfold post count.
        max_distance: edits tolerated for typos; None picks 0, 1 or 2 by the text's length.

    Returns:
        Suggestions ranked by cost minus the popularity prior; an existing tag comes first as `exact`.

    Example:
        >>> [s.name for s in suggest("miku hatsune", index)][:1]   # doctest: +SKIP
        ['hatsune_miku']
    """
    key = danbooru_name(text)
    compact = compact_key(key)
    if not compact or limit <= 0:
        return ()
    distance = max_distance_for(len(compact)) if max_distance is None else max_distance
    candidates = _exact_candidates(index, key, compact)
    if distance > 0:
        candidates += _fuzzy_candidates(index, compact, distance)
    best: dict[str, tuple[float, _Candidate]] = {}
    for candidate in candidates:
        exact = candidate.cost == 0.0
        rank = (
            candidate.cost
            - (0.0 if exact else popularity * _prior(candidate.spelling))
            - (1e6 if exact else 0)
        )
        name = candidate.spelling.name
        if name not in best or rank < best[name][0]:
            best[name] = (rank, candidate)
    ranked = sorted(best.values(), key=lambda item: (item[0], item[1].spelling.name))[:limit]
    return tuple(_suggestion(candidate) for _, candidate in ranked)


def _suggestion(candidate: _Candidate) -> Suggestion:
    spelling = candidate.spelling
    reason = candidate.reason or ("alias" if spelling.is_alias else "exact")
    return Suggestion(
        name=spelling.name,
        score=round(max(0.0, 100.0 - 20.0 * candidate.cost), 1),
        reason=reason,
        matched=spelling.key,
        post_count=spelling.post_count,
        category_name=spelling.category_name,
    )
