"""`anima lint`: check prompts for what will go wrong on Anima, and fix what can be fixed."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from anima_prompt.commands.cluster import cluster_choice, ray_option
from anima_prompt.commands.dataset import DatasetRun
from anima_prompt.commands.errors import usage_errors
from anima_prompt.commands.sources import input_options, read_prompts
from anima_prompt.commands.tags import DB_OPTION, open_index
from anima_prompt.lint.findings import Finding, Severity
from anima_prompt.lint.inputs import STDIN

if TYPE_CHECKING:
    from anima_prompt.index.query import TagIndex
    from anima_prompt.lint import Linter
    from anima_prompt.lint.config import LintConfig
    from anima_prompt.lint.dataset import Captions
    from anima_prompt.lint.inputs import PromptRecord
    from anima_prompt.lint.output import LintResult
    from anima_prompt.lint.settings import LintSettings

INDEX_HINT = (
    "note: no tag index, so {count} rules that need tag data were skipped; build one with "
    "`anima index build --source PATH` (or pass --db PATH)"
)


def _split_codes(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(code.strip().upper() for value in values for code in value.split(",") if code.strip())


@click.command("lint")
@input_options
@click.option("-n", "--negative", help="Negative prompt, checked separately and against the prompt.")
@click.option("--cfg", type=float, help="CFG scale used for generation.")
@click.option("--steps", type=int, help="Sampling steps.")
@click.option("--width", type=int, help="Image width in pixels.")
@click.option("--height", type=int, help="Image height in pixels.")
@click.option("--sampler", help="Sampler name in any front end's spelling (er_sde, Euler a, res_2s, ...).")
@click.option("--scheduler", help="Scheduler name in any front end's spelling (simple, Karras, beta57, ...).")
@click.option("--variant", help="Model variant: base, aesthetic, turbo (or a checkpoint file name).")
@click.option(
    "--lora",
    "lora_values",
    multiple=True,
    metavar="PATH[:STRENGTH]",
    help="A LoRA applied besides the prompt's <lora:...> tags (as anima generate --lora); repeatable.",
)
@click.option(
    "--lora-dir",
    "lora_dirs",
    multiple=True,
    help="Folder <lora:name> is looked up in [config lora-dirs, $ANIMA_LORA_DIR]; repeatable.",
)
@click.option("--comfyui", help="A ComfyUI installation whose models/loras is searched [$COMFYUI_PATH].")
@click.option(
    "--front-end",
    type=click.Choice(["comfyui", "anima"]),
    help="Where the prompts run: ComfyUI core or anima generate [config front-end: comfyui].",
)
@click.option(
    "--dataset",
    metavar="DIR",
    help="Lint a training dataset: each .txt caption beside an image is one prompt; ends with a summary of "
    "tag frequencies and unknown tags.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "sarif", "markdown"]),
    default="text",
    show_default=True,
    help="Output format (markdown only with --list-rules).",
)
@click.option("--select", multiple=True, help="Run only these rule ids or prefixes (comma-separated).")
@click.option("--ignore", multiple=True, help="Skip these rule ids or prefixes (comma-separated).")
@click.option(
    "--fix", "apply_fix", is_flag=True, help="Apply automatic fixes: print the prompt, or rewrite files."
)
@click.option(
    "--statistics", is_flag=True, help="Print how often each rule was reported instead of findings."
)
@click.option(
    "--fail-on", type=click.Choice(["info", "warning", "error"]), help="Lowest severity that exits 1."
)
@DB_OPTION
@click.option(
    "--config", "config_path", help="Configuration file (default: found from the current directory)."
)
@click.option("--explain", metavar="ID", help="Explain a rule and exit.")
@click.option("--list-rules", is_flag=True, help="List every rule and exit.")
@click.option(
    "--color/--no-color", default=None, help="Colour the output (default: when stdout is a terminal)."
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=0),
    default=0,
    help="Worker processes for files; with --ray, actors (0: automatic; on Ray, one per CPU).",
)
@ray_option
def lint_command(
    prompt: str | None,
    files: tuple[Path, ...],
    whole: bool,
    negative: str | None,
    cfg: float | None,
    steps: int | None,
    width: int | None,
    height: int | None,
    sampler: str | None,
    scheduler: str | None,
    variant: str | None,
    lora_values: tuple[str, ...],
    lora_dirs: tuple[str, ...],
    comfyui: str | None,
    front_end: str | None,
    dataset: str | None,
    output_format: str,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    apply_fix: bool,
    statistics: bool,
    fail_on: str | None,
    db: Path | None,
    config_path: str | None,
    explain: str | None,
    list_rules: bool,
    color: bool | None,
    jobs: int,
    ray_address: str | None,
) -> None:
    """Lint Anima prompts: PROMPT, '-' for standard input (one prompt per line), or --file.

    Exits 0 when nothing at or above --fail-on (default: warning) was found, 1 when something was, and 2 on
    usage errors. --fix prints the fixed PROMPT or standard input, rewrites files in place (keeping one
    prompt per line, line endings and other JSONL fields), and reports what is left to fix. --ray lints
    the captions of --dataset on a Ray cluster, with the same results.
    """
    if explain is not None:
        _explain(explain)
        return
    if list_rules:
        _list_rules(output_format)
        return
    if output_format == "markdown":
        raise click.UsageError("--format markdown is only for --list-rules")
    if ray_address is not None and dataset is None:
        raise click.UsageError("--ray runs the captions of --dataset DIR")
    captions: Captions | None = None
    with usage_errors():
        config = _config(
            config_path,
            select=select,
            ignore=ignore,
            fail_on=fail_on,
            lora_dirs=lora_dirs,
            comfyui=comfyui,
            front_end=front_end,
        )
        if dataset is not None:
            captions = _captions(dataset, prompt, files, config, output_format)
        settings = _settings(
            cfg=cfg,
            steps=steps,
            width=width,
            height=height,
            sampler=sampler,
            scheduler=scheduler,
            variant=variant,
            loras=lora_values,
        )
    if captions is not None:
        cluster = cluster_choice(ray_address, jobs or None)
        run = DatasetRun(
            config, None, apply_fix, jobs, output_format, statistics, _use_colour(color), cluster
        )
        _dataset(captions, run, db)
        return
    index = _index(db, config.db)
    records = _records(prompt, files, whole=whole, negative=negative, settings=settings)
    output = _Output(output_format, statistics=statistics, colour=_use_colour(color))
    fix = _Fix(whole) if apply_fix else None
    _run(records, config=config, index=index, fix=fix, jobs=jobs, output=output)


def _captions(
    root: str, prompt: str | None, files: tuple[Path, ...], config: LintConfig, output_format: str
) -> Captions:
    """The captions of `--dataset DIR`; a usage error when other prompts are given too or DIR is no folder."""
    from anima_prompt.lint.dataset import find_captions

    if prompt is not None or files:
        raise click.UsageError("give --dataset DIR alone, not with a PROMPT or --file")
    if output_format == "sarif":
        raise click.UsageError("--dataset prints text or --format json")
    return find_captions(Path(root), wildcards=config.wildcards)


def _dataset(captions: Captions, run: DatasetRun, db: Path | None) -> None:
    """Lint the captions in worker processes, each opening the index that `--db` or the configuration
    names (checked here first)."""
    from anima_prompt.commands.dataset import run_dataset

    index = _index(db, run.config.db)
    if index is None:
        click.echo(INDEX_HINT.format(count="the"), err=True)
    else:
        index.close()
    run_dataset(captions, dataclasses.replace(run, index_path=index.path if index is not None else None))


def _explain(code: str) -> None:
    from anima_prompt.lint.docs import explain
    from anima_prompt.lint.registry import all_rules

    rules = all_rules()
    rule = rules.get(code.strip().upper())
    if rule is None:
        raise click.UsageError(f"unknown rule id {code!r}; `anima lint --list-rules` lists them")
    click.echo(explain(rule), nl=False)


def _list_rules(output_format: str) -> None:
    from anima_prompt.lint.docs import rules_markdown
    from anima_prompt.lint.registry import all_rules

    rules = all_rules()
    if output_format == "markdown":
        click.echo(rules_markdown(rules), nl=False)
    elif output_format == "json":
        entries = [
            {"code": code, "name": rule.name, "severity": rule.severity.label, "summary": rule.summary}
            for code, rule in rules.items()
        ]
        click.echo(json.dumps(entries, indent=2))
    else:
        for code, rule in rules.items():
            click.echo(f"{code:<13} {rule.severity.label:<8} {rule.name:<28} {rule.summary}")


def _config(
    path: str | None,
    *,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    fail_on: str | None,
    lora_dirs: tuple[str, ...],
    comfyui: str | None,
    front_end: str | None,
) -> LintConfig:
    """The configuration file's options (or the defaults), with the command-line options over them."""
    from anima_prompt.lint.config import load_config
    from anima_prompt.lint.registry import unknown_codes

    config = load_config(Path(path) if path else None)
    changes: dict[str, Any] = {}
    for key, values in (("select", select), ("ignore", ignore)):
        codes = _split_codes(values)
        if codes:
            changes[key] = codes
    if fail_on:
        changes["fail_on"] = Severity.parse(fail_on)
    if lora_dirs:  # --lora-dir folders come first, then those of the configuration
        changes["lora_dirs"] = (*lora_dirs, *config.lora_dirs)
    if comfyui:
        changes["comfyui"] = comfyui
    if front_end:
        changes["front_end"] = front_end
    config = dataclasses.replace(config, **changes)
    for code in (*config.select, *config.ignore, *(code for code, _ in config.severity)):
        if unknown_codes([code]):
            raise click.UsageError(f"unknown rule id {code!r}; `anima lint --list-rules` lists them")
    return config


def _settings(
    *,
    cfg: float | None,
    steps: int | None,
    width: int | None,
    height: int | None,
    sampler: str | None,
    scheduler: str | None,
    variant: str | None,
    loras: tuple[str, ...],
) -> LintSettings | None:
    """The generation settings given as options, or `None` when none was."""
    from anima_prompt.lint.settings import LintSettings, Variant
    from anima_prompt.loras import parse_lora_option

    settings = LintSettings(
        cfg=cfg,
        steps=steps,
        width=width,
        height=height,
        sampler=sampler,
        scheduler=scheduler,
        variant=Variant.parse(variant) if variant else None,
        loras=tuple(parse_lora_option(value) for value in loras),
    )
    return None if settings.is_empty else settings


def _index(db: Path | None, config_db: str | None) -> TagIndex | None:
    """`--db` (which must exist), else the configured or default index when it was built, else None."""
    from anima_prompt.index.query import default_index_path

    if db is not None:
        return open_index(db)
    path = Path(config_db).expanduser() if config_db else default_index_path()
    return open_index(path) if path.is_file() else None


def _records(
    prompt: str | None,
    files: tuple[Path, ...],
    *,
    whole: bool,
    negative: str | None,
    settings: LintSettings | None,
) -> list[PromptRecord]:
    """The prompts to lint; `negative` and `settings` apply to the records that do not give their own."""
    records = read_prompts(prompt, files, whole=whole)
    changes: dict[str, Any] = {}
    for index, record in enumerate(records):
        changes.clear()
        if record.negative is None and negative is not None:
            changes["negative"] = negative
        if record.settings is None and settings is not None:
            changes["settings"] = settings
        if changes:
            records[index] = dataclasses.replace(record, **changes)
    return records


@dataclass(frozen=True, slots=True)
class _Output:
    """How findings are printed: `--format`, `--statistics` and whether to colour."""

    format: str
    statistics: bool = False
    colour: bool = False


@dataclass(frozen=True, slots=True)
class _Fix:
    """`--fix` was given; `whole` says how text files were read (one prompt each, or one per line)."""

    whole: bool


def _run(
    records: list[PromptRecord],
    *,
    config: LintConfig,
    index: Any,
    fix: _Fix | None,
    jobs: int,
    output: _Output,
) -> None:
    """Lint (or fix) `records`, print the findings and exit 1 when one is at or above the fail level."""
    from anima_prompt.lint import Linter
    from anima_prompt.lint.inputs import ignored_note
    from anima_prompt.lint.output import LintResult

    for note in ignored_note(records):
        click.echo(f"note: {note}", err=True)
    linter = Linter(config=config, index=index)
    if index is None and linter.skipped_for_index:
        click.echo(INDEX_HINT.format(count=len(linter.skipped_for_index)), err=True)
    printed_fixes = False
    if fix is not None:
        records, printed_fixes = _apply_fixes(linter, records, whole=fix.whole)
    from anima_prompt.lint.batch import default_jobs, lint_records

    jobs = jobs or default_jobs(len(records))
    if jobs > 1:
        if index is not None:
            index.close()
        index_path = index.path if index is not None else None
        outcomes = lint_records(records, config=config, index_path=index_path, jobs=jobs)
    else:
        outcomes = ((record, _lint(linter, record), ()) for record in records)
    results: list[LintResult] = []
    notes = dict.fromkeys(linter.notes)
    for record, findings, record_notes in outcomes:
        results.append(LintResult(record, findings))
        notes.update(dict.fromkeys(record_notes))
    notes.update(dict.fromkeys(linter.notes))
    for note in notes:
        click.echo(f"note: {note}", err=True)
    # With fixed prompts on standard output, what is left to fix goes to standard error.
    _print(results, linter, output, err=printed_fixes)
    worst = max((finding.severity for result in results for finding in result.findings), default=None)
    if worst is not None and worst >= config.fail_on:
        sys.exit(1)


def _lint(linter: Linter, record: PromptRecord) -> tuple[Finding, ...]:
    return linter.lint(record.prompt, negative=record.negative, settings=record.settings)


def _apply_fixes(
    linter: Linter, records: list[PromptRecord], *, whole: bool
) -> tuple[list[PromptRecord], bool]:
    """Fix every record: print the fixed PROMPT and standard input, rewrite changed files in place.

    Returns the fixed records and whether fixed prompts were printed on standard output.
    """
    from anima_prompt.lint.rewrite import rewrite_file

    fixed = [
        dataclasses.replace(
            record, prompt=linter.fix(record.prompt, negative=record.negative, settings=record.settings)
        )
        for record in records
    ]
    printed = False
    by_path: dict[str, list[tuple[PromptRecord, str]]] = {}
    for old, new in zip(records, fixed, strict=True):
        if old.path is None or old.path == STDIN:
            click.echo(new.prompt)
            printed = True
        elif new.prompt != old.prompt:
            by_path.setdefault(old.path, []).append((old, new.prompt))
    for path, changes in by_path.items():
        rewrite_file(Path(path), changes, whole=whole)
    if by_path or not printed:
        click.echo(f"fixed {len(by_path)} file(s)", err=True)
    return fixed, printed


def _use_colour(option: bool | None) -> bool:
    if option is not None:
        return option
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _print(results: list[LintResult], linter: Linter, output: _Output, *, err: bool = False) -> None:
    from anima_prompt.lint.output import format_json, format_sarif, format_statistics, format_text

    if output.statistics:
        click.echo(format_statistics(results), nl=False, err=err)
    elif output.format == "json":
        click.echo(format_json(results), nl=False, err=err)
    elif output.format == "sarif":
        from anima_prompt.version import toolkit_version

        click.echo(format_sarif(results, linter.rules, version=toolkit_version()), nl=False, err=err)
    else:
        click.echo(format_text(results, colour=output.colour), nl=False, color=output.colour, err=err)
