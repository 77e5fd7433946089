"""Exceptions raised by anima_engine. Every one derives from `AnimaEngineError`."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from anima_prompt.lint import Finding


class AnimaEngineError(Exception):
    """Root of every error raised by the inference engine."""


class ConfigError(AnimaEngineError, ValueError):
    """A model configuration or a generation option is invalid."""


class CheckpointError(AnimaEngineError, RuntimeError):
    """A weights file is missing, unreadable, of the wrong kind, or does not match the model.

    When keys do not match, `missing`, `unexpected` and `misshaped` list every offending key.
    """

    def __init__(
        self,
        message: str,
        *,
        missing: tuple[str, ...] | list[str] = (),
        unexpected: tuple[str, ...] | list[str] = (),
        misshaped: tuple[str, ...] | list[str] = (),
    ) -> None:
        super().__init__(message)
        self.missing = tuple(missing)
        self.unexpected = tuple(unexpected)
        self.misshaped = tuple(misshaped)


class LoraError(CheckpointError):
    """A LoRA file does not fit the model: keys that name no layer of ours (listed in `unexpected`), a
    tensor of the wrong rank or shape, or a LoRA made for another model family."""


class ModelDownloadError(AnimaEngineError, RuntimeError):
    """An official model or tokenizer file could not be downloaded, or the download failed a check."""


class PromptLintError(AnimaEngineError, ValueError):
    """The linter found errors in a prompt whose request asked for the lint gate.

    Attributes:
        findings: every finding of the prompt and its negative prompt (errors and the rest), in order.
    """

    def __init__(self, message: str, findings: "tuple[Finding, ...]") -> None:
        super().__init__(message)
        self.findings = findings
