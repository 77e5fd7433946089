"""Prompt toolkit for the Anima text-to-image model: parse, normalise, render, index and lint prompts.

Importing this package never imports torch.

Example:
    >>> from anima_prompt import parse, render
    >>> prompt = parse("1girl, saber (fate), (smile:1.2)")
    >>> [node.kind for node in prompt.items]
    ['tag', 'tag', 'weighted']
    >>> render(prompt)
    '1girl, saber (fate), (smile:1.2)'
"""

from typing import TYPE_CHECKING

from anima_prompt.errors import (
    AnimaPromptError,
    ControlCharacter,
    DanglingWeight,
    EmptyArtist,
    LintConfigError,
    LintInputError,
    LoneBackslash,
    NestingTooDeep,
    PromptSyntaxError,
    TagIndexError,
    UnclosedGroup,
    UnmatchedClose,
)
from anima_prompt.lint import Finding, LintConfig, LintSettings, Severity, fix
from anima_prompt.nodes import (
    Artist,
    Diagnostic,
    ErrorNode,
    Foreign,
    ForeignGroup,
    Node,
    Phrase,
    Prompt,
    Separator,
    Span,
    Tag,
    Text,
    Weighted,
    format_tree,
    to_dict,
    walk,
)
from anima_prompt.normalize import TagInfo, TagLookup, normalize
from anima_prompt.parser import parse, parse_tree, to_prompt
from anima_prompt.render import render
from anima_prompt.weights import WeightedText, plain_text, weighted_segments

# `anima_prompt.lint` stays the linter subpackage, which is callable as the `lint` function; type checkers
# are told it is the function.
if TYPE_CHECKING:
    from anima_prompt.lint import lint

__all__ = [
    "AnimaPromptError",
    "Artist",
    "ControlCharacter",
    "DanglingWeight",
    "Diagnostic",
    "EmptyArtist",
    "ErrorNode",
    "Finding",
    "Foreign",
    "ForeignGroup",
    "LintConfig",
    "LintConfigError",
    "LintInputError",
    "LintSettings",
    "LoneBackslash",
    "NestingTooDeep",
    "Node",
    "Phrase",
    "Prompt",
    "PromptSyntaxError",
    "Separator",
    "Severity",
    "Span",
    "Tag",
    "TagIndexError",
    "TagInfo",
    "TagLookup",
    "Text",
    "UnclosedGroup",
    "UnmatchedClose",
    "Weighted",
    "WeightedText",
    "fix",
    "format_tree",
    "lint",
    "normalize",
    "parse",
    "parse_tree",
    "plain_text",
    "render",
    "to_dict",
    "to_prompt",
    "walk",
    "weighted_segments",
]
