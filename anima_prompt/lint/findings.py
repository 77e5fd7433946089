"""What a lint rule reports: a `Finding` with its `Severity`, span and optional `Fix`."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from anima_prompt.nodes import Span


class Severity(enum.IntEnum):
    """How sure a rule is that the prompt will not do what the user intends (higher is worse)."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    @classmethod
    def parse(cls, text: str) -> Severity:
        """The severity named by `text` (`info`, `warning`/`warn`, `error`), case-insensitive.

        Raises:
            ValueError: `text` names no severity.
        """
        key = text.strip().lower()
        key = {"warn": "warning"}.get(key, key)
        try:
            return cls[key.upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r}; expected info, warning or error") from None

    @property
    def label(self) -> str:
        """The lowercase name used in output: `info`, `warning` or `error`."""
        return self.name.lower()


class Target(enum.StrEnum):
    """Which input a finding is about."""

    PROMPT = "prompt"
    NEGATIVE = "negative"
    SETTINGS = "settings"


@dataclass(frozen=True, slots=True)
class Fix:
    """Replace `text[start:end]` of the finding's target with `replacement`."""

    start: int
    end: int
    replacement: str


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found by a lint rule.

    Attributes:
        code: the rule id, e.g. `ANM-TAG-001`.
        name: the rule's short name, e.g. `underscore-in-tag`.
        severity: the severity after configuration overrides.
        span: where in the target text the problem is; `None` for generation settings.
        message: one sentence naming the offending text.
        suggestions: replacements the user may want, best first (formatted by the caller).
        fix: an automatic edit, when one is safe.
        target: whether the finding is about the prompt, the negative prompt or the settings.
    """

    code: str
    name: str
    severity: Severity
    span: Span | None
    message: str
    suggestions: tuple[str, ...] = ()
    fix: Fix | None = None
    target: Target = Target.PROMPT
