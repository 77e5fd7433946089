"""`anima lint`: check prompts for what will go wrong on Anima, and fix what can be fixed."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import IO, Any, NoReturn

import click

from anima_prompt.errors import AnimaPromptError
from anima_prompt.lint.findings import Severity

INDEX_HINT = (
    "note: no tag index, so {count} rules that need tag data were skipped; build one with "
    "`anima index build --source PATH` (or pass --db PATH)"
)


class LintUsageError(click.ClickException):
    """A usage problem reported on one line, with exit code 2."""

    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"anima lint: error: {self.format_message()}", err=True)


class LintCommand(click.Command):
    """Reports click's own parsing errors (bad option values, unknown options) on one line."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as error:
            raise LintUsageError(error.format_message()) from None


def _fail(message: str) -> NoReturn:
    raise LintUsageError(message)


def _split_codes(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(code.strip().upper() for value in values for code in value.split(",") if code.strip())


@click.command("lint", cls=LintCommand)
@click.argument("prompt", required=False)
@click.option("-n", "--negative", help="Negative prompt, checked separately and against the prompt.")
@click.option("--cfg", type=float, help="CFG scale used for generation.")
@click.option("--steps", type=int, help="Sampling steps.")
@click.option("--width", type=int, help="Image width in pixels.")
@click.option("--height", type=int, help="Image height in pixels.")
@click.option("--sampler", help="Sampler name (er_sde, euler_ancestral, ...).")
@click.option("--variant", help="Model variant: base, aesthetic, turbo (or a checkpoint file name).")
@click.option("-f", "--file", "files", multiple=True, help="Prompt file: .txt (one prompt), .jsonl records.")
@click.option("--per-line", is_flag=True, help="Read one prompt per line from --file text files.")
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
@click.option("--db", help="Tag index to use (default: $ANIMA_TAG_INDEX or the user data directory).")
@click.option(
    "--config", "config_path", help="Configuration file (default: found from the current directory)."
)
@click.option("--explain", metavar="ID", help="Explain a rule and exit.")
@click.option("--list-rules", is_flag=True, help="List every rule and exit.")
@click.option(
    "--color/--no-color", default=None, help="Colour the output (default: when stdout is a terminal)."
)
@click.option(
    "-j", "--jobs", type=click.IntRange(min=0), default=0, help="Worker processes for files (0: automatic)."
)
def lint_command(
    prompt: str | None,
    negative: str | None,
    cfg: float | None,
    steps: int | None,
    width: int | None,
    height: int | None,
    sampler: str | None,
    variant: str | None,
    files: tuple[str, ...],
    per_line: bool,
    output_format: str,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    apply_fix: bool,
    statistics: bool,
    fail_on: str | None,
    db: str | None,
    config_path: str | None,
    explain: str | None,
    list_rules: bool,
    color: bool | None,
    jobs: int,
) -> None:
    """Lint Anima prompts: PROMPT, `-` for standard input, or --file.

    Exits 0 when nothing at or above --fail-on (default: warning) was found, 1 when something was, and 2 on
    usage errors.
    """
    if explain is not None:
        _explain(explain)
        return
    if list_rules:
        _list_rules(output_format)
        return
    if output_format == "markdown":
        _fail("--format markdown is only for --list-rules")
    try:
        _run(locals())
    except AnimaPromptError as error:
        _fail(str(error).split("\n", 1)[0])


def _explain(code: str) -> None:
    from anima_prompt.lint.docs import explain
    from anima_prompt.lint.registry import all_rules

    rules = all_rules()
    rule = rules.get(code.strip().upper())
    if rule is None:
        _fail(f"unknown rule id {code!r}; `anima lint --list-rules` lists them")
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


def _config(options: dict[str, Any]) -> Any:
    import dataclasses

    from anima_prompt.lint.config import load_config
    from anima_prompt.lint.registry import unknown_codes

    config = load_config(Path(options["config_path"]) if options["config_path"] else None)
    changes: dict[str, Any] = {}
    for key in ("select", "ignore"):
        codes = _split_codes(options[key])
        if codes:
            changes[key] = codes
    if options["fail_on"]:
        changes["fail_on"] = Severity.parse(options["fail_on"])
    config = dataclasses.replace(config, **changes)
    for code in (*config.select, *config.ignore, *(code for code, _ in config.severity)):
        if unknown_codes([code]):
            _fail(f"unknown rule id {code!r}; `anima lint --list-rules` lists them")
    return config


def _settings(options: dict[str, Any]) -> Any:
    from anima_prompt.lint.settings import LintSettings, Variant

    values = {key: options[key] for key in ("cfg", "steps", "width", "height", "sampler")}
    variant = Variant.parse(options["variant"]) if options["variant"] else None
    settings = LintSettings(**values, variant=variant)
    return None if settings.is_empty else settings


def _index(db: str | None, config_db: str | None) -> Any:
    from anima_prompt.tagindex import TagIndex, default_index_path

    if db is not None:
        return TagIndex.open(db)
    path = Path(config_db).expanduser() if config_db else default_index_path()
    if not path.is_file():
        return None
    return TagIndex.open(path)


def _records(options: dict[str, Any], settings: Any) -> list[Any]:
    from anima_prompt.lint.inputs import PromptRecord, check_prompt_size, decode, read_file

    prompt, files = options["prompt"], options["files"]
    if prompt is not None and files:
        _fail("give a PROMPT or --file, not both")
    if prompt is None and not files:
        _fail("nothing to lint: give a PROMPT, `-` for standard input, or --file PATH")
    records: list[PromptRecord] = []
    if prompt is not None:
        source = "<prompt>"
        if prompt == "-":
            source = "<stdin>"
            prompt = decode(sys.stdin.buffer.read(), "standard input")
            prompt = prompt.removesuffix("\n")
        check_prompt_size(prompt, source)
        records.append(PromptRecord(source, prompt, options["negative"], settings))
    for name in files:
        for record in read_file(Path(name), per_line=options["per_line"]):
            if record.negative is None and options["negative"] is not None:
                record = _replace(record, negative=options["negative"])
            if record.settings is None and settings is not None:
                record = _replace(record, settings=settings)
            records.append(record)
    return records


def _replace(record: Any, **changes: Any) -> Any:
    import dataclasses

    return dataclasses.replace(record, **changes)


def _run(options: dict[str, Any]) -> None:
    from anima_prompt.lint import Linter
    from anima_prompt.lint.output import LintResult

    config = _config(options)
    settings = _settings(options)
    records = _records(options, settings)
    index = _index(options["db"], config.db)
    linter = Linter(config=config, index=index)
    if index is None and linter.skipped_for_index:
        click.echo(INDEX_HINT.format(count=len(linter.skipped_for_index)), err=True)
    if options["apply_fix"]:
        records = _apply_fixes(linter, records)
        if records is None:
            return
    from anima_prompt.lint.batch import default_jobs, lint_records

    jobs = options["jobs"] or default_jobs(len(records))
    if jobs > 1:
        if index is not None:
            index.close()
        index_path = index.path if index is not None else None
        outcomes = lint_records(records, config=config, index_path=index_path, jobs=jobs)
    else:
        outcomes = ((record, _lint(linter, record), ()) for record in records)
    results = []
    notes = dict.fromkeys(linter.notes)
    for record, findings, record_notes in outcomes:
        results.append(LintResult(record, findings))
        notes.update(dict.fromkeys(record_notes))
    notes.update(dict.fromkeys(linter.notes))
    for note in notes:
        click.echo(f"note: {note}", err=True)
    _print(results, linter, options)
    worst = max((finding.severity for result in results for finding in result.findings), default=None)
    if worst is not None and worst >= config.fail_on:
        sys.exit(1)


def _lint(linter: Any, record: Any) -> Any:
    return linter.lint(record.prompt, negative=record.negative, settings=record.settings)


def _apply_fixes(linter: Any, records: list[Any]) -> list[Any] | None:
    """Fix argument prompts (printed; returns None) or files (rewritten; returns the fixed records)."""
    if records and records[0].path is None:
        record = records[0]
        fixed = linter.fix(record.prompt, negative=record.negative, settings=record.settings)
        click.echo(fixed)
        remaining = linter.lint(fixed, negative=record.negative, settings=record.settings)
        if any(finding.severity >= linter.config.fail_on for finding in remaining):
            sys.exit(1)
        return None
    fixed_records = [
        _replace(record, prompt=linter.fix(record.prompt, negative=record.negative, settings=record.settings))
        for record in records
    ]
    by_path: dict[str, list[tuple[Any, Any]]] = {}
    for old, new in zip(records, fixed_records, strict=True):
        by_path.setdefault(old.path, []).append((old, new))
    changed = 0
    for path, pairs in by_path.items():
        if all(old.prompt == new.prompt for old, new in pairs):
            continue
        _rewrite(Path(path), pairs)
        changed += 1
    click.echo(f"fixed {changed} file(s)", err=True)
    return fixed_records


def _rewrite(path: Path, pairs: list[tuple[Any, Any]]) -> None:
    text = path.read_bytes().decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if path.suffix.lower() == ".jsonl":
        for old, new in pairs:
            record = json.loads(lines[old.line_offset])
            record["prompt"] = new.prompt
            lines[old.line_offset] = json.dumps(record, ensure_ascii=False)
        text = "\n".join(lines)
    elif len(pairs) == 1 and pairs[0][0].source == str(path):
        text = pairs[0][1].prompt + ("\n" if text.endswith("\n") else "")
    else:
        for old, new in pairs:
            lines[old.line_offset] = new.prompt
        text = "\n".join(lines)
    path.write_text(text, encoding="utf-8")


def _use_colour(option: bool | None) -> bool:
    if option is not None:
        return option
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _print(results: list[Any], linter: Any, options: dict[str, Any]) -> None:
    from anima_prompt.lint.output import format_json, format_sarif, format_statistics, format_text

    if options["statistics"]:
        click.echo(format_statistics(results), nl=False)
    elif options["output_format"] == "json":
        click.echo(format_json(results), nl=False)
    elif options["output_format"] == "sarif":
        from importlib.metadata import PackageNotFoundError, version

        try:
            tool_version = version("anima-toolkit")
        except PackageNotFoundError:
            tool_version = "0.1.0"
        click.echo(format_sarif(results, linter.rules, version=tool_version), nl=False)
    else:
        colour = _use_colour(options["color"])
        click.echo(format_text(results, colour=colour), nl=False, color=colour)
