"""`anima index`: build, download and describe the tag index."""

import json
import time
from dataclasses import asdict
from pathlib import Path

import click

from anima_prompt.commands.tags import DB_OPTION, JSON_OPTION, open_index
from anima_prompt.download import PinnedSource, fetch, load_manifest
from anima_prompt.errors import AnimaPromptError
from anima_prompt.index.query import TagIndex, default_index_path
from anima_prompt.index.sources import FORMATS, load_source
from anima_prompt.places import user_cache_dir
from anima_prompt.progress import download_bar


@click.group()
def index() -> None:
    """Build, download and describe the tag index."""


def _build(paths: list[Path], formats: list[str | None], db: Path | None, vocab: bool) -> None:
    target = db or default_index_path()
    started = time.perf_counter()
    try:
        loaded = [load_source(path, fmt) for path, fmt in zip(paths, formats, strict=True)]
        built = TagIndex.build(loaded, target, include_vocab=vocab)
        counts = built.info().counts
        built.close()
    except AnimaPromptError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"built {target}: {counts['tags']} tags, {counts['aliases']} aliases, {counts['implications']} "
        f"implications in {time.perf_counter() - started:.1f} s"
    )


@index.command()
@click.option(
    "--source",
    "sources",
    multiple=True,
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A tag CSV, alias/implication dump or artist list; repeat for several.",
)
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(list(FORMATS)),
    help="Format of the sources (once for all, or once per --source); detected when left out.",
)
@click.option(
    "--no-vocab", is_flag=True, help="Leave out Anima's own vocabulary (quality, score, year, ...)."
)
@DB_OPTION
def build(sources: tuple[Path, ...], formats: tuple[str, ...], no_vocab: bool, db: Path | None) -> None:
    """Build the index from local files (written to a temporary file, then swapped in)."""
    if len(formats) not in (0, 1, len(sources)):
        raise click.UsageError(
            f"give --format once or once per --source ({len(sources)}), got {len(formats)}"
        )
    per_source: list[str | None] = (
        list(formats) if len(formats) == len(sources) else [*formats] * len(sources)
    )
    _build(list(sources), per_source or [None] * len(sources), db, not no_vocab)


@index.command()
@click.option("--source", "names", multiple=True, help="A pinned source by name (see --list); repeatable.")
@click.option("--all", "everything", is_flag=True, help="Fetch every pinned source.")
@click.option("--list", "list_only", is_flag=True, help="List the pinned sources and exit.")
@click.option("--url", default=None, help="Fetch this URL instead of the pins (needs --sha256 and --format).")
@click.option("--sha256", default=None, help="Expected sha256 of --url.")
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default=None, help="Format of --url.")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to keep downloaded files (default: the user cache directory).",
)
@click.option("--no-build", is_flag=True, help="Only download; do not build the index.")
@DB_OPTION
def download(
    names: tuple[str, ...],
    everything: bool,
    list_only: bool,
    url: str | None,
    sha256: str | None,
    fmt: str | None,
    directory: Path | None,
    no_build: bool,
    db: Path | None,
) -> None:
    """Download pinned public tag lists (verified by sha256, resumable) and build the index from them."""
    try:
        manifest = load_manifest()
        if list_only:
            for pin in manifest:
                marker = "*" if pin.default else " "
                click.echo(f"{marker} {pin.name}\t{pin.format}\t{pin.url}")
            return
        if url is not None:
            if sha256 is None or fmt is None:
                raise click.UsageError("--url needs --sha256 and --format")
            filename = url.rstrip("/").rsplit("/", 1)[-1] or "source"
            chosen = [PinnedSource("url", url, filename, sha256.lower(), None, fmt)]
        else:
            by_name = {pin.name: pin for pin in manifest}
            unknown = [name for name in names if name not in by_name]
            if unknown:
                raise click.UsageError(f"unknown source {unknown[0]!r}; known: {', '.join(by_name)}")
            chosen = (
                list(manifest)
                if everything
                else [by_name[n] for n in names] or [p for p in manifest if p.default]
            )
        folder = directory or _cache_dir()
        paths = [_fetch_with_bar(pin, folder) for pin in chosen]
    except AnimaPromptError as error:
        raise click.ClickException(str(error)) from None
    for path in paths:
        click.echo(f"verified {path}")
    if not no_build:
        _build(paths, [pin.format for pin in chosen], db, True)


def _cache_dir() -> Path:
    return user_cache_dir() / "sources"


def _fetch_with_bar(pin: PinnedSource, folder: Path) -> Path:
    with download_bar(pin.name, pin.size) as advance:
        return fetch(pin, folder, progress=advance)


@index.command()
@DB_OPTION
@JSON_OPTION
def info(db: Path | None, as_json: bool) -> None:
    """Show the index's metadata: schema version, build time, sources with sha256 and dates, counts."""
    try:
        details = open_index(db).info()
    except AnimaPromptError as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(asdict(details), ensure_ascii=False))
        return
    click.echo(f"index: {details.path}")
    for key, value in details.meta.items():
        click.echo(f"{key}: {value}")
    click.echo("counts: " + ", ".join(f"{name} {count}" for name, count in details.counts.items()))
    for source in details.sources:
        click.echo(
            f"source: {source.path} ({source.format}, {source.records} records, "
            f"date {source.date or 'unknown'}, sha256 {source.sha256})"
        )
