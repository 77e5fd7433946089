"""Lark `Transformer` from the parse tree to typed nodes; spans kept, nothing canonicalised.

The same transformer serves both paths: `to_prompt(parse_tree(text))`, and `parser.reduce_tokens`, which
calls these methods as the grammar's rules reduce (no intermediate tree, no recursion).
"""

from lark import Token, Transformer, Tree

from anima_prompt.classify import (
    Atom,
    atom_span,
    classify_brace,
    classify_sequence,
    classify_square,
    join_spans,
)
from anima_prompt.nodes import ForeignGroup, Node, Weighted


class PromptBuilder(Transformer[Token, tuple[Node, ...]]):
    """Builds nodes from the rules of `grammars/anima.lark`; classification lives in `classify`."""

    def start(self, children: list[list[Atom]]) -> tuple[Node, ...]:
        return classify_sequence(children[0], "top")

    def seq(self, children: list[Atom]) -> list[Atom]:
        return children

    def paren_group(self, children: list[Token | list[Atom]]) -> Weighted:
        open_token, atoms, close_token = children
        span = join_spans(atom_span(open_token), atom_span(close_token))  # type: ignore[arg-type]
        return Weighted(span, classify_sequence(atoms, "paren"))  # type: ignore[arg-type]

    def weighted_group(self, children: list[Token | list[Atom]]) -> Weighted:
        open_token, atoms, weight, close_token = children
        span = join_spans(atom_span(open_token), atom_span(close_token))  # type: ignore[arg-type]
        return Weighted(span, classify_sequence(atoms, "paren"), str(weight))  # type: ignore[arg-type]

    def square_group(self, children: list[Token | list[Atom]]) -> ForeignGroup:
        open_token, atoms, close_token = children
        return classify_square(open_token, atoms, close_token)  # type: ignore[arg-type]

    def brace_group(self, children: list[Token | list[Atom]]) -> ForeignGroup:
        open_token, atoms, close_token = children
        return classify_brace(open_token, atoms, close_token)  # type: ignore[arg-type]


def to_prompt_nodes(tree: Tree[Token]) -> tuple[Node, ...]:
    """The top-level nodes of a tree made by `anima_prompt.parser.parse_tree`."""
    return PromptBuilder().transform(tree)
