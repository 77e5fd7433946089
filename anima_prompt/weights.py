"""What the text encoders receive: text segments with ComfyUI weights, and the plain text.

ComfyUI semantics (`comfy/sd1_clip.py`; prompt-spec §3.2): `(x)` multiplies the weight by 1.1 and nests
(`((x))` = 1.21); `(x:w)` *sets* the weight to `w` (it does not multiply with an outer plain group, while
groups inside it multiply from `w`); `\\(` and `\\)` are literal parentheses; everything else, `[x]`,
`{a|b}`, `BREAK` and `<lora:...>` included, is literal text. An unescaped qualifier (`saber (fate)`) is
therefore a 1.1-weighted `fate`. Error nodes (an unclosed `(`, brackets nested deeper than the parser
follows) are literal text at the weight around them.

The engine tokenises each segment with the T5 tokenizer and gives its tokens the segment's weight;
Qwen3 reads `plain_text`, every weight forced to 1.0 (prompt-spec §1.8).
"""

import re
from dataclasses import dataclass

from anima_prompt.nodes import (
    Artist,
    ErrorNode,
    Foreign,
    ForeignGroup,
    Node,
    Prompt,
    Separator,
    Span,
    Tag,
    Text,
    Weighted,
)
from anima_prompt.tagtext import unescape_parens

#: The factor of a plain `(x)` group.
EMPHASIS = 1.1
#: A number as prompt syntax writes it (`1.2`, `.8`, `-1`), white space around it allowed: the weight of
#: `(x:1.2)`, the switch step of `[a:b:0.5]`.
WEIGHT_NUMBER = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)\s*")


def is_number(text: str) -> bool:
    """Whether `text` reads as a number the way ComfyUI and Python read one (`float`)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class WeightedText:
    """A piece of prompt text and the weight ComfyUI gives its tokens.

    Attributes:
        text: the text as the model reads it (escapes resolved, weight syntax removed).
        weight: the effective weight.
        span: the source region it came from.
    """

    text: str
    weight: float
    span: Span


def weighted_segments(prompt: Prompt | Node) -> tuple[WeightedText, ...]:
    """The prompt as consecutive text pieces with their effective weights.

    Neighbouring pieces of equal weight are merged, and the texts concatenate to `plain_text(prompt)`.

    Args:
        prompt: a parsed or normalised prompt, or one node of it.

    Returns:
        The segments in source order.

    Example:
        >>> from anima_prompt import parse
        >>> [(s.text, round(s.weight, 2)) for s in weighted_segments(parse("a, ((b)), (c \\\\(d\\\\):1.5)"))]
        [('a, ', 1.0), ('b', 1.21), (', ', 1.0), ('c (d)', 1.5)]
    """
    pieces: list[WeightedText] = []
    _collect(prompt, 1.0, pieces)
    merged: list[WeightedText] = []
    for piece in pieces:
        if not piece.text:
            continue
        previous = merged[-1] if merged else None
        if previous is not None and previous.weight == piece.weight:
            span = Span(previous.span.start, piece.span.end, previous.span.line, previous.span.column)
            merged[-1] = WeightedText(previous.text + piece.text, piece.weight, span)
        else:
            merged.append(piece)
    return tuple(merged)


def plain_text(prompt: Prompt | Node) -> str:
    """The prompt with all weight syntax removed and escapes resolved: what Qwen3 reads.

    Example:
        >>> from anima_prompt import parse
        >>> plain_text(parse("(masterpiece:1.2), saber \\\\(fate\\\\), ((smile))"))
        'masterpiece, saber (fate), smile'
    """
    return "".join(segment.text for segment in weighted_segments(prompt))


def inner_weight(group: Weighted, outer: float) -> float:
    """The weight of a group's content when the group sits at weight `outer`: `outer × 1.1` for `(x)`,
    the written weight for `(x:w)`.

    Example:
        >>> from anima_prompt import parse
        >>> round(inner_weight(parse("((x))").children[0], 1.1), 2)
        1.21
    """
    explicit = group.weight
    return outer * EMPHASIS if explicit is None else explicit


def _collect(node: Prompt | Node, weight: float, pieces: list[WeightedText]) -> None:
    if isinstance(node, Tag | Artist) and node.qualifier is not None:
        _qualified(node, weight, pieces)
    elif isinstance(node, Tag | Artist | Separator | Text | Foreign | ErrorNode):
        pieces.append(WeightedText(unescape_parens(node.text), weight, node.span))
    elif isinstance(node, Weighted):
        inner = inner_weight(node, weight)
        for child in node.children:
            _collect(child, inner, pieces)
    elif isinstance(node, ForeignGroup):
        pieces.append(WeightedText(node.open, weight, _edge(node.span, 0, len(node.open))))
        for child in node.children:
            _collect(child, weight, pieces)
        end = node.span.end - node.span.start
        pieces.append(WeightedText(node.close, weight, _edge(node.span, end - len(node.close), end)))
    else:  # Prompt, Phrase
        for child in node.children:
            _collect(child, weight, pieces)


def _qualified(node: Tag | Artist, weight: float, pieces: list[WeightedText]) -> None:
    """`saber (fate)`: ComfyUI reads the unescaped qualifier group as a 1.1 weight."""
    assert node.qualifier is not None
    span, qualifier = node.span, node.qualifier
    head = node.text[: qualifier.start - span.start]
    inner = node.text[qualifier.start - span.start + 1 : qualifier.end - span.start - 1]
    pieces.append(WeightedText(unescape_parens(head), weight, _edge(span, 0, len(head))))
    inner_start = qualifier.start - span.start + 1
    inner_span = _edge(span, inner_start, inner_start + len(inner))
    pieces.append(WeightedText(unescape_parens(inner), weight * EMPHASIS, inner_span))


def _edge(span: Span, start: int, end: int) -> Span:
    """A part of a one-line span, by offsets relative to its start."""
    return Span(span.start + start, span.start + end, span.line, span.column + start)
