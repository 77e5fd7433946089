"""Prompt toolkit for the Anima text-to-image model: parse, normalise, render, index and lint prompts.

Importing this package never imports torch, and imports neither sqlite3 nor rapidfuzz: `TagIndex` is
loaded on first access and `suggest` imports rapidfuzz on its first call.

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
    FixError,
    LintConfigError,
    LintInputError,
    LoneBackslash,
    NestingTooDeep,
    PromptSyntaxError,
    TagIndexError,
    UnclosedGroup,
    UnmatchedClose,
)
from anima_prompt.index.records import Suggestion, TagInfo
from anima_prompt.index.suggest import suggest
from anima_prompt.lint import Finding, LintConfig, LintSettings, Severity, fix, lint
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
    walk,
)
from anima_prompt.normalize import TagLookup, normalize
from anima_prompt.parser import parse, parse_tree, to_prompt
from anima_prompt.render import format_tree, render, to_dict
from anima_prompt.weights import WeightedText, plain_text, weighted_segments

if TYPE_CHECKING:
    from anima_prompt.index.query import TagIndex

# Names imported on first access (PEP 562), with the module that defines them: the index reader imports
# sqlite3, which `import anima_prompt` leaves out.
_LAZY = {"TagIndex": "anima_prompt.index.query"}

__all__ = [
    "AnimaPromptError",
    "Artist",
    "ControlCharacter",
    "DanglingWeight",
    "Diagnostic",
    "EmptyArtist",
    "ErrorNode",
    "Finding",
    "FixError",
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
    "Suggestion",
    "Tag",
    "TagIndex",
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
    "suggest",
    "to_dict",
    "to_prompt",
    "walk",
    "weighted_segments",
]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
