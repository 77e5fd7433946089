"""Taking nodes out of a parsed prompt without leaving empty items behind: what the text encoder reads.

`without(prompt, drop)` removes every node that `drop` selects, at any depth. Of the two separators around a
removed item the stronger one stays (a blank line over a line break over a comma over white space); inside
prose, the white space on one side of the removed node goes. Groups and phrases left empty are removed too;
a group of another front end keeps its delimiters (`[a|<lora:x>]` gives `[a|]`).

The engine takes out LoRA tags (`loras.without_loras`, loaded as LoRAs) and comments (`without_comments`,
which the ComfyUI front end removes before it encodes a prompt).
"""

from collections.abc import Callable

from anima_prompt.nodes import (
    Foreign,
    ForeignGroup,
    Node,
    Phrase,
    Prompt,
    Separator,
    Text,
    Weighted,
    line_breaks,
)

Drop = Callable[[Node], bool]


def without(prompt: Prompt, drop: Drop) -> Prompt:
    """The prompt without the nodes `drop` selects (same source, diagnostics and dataset).

    Example:
        >>> from anima_prompt import parse, render
        >>> from anima_prompt.nodes import Tag
        >>> smile = lambda node: isinstance(node, Tag) and node.text == "smile"
        >>> render(without(parse("1girl, smile, blush"), smile))
        '1girl, blush'
    """
    return Prompt(prompt.source, _sequence_without(prompt.children, drop), prompt.diagnostics, prompt.dataset)


def without_comments(prompt: Prompt) -> Prompt:
    """The prompt without its `/* ... */` comments, as the ComfyUI front end sends it to be encoded.

    Example:
        >>> from anima_prompt import parse, render
        >>> render(without_comments(parse("1girl, /* pose tags */ smile, solo/* character */")))
        '1girl, smile, solo'
    """
    return without(prompt, is_comment)


def is_comment(node: Node) -> bool:
    """Whether `node` is a `/* ... */` comment."""
    return isinstance(node, Foreign) and node.syntax == "comment"


def _pruned(node: Node, drop: Drop) -> Node | None:
    """`node` with the dropped nodes inside it removed; None when nothing of it is left."""
    if drop(node):
        return None
    if isinstance(node, Phrase):
        children = _phrase_without(node.children, drop)
        return Phrase(node.span, children) if children else None
    if isinstance(node, Weighted):
        children = _sequence_without(node.children, drop)
        return Weighted(node.span, children, node.weight_text) if children else None
    if isinstance(node, ForeignGroup):  # `[a|<lora:x>]` keeps its delimiters: `[a|]`
        children = tuple(child for child in node.children if not drop(child))
        return ForeignGroup(node.span, node.syntax, node.open, children, node.close)
    return node


def _merged(left: Separator, right: Separator) -> Separator:
    """The stronger of two separators that a removed item left side by side, keeping words apart."""
    kept, other = (left, right) if _rank(left) >= _rank(right) else (right, left)
    if not line_breaks(kept.text) and kept.text == kept.text.rstrip() and other.text != other.text.rstrip():
        return Separator(kept.span, kept.text + " ")  # `a,<lora:x> b` -> `a, b`
    return kept


def _rank(separator: Separator) -> tuple[int, int]:
    return line_breaks(separator.text), separator.commas


def _sequence_without(nodes: tuple[Node, ...], drop: Drop) -> tuple[Node, ...]:
    """Items with the dropped nodes removed; of the separators that end up side by side, the strongest
    stays."""
    result: list[Node] = []
    for node in nodes:
        if isinstance(node, Separator):
            if result and isinstance(result[-1], Separator):
                result[-1] = _merged(result[-1], node)
            elif result:
                result.append(node)
            continue
        kept = _pruned(node, drop)
        if kept is not None:
            result.append(kept)
    if result and isinstance(result[-1], Separator):
        result.pop()
    return tuple(result)


def _phrase_without(nodes: tuple[Node, ...], drop: Drop) -> tuple[Node, ...]:
    """Prose with the dropped nodes removed: the text on both sides joins with one run of white space."""
    result: list[Node] = []
    for node in nodes:
        kept = _pruned(node, drop)
        if kept is None:
            continue
        if isinstance(kept, Text) and (not result or _ends_with_space(result[-1])):
            trimmed = kept.text.lstrip()
            if not trimmed:
                continue
            kept = Text(kept.span, trimmed) if trimmed != kept.text else kept
        result.append(kept)
    if result and isinstance(result[-1], Text) and result[-1].text != result[-1].text.rstrip():
        last = result[-1]
        result[-1] = Text(last.span, last.text.rstrip())
    return tuple(node for node in result if not (isinstance(node, Text) and not node.text))


def _ends_with_space(node: Node) -> bool:
    return isinstance(node, Text) and node.text != node.text.rstrip()
