"""Lark `Transformer` from the grammar's rules to typed nodes; spans kept, nothing canonicalised.

`parse` has Lark call it inline as each rule reduces; `to_prompt` applies it to a tree from `parse_tree`.
The transformer builds structure only: the bracket groups, each as the grammar's rule names it. What the
tokens of a sequence are (tags, `@artists`, phrases, separators, foreign syntax) is one step,
`classify.Classifier.sequence`, which the transformer calls for every sequence (the prompt and the content of
each group).
"""

from typing import Any

from lark import Token, Transformer

from anima_prompt.classify import Atom, Classifier, token_span
from anima_prompt.nodes import ForeignGroup, Node, Weighted

# Lark hands each method the children of its rule as one list; the names below give each its type.


class PromptBuilder(Transformer[Token, tuple[Node, ...]]):
    """Builds nodes from the rules of `grammars/anima.lark` (one method per rule).

    Args:
        classifier: reads the items of each sequence; the index-free `Classifier()` when None.
    """

    def __init__(self, classifier: Classifier | None = None) -> None:
        super().__init__()
        self.classifier = classifier or Classifier()

    def start(self, children: list[Any]) -> tuple[Node, ...]:
        atoms: list[Atom]
        (atoms,) = children
        return self.classifier.sequence(atoms, "top")

    def seq(self, children: list[Atom]) -> list[Atom]:
        return children

    def paren_group(self, children: list[Any]) -> Weighted:
        open_token: Token
        atoms: list[Atom]
        close_token: Token
        open_token, atoms, close_token = children
        span = token_span(open_token).join(token_span(close_token))
        return Weighted(span, self.classifier.sequence(atoms, "paren"))

    def weighted_group(self, children: list[Any]) -> Weighted:
        open_token: Token
        atoms: list[Atom]
        weight: Token
        close_token: Token
        open_token, atoms, weight, close_token = children
        span = token_span(open_token).join(token_span(close_token))
        return Weighted(span, self.classifier.sequence(atoms, "paren"), str(weight))

    def square_group(self, children: list[Any]) -> ForeignGroup:
        open_token: Token
        atoms: list[Atom]
        close_token: Token
        open_token, atoms, close_token = children
        return self.classifier.square(open_token, atoms, close_token)

    def brace_group(self, children: list[Any]) -> ForeignGroup:
        open_token: Token
        atoms: list[Atom]
        close_token: Token
        open_token, atoms, close_token = children
        return self.classifier.brace(open_token, atoms, close_token)
