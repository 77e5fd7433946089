"""The `anima` command group.

Subcommands are listed by import path and imported on first use, so `anima lint` never pays for the
engine's imports and a missing `engine` extra only matters to the commands that need it.
"""

import importlib

import click

from anima_prompt.version import DISTRIBUTION

# name -> "module:attribute" of a click command. Later stages add their lines here.
COMMANDS: dict[str, str] = {
    "dev": "anima_engine.cli:dev",
    "generate": "anima_engine.cli:generate",
    "grid": "anima_engine.cli_grid:grid",
    "lint": "anima_prompt.commands.lint:lint_command",
    "fmt": "anima_prompt.commands.fmt:fmt",
    "parse": "anima_prompt.commands.parse:parse_command",
    "index": "anima_prompt.commands.index:index",
    "info": "anima_engine.cli:info",
    "models": "anima_engine.cli_models:models",
    "tags": "anima_prompt.commands.tags:tags",
}

_ENGINE_HINT = "this command needs the engine extra: pip install 'anima-toolkit[engine]'"


class LazyGroup(click.Group):
    """A click group whose subcommands are imported when first used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, _, attribute = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            engine_modules = {"torch", "safetensors", "einops"}
            if module_name.startswith("anima_engine") and error.name in engine_modules:
                raise click.ClickException(f"anima {cmd_name}: {_ENGINE_HINT}") from None
            raise
        command = getattr(module, attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name=DISTRIBUTION, prog_name="anima")
def cli() -> None:
    """Prompt tools and inference engine for the Anima text-to-image model."""
