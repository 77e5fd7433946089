"""Weight rules (ANM-WGT): weights too weak or too strong for Anima, and weights written after their group."""

from __future__ import annotations

from collections.abc import Iterator

from anima_prompt.lint.analysis import Analysis, Group
from anima_prompt.lint.context import RuleContext
from anima_prompt.lint.findings import Finding, Fix, Target
from anima_prompt.lint.findings import Severity as S
from anima_prompt.lint.flaws import is_flaw
from anima_prompt.lint.registry import rule
from anima_prompt.lint.scan import AFTER_GROUP
from anima_prompt.postlex import COMMENT_OPEN
from anima_prompt.weights import is_number

_SEPARATOR_AFTER = frozenset(",\n")


def weighted_groups(prompt: Analysis) -> Iterator[Group]:
    """The groups that act as weights: all but brackets in a sentence (ANM-ESC-002), `/(x/)` "escapes"
    (ANM-ESC-004) and groups that hold only comments (`(/*pose tags*/)`: nothing is left to weigh once the
    ComfyUI front end removes them)."""
    text = prompt.text
    for group in prompt.groups:
        if group.brackets or _slash_escaped(group, text):
            continue
        if COMMENT_OPEN in group.body and _holds_only_comments(group, prompt):
            continue
        yield group


def _holds_only_comments(group: Group, prompt: Analysis) -> bool:
    return all(item.foreign == "comment" for item in prompt.items if group.start < item.start < group.end)


def _slash_escaped(group: Group, text: str) -> bool:
    return group.body.endswith("/") and text[group.start - 1 : group.start] == "/"


def _holds_flaw(group: Group, prompt: Analysis, ctx: RuleContext) -> bool:
    """Whether a group of the positive prompt weights a drawing-error tag (ANM-NEG-002 asks to remove it)."""
    if ctx.target is not Target.PROMPT:
        return False
    return any(
        group.start <= item.start < group.end and is_flaw(item.name, ctx.index) for item in prompt.tags
    )


@rule(
    "ANM-WGT-001",
    "weak-weight",
    S.INFO,
    bad="1girl, (smile:1.2), safe",
    good="1girl, (smile:1.6), safe",
)
def weak_weight(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """A weight between 1.0 and 1.3 that barely changes an Anima image.

    In ComfyUI, Anima's weights scale the LLM adapter's output rows linearly (one weight per T5 token), not
    the text encoder's attention as in SDXL, so small boosts hardly show. The card's own example is
    `(chibi:2)`; try 1.5-2. A group is judged by the weight its content ends up with: nested plain groups
    multiply, so `((x))` (1.21) is weak on both levels and `(((x)))` (1.33) on none. A drawing-error tag
    weighted up in the positive prompt is reported by ANM-NEG-002 instead.
    """
    for group in weighted_groups(prompt):
        weight = group.total
        if 1.0 < weight <= ctx.config.weak_weight_max and not _holds_flaw(group, prompt, ctx):
            body, message = (
                group.core.strip(),
                f"weight {_weight_text(group)} has little visible effect on Anima",
            )
            head, colon, tail = body.rpartition(":")
            if colon and head.strip() and not group.explicit and not is_number(tail):
                # `(blue eyes:abc)`: ComfyUI reads no weight, so `:abc` is text and the group weighs 1.1
                body = head.strip()
                message += f"; `:{tail}` is not a number, so it is no weight and reaches the model as text"
            yield ctx.report("ANM-WGT-001", (group.start, group.end), message, suggestions=(f"({body}:1.5)",))


def _weight_text(group: Group) -> str:
    """`1.2`, or `1.21 (nested groups multiply)` when levels combine."""
    total = round(group.total, 2)
    return f"{total:g}" if group.total == group.weight else f"{total:g} (nested groups multiply)"


@rule(
    "ANM-WGT-002",
    "extreme-weight",
    S.WARNING,
    bad="1girl, (smile:4), safe",
    good="1girl, (smile:2), safe",
)
def extreme_weight(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """A weight above 3 or below 0, which breaks the image.

    Weights multiply conditioning vectors: large ones blow the adapter output out of the range the DiT was
    trained on, and negative ones flip its direction (only meaningful with a NegPiP-style extension). As
    for ANM-WGT-001, a group is judged by the weight its content ends up with.
    """
    for group in weighted_groups(prompt):
        weight = group.total
        if weight > ctx.config.extreme_weight_max or weight < ctx.config.extreme_weight_min:
            yield ctx.report(
                "ANM-WGT-002",
                (group.start, group.end),
                f"weight {_weight_text(group)} is outside {ctx.config.extreme_weight_min:g}-"
                f"{ctx.config.extreme_weight_max:g} and can break the image",
                suggestions=(f"({group.core.strip()}:2)",),
            )


@rule(
    "ANM-WGT-003",
    "weight-outside-group",
    S.WARNING,
    bad="1girl, (smile):1.5, safe",
    good="1girl, (smile:1.5), safe",
    fixable=True,
)
def weight_outside_group(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """A weight, or a stray `):`, written after a group's closing bracket: `(smile):1.5`, `(smile:1.2)):`.

    ComfyUI reads a weight only inside the brackets, right before `)`: `(smile):1.5` is `smile` at 1.1
    followed by the text `:1.5`, and an extra `)` or `:` after a group reaches the model as text. The fix
    moves the weight into a plain group, `(smile:1.5)`, or drops a stray `):` that ends an item. A colon that
    ends a line after an aside in brackets closes a heading (`Layout (read right to left):`), not a group,
    and a weight right before the `)` of an enclosing group is that group's (`(hands(cropped, fused):1.4)`).
    """
    text = prompt.text
    ends = {group.end for group in prompt.groups}
    for group in prompt.groups:
        if group.brackets or (text[group.end : group.end + 1] == ")" and group.end + 1 in ends):
            continue  # an enclosing group closes here: it is checked itself
        match = AFTER_GROUP.match(text, group.end)
        if match is None:
            continue
        extra, number = match.group(1), match.group(2)
        written = text[group.start : group.end]
        rest = text[match.end() :].lstrip(" \t")
        if number is not None and not extra and rest[:1] == ")" and len(text) - len(rest) + 1 in ends:
            continue  # the weight of an enclosing group: `(fingers(missing), hands(cropped):1.4)`
        if number is not None and not extra and not group.explicit:
            fixed = f"{text[group.start : group.end - 1]}:{number})"
            yield ctx.report(
                "ANM-WGT-003",
                (group.start, match.end()),
                f"the weight `:{number}` comes after `{written}`: ComfyUI reads the group as 1.1 and "
                f"`:{number}` as text",
                suggestions=(fixed,),
                fix=Fix(group.start, match.end(), fixed),
            )
        elif number is None and not extra and _heading_colon(text, group.start, rest):
            continue
        elif number is not None or extra or not rest or rest[0] in _SEPARATOR_AFTER:
            stray = text[group.end : match.end()]
            ends_item = number is None and (not rest or rest[0] in _SEPARATOR_AFTER)
            yield ctx.report(
                "ANM-WGT-003",
                (group.end, match.end()),
                f"stray `{stray.strip()}` after `{written}` reaches the model as text",
                fix=Fix(group.end, match.end(), "") if ends_item else None,
            )


def _heading_colon(text: str, group_start: int, rest: str) -> bool:
    """Whether the `:` after a group ends a heading: the group is an aside after a word of its item
    (`Layout (Read Right-to-Left, Zigzag):`) and the line ends with the colon."""
    before = text[:group_start].rstrip(" \t")
    return bool(before) and before[-1].isalnum() and (not rest or rest[0] == "\n")
