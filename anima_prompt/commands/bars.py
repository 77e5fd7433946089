"""A progress bar on stderr for downloads, shared by the commands that fetch files."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from anima_prompt.transfer import Progress

_UNITS = (("GB", 1e9), ("MB", 1e6), ("kB", 1e3))


def format_bytes(count: int | None) -> str:
    """A byte count for people, e.g. `4.18 GB`; `?` when unknown."""
    if count is None:
        return "?"
    for unit, scale in _UNITS:
        if count >= scale:
            return f"{count / scale:.2f} {unit}"
    return f"{count} B"


@contextmanager
def download_bar(label: str, total: int | None = None) -> Iterator[Progress]:
    """A bar labelled `label` on stderr (hidden when stderr is not a terminal); yields the callback that
    advances it, to pass as a download's `progress`."""
    hidden = not sys.stderr.isatty()
    with click.progressbar(
        length=total or 0,
        label=label,
        file=sys.stderr,
        hidden=hidden,
        item_show_func=lambda text: text,
    ) as bar:
        seen = 0

        def advance(done: int, size: int | None) -> None:
            nonlocal seen
            if size and bar.length != size:
                bar.length = size
            bar.update(done - seen, f"{format_bytes(done)} of {format_bytes(size)}")
            seen = done

        yield advance
