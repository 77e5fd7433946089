"""`anima models`: download and list the official model files and tokenizers."""

import os
from pathlib import Path

import click

from anima_engine.errors import AnimaEngineError
from anima_engine.hub import hub_endpoint
from anima_engine.model_download import download_source, select_sources
from anima_engine.model_manifest import PARTS, load_model_manifest
from anima_prompt.commands.errors import usage_errors
from anima_prompt.progress import download_bar, format_bytes
from anima_prompt.variants import VARIANTS

WHAT_HELP = f"Comma-separated parts to fetch: {', '.join(PARTS)} [all]."


@click.group("models")
def models() -> None:
    """Download and list the official model files and tokenizers."""


def _parts(what: str) -> tuple[str, ...]:
    parts = tuple(part.strip() for part in what.split(",") if part.strip())
    if not parts:
        raise click.UsageError("--what names no part")
    return parts


def _model_dir(model_dir: Path | None) -> Path:
    if model_dir is not None:
        return model_dir.expanduser()
    if os.environ.get("ANIMA_MODEL_DIR"):
        return Path(os.environ["ANIMA_MODEL_DIR"]).expanduser()
    raise click.UsageError("name the folder to download into with --model-dir (or set ANIMA_MODEL_DIR)")


@models.command("download")
@click.option(
    "--model-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to download into [$ANIMA_MODEL_DIR]; a ComfyUI models/ folder works too.",
)
@click.option(
    "--variant", type=click.Choice(VARIANTS), default="base", show_default=True, help="DiT variant."
)
@click.option("--what", default=",".join(PARTS), metavar="PARTS", help=WHAT_HELP)
def download(model_dir: Path | None, variant: str, what: str) -> None:
    """Download the official files (DiT, text encoder, VAE) and the tokenizers into a model folder.

    Files go where `anima generate --model-dir` looks: diffusion_models/, text_encoders/, vae/ and
    tokenizers/. A transfer that breaks off is resumed; a file is moved into place only after its checks
    pass (sha256 pinned or advertised by the hub, size, content), and files already in place are kept.
    Hub files come from $HF_ENDPOINT when set (a mirror), with $HF_TOKEN (or your `hf auth login` token).
    """
    folder = _model_dir(model_dir)
    with usage_errors():
        sources = select_sources(load_model_manifest(), variant=variant, parts=_parts(what))
    try:
        for source in sources:
            with download_bar(source.target, source.size) as advance:
                result = download_source(source, folder, progress=advance)
            action = "downloaded" if result.fetched else "kept"
            checks = ", ".join(result.checks) or "nothing"
            click.echo(f"{action} {result.path} ({format_bytes(result.size)}; checked: {checks})")
    except AnimaEngineError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"use them with: anima generate --model-dir {folder} PROMPT", err=True)


@models.command("list")
@click.option(
    "--variant", type=click.Choice(VARIANTS), default="base", show_default=True, help="DiT variant."
)
def list_command(variant: str) -> None:
    """List the files `anima models download` fetches: where from, where to, and how each is verified."""
    try:
        sources = select_sources(load_model_manifest(), variant=variant)
    except AnimaEngineError as error:
        raise click.ClickException(str(error)) from None
    endpoint = hub_endpoint()
    for source in sources:
        pinned = f"sha256 {source.sha256}" if source.sha256 else "sha256 advertised by the hub"
        click.echo(f"{source.part}\t{source.target}\t{source.resolve(endpoint)}\t{pinned}")
