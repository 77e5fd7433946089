"""Lark `Transformer` from the grammar's rules to typed nodes; spans kept, nothing canonicalised.

`parse` has Lark call it inline as each rule reduces; `to_prompt` applies it to a tree from `parse_tree`.
The transformer builds structure only: the bracket groups, each as the grammar's rule names it. What the
tokens of a sequence are (tags, `@artists`, phrases, separators, foreign syntax) is one step,
`classify.classify_sequence`, which the transformer calls for every sequence (the prompt and the content of
each group).
"""

from lark import Token, Transformer, v_args

from anima_prompt.classify import Atom, classify_brace, classify_sequence, classify_square, token_span
from anima_prompt.nodes import ForeignGroup, Node, Weighted


class PromptBuilder(Transformer[Token, tuple[Node, ...]]):
    """Builds nodes from the rules of `grammars/anima.lark` (one method per rule)."""

    @v_args(inline=True)
    def start(self, atoms: list[Atom]) -> tuple[Node, ...]:
        return classify_sequence(atoms, "top")

    def seq(self, children: list[Atom]) -> list[Atom]:
        return children

    @v_args(inline=True)
    def paren_group(self, open_token: Token, atoms: list[Atom], close_token: Token) -> Weighted:
        span = token_span(open_token).join(token_span(close_token))
        return Weighted(span, classify_sequence(atoms, "paren"))

    @v_args(inline=True)
    def weighted_group(
        self, open_token: Token, atoms: list[Atom], weight: Token, close_token: Token
    ) -> Weighted:
        span = token_span(open_token).join(token_span(close_token))
        return Weighted(span, classify_sequence(atoms, "paren"), str(weight))

    @v_args(inline=True)
    def square_group(self, open_token: Token, atoms: list[Atom], close_token: Token) -> ForeignGroup:
        return classify_square(open_token, atoms, close_token)

    @v_args(inline=True)
    def brace_group(self, open_token: Token, atoms: list[Atom], close_token: Token) -> ForeignGroup:
        return classify_brace(open_token, atoms, close_token)
