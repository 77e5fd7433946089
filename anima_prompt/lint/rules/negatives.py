"""Rules on tags that belong in the negative prompt (ANM-NEG)."""

from __future__ import annotations

from collections.abc import Iterator

from anima_prompt.lint.analysis import Analysis
from anima_prompt.lint.context import RuleContext
from anima_prompt.lint.findings import Finding
from anima_prompt.lint.findings import Severity as S
from anima_prompt.lint.flaws import is_flaw
from anima_prompt.lint.registry import Example, Scope, rule


@rule(
    "ANM-NEG-002",
    "drawing-error-weighted-up",
    S.WARNING,
    scope=Scope.POSITIVE,
    bad=Example("safe, 1girl, smile, (bad hands:1.3)", negative="worst quality"),
    good=Example("safe, 1girl, smile", negative="worst quality, (bad hands:1.3)"),
)
def drawing_error_weighted_up(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """A drawing-error tag (`bad hands`, `bad anatomy`, `extra digits`) weighted up in the positive prompt.

    Danbooru tags images that have these errors with them, so in the positive prompt they ask for the
    error, the more so when weighted; they are negative-prompt tags pasted into the wrong box. The tags are
    listed in `data/negative_tags.toml`; with a tag index, tags that imply `bad anatomy` or
    `artistic error` count too. Move the tag to the negative prompt.
    """
    for item in prompt.tags:
        if item.weight > 1.0 and is_flaw(item.name, ctx.index):
            span = (item.group.start, item.group.end) if item.group is not None else (item.start, item.end)
            yield ctx.report(
                "ANM-NEG-002",
                span,
                f"`{item.text}` names a drawing error and is weighted up ({item.weight:g}) in the positive "
                "prompt, which asks for the error; put it in the negative prompt",
            )
