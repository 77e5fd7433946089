"""What a rule sees besides the prompt: configuration, settings, the other prompt, the index, tokenizers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from anima_prompt.lint.config import LintConfig
from anima_prompt.lint.findings import Finding, Fix, Severity, Target
from anima_prompt.lint.settings import LintSettings
from anima_prompt.lint.triggers import Triggers
from anima_prompt.nodes import Span

if TYPE_CHECKING:
    from anima_prompt.lint.analysis import Analysis
    from anima_prompt.lint.lookup import CachedIndex
    from anima_prompt.lint.lorafiles import LoraFiles
    from anima_prompt.lint.tokens import TokenCounter


class RuleFacts(Protocol):
    """What a finding takes from its rule (`registry.Rule` has these)."""

    @property
    def name(self) -> str:
        """The rule's short name, e.g. `underscore-in-tag`."""
        ...

    @property
    def severity(self) -> Severity:
        """The rule's default severity."""
        ...


@dataclass(frozen=True, slots=True)
class RuleContext:
    """The inputs of one lint run, shared by every rule.

    Attributes:
        config: thresholds and options.
        settings: generation settings (fields unknown to the caller are `None`).
        target: which prompt the current rule call is about.
        positive: the analysed positive prompt.
        negative: the analysed negative prompt, if one was given.
        index: the tag index with per-run caches, or `None` when no index is available.
        tokens: the token counter, or `None` when no tokenizer files are available.
        rules: the registered rules by id.
        loras: LoRA name lookups in the configured LoRA folders.
        triggers: what the LoRAs of the prompt and the settings were trained on (`lint.triggers`).
    """

    config: LintConfig
    settings: LintSettings
    target: Target
    positive: Analysis
    negative: Analysis | None
    index: CachedIndex | None
    tokens: TokenCounter | None
    rules: Mapping[str, RuleFacts]
    loras: LoraFiles
    triggers: Triggers = field(default_factory=Triggers)

    @property
    def current(self) -> Analysis:
        """The analysed prompt the current rule call is about (the positive one for settings rules)."""
        if self.target is Target.NEGATIVE and self.negative is not None:
            return self.negative
        return self.positive

    @property
    def other(self) -> Analysis | None:
        """The prompt on the other side of the current one."""
        return self.negative if self.target is Target.PROMPT else self.positive

    def report(
        self,
        code: str,
        span: tuple[int, int] | None,
        message: str,
        *,
        suggestions: tuple[str, ...] = (),
        fix: Fix | None = None,
        severity: Severity | None = None,
        on: Target | None = None,
    ) -> Finding:
        """A finding of rule `code` at offsets `span` of the current prompt (`None` for settings).

        `severity` escalates or lowers the rule's default for this finding; a configured override wins.
        `on` reports on the other prompt instead of the current one (offsets are into that prompt).
        """
        registered = self.rules[code]
        level = self.config.severity_of(code, severity or registered.severity)
        target = Target.SETTINGS if span is None else (on or self.target)
        text = self.current.text
        if target is Target.NEGATIVE and self.negative is not None:
            text = self.negative.text
        elif target is Target.PROMPT:
            text = self.positive.text
        location = Span.in_text(text, *span) if span is not None else None
        return Finding(
            code=code,
            name=registered.name,
            severity=level,
            span=location,
            message=message,
            suggestions=suggestions[: self.config.suggestion_limit] if suggestions else (),
            fix=fix,
            target=target,
        )
