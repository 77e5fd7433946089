"""Turn a prompt tree back into text: `render` (the prompt itself), `to_dict` (JSON) and `format_tree`.

`render(parse(text)) == text` for every text; a normalised prompt renders to Anima's canonical form.
"""

from anima_prompt.nodes import (
    Artist,
    ErrorNode,
    Foreign,
    ForeignGroup,
    Node,
    Phrase,
    Prompt,
    Separator,
    Tag,
    Text,
    Weighted,
    children_of,
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


def to_dict(node: Node | Prompt) -> dict[str, object]:
    """A JSON-ready mapping of a node or prompt: `kind`, `span`, text fields and children.

    Example:
        >>> from anima_prompt import parse
        >>> to_dict(parse("1girl").children[0])
        {'kind': 'tag', 'span': {'start': 0, 'end': 5, 'line': 1, 'column': 1}, 'text': '1girl'}
    """
    if isinstance(node, Prompt):
        return {
            "kind": "prompt",
            "source": node.source,
            "dataset": node.dataset,
            "children": [to_dict(child) for child in node.children],
            "diagnostics": [diagnostic.to_dict() for diagnostic in node.diagnostics],
        }
    data: dict[str, object] = {"kind": node.kind, "span": node.span.to_dict()}
    if isinstance(node, Separator):
        data["role"] = node.role
    if isinstance(node, Foreign | ForeignGroup):
        data["syntax"] = node.syntax
    if isinstance(node, Tag | Artist | Foreign | ErrorNode | Separator | Text):
        data["text"] = node.text
    if isinstance(node, Phrase):
        data["text"] = render(node)
    if isinstance(node, Tag | Artist) and node.qualifier is not None:
        data["qualifier"] = node.qualifier.to_dict()
    if isinstance(node, Weighted):
        data["weight"] = node.weight
    if isinstance(node, ErrorNode):
        data["code"] = node.code
        data["message"] = node.message
    if isinstance(node, Weighted | ForeignGroup):
        data["children"] = [to_dict(child) for child in node.children]
    return data


def format_tree(root: Node | Prompt) -> str:
    """An indented, human-readable outline of the tree: one node per line with kind, span and text."""
    lines: list[str] = []
    if isinstance(root, Prompt) and root.dataset:
        lines.append(f"dataset {root.dataset}")
    stack = [(child, 0) for child in reversed(children_of(root))]
    while stack:
        node, depth = stack.pop()
        lines.append("  " * depth + _describe(node))
        if not isinstance(node, Phrase):
            stack.extend((child, depth + 1) for child in reversed(children_of(node)))
    return "\n".join(lines)


def _describe(node: Node) -> str:
    where = f"{node.span.line}:{node.span.column}"
    if isinstance(node, Separator):
        return f"separator {where} {node.role} {node.text!r}"
    if isinstance(node, Weighted):
        return f"weighted {where} weight={node.weight_number if node.weight_text else '1.1x'}"
    if isinstance(node, ForeignGroup):
        return f"foreign {where} {node.syntax} {node.open}{node.close}"
    if isinstance(node, Foreign):
        return f"foreign {where} {node.syntax} {node.text!r}"
    if isinstance(node, ErrorNode):
        return f"error {where} {node.code} {node.text!r}"
    if isinstance(node, Tag | Artist) and node.qualifier is not None:
        return f"{node.kind} {where} {node.text!r} unescaped-qualifier"
    if isinstance(node, Phrase):
        return f"{node.kind} {where} {render(node)!r}"
    return f"{node.kind} {where} {node.text!r}"
