"""`anima lsp`: the language server for prompt files, on standard input and output.

Imports nothing of the server until it runs: `launch.serve` answers `initialize` while the server loads.
"""

import importlib.util
import sys
from pathlib import Path

import click

LSP_HINT = "the lsp extra is not installed; pip install 'anima-toolkit[lsp]'"


@click.command("lsp")
@click.option(
    "--stdio", is_flag=True, help="Talk over standard input and output (the only transport; editors pass it)."
)
@click.option(
    "--db",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Tag index [config db, $ANIMA_TAG_INDEX, the user data directory].",
)
@click.option(
    "--front-end",
    type=click.Choice(["comfyui", "anima"]),
    help="Where the prompts run, over the configuration's front-end [config front-end: comfyui].",
)
@click.option(
    "--rules-url",
    help="Address of the rule reference diagnostics link to [the docs/rules.md shipped with the toolkit].",
)
def lsp(stdio: bool, db: Path | None, front_end: str | None, rules_url: str | None) -> None:
    """Run the language server for prompt files (.prompt, .txt captions and wildcards, .jsonl records).

    Editors start it and talk to it over standard input and output; docs/editors.md shows how to set up
    VS Code, Neovim, Helix and Zed. Each file is linted with the configuration `anima lint` would find
    from the file's folder.
    """
    if importlib.util.find_spec("pygls") is None or importlib.util.find_spec("lsprotocol") is None:
        raise click.ClickException(LSP_HINT)
    from anima_prompt.lsp.launch import serve, toolkit_version

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer

    def load():  # type: ignore[no-untyped-def]  # runs on the loader thread
        from anima_prompt.lsp.projects import Projects
        from anima_prompt.lsp.server import prepare
        from anima_prompt.resources import rules_reference

        url = rules_url or rules_reference().resolve().as_uri()
        projects = Projects(db=db, front_end=front_end)
        return prepare(projects, rules_url=url, version=toolkit_version(), stdin=stdin, stdout=stdout)

    sys.exit(serve(stdin, stdout, load=load))
