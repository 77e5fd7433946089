"""Prompt toolkit for the Anima text-to-image model: parse, normalise, render, index and lint prompts.

Importing this package never imports torch.
"""

from anima_prompt.errors import AnimaPromptError, TagIndexError

__all__ = ["AnimaPromptError", "TagIndexError"]
