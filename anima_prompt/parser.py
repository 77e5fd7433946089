"""Parse prompt text: `parse(text) -> Prompt`, and `parse_tree(text) -> lark.Tree` for the raw parse.

There is one parser: the grammar `grammars/anima.lark`, read by Lark's basic lexer, the post-lexer below and
Lark's LALR parser. `parse` has Lark call `transform.PromptBuilder` as each rule reduces, so no tree is
built; `parse_tree` asks Lark for the tree, and `to_prompt` hands it to the same transformer, giving the same
`Prompt`. `parse` uses one index-free `PromptParser`, `default_parser()`, built once per process; a
`PromptParser` made with a tag vocabulary (the linter's) reads items with what the index knows.

Parsing never fails on a `str`: problems become `ErrorNode`s with `Diagnostic`s; `strict=True` raises the
first as a `PromptSyntaxError`.
"""

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Protocol, cast

from lark import Lark, Token, Tree
from lark.lark import PostLex

from anima_prompt.boundary import TagVocabulary
from anima_prompt.classify import MAX_NESTING, Classifier, sub_token
from anima_prompt.errors import SYNTAX_ERRORS
from anima_prompt.nodes import (
    Diagnostic,
    ErrorNode,
    ForeignGroup,
    Node,
    Phrase,
    Prompt,
    Separator,
    Span,
    Tag,
    Weighted,
)
from anima_prompt.resources import grammar_path
from anima_prompt.transform import PromptBuilder
from anima_prompt.vocab import special_tags

_OPENS = {"LPAR": "RPAR", "LSQB": "RSQB", "LBRACE": "RBRACE"}
_CLOSES = frozenset(_OPENS.values())
_KEYWORDS = re.compile(r"(?<!\S)BREAK(?!\S)|__(?!_)[\w@~*/.\-]+?__")
_EXCERPT_WIDTH = 60


class PromptPostLex(PostLex):
    """Between lexer and parser: pair brackets, bound their depth, split keywords out of text runs."""

    always_accept = ()

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        return iter(pair_brackets(split_keywords(stream)))


def split_keywords(tokens: Iterator[Token]) -> list[Token]:
    """Cut `BREAK` and `__wildcards__` out of TEXT tokens (a TEXT run may hold several words)."""
    result: list[Token] = []
    for token in tokens:
        if token.type != "TEXT" or ("BREAK" not in token and "__" not in token):
            result.append(token)
            continue
        position = 0
        for match in _KEYWORDS.finditer(token):
            _append_text(result, token, position, match.start())
            kind = "BREAK" if match.group() == "BREAK" else "WILDCARD"
            result.append(sub_token(token, kind, match.start(), match.end()))
            position = match.end()
        _append_text(result, token, position, len(token))
    return result


def _append_text(result: list[Token], token: Token, start: int, end: int) -> None:
    """Append `token[start:end]` as TEXT, with white space at its edges as WS tokens."""
    piece = token[start:end]
    if not piece:
        return
    body = piece.strip(
        " \t\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
    )
    lead = piece.index(body) if body else len(piece)
    if lead:
        result.append(sub_token(token, "WS", start, start + lead))
    if body:
        result.append(sub_token(token, "TEXT", start + lead, start + lead + len(body)))
    if start + lead + len(body) < end:
        result.append(sub_token(token, "WS", start + lead + len(body), end))


def pair_brackets(tokens: list[Token]) -> list[Token]:
    """Retype brackets without a partner (UNCLOSED, UNMATCHED), too deep (TOO_DEEP), stray weights.

    Returns `tokens` itself when nothing needs retyping (the common case), else a new list.
    """
    retyped: dict[int, str] = {}
    stack: list[int] = []
    weights: list[int] = []
    for index, token in enumerate(tokens):
        kind = token.type
        if kind in _OPENS:
            stack.append(index)
        elif kind in _CLOSES:
            if stack and _OPENS[tokens[stack[-1]].type] == kind:
                opened = stack.pop()
                if len(stack) >= MAX_NESTING:
                    retyped[opened] = retyped[index] = "TOO_DEEP"
            else:
                retyped[index] = "UNMATCHED"
        elif kind == "WEIGHT":
            weights.append(index)
    for opened in stack:
        retyped[opened] = "UNCLOSED"
    for index in weights:
        following = index + 1
        if following == len(tokens) or retyped.get(following, tokens[following].type) != "RPAR":
            retyped[index] = "STRAY_WEIGHT"
    if not retyped:
        return tokens
    result = list(tokens)
    for index, kind in retyped.items():
        result[index] = Token.new_borrow_pos(kind, str(tokens[index]), tokens[index])
    return result


class _Parser(Protocol):
    """A built `Lark` parser, as this module calls it."""

    def parse(self, text: str) -> Tree[Token]:
        """The tree of `text`, or what the inline transformer's `start` returns."""
        ...


def _lark(transformer: PromptBuilder | None) -> _Parser:
    return Lark(
        grammar_path("anima.lark").read_text(encoding="utf-8"),
        parser="lalr",
        lexer="basic",
        postlex=PromptPostLex(),
        transformer=transformer,
    )


class PromptParser:
    """The grammar's parser with the transformer inline and one `Classifier`.

    Args:
        vocabulary: a tag vocabulary (the linter's tag index) the classification reads items with, or None
            for the index-free model that `parse` uses.
    """

    def __init__(self, vocabulary: TagVocabulary | None = None) -> None:
        self._lark = _lark(PromptBuilder(Classifier(vocabulary)))

    def parse(self, text: str, *, strict: bool = False) -> Prompt:
        """Parse `text` (see `parse`)."""
        # Lark types `parse` as returning a tree; with a transformer inline it returns what `start` returns.
        children = cast(tuple[Node, ...], self._lark.parse(text))
        return build_prompt(text, children, strict=strict)


@lru_cache(maxsize=1)
def default_parser() -> PromptParser:
    """The index-free parser `parse` uses, built on first use."""
    return PromptParser()


@lru_cache(maxsize=1)
def _tree_parser() -> _Parser:
    """The same grammar and parser building Lark's tree (only `parse_tree` needs it)."""
    return _lark(None)


def parse_tree(text: str) -> Tree[Token]:
    """The Lark parse tree of `text` (rules `start`, `seq`, `paren_group`, `weighted_group`, ...).

    Args:
        text: any string.

    Returns:
        The tree; its tokens carry positions. `parse` is the usual entry point.
    """
    return _tree_parser().parse(text)


def parse(text: str, *, strict: bool = False) -> Prompt:
    """Parse an Anima prompt into a typed tree.

    Args:
        text: any string; malformed prompts give `ErrorNode`s and diagnostics, never an exception.
        strict: raise on the first problem instead.

    Returns:
        The `Prompt`; `render(prompt) == text`.

    Raises:
        PromptSyntaxError: in strict mode, for an unclosed or unmatched bracket, a stray weight, a lone
            backslash, a control character, a bare `@` or brackets nested too deep (a subclass names
            which).

    Example:
        >>> [node.kind for node in parse("1girl, @wlop, (smile:1.2)").items]
        ['tag', 'artist', 'weighted']
    """
    return default_parser().parse(text, strict=strict)


def to_prompt(tree: Tree[Token], text: str, *, strict: bool = False) -> Prompt:
    """The `Prompt` for a tree made by `parse_tree(text)`: the transformer `parse` runs inline."""
    return build_prompt(text, PromptBuilder().transform(tree), strict=strict)


def build_prompt(text: str, children: tuple[Node, ...], *, strict: bool = False) -> Prompt:
    """Attach diagnostics and the dataset tag to top-level nodes; raise in strict mode."""
    errors: list[ErrorNode] = []
    _collect_errors(children, errors)
    diagnostics = tuple(
        Diagnostic(node.code, node.message, node.span, excerpt(text, node.span)) for node in errors
    )
    if strict and diagnostics:
        first = diagnostics[0]
        raise SYNTAX_ERRORS[first.code](first, diagnostics)
    return Prompt(text, children, diagnostics, dataset_tag(children))


def _collect_errors(children: tuple[Node, ...], errors: list[ErrorNode]) -> None:
    """Append the `ErrorNode`s under `children` to `errors`, depth first in source order (as `walk`)."""
    for node in children:
        if isinstance(node, ErrorNode):
            errors.append(node)
        elif isinstance(node, Phrase | Weighted | ForeignGroup):
            _collect_errors(node.children, errors)


def dataset_tag(children: tuple[Node, ...]) -> str | None:
    """`deviantart` or `ye-pop` when that dataset tag stands alone on the first line, else None."""
    if not children or not isinstance(children[0], Tag):
        return None
    tags = special_tags()
    name = tags.spelling(children[0].text)
    if name is None or tags.group(name) != "dataset":
        return None
    if len(children) == 1:
        return name
    following = children[1]
    if isinstance(following, Separator) and following.role in ("newline", "paragraph"):
        return name
    return None


def excerpt(text: str, span: Span) -> str:
    """The line holding `span.start` (a window of it, if long) with a caret under that position."""
    line_start = text.rfind("\n", 0, span.start) + 1
    line_end = text.find("\n", span.start)
    line = text[line_start : len(text) if line_end < 0 else line_end].rstrip("\r")
    column = span.start - line_start
    left = max(0, column - _EXCERPT_WIDTH // 2)
    window = line[left : left + _EXCERPT_WIDTH]
    shown = "".join(
        char if char.isprintable() or char == " " else "\N{REPLACEMENT CHARACTER}" for char in window
    )
    prefix = "…" if left else ""
    suffix = "…" if left + _EXCERPT_WIDTH < len(line) else ""
    return f"{prefix}{shown}{suffix}\n{' ' * (len(prefix) + column - left)}^"
