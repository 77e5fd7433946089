"""Safety-tag rules (ANM-SAFE): missing, conflicting, and contradicting the negative prompt."""

from __future__ import annotations

from collections.abc import Iterator

from anima_prompt.lint.analysis import Analysis, Item, count_sentences
from anima_prompt.lint.context import RuleContext
from anima_prompt.lint.findings import Finding, Target
from anima_prompt.lint.findings import Severity as S
from anima_prompt.lint.registry import Example, Scope, rule


def safety_items(prompt: Analysis) -> list[Item]:
    """The safety tags (`safe`, `sensitive`, `nsfw`, `explicit`) of a prompt, in order."""
    return [item for item in prompt.tags if item.special == "safety"]


def _key(item: Item) -> str:
    return item.name.replace("_", " ")


@rule(
    "ANM-SAFE-001",
    "missing-safety-tag",
    S.WARNING,
    scope=Scope.POSITIVE,
    bad="1girl, solo, smile",
    good="1girl, solo, smile, safe",
)
def missing_safety_tag(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """The prompt has no safety tag (`safe`, `sensitive`, `nsfw` or `explicit`).

    The model card's limitations note: short or vague prompts can produce unintended content; use a safety
    tag in the positive prompt, and the opposite ones in the negative. The finding is an error when the
    prompt is short (fewer than `safety-short-tags` tags and fewer than `safety-short-sentences` sentences)
    and a warning otherwise.
    """
    if not prompt.items or safety_items(prompt):
        return
    tags = len(prompt.tag_like)
    short = (
        tags < ctx.config.safety_short_tags
        and count_sentences(prompt.prose) < ctx.config.safety_short_sentences
    )
    first = prompt.items[0]
    yield ctx.report(
        "ANM-SAFE-001",
        (first.start, first.start),
        "no safety tag" + ("; short prompts especially can produce unintended content" if short else ""),
        suggestions=("safe", "sensitive", "nsfw", "explicit"),
        severity=S.ERROR if short else S.WARNING,
    )


@rule(
    "ANM-SAFE-002",
    "conflicting-safety-tags",
    S.WARNING,
    scope=Scope.POSITIVE,
    bad="1girl, safe, explicit",
    good="1girl, safe",
)
def conflicting_safety_tags(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """The positive prompt has more than one different safety tag, e.g. `safe` and `explicit`.

    Each training image had exactly one rating, so two safety tags contradict each other and the result is
    unpredictable. Keep the one you mean.
    """
    found = safety_items(prompt)
    distinct = dict.fromkeys(_key(item) for item in found)
    if len(distinct) > 1:
        second = next(item for item in found if _key(item) != _key(found[0]))
        yield ctx.report(
            "ANM-SAFE-002",
            (second.start, second.end),
            f"conflicting safety tags: {', '.join(f'`{name}`' for name in distinct)}",
            suggestions=tuple(distinct),
        )


@rule(
    "ANM-SAFE-003",
    "safety-tag-in-both",
    S.ERROR,
    scope=Scope.POSITIVE,
    bad=Example("1girl, solo, safe", negative="worst quality, safe"),
    good=Example("1girl, solo, safe", negative="worst quality, explicit"),
)
def safety_tag_in_both(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """The same safety tag is in the positive and the negative prompt.

    Guidance pushes towards the positive and away from the negative; the same tag on both sides cancels
    out, so the rating is left to chance. Put the opposite ratings in the negative. Not reported at CFG 1,
    where the negative prompt has no effect (ANM-CFG-004).
    """
    if ctx.negative is None or not ctx.settings.negative_used:
        return
    positive = {_key(item) for item in safety_items(prompt)}
    for item in safety_items(ctx.negative):
        if _key(item) in positive:
            yield ctx.report(
                "ANM-SAFE-003",
                (item.start, item.end),
                f"`{item.text}` is in both the positive and the negative prompt",
                on=Target.NEGATIVE,
            )


@rule(
    "ANM-SAFE-004",
    "safe-without-negative",
    S.INFO,
    scope=Scope.POSITIVE,
    bad=Example("1girl, solo, safe", negative="worst quality"),
    good=Example("1girl, solo, safe", negative="worst quality, nsfw, explicit"),
)
def safe_without_negative(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """The positive is `safe` but the negative prompt has neither `nsfw` nor `explicit`.

    The model card recommends safety tags in both prompts to avoid unwanted content, especially when the
    prompt is short or vague. Not reported at CFG 1, where the negative prompt has no effect (ANM-CFG-004).
    """
    if ctx.negative is None or not ctx.settings.negative_used:
        return
    positive = [item for item in safety_items(prompt) if _key(item) == "safe"]
    negative = {_key(item) for item in safety_items(ctx.negative)}
    if positive and not negative & {"nsfw", "explicit"}:
        item = positive[0]
        yield ctx.report(
            "ANM-SAFE-004",
            (item.start, item.end),
            "the prompt is `safe` but the negative prompt lacks `nsfw` and `explicit`",
            suggestions=("nsfw, explicit",),
        )
