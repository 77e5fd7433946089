"""The prompt linter: `lint()` returns findings, `fix()` applies the safe automatic fixes.

This package is itself callable: `anima_prompt.lint(text, ...)` is `anima_prompt.lint.lint(text, ...)`, so
the package-level function and the subpackage share one name without hiding each other
(`anima_prompt.lint.Linter` and `import anima_prompt.lint.config` work too).

Example:
    >>> from anima_prompt.lint import lint
    >>> [finding.code for finding in lint("1girl,long_hair")]
    ['ANM-SAFE-001', 'ANM-TAG-003', 'ANM-TAG-001']
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterable, Mapping
from typing import Any

from anima_prompt.lint.config import LintConfig, load_config
from anima_prompt.lint.findings import Finding, Fix, Location, Severity, Target
from anima_prompt.lint.settings import LintSettings, Variant

__all__ = [
    "Finding",
    "Fix",
    "LintConfig",
    "LintSettings",
    "Linter",
    "Location",
    "Severity",
    "Target",
    "Variant",
    "apply_fixes",
    "fix",
    "lint",
    "load_config",
]

MAX_FIX_ROUNDS = 8
ANALYSIS_CACHE_SIZE = 256


class Linter:
    """Lints many prompts with one configuration and index, caching index lookups across prompts.

    Args:
        config: thresholds and options; defaults when `None`.
        index: an open `TagIndex`; rules that need it are skipped when `None`.

    Attributes:
        notes: one-line remarks about checks that were skipped (e.g. no tokenizers), each given once.
    """

    def __init__(self, *, config: LintConfig | None = None, index: Any = None) -> None:
        from anima_prompt.lint.lookup import CachedIndex
        from anima_prompt.lint.lorafiles import LoraFiles
        from anima_prompt.lint.registry import all_rules
        from anima_prompt.lint.tokens import token_counter

        self.config = config or LintConfig()
        self.rules = all_rules()
        self.index = CachedIndex(index) if index is not None else None
        self.tokens = token_counter(self.config.tokenizer_dir())
        self.loras = LoraFiles(self.config.lora_folders())
        self.notes: list[str] = []
        self._analyses: dict[str, Any] = {}
        self._negatives: dict[tuple[str, LintSettings], tuple[Finding, ...]] = {}
        self.active = tuple(
            rule
            for code, rule in self.rules.items()
            if self.config.enabled(code) and (self.index is not None or not rule.needs_index)
        )
        self.skipped_for_index = (
            tuple(code for code, rule in self.rules.items() if rule.needs_index and self.config.enabled(code))
            if self.index is None
            else ()
        )
        from anima_prompt.lint.registry import Scope

        self._prompt_checks = tuple(rule.check for rule in self.active if rule.scope is not Scope.SETTINGS)
        self._negative_checks = tuple(rule.check for rule in self.active if rule.scope is Scope.EACH)
        self._settings_checks = tuple(rule.check for rule in self.active if rule.scope is Scope.SETTINGS)

    def lint(
        self, text: str, *, negative: str | None = None, settings: LintSettings | None = None
    ) -> tuple[Finding, ...]:
        """The findings for a prompt, its optional negative prompt and settings, sorted by position.

        Raises:
            LintInputError: a prompt is too long to lint.
        """
        from anima_prompt.lint.context import RuleContext
        from anima_prompt.lint.inputs import check_prompt_size

        check_prompt_size(text, "prompt")
        positive = self.analyse(text)
        negative_analysis = None
        if negative is not None:
            check_prompt_size(negative, "negative prompt")
            negative_analysis = self.analyse(negative)
        base = RuleContext(
            config=self.config,
            settings=settings or LintSettings(),
            target=Target.PROMPT,
            positive=positive,
            negative=negative_analysis,
            index=self.index,
            tokens=self.tokens,
            rules=self.rules,
            loras=self.loras,
        )
        # Rules run grouped by what they look at; the findings are sorted below, so the order is the same.
        findings: list[Finding] = []
        for check in self._prompt_checks:
            findings.extend(check(positive, base))
        if negative_analysis is not None:
            findings.extend(self._negative_findings(negative_analysis, base))
        if not base.settings.is_empty:
            for check in self._settings_checks:
                findings.extend(check(positive, base))
        self._note_tokens(text)
        return tuple(sorted(findings, key=_order))

    def _negative_findings(self, negative: Any, base: Any) -> tuple[Finding, ...]:
        """The findings of the rules that check each prompt separately, on the negative prompt.

        Those rules see only the negative prompt, the settings, the configuration and the index, so their
        findings are kept per negative prompt and settings: negative prompts repeat across a file.
        """
        key = (negative.text, base.settings)
        cached = self._negatives.get(key)
        if cached is None:
            from dataclasses import replace

            context = replace(base, target=Target.NEGATIVE)
            found: list[Finding] = []
            for check in self._negative_checks:
                found.extend(check(negative, context))
            if len(self._negatives) >= ANALYSIS_CACHE_SIZE:
                self._negatives.pop(next(iter(self._negatives)))
            cached = self._negatives[key] = tuple(found)
        return cached

    def analyse(self, text: str) -> Any:
        """The parsed and analysed prompt; the last few hundred texts are kept (negatives repeat)."""
        cached = self._analyses.get(text)
        if cached is None:
            from anima_prompt import parse
            from anima_prompt.lint.analysis import analyse

            if len(self._analyses) >= ANALYSIS_CACHE_SIZE:
                self._analyses.pop(next(iter(self._analyses)))
            cached = self._analyses[text] = analyse(parse(text))
        return cached

    def _note_tokens(self, text: str) -> None:
        if self.tokens is not None or not self.config.enabled("ANM-LEN-003"):
            return
        limit = min(self.config.max_t5_tokens, self.config.max_qwen3_tokens)
        note = (
            "token counts skipped (ANM-LEN-003): no tokenizer files; set ANIMA_TOKENIZERS to a folder with "
            "qwen3/tokenizer.json and t5/tokenizer.json"
        )
        if len(text) > limit // 2 and note not in self.notes:
            self.notes.append(note)

    def fix(self, text: str, *, negative: str | None = None, settings: LintSettings | None = None) -> str:
        """`text` with every automatic fix applied, repeated until nothing changes.

        Fixes never touch natural-language phrases; applying `fix` to its own output changes nothing.
        """
        for _ in range(MAX_FIX_ROUNDS):
            findings = self.lint(text, negative=negative, settings=settings)
            phrases = [(item.start, item.end) for item in self.analyse(text).phrases]
            fixes = [
                finding.fix
                for finding in findings
                if finding.fix is not None and finding.target is Target.PROMPT
            ]
            safe = [item for item in fixes if not any(_overlaps(item, start, end) for start, end in phrases)]
            fixed = apply_fixes(text, safe)
            if fixed == text:
                return text
            text = fixed
        return text


def _overlaps(fix: Fix, start: int, end: int) -> bool:
    return (fix.start < end and start < fix.end) or (fix.start == fix.end and start < fix.start < end)


def _order(finding: Finding) -> tuple[int, int, int, str]:
    targets = {Target.PROMPT: 0, Target.NEGATIVE: 1, Target.SETTINGS: 2}
    start = finding.span.start if finding.span is not None else 0
    return targets[finding.target], start, -finding.severity, finding.code


def apply_fixes(text: str, fixes: Iterable[Fix]) -> str:
    """`text` with the non-overlapping `fixes` applied; of overlapping ones the earliest wins."""
    chosen: list[Fix] = []
    last_end = -1
    last_start = -1
    for item in sorted(set(fixes), key=lambda fix: (fix.start, fix.end)):
        if item.start < last_end or (item.start == last_start and item.start == item.end == last_end):
            continue
        chosen.append(item)
        last_start, last_end = item.start, item.end
    for item in reversed(chosen):
        text = text[: item.start] + item.replacement + text[item.end :]
    return text


_LINTERS: dict[tuple[LintConfig, int], Linter] = {}


def _linter(config: LintConfig | None, index: Any) -> Linter:
    key = (config or LintConfig(), id(index))
    linter = _LINTERS.get(key)
    if linter is None or (index is not None and (linter.index is None or linter.index.index is not index)):
        linter = Linter(config=key[0], index=index)
        if len(_LINTERS) > 16:
            _LINTERS.clear()
        _LINTERS[key] = linter
    return linter


def _settings(settings: LintSettings | Mapping[str, object] | None) -> LintSettings | None:
    if settings is None or isinstance(settings, LintSettings):
        return settings
    return LintSettings.from_mapping(settings)


def lint(
    text: str,
    *,
    negative: str | None = None,
    settings: LintSettings | Mapping[str, object] | None = None,
    index: Any = None,
    config: LintConfig | None = None,
) -> tuple[Finding, ...]:
    """Lint an Anima prompt.

    Args:
        text: the positive prompt.
        negative: the negative prompt, if any; checked separately and against the positive one.
        settings: generation settings (`LintSettings` or a mapping such as `{"cfg": 7, "variant": "turbo"}`).
        index: an open `TagIndex`; without it the rules that need tag data are skipped.
        config: thresholds and options; `LintConfig()` defaults when `None` (no configuration file is read).

    Returns:
        The findings, ordered by target (prompt, negative, settings) and position.

    Raises:
        LintInputError: a setting is invalid or a prompt is too long to lint.

    Example:
        >>> [f.code for f in lint("safe, 1girl, saber (fate)")]
        ['ANM-ESC-001']
    """
    return _linter(config, index).lint(text, negative=negative, settings=_settings(settings))


def fix(
    text: str,
    *,
    negative: str | None = None,
    settings: LintSettings | Mapping[str, object] | None = None,
    index: Any = None,
    config: LintConfig | None = None,
) -> str:
    """`text` with every safe automatic fix applied (underscores, escapes, `@`, comma spacing, ...).

    Natural-language phrases are never changed, and `fix(fix(text)) == fix(text)`.

    Example:
        >>> fix("1girl,long_hair, saber (fate)")
        '1girl, long hair, saber \\\\(fate\\\\)'
    """
    return _linter(config, index).fix(text, negative=negative, settings=_settings(settings))


class _CallableModule(types.ModuleType):
    """The type of this package: a module that lints when called (see the module docstring)."""

    def __call__(
        self,
        text: str,
        *,
        negative: str | None = None,
        settings: LintSettings | Mapping[str, object] | None = None,
        index: Any = None,
        config: LintConfig | None = None,
    ) -> tuple[Finding, ...]:
        return lint(text, negative=negative, settings=settings, index=index, config=config)


sys.modules[__name__].__class__ = _CallableModule
