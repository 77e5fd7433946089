"""Rendering findings as text (source line and caret), JSON, SARIF 2.1.0 and per-rule statistics."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from anima_prompt.lint.findings import Finding, Fix, Severity, Target
from anima_prompt.lint.inputs import PromptRecord
from anima_prompt.lint.registry import Rule

_COLOURS = {Severity.ERROR: "\x1b[1;31m", Severity.WARNING: "\x1b[1;33m", Severity.INFO: "\x1b[1;36m"}
_BOLD, _DIM, _RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"
_SARIF_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


@dataclass(frozen=True, slots=True)
class LintResult:
    """The findings for one prompt record."""

    record: PromptRecord
    findings: tuple[Finding, ...]


def _text_of(record: PromptRecord, target: Target) -> str:
    return (record.negative or "") if target is Target.NEGATIVE else record.prompt


def _where(record: PromptRecord, finding: Finding) -> str:
    if finding.target is not Target.PROMPT:
        return f"{record.source} ({finding.target.value})"
    if finding.span is None:
        return record.source
    if record.path is not None and record.in_file_positions:
        return f"{record.path}:{finding.span.line + record.line_offset}:{finding.span.column}"
    return f"{record.source}:{finding.span.line}:{finding.span.column}"


def format_text(results: Sequence[LintResult], *, colour: bool = False) -> str:
    """Human-readable findings: location, rule id, severity, message, the source line with a caret, help."""

    def paint(style: str, text: str) -> str:
        return f"{style}{text}{_RESET}" if colour else text

    blocks: list[str] = []
    for result in results:
        for finding in result.findings:
            head = (
                f"{paint(_BOLD, _where(result.record, finding))}: {paint(_BOLD, finding.code)} "
                f"{paint(_COLOURS[finding.severity], finding.severity.label)}: {finding.message}"
            )
            lines = [head]
            if finding.span is not None:
                lines.extend(_excerpt(_text_of(result.record, finding.target), finding, paint))
            if finding.suggestions:
                lines.append(f"  = help: try {', '.join(f'`{item}`' for item in finding.suggestions)}")
            if finding.fix is not None:
                lines.append(f"  = fix: {_describe(finding.fix)} (anima lint --fix)")
            blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def _describe(fix: Fix) -> str:
    """What a fix does, in words: insert, remove or replace."""
    if fix.start == fix.end:
        return f"insert `{fix.replacement}`"
    if not fix.replacement:
        return "remove it"
    return f"replace with `{fix.replacement}`"


def _excerpt(text: str, finding: Finding, paint: Callable[[str, str], str]) -> list[str]:
    span = finding.span
    assert span is not None
    line_start = text.rfind("\n", 0, span.start) + 1
    line_end = text.find("\n", span.start)
    line_end = len(text) if line_end < 0 else line_end
    source_line = text[line_start:line_end].replace("\t", " ")
    width = max(1, min(span.end, line_end) - span.start)
    number = str(span.line)
    gutter = " " * len(number)
    caret = " " * (span.start - line_start) + "^" * width
    return [
        f"{gutter} {paint(_DIM, '|')}",
        f"{number} {paint(_DIM, '|')} {source_line}",
        f"{gutter} {paint(_DIM, '|')} {paint(_COLOURS[finding.severity], caret)}",
    ]


def finding_dict(record: PromptRecord, finding: Finding) -> dict[str, Any]:
    """A finding as a JSON-ready dictionary (offsets are character offsets into the target text)."""
    span = finding.span
    return {
        "source": record.source,
        "target": finding.target.value,
        "code": finding.code,
        "name": finding.name,
        "severity": finding.severity.label,
        "message": finding.message,
        "line": None if span is None else span.line,
        "column": None if span is None else span.column,
        "start": None if span is None else span.start,
        "end": None if span is None else span.end,
        "suggestions": list(finding.suggestions),
        "fix": None
        if finding.fix is None
        else {"start": finding.fix.start, "end": finding.fix.end, "replacement": finding.fix.replacement},
    }


def format_json(results: Sequence[LintResult]) -> str:
    """All findings as one JSON array."""
    items = [finding_dict(result.record, finding) for result in results for finding in result.findings]
    return json.dumps(items, indent=2, ensure_ascii=False) + "\n"


def format_sarif(results: Sequence[LintResult], rules: Mapping[str, Rule], *, version: str) -> str:
    """All findings as a SARIF 2.1.0 log with one run; file prompts get physical locations."""
    ordered = list(rules)
    driver = {
        "name": "anima-lint",
        "version": version,
        "informationUri": "https://github.com/anima-toolkit/anima-toolkit/blob/main/docs/rules.md",
        "rules": [
            {
                "id": code,
                "name": rule.name,
                "shortDescription": {"text": rule.summary},
                "fullDescription": {"text": rule.explanation},
                "defaultConfiguration": {"level": _SARIF_LEVELS[rule.severity]},
                "helpUri": f"https://github.com/anima-toolkit/anima-toolkit/blob/main/docs/rules.md#{code.lower()}",
            }
            for code, rule in rules.items()
        ],
    }
    sarif_results: list[dict[str, Any]] = []
    for result in results:
        for finding in result.findings:
            entry: dict[str, Any] = {
                "ruleId": finding.code,
                "ruleIndex": ordered.index(finding.code) if finding.code in rules else -1,
                "level": _SARIF_LEVELS[finding.severity],
                "message": {"text": finding.message},
                "locations": [_sarif_location(result.record, finding)],
            }
            if finding.suggestions:
                entry["properties"] = {"suggestions": list(finding.suggestions)}
            sarif_results.append(entry)
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{"tool": {"driver": driver}, "columnKind": "unicodeCodePoints", "results": sarif_results}],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _sarif_location(record: PromptRecord, finding: Finding) -> dict[str, Any]:
    location: dict[str, Any] = {
        "logicalLocations": [
            {"name": finding.target.value, "fullyQualifiedName": f"{record.source}#{finding.target}"}
        ]
    }
    if record.path is not None:
        physical: dict[str, Any] = {"artifactLocation": {"uri": record.path}}
        if finding.span is not None and finding.target is Target.PROMPT and record.in_file_positions:
            physical["region"] = {
                "startLine": finding.span.line + record.line_offset,
                "startColumn": finding.span.column,
                "endColumn": finding.span.column + max(1, finding.span.end - finding.span.start),
            }
        else:
            physical["region"] = {"startLine": record.line_offset + 1}
        location["physicalLocation"] = physical
    return location


def format_statistics(results: Sequence[LintResult]) -> str:
    """One line per rule with how often it was reported, most frequent first."""
    counts: Counter[tuple[str, str, Severity]] = Counter()
    for result in results:
        for finding in result.findings:
            counts[(finding.code, finding.name, finding.severity)] += 1
    width = max((len(str(count)) for count in counts.values()), default=1)
    lines = [
        f"{count:>{width}}  {code:<12} {severity.label:<7}  {name}"
        for (code, name, severity), count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]
    return "\n".join(lines) + ("\n" if lines else "")
