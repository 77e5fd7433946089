"""The prompt linter: `lint()` returns findings, `fix()` applies the safe automatic fixes.

A `Linter` holds one configuration, one tag index and the caches of a run (index answers, analysed
prompts); `lint()` and `fix()` make one for a single call. `anima_prompt` exports the `lint` function under
its own name, so there `anima_prompt.lint` is the function; the modules of this package are imported by
their full names (`from anima_prompt.lint.config import LintConfig`).

Example:
    >>> from anima_prompt.lint import lint
    >>> [finding.code for finding in lint("1girl,long_hair")]
    ['ANM-SAFE-001', 'ANM-TAG-003', 'ANM-TAG-001']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING

from anima_prompt.errors import FixError
from anima_prompt.lint.analysis import Analysis, Item, Kind, analyse
from anima_prompt.lint.config import LintConfig, load_config
from anima_prompt.lint.context import RuleContext
from anima_prompt.lint.findings import Finding, Fix, Severity, Target
from anima_prompt.lint.inputs import check_prompt_size
from anima_prompt.lint.lookup import CachedIndex
from anima_prompt.lint.lorafiles import LoraFiles
from anima_prompt.lint.registry import RuleCheck, Scope, all_rules
from anima_prompt.lint.settings import LintSettings, Variant
from anima_prompt.lint.tokens import token_counter
from anima_prompt.lint.triggers import prompt_triggers
from anima_prompt.parser import PromptParser, default_parser

if TYPE_CHECKING:
    from anima_prompt.index.query import TagIndex

__all__ = [
    "Finding",
    "Fix",
    "LintConfig",
    "LintSettings",
    "Linter",
    "Severity",
    "Target",
    "Variant",
    "apply_fixes",
    "fix",
    "lint",
    "load_config",
]

#: Fix rounds before `fix` gives up with `FixError`; the rules' fixes settle in a few.
MAX_FIX_ROUNDS = 16
ANALYSIS_CACHE_SIZE = 256
_TARGET_ORDER = {Target.PROMPT: 0, Target.NEGATIVE: 1, Target.SETTINGS: 2}


@dataclass(frozen=True, slots=True)
class _NegativeRun:
    """A negative prompt and settings to check, with the run's context (which is not part of the key)."""

    text: str
    settings: LintSettings
    context: RuleContext = field(compare=False)


class Linter:
    """Lints many prompts with one configuration and index, caching index lookups across prompts.

    Args:
        config: thresholds and options; defaults when `None`.
        index: an open `TagIndex`; rules that need it are skipped when `None`.

    Attributes:
        notes: one-line remarks about checks that were skipped (e.g. no tokenizers), each given once.
        parser: the parser of the prompts; with an index it reads items with what the index knows (known
            tags are never prose), else it is `parse`'s index-free one.
    """

    def __init__(self, *, config: LintConfig | None = None, index: TagIndex | None = None) -> None:
        self.config = config or LintConfig()
        self.rules = all_rules()
        self.index = CachedIndex(index) if index is not None else None
        self.parser = PromptParser(self.index) if self.index is not None else default_parser()
        self.tokens = token_counter(self.config.tokenizer_dir())
        self.loras = LoraFiles(self.config.lora_folders())
        self.notes: list[str] = []
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
        self._prompt_checks = self._checks(Scope.EACH, Scope.POSITIVE)
        self._negative_checks = self._checks(Scope.EACH)
        # At CFG 1 the negative prompt cannot change the image: only what would stop the run is checked.
        self._unused_negative_checks = tuple(
            rule.check for rule in self.active if rule.scope is Scope.EACH and rule.stops_run
        )
        self._settings_checks = self._checks(Scope.SETTINGS)
        # Negative prompts repeat across a file: their analyses and findings are kept per text.
        self._analyses = lru_cache(maxsize=ANALYSIS_CACHE_SIZE)(self._analyse)
        self._negatives = lru_cache(maxsize=ANALYSIS_CACHE_SIZE)(self._negative_findings)

    def _checks(self, *scopes: Scope) -> tuple[RuleCheck, ...]:
        return tuple(rule.check for rule in self.active if rule.scope in scopes)

    def lint(
        self, text: str, *, negative: str | None = None, settings: LintSettings | None = None
    ) -> tuple[Finding, ...]:
        """The findings for a prompt, its optional negative prompt and settings, sorted by position.

        Raises:
            LintInputError: a prompt is too long to lint.
        """
        check_prompt_size(text, "prompt")
        positive = self.analyse(text)
        negative_analysis = None
        if negative is not None:
            check_prompt_size(negative, "negative prompt")
            negative_analysis = self.analyse(negative)
        settings = settings or LintSettings()
        base = RuleContext(
            config=self.config,
            settings=settings,
            target=Target.PROMPT,
            positive=positive,
            negative=negative_analysis,
            index=self.index,
            tokens=self.tokens,
            rules=self.rules,
            loras=self.loras,
            triggers=prompt_triggers(positive, settings, self.loras),
        )
        # Rules run grouped by what they look at; the findings are sorted below, so the order is the same.
        findings: list[Finding] = []
        for check in self._prompt_checks:
            findings.extend(check(positive, base))
        if negative is not None:
            findings.extend(self._negatives(_NegativeRun(negative, base.settings, base)))
        if not base.settings.is_empty:
            for check in self._settings_checks:
                findings.extend(check(positive, base))
        self._note_tokens(text)
        return tuple(sorted(findings, key=_order))

    def _negative_findings(self, run: _NegativeRun) -> tuple[Finding, ...]:
        """The findings of the rules that check each prompt separately, on the negative prompt.

        Those rules see only the negative prompt, the settings, the configuration and the index, so their
        findings are kept per negative prompt and settings. Where the negative prompt cannot change the image
        (CFG 1, ANM-CFG-004), only the rules that report what stops the run check it.
        """
        context = replace(run.context, target=Target.NEGATIVE)
        negative = self.analyse(run.text)
        checks = self._negative_checks if run.settings.negative_used else self._unused_negative_checks
        return tuple(finding for check in checks for finding in check(negative, context))

    def analyse(self, text: str) -> Analysis:
        """The parsed and analysed prompt; the last few hundred texts are kept (negatives repeat)."""
        return self._analyses(text)

    def _analyse(self, text: str) -> Analysis:
        return analyse(self.parser.parse(text))

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
        """`text` with every automatic fix applied, at a fixed point: fixing the result changes nothing.

        A fix applies only where it cannot change what the prompt says: inside tags and `@artists` and in
        the separators between items, never in natural-language phrases, the syntax of other front ends
        (LoRA tags, `[a|b]`, `{a|b}`, wildcards) or text with words that could not be parsed. Each round
        applies the fixes of one lint pass that do not overlap (the earliest wins), and the rounds repeat
        until nothing changes: every fix writes its span in a form no rule fixes again, so a few rounds
        settle any prompt.

        Raises:
            LintInputError: a prompt is too long to lint.
            FixError: the fixes did not settle within `MAX_FIX_ROUNDS` rounds, a defect of a rule's fix.
        """
        for _ in range(MAX_FIX_ROUNDS):
            findings = self.lint(text, negative=negative, settings=settings)
            fixes = [
                finding.fix
                for finding in findings
                if finding.fix is not None and finding.target is Target.PROMPT
            ]
            fixed = apply_fixes(text, safe_fixes(self.analyse(text), fixes))
            if fixed == text:
                return text
            text = fixed
        raise FixError(
            f"the automatic fixes did not settle after {MAX_FIX_ROUNDS} rounds; last text: {text!r}"
        )


def safe_fixes(prompt: Analysis, fixes: Iterable[Fix]) -> list[Fix]:
    """The fixes that touch only tags, `@artists` and separators: none inside a phrase, foreign syntax or an
    unparsable piece of `prompt` that holds words (an insertion at an item's edge is outside it). A stray
    bracket or colon says nothing, so a fix may remove it (ANM-WGT-003's `):`)."""
    closed = [(item.start, item.end) for item in prompt.items if not _open_to_fixes(item)]
    return [item for item in fixes if not any(_overlaps(item, start, end) for start, end in closed)]


def _open_to_fixes(item: Item) -> bool:
    """Whether fixes may change `item`: a tag, an `@artist`, or an unparsable piece without letters or
    digits."""
    if item.kind is Kind.ERROR:
        return not any(char.isalnum() for char in item.text)
    return item.kind in (Kind.TAG, Kind.ARTIST)


def _overlaps(fix: Fix, start: int, end: int) -> bool:
    return (fix.start < end and start < fix.end) or (fix.start == fix.end and start < fix.start < end)


def _order(finding: Finding) -> tuple[int, int, int, str]:
    start = finding.span.start if finding.span is not None else 0
    return _TARGET_ORDER[finding.target], start, -finding.severity, finding.code


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


def _settings(settings: LintSettings | Mapping[str, object] | None) -> LintSettings | None:
    if settings is None or isinstance(settings, LintSettings):
        return settings
    return LintSettings.from_mapping(settings)


def lint(
    text: str,
    *,
    negative: str | None = None,
    settings: LintSettings | Mapping[str, object] | None = None,
    index: TagIndex | None = None,
    config: LintConfig | None = None,
) -> tuple[Finding, ...]:
    """Lint an Anima prompt.

    For many prompts, make one `Linter` and call its `lint`: it keeps the index answers between prompts.

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
    return Linter(config=config, index=index).lint(text, negative=negative, settings=_settings(settings))


def fix(
    text: str,
    *,
    negative: str | None = None,
    settings: LintSettings | Mapping[str, object] | None = None,
    index: TagIndex | None = None,
    config: LintConfig | None = None,
) -> str:
    """`text` with every safe automatic fix applied (underscores, escapes, `@`, comma spacing, ...).

    Only tags, `@artists` and separators change (see `Linter.fix`), and `fix(fix(text)) == fix(text)`.

    Example:
        >>> fix("1girl,long_hair, saber (fate)")
        '1girl, long hair, saber \\\\(fate\\\\)'
    """
    return Linter(config=config, index=index).fix(text, negative=negative, settings=_settings(settings))
