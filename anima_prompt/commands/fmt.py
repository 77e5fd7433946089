"""`anima fmt`: rewrite prompts in Anima's canonical form."""

import difflib
import json
from pathlib import Path

import click

from anima_prompt.commands.sources import input_options, read_prompts
from anima_prompt.errors import PromptSyntaxError
from anima_prompt.lint.dataset import find_captions
from anima_prompt.lint.inputs import PromptRecord
from anima_prompt.nodes import Prompt
from anima_prompt.normalize import normalize
from anima_prompt.parser import parse
from anima_prompt.render import render


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
def fmt(
    prompt: str | None,
    files: tuple[Path, ...],
    whole: bool,
    check: bool,
    show_diff: bool,
    as_json: bool,
    strict: bool,
    dataset: Path | None,
) -> None:
    """Format PROMPT (or '-' for standard input, one prompt per line) in Anima's canonical form.

    Tags become lowercase with spaces, qualifiers are escaped (saber \\(fate\\)), commas are
    followed by one space, weights are written shortest; prose is kept as written. Syntax problems
    are reported on standard error and the text around them is kept.
    """
    if dataset is not None:
        if prompt is not None or files:
            raise click.UsageError("give --dataset DIR alone, not with a PROMPT or --file")
        files = find_captions(dataset).paths
        if not files:
            return
        whole = True  # a caption is one prompt
    changed = 0
    for item in read_prompts(prompt, files, whole=whole):
        parsed = _parse(item, strict=strict)
        formatted = render(normalize(parsed))
        changed += formatted != item.prompt
        if not as_json:
            for diagnostic in parsed.diagnostics:
                where = f"{item.source}:{diagnostic.span.line}:{diagnostic.span.column}"
                click.echo(f"{where}: {diagnostic.message}", err=True)
        if as_json:
            record = {
                "origin": item.source,
                "source": item.prompt,
                "formatted": formatted,
                "changed": formatted != item.prompt,
                "diagnostics": [diagnostic.to_dict() for diagnostic in parsed.diagnostics],
            }
            click.echo(json.dumps(record, ensure_ascii=False))
        elif show_diff:
            click.echo(_diff(item, formatted), nl=False)
        elif check:
            if formatted != item.prompt:
                click.echo(f"would reformat {item.source}", err=True)
        else:
            click.echo(formatted)
    if check and changed:
        raise SystemExit(1)


def _parse(item: PromptRecord, *, strict: bool) -> Prompt:
    try:
        return parse(item.prompt, strict=strict)
    except PromptSyntaxError as error:
        raise click.ClickException(f"{item.source}: {error.one_line()}") from None


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
