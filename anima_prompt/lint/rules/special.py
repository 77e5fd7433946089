"""Rules on Anima's own special tags (the card's vocabulary): score tags (ANM-SCORE), year tags (ANM-YEAR)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from anima_prompt.lint.analysis import Analysis
from anima_prompt.lint.context import RuleContext
from anima_prompt.lint.findings import Finding, Fix
from anima_prompt.lint.findings import Severity as S
from anima_prompt.lint.registry import Scope, rule
from anima_prompt.lint.settings import Variant
from anima_prompt.vocab import YEAR_TAG

_SCORE_WITHOUT_UNDERSCORE = re.compile(r"score[\s-]+(\d+)", re.IGNORECASE)


@rule(
    "ANM-SCORE-001",
    "score-without-underscore",
    S.WARNING,
    bad="score 9, score 8, 1girl, safe",
    good="score_9, score_8, 1girl, safe",
    fixable=True,
)
def score_without_underscore(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """A score tag written with a space (`score 9`); the model learned `score_9`.

    The card: tags use spaces instead of underscores, and `score_N` is the only exception. Written as
    `score 9` the tag is two plain words. With Anima-Aesthetic, where score tags should go altogether,
    ANM-VAR-001 reports them instead. The fix writes the underscore.
    """
    if ctx.settings.variant is Variant.AESTHETIC:
        return
    for item in prompt.tags:
        match = _SCORE_WITHOUT_UNDERSCORE.fullmatch(item.text) if item.special == "score" else None
        if match is not None:
            fixed = f"score_{match.group(1)}"
            yield ctx.report(
                "ANM-SCORE-001",
                (item.text_start, item.end),
                f"`{item.text}` is two words to Anima; the score tag is `{fixed}`",
                suggestions=(fixed,),
                fix=Fix(item.text_start, item.end, fixed),
            )


@rule(
    "ANM-YEAR-002",
    "conflicting-years",
    S.WARNING,
    scope=Scope.POSITIVE,
    bad="year 2025, year 2024, 1girl, safe",
    good="year 2025, 1girl, safe",
)
def conflicting_years(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """The positive prompt names more than one year (`year 2025, year 2024`).

    Each training image was captioned with the one year it was posted, so two year tags contradict each
    other and the model settles on neither. Keep the year you mean, or use a period tag such as `recent`.
    """
    first: tuple[str, str] | None = None  # the first year and how it was written
    for item in prompt.tags:
        match = YEAR_TAG.fullmatch(item.name) if item.special == "year" else None
        if match is None:
            continue
        if first is None:
            first = (match.group(1), item.text)
        elif match.group(1) != first[0]:
            yield ctx.report(
                "ANM-YEAR-002",
                (item.text_start, item.end),
                f"`{item.text}` contradicts `{first[1]}`: an image has one year",
                suggestions=(first[1],),
            )
