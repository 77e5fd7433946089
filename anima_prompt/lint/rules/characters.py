"""Character rules (ANM-CHR): a character tag without its series tag."""

from __future__ import annotations

from collections.abc import Iterator

from anima_prompt.index.records import TagInfo
from anima_prompt.lint.analysis import Analysis
from anima_prompt.lint.context import RuleContext
from anima_prompt.lint.findings import Finding
from anima_prompt.lint.findings import Severity as S
from anima_prompt.lint.lookup import CachedIndex
from anima_prompt.lint.registry import Scope, rule
from anima_prompt.tagtext import prompt_form

_COPYRIGHT = "copyright"
_CHARACTER = "character"
_SERIES_QUALIFIER = "_(series)"


def series_of(info: TagInfo, index: CachedIndex) -> TagInfo | None:
    """The copyright tag a character's Danbooru qualifier names (`kazusa_(blue_archive)` -> `blue_archive`,
    `saber_(fate)` -> `fate_(series)`), or None when the name has no such qualifier."""
    name = info.name
    if not name.endswith(")") or "_(" not in name:
        return None
    qualifier = name[name.rindex("_(") + 2 : -1]
    for candidate in (qualifier, qualifier + _SERIES_QUALIFIER):
        found = index.lookup(candidate)
        if found is not None and found.category_name == _COPYRIGHT:
            return found
    return None


@rule(
    "ANM-CHR-001",
    "character-without-series",
    S.INFO,
    scope=Scope.POSITIVE,
    bad="safe, 1girl, saber \\(fate\\), smile",
    good="safe, 1girl, saber \\(fate\\), fate \\(series\\), smile",
    needs_index=True,
)
def character_without_series(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """A character tag without the tag of its series.

    The card's tag order is `[character] [series] [artist]`, and its example names the series after the
    character; community guides add that a character tag should always be followed by its series, which
    helps Anima place the character. The series is the copyright tag the character's Danbooru qualifier
    names (`kazusa (blue archive)` -> `blue archive`, `saber (fate)` -> `fate (series)`); characters without a
    qualifier are not checked. A series tag that implies it (`fate/stay night` implies `fate (series)`)
    counts, and so does the series named in the prompt's text.
    """
    assert ctx.index is not None
    index = ctx.index
    present: set[str] = set()
    characters: list[tuple[int, int, str, TagInfo]] = []
    for item in prompt.tags:
        info = index.lookup(item.text)
        if info is None:
            continue
        if info.category_name == _COPYRIGHT:
            present.add(info.name)
            present.update(index.implies(info.name))
        elif info.category_name == _CHARACTER:
            series = series_of(info, index)
            if series is not None:
                characters.append((item.start, item.end, item.text, series))
    text = prompt.text.lower()
    for start, end, written, series in characters:
        elsewhere = text[:start] + " " + text[end:]
        if series.name in present or series.display.removesuffix(" (series)") in elsewhere:
            continue
        yield ctx.report(
            "ANM-CHR-001",
            (start, end),
            f"character `{written}` without its series tag `{prompt_form(series.name)}`",
            suggestions=(prompt_form(series.name),),
        )
