"""`anima lint --dataset DIR`: lint every caption of a training dataset, then summarise its tags."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from anima_prompt.lint.config import LintConfig
    from anima_prompt.lint.dataset import CaptionResult, Captions, DatasetSummary

TOP_TAGS = 30  # tags listed in the text summary; --format json lists them all


@dataclass(frozen=True, slots=True)
class DatasetRun:
    """How to run: the configuration, index, fixing, processes and output."""

    config: LintConfig
    index_path: Path | None
    fix: bool
    jobs: int
    output_format: str
    statistics: bool = False
    colour: bool = False


def run_dataset(captions: Captions, run: DatasetRun) -> None:
    """Lint (or fix) the captions of a dataset, print findings and the summary, and exit 1 when a finding
    is at or above the fail level or a caption could not be read or written.

    Raises:
        AnimaPromptError: the index cannot be opened.
    """
    from anima_prompt.lint.batch import default_jobs
    from anima_prompt.lint.dataset import lint_dataset, summarize

    jobs = run.jobs or default_jobs(len(captions.paths))
    results = list(
        lint_dataset(captions, config=run.config, index_path=run.index_path, jobs=jobs, fix=run.fix)
    )
    summary = summarize(results)
    if run.output_format == "json":
        click.echo(json.dumps(dataset_json(results, summary, captions), indent=2, ensure_ascii=False))
    else:
        _print_text(results, summary, captions, run)
    if run.fix:
        click.echo(f"fixed {summary.fixed} file(s)", err=True)
    worst = max((finding.severity for result in results for finding in result.findings), default=None)
    if summary.errors or (worst is not None and worst >= run.config.fail_on):
        sys.exit(1)


def _print_text(
    results: list[CaptionResult], summary: DatasetSummary, captions: Captions, run: DatasetRun
) -> None:
    from anima_prompt.lint.output import LintResult, format_text

    for source, error in summary.errors:
        click.echo(f"{source}: {error}", err=True)
    if not run.statistics:
        found = [LintResult(result.record, result.findings) for result in results if result.findings]
        text = format_text(found, colour=run.colour)
        if text:
            click.echo(text, color=run.colour)
    click.echo(format_summary(summary, captions), nl=False)


def format_summary(summary: DatasetSummary, captions: Captions, *, top: int = TOP_TAGS) -> str:
    """The summary as text: counts, findings by rule, the most frequent tags and every unknown tag."""
    count = captions.skipped
    skipped = f" ({count:,} other .txt file{'s' if count != 1 else ''} skipped)" if count else ""
    lines = [
        f"{summary.files:,} captions in {captions.root}{skipped}: {summary.with_findings:,} with findings, "
        f"{len(summary.errors):,} unreadable, {summary.fixed:,} fixed"
    ]
    sections = (
        ("findings by rule", summary.rules, len(summary.rules)),
        (
            f"tags by the captions they are in (top {min(top, len(summary.tags))} of {len(summary.tags):,})",
            summary.tags,
            top,
        ),
        (f"unknown tags ({len(summary.unknown):,})", summary.unknown, len(summary.unknown)),
    )
    for title, counts, limit in sections:
        if not counts:
            continue
        lines.append(f"{title}:")
        width = len(f"{counts[0][1]:,}")
        lines.extend(f"  {count:>{width},}  {name}" for name, count in counts[:limit])
    return "\n".join(lines) + "\n"


def dataset_json(results: list[CaptionResult], summary: DatasetSummary, captions: Captions) -> dict[str, Any]:
    """Every caption's findings, tags and unknown tags, and the summary, as JSON-ready values."""
    from anima_prompt.lint.output import finding_dict

    return {
        "root": str(captions.root),
        "skipped": captions.skipped,
        "captions": [
            {
                "path": result.record.source,
                "findings": [finding_dict(result.record, finding) for finding in result.findings],
                "tags": list(result.tags),
                "unknown": list(result.unknown),
                "fixed": result.fixed,
                "error": result.error,
            }
            for result in results
        ],
        "summary": {
            "files": summary.files,
            "with_findings": summary.with_findings,
            "fixed": summary.fixed,
            "errors": [{"path": path, "error": error} for path, error in summary.errors],
            "rules": dict(summary.rules),
            "tags": [{"tag": tag, "captions": count} for tag, count in summary.tags],
            "unknown": [{"tag": tag, "captions": count} for tag, count in summary.unknown],
        },
    }
