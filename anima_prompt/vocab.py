"""Anima's own tag vocabulary (quality, score, year, period, meta, safety and dataset tags), its count tags
and which tags go into which section of the model card's order.

The tables come from the project-authored `data/anima_vocab.toml`, read once on first use. Tags are kept in
prompt form (`best quality`, `score_7`, `year 2025`); `SpecialTags.group` accepts any spelling.
"""

import re
from dataclasses import dataclass
from functools import cache, lru_cache

from anima_prompt.errors import AnimaPromptError
from anima_prompt.resources import data_path
from anima_prompt.shapes import strings, table
from anima_prompt.tagtext import danbooru_name

VOCAB_FILE = "anima_vocab.toml"
GROUPS: tuple[str, ...] = ("quality", "score", "year", "period", "meta", "safety", "dataset")
#: Any `year N` tag, as a Danbooru name; years outside the vocabulary are year tags too (ANM-YEAR-001).
YEAR_TAG = re.compile(r"year_(\d{3,4})")

TomlTable = dict[str, object]


@dataclass(frozen=True, slots=True)
class SpecialTags:
    """Anima's special tags by group, in prompt form, with the count tags and the card's sections.

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
        count: matches the Danbooru name of every count tag (`1girl`, `multiple_boys`, `no_humans`).
        sections: `(section, categories)` pairs: the groups and tag-index category names each section of
            the card's order takes (`("prefix", ("quality", ...))`, `("character", ("character",))`, ...).
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
    count: re.Pattern[str]
    sections: tuple[tuple[str, tuple[str, ...]], ...]

    def groups(self) -> dict[str, frozenset[str]]:
        """Every group name with its tags, in `GROUPS` order."""
        return {
            "quality": self.quality,
            "score": self.score,
            "year": self.year,
            "period": self.period,
            "meta": self.meta,
            "safety": self.safety,
            "dataset": self.dataset,
        }

    def all_tags(self) -> frozenset[str]:
        """Every special tag of every group."""
        return frozenset[str]().union(*self.groups().values())

    def group(self, text: str) -> str | None:
        """The group of a tag written in any spelling (`Best_Quality` → `quality`), or None.

        Every `year N` is a `year` tag, also a year the vocabulary does not list (`year 1999`).
        """
        name = danbooru_name(text)
        found = _tags_by_key(self).get(name)
        if found is not None:
            return found[0]
        return "year" if YEAR_TAG.fullmatch(name) else None

    def spelling(self, text: str) -> str | None:
        """How the vocabulary writes a special tag given in any spelling (`DeviantArt` → `deviantart`)."""
        found = _tags_by_key(self).get(danbooru_name(text))
        return None if found is None else found[1]

    def is_count(self, name: str) -> bool:
        """Whether a Danbooru name is a count tag (`1girl`, `2_boys`, `multiple_girls`, `no_humans`)."""
        return self.count.fullmatch(name) is not None


@cache
def _tags_by_key(tags: SpecialTags) -> dict[str, tuple[str, str]]:
    return {danbooru_name(tag): (name, tag) for name, members in tags.groups().items() for tag in members}


def _table(data: TomlTable, name: str) -> TomlTable:
    found = table(data.get(name))
    if found is None:
        raise AnimaPromptError(f"{VOCAB_FILE}: missing table [{name}]")
    return found


def _strings(values: TomlTable, key: str, where: str) -> tuple[str, ...]:
    found = strings(values.get(key))
    if found is None:
        raise AnimaPromptError(f"{VOCAB_FILE}: [{where}] needs {key} = a list of strings")
    return tuple(found)


def _int_range(table: TomlTable, group: str, low: str, high: str) -> range:
    first, last = table.get(low), table.get(high)
    if not isinstance(first, int) or not isinstance(last, int) or first > last:
        raise AnimaPromptError(f"{VOCAB_FILE}: [{group}] needs integers {low} <= {high}")
    return range(first, last + 1)


def _count_pattern(table: TomlTable) -> re.Pattern[str]:
    pattern = table.get("pattern")
    if not isinstance(pattern, str):
        raise AnimaPromptError(f"{VOCAB_FILE}: [count] needs pattern = a regular expression")
    try:
        return re.compile(pattern)
    except re.error as error:
        raise AnimaPromptError(f"{VOCAB_FILE}: [count] pattern: {error}") from None


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
    import tomllib  # with datetime, a few milliseconds that `import anima_prompt` need not pay

    path = data_path(VOCAB_FILE)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise AnimaPromptError(f"{path}: cannot read the Anima vocabulary: {error}") from None
    tables = {name: _table(data, name) for name in (*GROUPS, "count", "sections")}
    quality = _strings(tables["quality"], "tags", "quality")
    safety = _strings(tables["safety"], "tags", "safety")
    scores = _int_range(tables["score"], "score", "lowest", "highest")
    years = _int_range(tables["year"], "year", "first", "last")
    sections = tuple((name, _strings(tables["sections"], name, "sections")) for name in tables["sections"])
    return SpecialTags(
        quality=frozenset(quality),
        score=frozenset(f"score_{n}" for n in scores),
        year=frozenset(f"year {n}" for n in years),
        period=frozenset(_strings(tables["period"], "tags", "period")),
        meta=frozenset(_strings(tables["meta"], "tags", "meta")),
        safety=frozenset(safety),
        dataset=frozenset(_strings(tables["dataset"], "tags", "dataset")),
        quality_order=quality,
        safety_order=safety,
        count=_count_pattern(tables["count"]),
        sections=sections,
    )


@lru_cache(maxsize=65536)
def special_group(name: str) -> str | None:
    """`special_tags().group(name)`, cached: the group of a special tag in any spelling, or None."""
    return special_tags().group(name)
