"""`anima serve`: start the local web playground.

Imports nothing of the web stack until the command runs, so `anima --help` works without the `serve`
extra, and a missing extra is one line naming it.
"""

import socket
import threading
from pathlib import Path
from typing import Any

import click

from anima_prompt.serve.guard import LOOPBACK_NAMES

SERVE_HINT = "the serve extra is not installed; pip install 'anima-toolkit[serve]'"
RENDERER = "anima_engine.playground:EngineRenderer"
"""The engine's renderer, imported by name (like the CLI's engine commands) so this package never
imports torch."""
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="0 picks a free port."
)
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow a --host other than this machine (anyone who can reach it can use the server).",
)
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), help="Tag index [$ANIMA_TAG_INDEX].")
@click.option(
    "--model-dir", type=click.Path(file_okay=False, path_type=Path), help="Folder with the model files."
)
@click.option("--dit", type=click.Path(dir_okay=False, path_type=Path), help="DiT file.")
@click.option(
    "--text-encoder", type=click.Path(dir_okay=False, path_type=Path), help="Qwen3 text-encoder file."
)
@click.option("--vae", type=click.Path(dir_okay=False, path_type=Path), help="VAE file.")
@click.option("--comfyui", type=click.Path(file_okay=False, path_type=Path), help="A ComfyUI installation.")
@click.option(
    "--tokenizers", type=click.Path(file_okay=False, path_type=Path), help="Folder with qwen3/ and t5/."
)
@click.option(
    "--lora-dir",
    type=click.Path(file_okay=False, path_type=Path),
    multiple=True,
    help="Folder of LoRA files the page may choose from; repeatable.",
)
@click.option("--device", help="torch device for generation [cuda if available].")
@click.option("--no-generate", is_flag=True, help="Serve the editor only, even when the engine is installed.")
@click.option(
    "--queue",
    "max_pending",
    type=click.IntRange(1, 100),
    default=4,
    show_default=True,
    help="Jobs that may wait.",
)
@click.option(
    "--max-body",
    type=click.IntRange(1024, 16 * 1024 * 1024),
    default=256 * 1024,
    show_default=True,
    help="Largest request body accepted, in bytes (larger ones get 413).",
)
def serve(
    host: str,
    port: int,
    allow_remote: bool,
    db: Path | None,
    model_dir: Path | None,
    dit: Path | None,
    text_encoder: Path | None,
    vae: Path | None,
    comfyui: Path | None,
    tokenizers: Path | None,
    lora_dir: tuple[Path, ...],
    device: str | None,
    no_generate: bool,
    max_pending: int,
    max_body: int,
) -> None:
    """Start the web playground: prompt editors with live lint, tag completion, quick fixes, a tag
    browser, and (with the engine and models) generation with a gallery.

    It listens on 127.0.0.1 only; another --host needs --allow-remote. Model files and LoRA folders are
    fixed here: the page can only choose among them.
    """
    remote = host not in LOOPBACK_NAMES
    if remote and not allow_remote:
        raise click.UsageError(
            f"--host {host} would let other machines use this server; add --allow-remote to do so on purpose"
        )
    try:
        import uvicorn

        from anima_prompt.serve.api import Playground, create_app
    except ModuleNotFoundError as error:
        if error.name in {"fastapi", "starlette", "uvicorn", "pydantic"}:
            raise click.ClickException(SERVE_HINT) from None
        raise
    from anima_prompt.editor import EditorServices
    from anima_prompt.errors import AnimaPromptError
    from anima_prompt.index.query import TagIndex

    try:
        index_path = _index_path(db)
        index = TagIndex.open(index_path) if index_path is not None else None
        config = _lint_config(lora_dir)
    except AnimaPromptError as error:
        raise click.ClickException(str(error)) from None
    services = EditorServices(index=index, config=config)
    threading.Thread(target=_warm, args=(services,), name="anima-warm", daemon=True).start()
    playground = Playground(services=services, max_body=max_body)
    if no_generate:
        playground.engine_note = "the server was started with --no-generate"
    else:
        models = {
            "dit": dit,
            "text_encoder": text_encoder,
            "vae": vae,
            "model_dir": model_dir,
            "comfyui": comfyui,
        }
        _attach_engine(playground, max_pending, models, tokenizers, lora_dir, device, index_path)
    hosts = None if allow_remote and host in WILDCARD_HOSTS else frozenset({*LOOPBACK_NAMES, host})
    app = create_app(playground, hosts=hosts)
    listener = _listen(host, port)
    address = listener.getsockname()
    shown = f"[{address[0]}]" if ":" in address[0] else address[0]
    if remote:
        click.echo(
            f"anima serve: warning: listening on {host}: anyone who can reach this machine can use the "
            "server (and the GPU); there is no login",
            err=True,
        )
    click.echo(f"anima serve: http://{shown}:{address[1]}/  ({playground.engine_note})")
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    try:
        server.run(sockets=[listener])
    finally:
        listener.close()
        if playground.queue is not None:
            playground.queue.close()


def _warm(services: Any) -> None:
    """Compute the slow completion answers, then keep what start-up built out of the garbage collector's
    sweeps (fewer and shorter collection pauses while serving)."""
    import gc

    services.warm()
    gc.collect()
    gc.freeze()


def _lint_config(lora_dirs: tuple[Path, ...]) -> Any:
    """The lint configuration `anima lint` finds (`anima.toml`, `pyproject.toml`), with the `--lora-dir`
    folders first and `anima` as the front end: the page generates with this toolkit's engine, which
    takes `<lora:...>` tags out of the text."""
    import dataclasses

    from anima_prompt.lint import load_config

    config = load_config()
    folders = (*(str(folder) for folder in lora_dirs), *config.lora_dirs)
    return dataclasses.replace(config, lora_dirs=folders, front_end="anima")


def _index_path(db: Path | None) -> Path | None:
    """The tag index file: `--db`, else the default one when it was built, else None (no completion)."""
    from anima_prompt.index.query import default_index_path

    path = db if db is not None else default_index_path()
    return path if db is not None or path.is_file() else None


def _attach_engine(
    playground: Any,
    max_pending: int,
    models: dict[str, Path | None],
    tokenizers: Path | None,
    lora_dirs: tuple[Path, ...],
    device: str | None,
    index_path: Path | None,
) -> None:
    """Give the playground a generation queue when the engine and the model files are there."""
    from anima_prompt.cli import load_target
    from anima_prompt.commands.errors import ENGINE_EXTRA, EngineMissing
    from anima_prompt.serve.jobs import GenerationQueue

    try:
        renderer_type: Any = load_target(RENDERER, "serve")
    except EngineMissing:
        playground.engine_note = f"generation needs the engine extra: {ENGINE_EXTRA}"
        return
    try:
        renderer = renderer_type(
            **models, tokenizer_dir=tokenizers, lora_dirs=lora_dirs, device=device, index_path=index_path
        )
    except FileNotFoundError as error:  # ModelNotFoundError: no model files where they were looked for
        playground.engine_note = f"generation is off: {str(error).splitlines()[0]}"
        return
    playground.engine = renderer.describe()
    playground.queue = GenerationQueue(renderer, max_pending=max_pending)
    playground.engine_note = f"generation on, models: {renderer.files.dit.parent}"


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on `host:port` (port 0: a free one), so the address is known before serving."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        raise click.ClickException(f"cannot listen on {host}:{port}: {error.strerror}") from None
    listener.listen(128)
    return listener
