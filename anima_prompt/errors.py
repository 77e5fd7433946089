"""Exceptions raised by anima_prompt. Every one derives from `AnimaPromptError`."""


class AnimaPromptError(Exception):
    """Root of every error raised by the prompt toolkit."""


class TagIndexError(AnimaPromptError, RuntimeError):
    """The tag index is missing, corrupt, foreign, or could not be built."""
