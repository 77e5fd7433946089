"""`anima tags`: look up, search and suggest tags in the index."""

import json
from dataclasses import asdict
from pathlib import Path

import click

from anima_prompt.index.query import TagIndex
from anima_prompt.index.records import TagInfo
from anima_prompt.tagtext import danbooru_name

DB_OPTION = click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Index file (default: $ANIMA_TAG_INDEX, else tags.sqlite in the user data directory).",
)
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


def open_index(db: Path | None) -> TagIndex:
    """Open the index for a command: `--db` (a usage error when it does not exist), else the default.

    Raises:
        click.UsageError: `--db` names no file.
        TagIndexError: the default index is missing, or the file is not a tag index.
    """
    if db is not None and not db.exists():
        raise click.UsageError(
            f"--db {db}: no such file; build an index there with `anima index build --source PATH --db {db}`"
        )
    return TagIndex.open(db)


def tag_json(info: TagInfo) -> dict[str, object]:
    """A `TagInfo` as a JSON-ready dict, with `is_artist`."""
    return {**asdict(info), "aliases": list(info.aliases), "is_artist": info.is_artist}


def _tag_line(info: TagInfo) -> str:
    return f"{info.prompt}\t{info.category_name}\t{info.post_count}"


@click.group()
def tags() -> None:
    """Look up, search and suggest tags in the tag index."""


@tags.command()
@click.argument("name")
@DB_OPTION
@JSON_OPTION
def show(name: str, db: Path | None, as_json: bool) -> None:
    """Show the tag NAME (any spelling: `Hatsune Miku`, `@wlop`, an alias)."""
    index = open_index(db)
    info = index.lookup(name)
    if info is None:
        hints = [s.name for s in index.suggest(name, limit=3)]
        hint = f"; did you mean {', '.join(hints)}?" if hints else ""
        raise click.ClickException(f"no tag {name!r} in the index{hint}")
    implies = index.implies(info.name)
    if as_json:
        click.echo(json.dumps({**tag_json(info), "implies": list(implies)}, ensure_ascii=False))
        return
    click.echo(f"name:      {info.name}")
    click.echo(f"prompt:    {info.prompt}")
    click.echo(f"category:  {info.category_name} ({info.source} {info.category})")
    click.echo(f"posts:     {info.post_count}")
    click.echo(f"matched:   {info.matched}")
    if info.aliases:
        click.echo(f"aliases:   {', '.join(info.aliases)}")
    if implies:
        click.echo(f"implies:   {', '.join(implies)}")
    if info.artist_rank is not None:
        click.echo(f"artist list rank: {info.artist_rank}")


@tags.command()
@click.argument("prefix")
@click.option("--category", default=None, help="Only this category (number or name, e.g. character).")
@click.option(
    "--limit", default=20, show_default=True, type=click.IntRange(1, 1000), help="At most this many."
)
@DB_OPTION
@JSON_OPTION
def search(prefix: str, category: str | None, limit: int, db: Path | None, as_json: bool) -> None:
    """List tags starting with PREFIX (also at a later word), most posts first; exit 1 when none does."""
    _check_text("PREFIX", prefix)
    wanted: int | str | None = int(category) if category is not None and category.isdigit() else category
    index = open_index(db)
    found = index.search(prefix, category=wanted, limit=limit)
    if not found and wanted is not None:
        _check_category(index, wanted)
    if as_json:
        click.echo(json.dumps([tag_json(info) for info in found], ensure_ascii=False))
    for info in () if as_json else found:
        click.echo(_tag_line(info))
    if not found:
        within = f" in category {category}" if category is not None else ""
        raise click.ClickException(f"no tag starts with {prefix!r}{within}")


@tags.command()
@click.argument("text")
@click.option("--limit", default=5, show_default=True, type=click.IntRange(1, 100), help="At most this many.")
@DB_OPTION
@JSON_OPTION
def suggest(text: str, limit: int, db: Path | None, as_json: bool) -> None:
    """Suggest the tags TEXT probably means (typos, spacing, word order, missing qualifier); exit 1 when
    nothing is close."""
    _check_text("TEXT", text)
    found = open_index(db).suggest(text, limit=limit)
    if as_json:
        click.echo(json.dumps([asdict(item) for item in found], ensure_ascii=False))
    for item in () if as_json else found:
        click.echo(f"{item.name}\t{item.score:g}\t{item.reason}")
    if not found:
        hint = "" if text.isascii() else "; tags are written in English or romaji, e.g. hatsune miku"
        raise click.ClickException(f"no tag close to {text!r} in the index{hint}")


def _check_text(name: str, text: str) -> None:
    if not danbooru_name(text):
        raise click.UsageError(f"{name} {text!r} holds no tag text; give (the start of) a tag name")


def _check_category(index: TagIndex, wanted: int | str) -> None:
    categories = index.categories()
    if not any(wanted in (number, name) for number, name in categories):
        known = ", ".join(f"{name} ({number})" for number, name in categories)
        raise click.UsageError(f"unknown category {wanted!r}; this index has {known}")
