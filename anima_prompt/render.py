"""Render a prompt tree back to text: `render(parse(text)) == text` for every text."""

from anima_prompt.nodes import (
    Artist,
    ErrorNode,
    Foreign,
    ForeignGroup,
    Node,
    Prompt,
    Separator,
    Tag,
    Text,
    Weighted,
)


def render(root: Prompt | Node) -> str:
    """The text of a prompt or node.

    A parsed prompt renders to exactly the text it was parsed from; a normalised prompt renders to
    Anima's canonical form (what `anima fmt` prints and the text encoder receives).

    Args:
        root: a `Prompt` or any node.

    Returns:
        The concatenated text of the tree.

    Example:
        >>> from anima_prompt import parse, normalize
        >>> render(normalize(parse("Hatsune_Miku ,saber (fate)")))
        'hatsune miku, saber \\\\(fate\\\\)'
    """
    parts: list[str] = []
    _render_into(root, parts)
    return "".join(parts)


def _render_into(node: Prompt | Node, parts: list[str]) -> None:
    if isinstance(node, Tag | Artist | Separator | Text | Foreign | ErrorNode):
        parts.append(node.text)
    elif isinstance(node, Weighted):
        parts.append("(")
        for child in node.children:
            _render_into(child, parts)
        parts.append(node.weight_text + ")")
    elif isinstance(node, ForeignGroup):
        parts.append(node.open)
        for child in node.children:
            _render_into(child, parts)
        parts.append(node.close)
    else:  # Prompt, Phrase
        for child in node.children:
            _render_into(child, parts)
