"""A progress bar on stderr for downloads, shared by the commands that fetch files (`anima index download`,
`anima models download`)."""

import sys
from collections.abc import Generator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar  # the type click.progressbar returns

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


def _shown(text: str | None) -> str | None:
    return text


@contextmanager
def download_bar(label: str, total: int | None = None) -> Generator[Progress]:
    """A bar labelled `label` on stderr (hidden when stderr is not a terminal); yields the callback that
    advances it, to pass as a download's `progress`. The bar appears with the first data, so a file that
    is already in place shows none."""
    bar: ProgressBar[str] | None = None
    seen = 0

    def advance(done: int, size: int | None) -> None:
        nonlocal bar, seen
        if bar is None:
            bar = click.progressbar(
                length=size or total or 0,
                label=label,
                file=sys.stderr,
                hidden=not sys.stderr.isatty(),
                item_show_func=_shown,
            )
            bar.__enter__()
        if size and bar.length != size:
            bar.length = size
        bar.update(done - seen, f"{format_bytes(done)} of {format_bytes(size)}")
        seen = done

    try:
        yield advance
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
