"""Exceptions raised by anima_prompt. Every one derives from `AnimaPromptError`."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from anima_prompt.nodes import Diagnostic


class AnimaPromptError(Exception):
    """Root of every error raised by the prompt toolkit."""


class TagIndexError(AnimaPromptError, RuntimeError):
    """The tag index is missing, corrupt, foreign, or could not be built."""


class DownloadError(AnimaPromptError, RuntimeError):
    """A download failed: the server answered with an error or could not be reached, the transfer broke
    off, or the bytes failed a check.

    Attributes:
        status: the HTTP status code when the server answered with an error, else None.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class PromptSyntaxError(AnimaPromptError, ValueError):
    """A prompt parsed in strict mode holds text that is not valid prompt syntax.

    Attributes:
        code: the diagnostic code (`unclosed-group`, `unmatched-close`, ...).
        line: 1-based line of the problem.
        column: 1-based column of the problem.
        context: the source line with a caret under the problem.
        diagnostics: every problem found, the first of which this error describes.
    """

    code = "syntax-error"

    def __init__(self, diagnostic: "Diagnostic", diagnostics: "tuple[Diagnostic, ...]" = ()) -> None:
        self.message = diagnostic.message
        self.line = diagnostic.span.line
        self.column = diagnostic.span.column
        self.context = diagnostic.excerpt
        self.diagnostics = diagnostics or (diagnostic,)
        super().__init__(f"line {self.line}, column {self.column}: {self.message}\n{self.context}")

    def one_line(self) -> str:
        """The error on one line, for command-line output."""
        return f"line {self.line}, column {self.column}: {self.message}"


class UnclosedGroup(PromptSyntaxError):
    """A `(`, `[` or `{` is never closed."""

    code = "unclosed-group"


class UnmatchedClose(PromptSyntaxError):
    """A `)`, `]` or `}` closes nothing."""

    code = "unmatched-close"


class DanglingWeight(PromptSyntaxError):
    """A weight outside a group (`x:1.2)`) or a `:` in a weight group not followed by a number."""

    code = "dangling-weight"


class LoneBackslash(PromptSyntaxError):
    """A backslash that escapes nothing: only `\\(` and `\\)` are escapes."""

    code = "lone-backslash"


class ControlCharacter(PromptSyntaxError):
    """A NUL or other control character in the prompt."""

    code = "control-character"


class NestingTooDeep(PromptSyntaxError):
    """Brackets nested deeper than the parser follows."""

    code = "nesting-too-deep"


class EmptyArtist(PromptSyntaxError):
    """An `@` with no artist name after it."""

    code = "empty-artist"


SYNTAX_ERRORS: dict[str, type[PromptSyntaxError]] = {
    error.code: error
    for error in (
        UnclosedGroup,
        UnmatchedClose,
        DanglingWeight,
        LoneBackslash,
        ControlCharacter,
        NestingTooDeep,
        EmptyArtist,
    )
}


class LintConfigError(AnimaPromptError, ValueError):
    """A lint configuration file or option is invalid: unknown key, wrong type, unknown rule id."""


class LintInputError(AnimaPromptError, ValueError):
    """A prompt file or generation setting given to the linter cannot be read or is out of range."""


class FixError(AnimaPromptError, RuntimeError):
    """The automatic fixes of a prompt did not settle: a defect of a rule's fix, never of the prompt."""


class ImageMetadataError(AnimaPromptError, ValueError):
    """An image is not a readable PNG, or carries no generation settings this toolkit can read."""


class EditorInputError(AnimaPromptError, ValueError):
    """An editor request names a position outside its text or an empty range."""
