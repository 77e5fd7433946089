"""Where the prompt commands (`fmt`, `parse`, `lint`) read prompts from; the same rules for each.

- `PROMPT`: one prompt, the argument itself.
- `-`: standard input, one prompt per line.
- `--file PATH` (repeatable): a text file, one prompt per line; a `.jsonl` file, one JSON record per line.
- `--whole`: standard input and each text file are one prompt each (multi-line, multi-paragraph prompts).

Blank lines are skipped. Every prompt carries its origin (`<prompt>`, `<stdin>:3`, `prompts.txt:12`) for
messages. Reading is in `lint/inputs.py`; this module turns the command line into calls to it.
"""

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from anima_prompt.lint.inputs import (
    ARGUMENT,
    STDIN,
    PromptRecord,
    check_prompt_size,
    decode,
    read_file,
    read_text,
)

Command = TypeVar("Command", bound=Callable[..., Any])
"""A command function (or command) being decorated."""


def read_prompts(prompt: str | None, files: tuple[Path, ...], *, whole: bool) -> list[PromptRecord]:
    """Collect the prompts named by a command's arguments: the argument (or standard input), then the files.

    Raises:
        click.UsageError: nothing to read (no PROMPT, no `-`, no --file).
        LintInputError: an input cannot be read or is not prompt text; the message names it.
    """
    if prompt is None and not files:
        raise click.UsageError("nothing to read: give a PROMPT, '-' for standard input, or --file PATH")
    records: list[PromptRecord] = []
    if prompt == "-":
        text = decode(sys.stdin.buffer.read(), STDIN)
        records.extend(read_text(text, STDIN, whole=whole))
    elif prompt is not None:
        check_prompt_size(prompt, ARGUMENT)
        records.append(PromptRecord(ARGUMENT, prompt))
    for path in files:
        found = list(read_file(path, whole=whole))
        if not found:
            click.echo(f"note: {path}: no prompt in it", err=True)
        records.extend(found)
    return records


def input_options(command: Command) -> Command:
    """Add the shared `PROMPT`, `--file` and `--whole` parameters to a command."""
    command = click.option(
        "--whole",
        is_flag=True,
        help="Read standard input and each text file as one prompt (default: one prompt per line).",
    )(command)
    command = click.option(
        "--file",
        "-f",
        "files",
        multiple=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Read prompts from a file (repeatable): one per line, or JSONL records in a .jsonl file.",
    )(command)
    return click.argument("prompt", required=False)(command)
