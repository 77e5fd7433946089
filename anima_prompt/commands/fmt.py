"""`anima fmt`: rewrite prompts in Anima's canonical form."""

from __future__ import annotations

import difflib
import json
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import click

from anima_prompt.commands.cluster import cluster_choice, ray_option
from anima_prompt.commands.sources import input_options, read_prompts
from anima_prompt.errors import LintInputError
from anima_prompt.formatting import Formatted, FormattedFile, format_caption, format_record
from anima_prompt.lint.dataset import find_captions
from anima_prompt.lint.inputs import PromptRecord

if TYPE_CHECKING:
    from anima_prompt.cluster import Cluster


@click.command("fmt")
@input_options
@click.option("--check", is_flag=True, help="Print nothing; exit 1 if any prompt would change.")
@click.option("--diff", "show_diff", is_flag=True, help="Print a unified diff instead of the prompts.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per prompt.")
@click.option("--strict", is_flag=True, help="Fail on the first syntax error instead of keeping it as is.")
@click.option(
    "--dataset",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Format the captions of a training dataset (each .txt beside an image); --check and --diff report.",
)
@ray_option
def fmt(
    prompt: str | None,
    files: tuple[Path, ...],
    whole: bool,
    check: bool,
    show_diff: bool,
    as_json: bool,
    strict: bool,
    dataset: Path | None,
    ray_address: str | None,
) -> None:
    """Format PROMPT (or '-' for standard input, one prompt per line) in Anima's canonical form.

    Tags become lowercase with spaces, qualifiers are escaped (saber \\(fate\\)), commas are
    followed by one space, weights are written shortest; prose is kept as written. Syntax problems
    are reported on standard error and the text around them is kept. --ray formats the captions of
    --dataset on a Ray cluster, with the same output.
    """
    if dataset is not None:
        if prompt is not None or files:
            raise click.UsageError("give --dataset DIR alone, not with a PROMPT or --file")
        results = _captions(find_captions(dataset).paths, strict=strict, cluster=cluster_choice(ray_address))
    elif ray_address is not None:
        raise click.UsageError("--ray runs the captions of --dataset DIR")
    else:
        results = [format_record(item, strict=strict) for item in read_prompts(prompt, files, whole=whole)]
    changed = 0
    for result in results:
        if result.error is not None:
            raise click.ClickException(result.error)
        changed += result.changed
        _print(result, check=check, show_diff=show_diff, as_json=as_json)
    if check and changed:
        raise SystemExit(1)


def _captions(paths: tuple[Path, ...], *, strict: bool, cluster: Cluster | None) -> list[Formatted]:
    """The captions formatted, here or on the cluster; an unreadable caption stops the command before
    anything is printed, and an empty one is noted, as for `--file`."""
    work = partial(_format_caption, strict=strict)
    if cluster is None:
        done = [work(None, path) for path in paths]
    else:
        from anima_prompt.cluster import map_on_cluster

        done = map_on_cluster(work, paths, state=_no_state, cluster=cluster)
    for file in done:
        if file.error is not None:
            raise LintInputError(file.error)
        if not file.formatted:
            click.echo(f"note: {file.path}: no prompt in it", err=True)
    return [result for file in done for result in file.formatted]


def _format_caption(_: None, path: Path, *, strict: bool) -> FormattedFile:
    return format_caption(path, strict=strict)


def _no_state() -> None:
    return None


def _print(result: Formatted, *, check: bool, show_diff: bool, as_json: bool) -> None:
    item = result.record
    if as_json:
        record = {
            "origin": item.source,
            "source": item.prompt,
            "formatted": result.text,
            "changed": result.changed,
            "diagnostics": [diagnostic.to_dict() for diagnostic in result.diagnostics],
        }
        click.echo(json.dumps(record, ensure_ascii=False))
        return
    for diagnostic in result.diagnostics:
        where = f"{item.source}:{diagnostic.span.line}:{diagnostic.span.column}"
        click.echo(f"{where}: {diagnostic.message}", err=True)
    if show_diff:
        click.echo(_diff(item, result.text), nl=False)
    elif check:
        if result.changed:
            click.echo(f"would reformat {item.source}", err=True)
    else:
        click.echo(result.text)


def _diff(item: PromptRecord, formatted: str) -> str:
    if formatted == item.prompt:
        return ""
    lines = difflib.unified_diff(
        item.prompt.splitlines(keepends=True),
        formatted.splitlines(keepends=True),
        fromfile=item.source,
        tofile=f"{item.source} (formatted)",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)
