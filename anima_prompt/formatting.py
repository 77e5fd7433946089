"""What `anima fmt` makes of a prompt, and of a caption file: values that travel between processes, so that
the captions of a dataset can be formatted here or on a Ray cluster with the same results."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from anima_prompt.errors import LintInputError, PromptSyntaxError
from anima_prompt.lint.inputs import PromptRecord, read_file
from anima_prompt.nodes import Diagnostic
from anima_prompt.normalize import normalize
from anima_prompt.parser import parse
from anima_prompt.render import render


@dataclass(frozen=True, slots=True)
class Formatted:
    """A prompt in canonical form.

    Attributes:
        record: the prompt as read.
        text: its canonical form (`render(normalize(parse(...)))`); "" when `error` is set.
        diagnostics: the syntax problems the parser found (the text around them is kept).
        error: in strict mode, the first syntax problem, as one line naming where it is.
    """

    record: PromptRecord
    text: str
    diagnostics: tuple[Diagnostic, ...] = ()
    error: str | None = None

    @property
    def changed(self) -> bool:
        """Whether the canonical form differs from the prompt as written."""
        return self.text != self.record.prompt


def format_record(record: PromptRecord, *, strict: bool = False) -> Formatted:
    """`record`'s prompt in canonical form; with `strict`, a syntax problem gives a result with `error`."""
    try:
        parsed = parse(record.prompt, strict=strict)
    except PromptSyntaxError as error:
        return Formatted(record, "", error=f"{record.source}: {error.one_line()}")
    return Formatted(record, render(normalize(parsed)), parsed.diagnostics)


@dataclass(frozen=True, slots=True)
class FormattedFile:
    """A caption file's prompt (none for an empty file) in canonical form, or why it cannot be read."""

    path: Path
    formatted: tuple[Formatted, ...] = ()
    error: str | None = None


def format_caption(path: Path, *, strict: bool = False) -> FormattedFile:
    """The caption file `path`, read whole as one prompt (`lint.inputs.read_file`) and formatted."""
    try:
        records = list(read_file(path, whole=True))
    except LintInputError as error:
        return FormattedFile(path, error=str(error))
    return FormattedFile(path, tuple(format_record(record, strict=strict) for record in records))
