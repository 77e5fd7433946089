"""Fetching pinned public tag lists: resumable HTTP downloads verified by size and sha256 before use.

The pins live in `data/sources.toml`. A download writes `<file>.part`, continues it with an HTTP `Range`
request after an interruption, and only renames it to `<file>` once its sha256 matches the pin.
"""

import hashlib
import http.client
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from anima_prompt.errors import TagIndexError
from anima_prompt.importers import FORMATS
from anima_prompt.resources import data_path

MANIFEST_FILE = "sources.toml"
CHUNK_BYTES = 1 << 16
Progress = Callable[[int, int | None], None]  # (bytes so far, total bytes or None)


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
        entries = tomllib.loads(manifest.read_text(encoding="utf-8")).get("source", [])
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise TagIndexError(f"{manifest}: cannot read the source manifest: {error}") from None
    sources = []
    for number, entry in enumerate(entries, start=1):
        try:
            sources.append(PinnedSource(**entry))
        except TypeError as error:
            raise TagIndexError(f"{manifest}: source #{number}: {error}") from None
    return tuple(sources)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


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
    target = directory / source.filename
    if target.is_file() and _sha256(target) == source.sha256:
        return target
    directory.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    _transfer(source, partial, progress, timeout)
    size = partial.stat().st_size
    if source.size is not None and size != source.size:
        partial.unlink()
        raise TagIndexError(
            f"{source.url}: got {size} bytes, the pin says {source.size}; the file was discarded"
        )
    digest = _sha256(partial)
    if digest != source.sha256:
        partial.unlink()
        raise TagIndexError(
            f"{source.url}: sha256 {digest} does not match the pinned {source.sha256}; the file was discarded"
        )
    partial.replace(target)
    return target


def _transfer(source: PinnedSource, partial: Path, progress: Progress | None, timeout: float) -> None:
    have = partial.stat().st_size if partial.is_file() else 0
    if source.size is not None and have >= source.size:
        return
    request = urllib.request.Request(source.url, headers={"User-Agent": "anima-toolkit"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and have:  # nothing left to send: the partial file is complete
            return
        raise TagIndexError(f"{source.url}: HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError) as error:
        raise TagIndexError(f"{source.url}: cannot connect: {error}") from None
    with response:
        if have and response.status != 206:  # the server ignored the range: start over
            have = 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else source.size
        done = have
        try:
            with partial.open("ab" if have else "wb") as stream:
                while chunk := response.read(CHUNK_BYTES):
                    stream.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total)
        except (OSError, ValueError, http.client.HTTPException) as error:
            raise TagIndexError(
                f"{source.url}: transfer broke off after {done} bytes ({error}); run again to resume"
            ) from None
    if total is not None and done < total:
        raise TagIndexError(
            f"{source.url}: transfer broke off after {done} of {total} bytes; run again to resume"
        )
