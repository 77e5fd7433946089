"""Exceptions raised by anima_prompt. Every one derives from `AnimaPromptError`."""


class AnimaPromptError(Exception):
    """Root of every error raised by the prompt toolkit."""


class TagIndexError(AnimaPromptError, RuntimeError):
    """The tag index is missing, corrupt, foreign, or could not be built."""


class LintConfigError(AnimaPromptError, ValueError):
    """A lint configuration file or option is invalid: unknown key, wrong type, unknown rule id."""


class LintInputError(AnimaPromptError, ValueError):
    """A prompt file or generation setting given to the linter cannot be read or is out of range."""
