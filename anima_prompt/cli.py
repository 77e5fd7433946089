"""The `anima` command group.

Subcommands are listed by import path and imported on first use, so `anima lint` never pays for the
engine's imports and a missing `engine` extra only matters to the commands that need it. The group's
`main` applies the conventions every command shares (README, "Conventions"): each error is one line on
standard error, and the exit status is 0 (ok), 1 (findings, or the work could not be done) or 2 (the
command line is wrong).
"""

import functools
import importlib
from collections.abc import Sequence
from typing import Any

import click

from anima_prompt.bytecode import bytecode_note
from anima_prompt.commands.errors import ENGINE_EXTRA, EngineMissing, handled_errors
from anima_prompt.process_end import end_process
from anima_prompt.version import DISTRIBUTION

# name -> "module:attribute" of a click command. Later stages add their lines here.
COMMANDS: dict[str, str] = {
    "dev": "anima_engine.cli:dev",
    "generate": "anima_engine.cli:generate",
    "grid": "anima_engine.cli_grid:grid",
    "lint": "anima_prompt.commands.lint:lint_command",
    "lsp": "anima_prompt.commands.lsp:lsp",
    "fmt": "anima_prompt.commands.fmt:fmt",
    "parse": "anima_prompt.commands.parse:parse_command",
    "index": "anima_prompt.commands.index:index",
    "info": "anima_prompt.commands.info:info",
    "models": "anima_engine.cli_models:models",
    "serve": "anima_prompt.serve.command:serve",
    "tags": "anima_prompt.commands.tags:tags",
}

ENGINE_COMMANDS = tuple(
    sorted(name for name, target in COMMANDS.items() if target.startswith("anima_engine."))
)
ENGINE_MODULES = frozenset({"torch", "huggingface_hub", "safetensors", "einops", "numpy", "PIL", "torchsde"})
"""Top-level modules of the `engine` extra; one of them missing means the extra is not installed."""


def engine_missing(error: ModuleNotFoundError) -> bool:
    """Whether `error` says that a module of the engine extra is not installed."""
    return (error.name or "").partition(".")[0] in ENGINE_MODULES


ENGINE_REPORT = "anima_engine.cli:engine_report"
"""The engine's lines of `anima info` (torch, device, model files), reached like the commands."""


def load_target(target: str, name: str) -> object:
    """The object `module:attribute` names, imported now.

    Raises:
        EngineMissing: it lives in `anima_engine` and the engine extra is not installed (`name` says what
            needed it).
    """
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if module_name.startswith("anima_engine") and engine_missing(error):
            raise EngineMissing(name) from None
        raise
    return getattr(module, attribute)


def load_command(name: str) -> click.Command | None:
    """The command `name` of the table, imported now; None for an unknown name.

    Raises:
        EngineMissing: the command lives in `anima_engine` and the engine extra is not installed.
    """
    target = COMMANDS.get(name)
    if target is None:
        return None
    command = load_target(target, name)
    assert isinstance(command, click.Command)
    return command


@functools.cache
def _note_missing_bytecode() -> None:
    """Say once per process that torch is compiled again in every command (`bytecode.bytecode_note`)."""
    note = bytecode_note()
    if note is not None:
        click.echo(note, err=True)


class LazyGroup(click.Group):
    """A click group whose subcommands are imported when first used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in ENGINE_COMMANDS and not ctx.resilient_parsing:
            _note_missing_bytecode()  # before the engine's imports compile torch again
        return load_command(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List every command; those of the engine say how to install it when it is missing."""
        rows: list[tuple[str, str]] = []
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        for name in names:
            try:
                command = load_command(name)
            except EngineMissing:
                rows.append((name, f"(needs the engine extra: {ENGINE_EXTRA})"))
                continue
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command line, reporting every error on one line with the shared exit statuses."""
        run = functools.partial(
            super().main, args, prog_name, complete_var, windows_expand_args=windows_expand_args, **extra
        )
        if not standalone_mode:
            return run(standalone_mode=False)
        with handled_errors(self, args):
            result = run(standalone_mode=False)
        raise SystemExit(result if isinstance(result, int) else 0)


@click.group(
    cls=LazyGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=f"{', '.join(ENGINE_COMMANDS)}: need the engine extra ({ENGINE_EXTRA}).",
)
@click.version_option(package_name=DISTRIBUTION, prog_name="anima")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Prompt tools and inference engine for the Anima text-to-image model."""
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


def main() -> None:
    """The `anima` console script and `python -m anima_prompt`: run the command line, then end the process
    (`process_end.end_process`: without torch's slow teardown once a command that used it is done)."""
    try:
        cli.main(prog_name="anima")
    except SystemExit as done:
        end_process(done.code)
    end_process(0)
