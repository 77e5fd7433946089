"""The rule registry: every lint rule with its stable id, name, default severity, scope and examples.

A rule is a small pure function `(prompt, ctx) -> Iterator[Finding]` decorated with `@rule(...)`. Its
docstring is the explanation shown by `anima lint --explain ID` and in `docs/rules.md`; `bad` and `good` are
a prompt that triggers it and a close prompt that does not (the test suite runs both).
"""

from __future__ import annotations

import enum
import importlib
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from anima_prompt.lint.findings import Finding, Severity

if TYPE_CHECKING:
    from anima_prompt.lint.analysis import Analysis
    from anima_prompt.lint.context import RuleContext

RULE_MODULES = (
    "tags",
    "special",
    "characters",
    "negatives",
    "artists",
    "safety",
    "syntax",
    "weights",
    "structure",
    "generation",
    "loras",
)


class Scope(enum.StrEnum):
    """What a rule looks at."""

    EACH = "each"  # the positive and the negative prompt, separately
    POSITIVE = "positive"  # the positive prompt only (the negative is in ctx)
    SETTINGS = "settings"  # the generation settings (both prompts are in ctx)


@dataclass(frozen=True, slots=True)
class Example:
    """A prompt with optional negative prompt, generation settings and configuration options (as written in
    `[tool.anima.lint]`), used in documentation and tests."""

    prompt: str
    negative: str | None = None
    settings: dict[str, object] = field(default_factory=dict[str, object])
    config: dict[str, object] = field(default_factory=dict[str, object])

    def __hash__(self) -> int:
        return hash((self.prompt, self.negative, repr(sorted(self.settings.items())), repr(self.config)))


RuleCheck = Callable[["Analysis", "RuleContext"], Iterator[Finding]]
"""A rule: the analysed prompt it checks and the run's context in, findings out."""


@dataclass(frozen=True, slots=True)
class Rule:
    """A registered lint rule.

    Attributes:
        code: stable id such as `ANM-TAG-001`.
        name: short kebab-case name such as `underscore-in-tag`.
        severity: default severity.
        scope: what the rule looks at.
        check: the rule function.
        bad: an example that triggers the rule.
        good: a close example that does not.
        needs_index: whether the rule needs the tag index (skipped without one).
        fixable: whether the rule offers automatic fixes.
        stops_run: whether the rule reports what stops `anima generate` from running; such rules check the
            negative prompt even where it cannot change the image (at CFG 1), when the others skip it.
    """

    code: str
    name: str
    severity: Severity
    scope: Scope
    check: RuleCheck
    bad: Example
    good: Example
    needs_index: bool = False
    fixable: bool = False
    stops_run: bool = False

    @property
    def family(self) -> str:
        """The id without its number, e.g. `ANM-TAG`."""
        return self.code.rsplit("-", 1)[0]

    @property
    def explanation(self) -> str:
        """The rule's docstring, dedented."""
        return inspect.cleandoc(self.check.__doc__ or "")

    @property
    def summary(self) -> str:
        """The first line of the explanation."""
        return self.explanation.split("\n", 1)[0]


_REGISTRY: dict[str, Rule] = {}


def rule(
    code: str,
    name: str,
    severity: Severity,
    *,
    bad: Example | str,
    good: Example | str,
    scope: Scope = Scope.EACH,
    needs_index: bool = False,
    fixable: bool = False,
    stops_run: bool = False,
) -> Callable[[RuleCheck], RuleCheck]:
    """Register the decorated function as lint rule `code`."""

    def register(check: RuleCheck) -> RuleCheck:
        if code in _REGISTRY:
            raise RuntimeError(f"rule id {code} registered twice")
        _REGISTRY[code] = Rule(
            code=code,
            name=name,
            severity=severity,
            scope=scope,
            check=check,
            bad=bad if isinstance(bad, Example) else Example(bad),
            good=good if isinstance(good, Example) else Example(good),
            needs_index=needs_index,
            fixable=fixable,
            stops_run=stops_run,
        )
        return check

    return register


def all_rules() -> dict[str, Rule]:
    """Every registered rule by id, in id order (imports the rule modules on first use)."""
    for module in RULE_MODULES:
        importlib.import_module(f"anima_prompt.lint.rules.{module}")
    return dict(sorted(_REGISTRY.items()))


def unknown_codes(patterns: tuple[str, ...] | list[str]) -> list[str]:
    """The entries of `patterns` that name neither a rule id nor a family prefix such as `ANM-TAG`."""
    rules = all_rules()
    families = {item.family for item in rules.values()} | {"ANM"}
    return [pattern for pattern in patterns if pattern not in rules and pattern not in families]
