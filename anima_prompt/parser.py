"""Parse prompt text: `parse(text) -> Prompt`, and `parse_tree(text) -> lark.Tree` for the raw parse.

There is one parser: the grammar `grammars/anima.lark`, read by Lark's basic lexer, the post-lexer
(`postlex.PromptPostLex`) and Lark's LALR parser. `parse` has Lark call `transform.PromptBuilder` as each
rule reduces, so no tree is built; `parse_tree` asks Lark for the tree, and `to_prompt` hands it to the same
transformer, giving the same `Prompt`. `parse` uses one index-free `PromptParser`, `default_parser()`, built
once per process; a `PromptParser` made with a tag vocabulary (the linter's) reads items with what the index
knows.

Parsing never fails on a `str`: problems become `ErrorNode`s with `Diagnostic`s; `strict=True` raises the
first as a `PromptSyntaxError`.
"""

from functools import lru_cache
from typing import Protocol, cast

from lark import Lark, Token, Tree

from anima_prompt.boundary import TagVocabulary
from anima_prompt.classify import Classifier
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
from anima_prompt.postlex import PromptPostLex
from anima_prompt.resources import grammar_path
from anima_prompt.transform import PromptBuilder
from anima_prompt.vocab import special_tags

_EXCERPT_WIDTH = 60


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
