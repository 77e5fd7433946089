"""Where the prompt commands read prompts from: an argument, standard input, or files.

- `PROMPT`: one prompt, the argument itself.
- `-` (or no argument with input piped in): standard input, one prompt per line; `--whole` reads it as
  a single prompt.
- `--file PATH` (repeatable): each file holds one prompt (multi-line prompts allowed; the file's final
  line break is not part of it); `--lines` reads one prompt per line instead.

Blank lines are skipped in line mode. Every prompt carries its origin (`<argument>`, `<stdin>:3`,
`prompts.txt:12`) for messages.
"""

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

Command = TypeVar("Command", bound=Callable[..., Any])
"""A command function (or command) being decorated."""


@dataclass(frozen=True, slots=True)
class PromptInput:
    """One prompt to process and where it came from."""

    text: str
    origin: str


def read_prompts(prompt: str | None, files: tuple[Path, ...], *, lines: bool | None) -> list[PromptInput]:
    """Collect the prompts named by a command's arguments.

    Args:
        prompt: the PROMPT argument, `-` for standard input, or None.
        files: `--file` paths.
        lines: True for one prompt per line, False for one prompt per input, None for the defaults
            (lines for standard input, whole files).

    Returns:
        The prompts in order: the argument (or standard input), then the files.

    Raises:
        click.UsageError: nothing to read (no argument, no file, and standard input is a terminal).
        click.FileError: a file cannot be read or is not UTF-8.
    """
    inputs: list[PromptInput] = []
    use_stdin = prompt == "-" or (prompt is None and not files and not sys.stdin.isatty())
    if use_stdin:
        text = sys.stdin.read()
        inputs.extend(_split(text, "<stdin>", per_line=lines is not False))
    elif prompt is not None:
        inputs.append(PromptInput(prompt, "<argument>"))
    elif not files:
        raise click.UsageError("no prompt given: pass PROMPT, '-' for standard input, or --file PATH")
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise click.FileError(str(path), hint=str(error)) from None
        inputs.extend(_split(text, str(path), per_line=lines is True))
    return inputs


def _split(text: str, origin: str, *, per_line: bool) -> list[PromptInput]:
    if not per_line:
        return [PromptInput(_drop_final_newline(text), origin)]
    inputs: list[PromptInput] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            inputs.append(PromptInput(line.removesuffix("\r"), f"{origin}:{number}"))
    return inputs


def _drop_final_newline(text: str) -> str:
    if text.endswith("\r\n"):
        return text[:-2]
    return text.removesuffix("\n")


def input_options(command: Command) -> Command:
    """Add the shared `PROMPT`, `--file` and `--lines/--whole` parameters to a command."""
    command = click.option(
        "--lines/--whole",
        "lines",
        default=None,
        help="One prompt per line, or the whole input as one prompt "
        "(default: lines for standard input, whole files).",
    )(command)
    command = click.option(
        "--file",
        "-f",
        "files",
        multiple=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Read prompts from a file (repeatable); a .txt file holds one prompt unless --lines.",
    )(command)
    return click.argument("prompt", required=False)(command)
