"""`anima index`: build, download and describe the tag index."""

import json
import time
from dataclasses import asdict
from pathlib import Path

import click

from anima_prompt.commands.errors import usage_errors
from anima_prompt.commands.tags import DB_OPTION, JSON_OPTION, open_index
from anima_prompt.download import PinnedSource, fetch, load_manifest
from anima_prompt.errors import TagIndexError
from anima_prompt.index.build import check_target
from anima_prompt.index.query import TagIndex, default_index_path
from anima_prompt.index.sources import FORMATS, load_source
from anima_prompt.places import user_cache_dir
from anima_prompt.progress import download_bar

FORCE_OPTION = click.option(
    "--force", is_flag=True, help="Replace the --db file even when it is not a tag index."
)


@click.group()
def index() -> None:
    """Build, download and describe the tag index."""


def _target(db: Path | None, *, force: bool) -> Path:
    """The index file to write: `--db` (its folder must exist) or the default; refuses foreign files early."""
    if db is not None and not db.parent.is_dir():
        raise click.UsageError(f"--db {db}: the folder {db.parent} does not exist; create it first")
    target = db or default_index_path()
    try:
        check_target(target, overwrite=force)
    except TagIndexError as error:
        raise click.UsageError(str(error)) from None
    return target


def _build(paths: list[Path], formats: list[str | None], target: Path, vocab: bool, force: bool) -> None:
    started = time.perf_counter()
    loaded = [load_source(path, fmt) for path, fmt in zip(paths, formats, strict=True)]
    built = TagIndex.build(loaded, target, include_vocab=vocab, overwrite=force)
    counts = built.info().counts
    built.close()
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
@FORCE_OPTION
def build(
    sources: tuple[Path, ...], formats: tuple[str, ...], no_vocab: bool, db: Path | None, force: bool
) -> None:
    """Build the index from local files (written to a temporary file, then swapped in)."""
    if len(formats) not in (0, 1, len(sources)):
        raise click.UsageError(
            f"give --format once or once per --source ({len(sources)}), got {len(formats)}"
        )
    per_source: list[str | None] = (
        list(formats) if len(formats) == len(sources) else [*formats] * len(sources)
    )
    target = _target(db, force=force)
    _build(list(sources), per_source or [None] * len(sources), target, not no_vocab, force)


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
@FORCE_OPTION
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
    force: bool,
) -> None:
    """Download pinned public tag lists (verified by sha256, resumable) and build the index from them."""
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
        with usage_errors():
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
    target = None if no_build else _target(db, force=force)
    folder = directory or _cache_dir()
    paths = [_fetch_with_bar(pin, folder) for pin in chosen]
    for path in paths:
        click.echo(f"verified {path}")
    if target is not None:
        _build(paths, [pin.format for pin in chosen], target, True, force)


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
    details = open_index(db).info()
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
