"""Engine subcommands of the `anima` CLI; the group imports this module on first use."""

from pathlib import Path

import click

from anima_engine.testing import write_tiny_model


@click.group()
def dev() -> None:
    """Developer tools for working on the engine."""


@dev.command("make-tiny")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random weights.")
def make_tiny(directory: Path, seed: int) -> None:
    """Write tiny random-weight checkpoints in the official layouts, and tokenizer files, into DIRECTORY.

    They load through the same loaders as the real files, so the engine runs end to end on a CPU in
    seconds (the images are noise).
    """
    files = write_tiny_model(directory, seed=seed)
    click.echo(f"dit: {files.dit}")
    click.echo(f"text encoder: {files.text_encoder}")
    click.echo(f"tokenizers: {files.tokenizer_dir}")
