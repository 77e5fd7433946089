"""Prompt toolkit for the Anima text-to-image model: parse, normalise, render, index and lint prompts.

Importing this package never imports torch.
"""

from anima_prompt.errors import AnimaPromptError, LintConfigError, LintInputError, TagIndexError
from anima_prompt.lint import Finding, LintConfig, LintSettings, Severity, fix, lint

__all__ = [
    "AnimaPromptError",
    "Finding",
    "LintConfig",
    "LintConfigError",
    "LintInputError",
    "LintSettings",
    "Severity",
    "TagIndexError",
    "fix",
    "lint",
]
