"""Verified downloads of files pinned by URL and sha256, and the checks every downloaded file passes.

`download` writes `<file>.part` in the target's folder, continues it with an HTTP `Range` request after an
interruption, and renames it to `<file>` only once it passed every check: the pinned size and sha256 and
the caller's content check. A file that fails a check is removed, so a broken or foreign download never
sits under the final name. Files on the Hugging Face hub are fetched by the engine through
`huggingface_hub` and checked by `verify` too.
"""

import http.client
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from anima_prompt.errors import DownloadError
from anima_prompt.hashing import file_sha256
from anima_prompt.safewrite import install

CHUNK_BYTES = 1 << 16
USER_AGENT = "anima-toolkit"
Progress = Callable[[int, int | None], None]
"""Called with (bytes so far, total bytes or None) as data arrives."""
ContentCheck = Callable[[Path], str | None]
"""Given the complete file, returns what is wrong with it, or None when it is fine."""


@dataclass(frozen=True, slots=True)
class Downloaded:
    """A file that passed its checks.

    Attributes:
        path: where it lies.
        size: its size in bytes.
        checks: what was verified, e.g. `("sha256 (pinned)",)` or `("size", "sha256 (from the server)")`.
        fetched: False when a file already in place was kept.
    """

    path: Path
    size: int
    checks: tuple[str, ...]
    fetched: bool


@dataclass(frozen=True, slots=True)
class Expected:
    """What a file must be.

    Attributes:
        sha256: its hex digest, if known.
        size: its size in bytes, if known.
        check: a content check, if any.
        pinned: True when `sha256` and `size` are pinned by the toolkit, False when the server advertised
            them (the Hugging Face hub's LFS sha256 and size).
    """

    sha256: str | None = None
    size: int | None = None
    check: ContentCheck | None = None
    pinned: bool = True


def verify(path: Path, expected: Expected) -> tuple[str, ...]:
    """Check `path` against `expected`; returns what was checked.

    Raises:
        DownloadError: the first check that failed, in one line without the URL (callers add it).
    """
    checks: list[str] = []
    actual = path.stat().st_size
    if expected.size is not None:
        if actual != expected.size:
            said = "the pin says" if expected.pinned else "the server announced"
            raise DownloadError(f"got {actual} bytes, {said} {expected.size}")
        checks.append("size")
    if expected.sha256 is not None:
        digest = file_sha256(path)
        if digest != expected.sha256:
            said = (
                f"the pinned {expected.sha256}"
                if expected.pinned
                else f"the {expected.sha256} the server advertised"
            )
            raise DownloadError(f"sha256 {digest} does not match {said}")
        checks.append("sha256 (pinned)" if expected.pinned else "sha256 (from the server)")
    if expected.check is not None:
        problem = expected.check(path)
        if problem is not None:
            raise DownloadError(problem)
        checks.append("content")
    return tuple(checks)


def kept(target: Path, expected: Expected) -> Downloaded | None:
    """`target` as a `Downloaded` when it exists and passes the checks that need no server; None when there
    is no file there.

    A pinned sha256 is checked; without one, the size and the content check. A file that fails them was not
    put there by a download (only verified files take their final names), so it is not replaced.

    Raises:
        DownloadError: a file is there and fails the checks; it is left alone.
    """
    if not target.exists():
        return None
    local = Expected(
        expected.sha256, expected.size, None if expected.sha256 else expected.check, expected.pinned
    )
    try:
        checks = verify(target, local)
    except DownloadError as error:
        raise DownloadError(
            f"{target} is there but is not the file to download ({error}); it is left alone: move it away "
            "and run again"
        ) from None
    return Downloaded(target, target.stat().st_size, checks, fetched=False)


def move_into_place(url: str, partial: Path, target: Path, expected: Expected) -> Downloaded:
    """Verify the complete `partial` file and rename it to `target`; a file that fails is removed.

    Raises:
        DownloadError: `<url>: <what failed>; the file was discarded`.
    """
    try:
        checks = verify(partial, expected)
    except DownloadError as error:
        partial.unlink(missing_ok=True)
        raise DownloadError(f"{url}: {error}; the file was discarded") from None
    install(partial, target)
    return Downloaded(target, target.stat().st_size, checks, fetched=True)


def download(
    url: str,
    target: Path,
    *,
    sha256: str,
    size: int | None = None,
    check: ContentCheck | None = None,
    progress: Progress | None = None,
    timeout: float = 30.0,
) -> Downloaded:
    """Download a pinned `url` to `target` (resuming `<target>.part`), verify it, and move it into place.

    A file already at `target` with the pinned sha256 is kept.

    Args:
        url: an http(s) URL; redirects are followed.
        target: the final path; its folder is created.
        sha256: the expected hex digest.
        size: the expected size in bytes, if known.
        check: a content check run on the complete file before it takes its name.
        progress: called with (bytes so far, total) as data arrives.
        timeout: seconds to wait for the server on each read.

    Raises:
        DownloadError: the server fails or cannot be reached, the transfer breaks off (the partial file is
            kept so the next call resumes), or the bytes fail a check (the partial file is removed).
    """
    if not url.startswith(("https://", "http://")):
        raise DownloadError(f"{url}: only http(s) URLs are downloaded")
    expected = Expected(sha256, size, check)
    found = kept(target, expected)
    if found is not None:
        return found
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    _transfer(url, partial, size, progress, timeout)
    return move_into_place(url, partial, target, expected)


def _transfer(url: str, partial: Path, size: int | None, progress: Progress | None, timeout: float) -> None:
    have = partial.stat().st_size if partial.is_file() else 0
    if size is not None and have >= size:
        return
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and have:  # nothing left to send: the partial file is complete
            return
        raise DownloadError(f"{url}: HTTP {error.code} {error.reason}", status=error.code) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise DownloadError(f"{url}: cannot connect: {reason}") from None
    with response:
        if have and response.status != 206:  # the server ignored the range: start over
            have = 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else size
        _receive(url, response, partial, have, total, progress)


def _receive(
    url: str,
    response: http.client.HTTPResponse,
    partial: Path,
    have: int,
    total: int | None,
    progress: Progress | None,
) -> None:
    done = have
    try:
        with partial.open("ab" if have else "wb") as stream:
            while chunk := response.read(CHUNK_BYTES):
                stream.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
    except (OSError, ValueError, http.client.HTTPException) as error:
        raise DownloadError(
            f"{url}: transfer broke off after {done} bytes ({error}); run again to resume"
        ) from None
    if total is not None and done < total:
        raise DownloadError(f"{url}: transfer broke off after {done} of {total} bytes; run again to resume")
