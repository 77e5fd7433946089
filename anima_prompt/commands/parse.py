"""`anima parse`: show the tree of a prompt, with each item's kind and span."""

import json
from pathlib import Path

import click

from anima_prompt.commands.sources import input_options, read_prompts
from anima_prompt.errors import PromptSyntaxError
from anima_prompt.parser import parse
from anima_prompt.render import format_tree, to_dict


@click.command("parse")
@input_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per prompt: the tree, spans.")
@click.option("--strict", is_flag=True, help="Fail on the first syntax error.")
def parse_command(
    prompt: str | None, files: tuple[Path, ...], whole: bool, as_json: bool, strict: bool
) -> None:
    """Parse PROMPT (or '-' for standard input, one prompt per line) and print its tree.

    Each line of the outline is one node: kind (tag, artist, phrase, weighted, foreign, error,
    separator), line:column and text. --json prints every node with its span (0-based start and
    end offsets, 1-based line and column) and the diagnostics.
    """
    inputs = read_prompts(prompt, files, whole=whole)
    for number, item in enumerate(inputs):
        try:
            parsed = parse(item.prompt, strict=strict)
        except PromptSyntaxError as error:
            raise click.ClickException(f"{item.source}: {error.one_line()}") from None
        if as_json:
            click.echo(json.dumps({"origin": item.source, **to_dict(parsed)}, ensure_ascii=False))
            continue
        if len(inputs) > 1:
            click.echo(("\n" if number else "") + f"# {item.source}")
        click.echo(format_tree(parsed))
        for diagnostic in parsed.diagnostics:
            where = f"{item.source}:{diagnostic.span.line}:{diagnostic.span.column}"
            click.echo(f"{where}: {diagnostic.message}", err=True)
