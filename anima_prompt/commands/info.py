"""`anima info`: versions, and where the tag index, model files and tokenizers were found; or the settings
stored in an image.

Works without the engine extra: the engine's lines (torch, device, model files) then say how to install it.
"""

import json
import platform
from collections.abc import Callable
from pathlib import Path
from typing import cast

import click

from anima_prompt.cli import ENGINE_REPORT, load_target
from anima_prompt.commands.errors import ENGINE_EXTRA, EngineMissing
from anima_prompt.index.query import default_index_path
from anima_prompt.variants import VARIANTS
from anima_prompt.version import toolkit_version

EngineReport = Callable[..., list[str]]
"""`anima_engine.cli.engine_report`: keyword arguments model_dir, comfyui, variant, tokenizers."""


@click.command("info")
@click.argument("image", required=False, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="With IMAGE: the settings as JSON.")
@click.option(
    "--model-dir", type=click.Path(file_okay=False, path_type=Path), help="Folder with the model files."
)
@click.option("--comfyui", type=click.Path(file_okay=False, path_type=Path), help="A ComfyUI installation.")
@click.option(
    "--variant",
    type=click.Choice(VARIANTS),
    default="base",
    show_default=True,
    help="DiT variant.",
)
@click.option("--tokenizers", type=click.Path(file_okay=False, path_type=Path), help="Tokenizer folder.")
def info(
    image: Path | None,
    as_json: bool,
    model_dir: Path | None,
    comfyui: Path | None,
    variant: str,
    tokenizers: Path | None,
) -> None:
    """Show versions, the compute device, and where the model files, tokenizers and tag index were found.

    With IMAGE, show instead the generation settings stored in that PNG (written by this toolkit, ComfyUI
    or A1111/Forge), and what in them could not be mapped to this engine's settings.
    """
    if image is not None:
        _image_info(image, as_json=as_json)
        return
    click.echo(f"anima-toolkit {toolkit_version()}")
    click.echo(f"python {platform.python_version()}")
    try:
        engine_report = cast("EngineReport", load_target(ENGINE_REPORT, "info"))
    except EngineMissing:
        click.echo(f"engine: not installed ({ENGINE_EXTRA})")
    else:
        lines = engine_report(model_dir=model_dir, comfyui=comfyui, variant=variant, tokenizers=tokenizers)
        click.echo("\n".join(lines))
    index = default_index_path()
    click.echo(f"tag index: {index}" + ("" if index.is_file() else " (not built: anima index build)"))


def _image_info(path: Path, *, as_json: bool) -> None:
    from anima_prompt.imagemeta import settings_from_png

    settings = settings_from_png(path)
    if as_json:
        found = settings.known()
        found["loras"] = [{"name": lora.name, "strength": lora.strength} for lora in settings.loras]
        click.echo(json.dumps(found, ensure_ascii=False, indent=2))
    else:
        click.echo("\n".join(settings.lines()))
