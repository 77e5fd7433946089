"""Anima's own tag vocabulary (quality, score, year, period, meta, safety and dataset tags).

The tables come from the project-authored `data/anima_vocab.toml`, read once on first use. Tags are kept in
prompt form (`best quality`, `score_7`, `year 2025`); `SpecialTags.group` accepts any spelling.
"""

import tomllib
from dataclasses import dataclass
from functools import cache

from anima_prompt.errors import AnimaPromptError
from anima_prompt.resources import data_path
from anima_prompt.tagtext import danbooru_name

VOCAB_FILE = "anima_vocab.toml"
GROUPS: tuple[str, ...] = ("quality", "score", "year", "period", "meta", "safety", "dataset")


@dataclass(frozen=True, slots=True)
class SpecialTags:
    """Anima's special tags by group, in prompt form.

    Attributes:
        quality: the human-rated ladder, e.g. `masterpiece`, `worst quality`.
        score: `score_1` … `score_9`.
        year: `year 2005` … `year 2025`.
        period: `newest`, `recent`, `mid`, `early`, `old`.
        meta: meta tags the card names (`highres`, `anime screenshot`, …).
        safety: `safe`, `sensitive`, `nsfw`, `explicit`.
        dataset: `ye-pop`, `deviantart`.
        quality_order: the quality ladder, best first.
        safety_order: the safety tags, least explicit first.
    """

    quality: frozenset[str]
    score: frozenset[str]
    year: frozenset[str]
    period: frozenset[str]
    meta: frozenset[str]
    safety: frozenset[str]
    dataset: frozenset[str]
    quality_order: tuple[str, ...]
    safety_order: tuple[str, ...]

    def groups(self) -> dict[str, frozenset[str]]:
        """Every group name with its tags, in `GROUPS` order."""
        return {name: getattr(self, name) for name in GROUPS}

    def all_tags(self) -> frozenset[str]:
        """Every special tag of every group."""
        return frozenset().union(*self.groups().values())

    def group(self, text: str) -> str | None:
        """The group of a tag written in any spelling (`Best_Quality` → `quality`), or None."""
        return _groups_by_key(self).get(danbooru_name(text))


@cache
def _groups_by_key(tags: SpecialTags) -> dict[str, str]:
    return {danbooru_name(tag): name for name, members in tags.groups().items() for tag in members}


def _string_list(table: dict[str, object], group: str) -> tuple[str, ...]:
    values = table.get("tags")
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        raise AnimaPromptError(f"{VOCAB_FILE}: [{group}] needs tags = a list of strings")
    return tuple(values)


def _int_range(table: dict[str, object], group: str, low: str, high: str) -> range:
    first, last = table.get(low), table.get(high)
    if not isinstance(first, int) or not isinstance(last, int) or first > last:
        raise AnimaPromptError(f"{VOCAB_FILE}: [{group}] needs integers {low} <= {high}")
    return range(first, last + 1)


@cache
def special_tags() -> SpecialTags:
    """Anima's special tags, loaded from `data/anima_vocab.toml` on first use.

    Returns:
        The frozen tables.

    Raises:
        AnimaPromptError: the vocabulary file is missing or malformed.

    Example:
        >>> "score_7" in special_tags().score
        True
    """
    path = data_path(VOCAB_FILE)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise AnimaPromptError(f"{path}: cannot read the Anima vocabulary: {error}") from None
    missing = [group for group in GROUPS if not isinstance(data.get(group), dict)]
    if missing:
        raise AnimaPromptError(f"{path}: missing table(s) {', '.join(missing)}")
    quality = _string_list(data["quality"], "quality")
    safety = _string_list(data["safety"], "safety")
    scores = _int_range(data["score"], "score", "lowest", "highest")
    years = _int_range(data["year"], "year", "first", "last")
    return SpecialTags(
        quality=frozenset(quality),
        score=frozenset(f"score_{n}" for n in scores),
        year=frozenset(f"year {n}" for n in years),
        period=frozenset(_string_list(data["period"], "period")),
        meta=frozenset(_string_list(data["meta"], "meta")),
        safety=frozenset(safety),
        dataset=frozenset(_string_list(data["dataset"], "dataset")),
        quality_order=quality,
        safety_order=safety,
    )
