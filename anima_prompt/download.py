"""Fetching pinned public tag lists: resumable HTTP downloads verified by size and sha256 before use.

The pins live in `data/sources.toml`. The transfer itself is `transfer.download`: it writes
`<file>.part`, continues it with an HTTP `Range` request after an interruption, and only renames it to
`<file>` once its size and sha256 match the pin.
"""

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anima_prompt.errors import DownloadError, TagIndexError
from anima_prompt.index.sources import FORMATS
from anima_prompt.resources import data_path
from anima_prompt.shapes import items, table
from anima_prompt.transfer import Progress, download

MANIFEST_FILE = "sources.toml"


@dataclass(frozen=True, slots=True)
class PinnedSource:
    """A public tag list pinned by URL, sha256 and (optionally) size.

    Attributes:
        name: short name used on the command line, e.g. `danbooru-tags`.
        url: the download URL (pointing at a fixed commit).
        filename: the name the file is saved under.
        sha256: the expected hex digest.
        size: the expected size in bytes, or None when unknown.
        format: one of `importers.FORMATS`.
        default: fetched when no source is named.
        origin: where the data comes from.
        licence: the data's licence.
    """

    name: str
    url: str
    filename: str
    sha256: str
    size: int | None
    format: str
    default: bool = False
    origin: str = ""
    licence: str = ""

    def __post_init__(self) -> None:
        if len(self.sha256) != 64 or any(ch not in "0123456789abcdef" for ch in self.sha256):
            raise TagIndexError(
                f"source {self.name!r}: sha256 must be 64 lowercase hex digits, got {self.sha256!r}"
            )
        if self.format not in FORMATS:
            raise TagIndexError(f"source {self.name!r}: unknown format {self.format!r}")
        if not self.url.startswith(("https://", "http://")):
            raise TagIndexError(f"source {self.name!r}: the URL must be http(s), got {self.url!r}")


def load_manifest(path: Path | None = None) -> tuple[PinnedSource, ...]:
    """The pinned sources of `data/sources.toml` (or of `path`).

    Raises:
        TagIndexError: the manifest is missing or an entry is malformed.
    """
    manifest = path or data_path(MANIFEST_FILE)
    try:
        entries = items(tomllib.loads(manifest.read_text(encoding="utf-8")).get("source", []))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise TagIndexError(f"{manifest}: cannot read the source manifest: {error}") from None
    if entries is None:
        raise TagIndexError(f"{manifest}: `source` must be an array of [[source]] tables")
    sources: list[PinnedSource] = []
    for number, entry in enumerate(entries, start=1):
        fields: dict[str, Any] | None = table(entry)  # checked by PinnedSource and its __post_init__
        if fields is None:
            raise TagIndexError(f"{manifest}: source #{number}: expected a [[source]] table")
        try:
            sources.append(PinnedSource(**fields))
        except TypeError as error:
            raise TagIndexError(f"{manifest}: source #{number}: {error}") from None
    return tuple(sources)


def fetch(
    source: PinnedSource, directory: Path, *, progress: Progress | None = None, timeout: float = 30.0
) -> Path:
    """Download `source` into `directory` (resuming a partial file), verify it, and return its path.

    A file already present with the pinned sha256 is not fetched again.

    Args:
        source: the pin.
        directory: where to save the file.
        progress: called with (bytes so far, total) as data arrives.
        timeout: seconds to wait for the server on each read.

    Raises:
        TagIndexError: the server fails, the transfer breaks off (the partial file is kept so the next
            call resumes), or the bytes do not match the pin (the partial file is removed).
    """
    try:
        downloaded = download(
            source.url,
            directory / source.filename,
            sha256=source.sha256,
            size=source.size,
            progress=progress,
            timeout=timeout,
        )
    except DownloadError as error:
        raise TagIndexError(str(error)) from None
    return downloaded.path
