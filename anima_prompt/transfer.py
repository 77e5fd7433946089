"""Resumable HTTP downloads that are verified before the file takes its final name.

`download` writes `<file>.part`, continues it with an HTTP `Range` request after an interruption, and
renames it to `<file>` only once it passed every check it can make: the expected size, the sha256 (pinned
by the caller or, for a server known to send it, advertised in an `X-Linked-Etag`/`ETag` header as the
Hugging Face hub does for large files), and the caller's own content check. A file that fails a check
is removed, so a broken or foreign download never sits under the final name.
"""

import hashlib
import http.client
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from urllib.parse import urlsplit

from anima_prompt.errors import DownloadError

CHUNK_BYTES = 1 << 16
USER_AGENT = "anima-toolkit"
Progress = Callable[[int, int | None], None]
"""Called with (bytes so far, total bytes or None) as data arrives."""
ContentCheck = Callable[[Path], str | None]
"""Given the complete file, returns what is wrong with it, or None when it is fine."""

_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class Downloaded:
    """A file that passed its checks.

    Attributes:
        path: where it lies.
        size: its size in bytes.
        checks: what was verified, e.g. `("sha256 (pinned)",)` or `("sha256 (from the server)", "content")`.
        fetched: False when a file already in place was kept.
    """

    path: Path
    size: int
    checks: tuple[str, ...]
    fetched: bool


@dataclass(frozen=True, slots=True)
class _Advertised:
    """What the server said about the file: the sha256 and size it advertises, if any."""

    sha256: str | None = None
    size: int | None = None


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def etag_sha256(value: str | None) -> str | None:
    """The sha256 an entity tag carries, or None when it is not one (a git blob sha1, an md5, ...).

    The Hugging Face hub sends the sha256 of large (LFS) files as `X-Linked-Etag: "<64 hex digits>"`,
    sometimes weak (`W/"..."`).

    Example:
        >>> etag_sha256('W/"' + "ab" * 32 + '"') == "ab" * 32
        True
        >>> etag_sha256('"0123456789abcdef0123456789abcdef01234567"') is None  # a git blob sha1
        True
    """
    if value is None:
        return None
    tag = value.strip().removeprefix("W/").strip('"').lower()
    return tag if _SHA256.fullmatch(tag) else None


def download(
    url: str,
    target: Path,
    *,
    sha256: str | None = None,
    size: int | None = None,
    headers: Mapping[str, str] | None = None,
    check: ContentCheck | None = None,
    use_advertised: bool = False,
    progress: Progress | None = None,
    timeout: float = 30.0,
) -> Downloaded:
    """Download `url` to `target` (resuming `<target>.part`), verify it, and move it into place.

    A file already at `target` is kept when it passes the local checks (the pinned sha256 if there is one,
    else the size and the content check); otherwise it is fetched again.

    Args:
        url: an http(s) URL; redirects are followed (an `Authorization` header is not sent to another host).
        target: the final path; its folder is created.
        sha256: the expected hex digest, if known.
        size: the expected size in bytes, if known.
        headers: extra request headers, e.g. `{"Authorization": "Bearer ..."}`.
        check: a content check run on the complete file before it is moved into place.
        use_advertised: also check the size and, when no sha256 is pinned, the sha256 that the server
            advertises: the Hugging Face hub's `X-Linked-Size` and `X-Linked-Etag` (or an `ETag` that is
            a sha256). Only for servers known to mean the file's sha256 by them.
        progress: called with (bytes so far, total) as data arrives.
        timeout: seconds to wait for the server on each read.

    Raises:
        DownloadError: the server fails or cannot be reached, the transfer breaks off (the partial file is
            kept so the next call resumes), or the bytes fail a check (the partial file is removed).
    """
    if not url.startswith(("https://", "http://")):
        raise DownloadError(f"{url}: only http(s) URLs are downloaded")
    kept = _kept(target, sha256, size, check)
    if kept is not None:
        return kept
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    advertised = _transfer(url, partial, size, dict(headers or {}), progress, timeout)
    if not use_advertised:
        advertised = _Advertised()
    checks = _verify(url, partial, sha256, size, advertised, check)
    os.replace(partial, target)
    return Downloaded(target, target.stat().st_size, checks, fetched=True)


def _kept(
    target: Path, sha256: str | None, size: int | None, check: ContentCheck | None
) -> Downloaded | None:
    if not target.is_file():
        return None
    actual = target.stat().st_size
    if sha256 is not None:
        ok = (size is None or actual == size) and sha256_of(target) == sha256
        return Downloaded(target, actual, ("sha256 (pinned)",), fetched=False) if ok else None
    if size is not None and actual != size:
        return None
    if check is not None and check(target) is not None:
        return None
    checks = ("size",) * (size is not None) + ("content",) * (check is not None)
    return Downloaded(target, actual, checks, fetched=False)


def _verify(
    url: str,
    partial: Path,
    sha256: str | None,
    size: int | None,
    advertised: _Advertised,
    check: ContentCheck | None,
) -> tuple[str, ...]:
    """Run every check on the complete partial file; remove it and raise on the first failure."""

    def refuse(problem: str) -> DownloadError:
        partial.unlink(missing_ok=True)
        return DownloadError(f"{url}: {problem}; the file was discarded")

    actual = partial.stat().st_size
    checks: list[str] = []
    for expected, origin in ((size, "the pin says"), (advertised.size, "the server announced")):
        if expected is not None and actual != expected:
            raise refuse(f"got {actual} bytes, {origin} {expected}")
    if size is not None or advertised.size is not None:
        checks.append("size")
    if sha256 is not None:
        digest = sha256_of(partial)
        if digest != sha256:
            raise refuse(f"sha256 {digest} does not match the pinned {sha256}")
        checks.append("sha256 (pinned)")
    elif advertised.sha256 is not None:
        digest = sha256_of(partial)
        if digest != advertised.sha256:
            raise refuse(f"sha256 {digest} does not match the {advertised.sha256} the server advertised")
        checks.append("sha256 (from the server)")
    if check is not None:
        problem = check(partial)
        if problem is not None:
            raise refuse(problem)
        checks.append("content")
    return tuple(checks)


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects, keeps each redirect response's headers, and never forwards credentials to
    another host (the hub redirects large files to a CDN)."""

    def __init__(self) -> None:
        self.seen: list[Message] = []

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: object,
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> urllib.request.Request | None:
        self.seen.append(headers)
        new = super().redirect_request(req, fp, code, msg, headers, newurl)  # type: ignore[arg-type]
        if new is not None and urlsplit(new.full_url).netloc != urlsplit(req.full_url).netloc:
            new.remove_header("Authorization")
        return new


def _advertised(chain: list[Message]) -> _Advertised:
    """The sha256 and size the server advertised. `chain` holds the headers of each response, first to last.

    `X-Linked-Etag`/`X-Linked-Size` may come on any response; a plain `ETag` counts only on the first one
    (the server asked), not on a CDN's answer after a redirect.
    """
    sha256 = next((s for h in chain if (s := etag_sha256(h.get("X-Linked-Etag"))) is not None), None)
    if sha256 is None and chain:
        sha256 = etag_sha256(chain[0].get("ETag"))
    sizes = [h.get("X-Linked-Size") for h in chain if (h.get("X-Linked-Size") or "").isdigit()]
    return _Advertised(sha256, int(sizes[0]) if sizes else None)


def _transfer(
    url: str,
    partial: Path,
    size: int | None,
    headers: dict[str, str],
    progress: Progress | None,
    timeout: float,
) -> _Advertised:
    have = partial.stat().st_size if partial.is_file() else 0
    if size is not None and have >= size:
        return _Advertised()
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **headers})
    if have:
        request.add_header("Range", f"bytes={have}-")
    redirects = _Redirects()
    opener = urllib.request.build_opener(redirects)
    try:
        response = opener.open(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and have:  # nothing left to send: the partial file is complete
            return _advertised([*redirects.seen, error.headers])
        raise DownloadError(f"{url}: HTTP {error.code} {error.reason}", status=error.code) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise DownloadError(f"{url}: cannot connect: {reason}") from None
    with response:
        advertised = _advertised([*redirects.seen, response.headers])
        if have and response.status != 206:  # the server ignored the range: start over
            have = 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else (size or advertised.size)
        _receive(url, response, partial, have, total, progress)
    return advertised


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
