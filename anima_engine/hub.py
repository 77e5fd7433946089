"""Files from the Hugging Face hub, fetched by `huggingface_hub`, verified before they take their names.

`huggingface_hub` asks the hub (or the mirror `$HF_ENDPOINT` names) for the file's sha256 and size (the
LFS etag), sends `$HF_TOKEN` (or the token of `hf auth login`) to the hub but not to its CDN, and resumes a
transfer that breaks off. The file lands in a hidden staging folder beside its target and is renamed into
place only after `anima_prompt.transfer.verify` passed: the pinned or advertised sha256 and size, and the
content check.
"""

import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from anima_prompt.errors import DownloadError
from anima_prompt.transfer import Downloaded, Expected, Progress, move_into_place

DEFAULT_ENDPOINT = "https://huggingface.co"
STAGING_DIR = ".anima-download"
"""Folder, inside the folder downloaded into, where `huggingface_hub` writes files before they are checked."""


def hub_endpoint(env: Mapping[str, str] | None = None) -> str:
    """The Hugging Face endpoint: `$HF_ENDPOINT` (a mirror) or https://huggingface.co."""
    env = os.environ if env is None else env
    return (env.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def hub_token(env: Mapping[str, str] | None = None) -> str | None:
    """`$HF_TOKEN`, or None to let `huggingface_hub` use the token of `hf auth login`, if any."""
    env = os.environ if env is None else env
    return (env.get("HF_TOKEN") or "").strip() or None


def hub_url(repo: str, path: str, revision: str, endpoint: str = DEFAULT_ENDPOINT) -> str:
    """The URL of a file in a hub repository, e.g. `<endpoint>/<repo>/resolve/<revision>/<path>`."""
    from huggingface_hub import hf_hub_url

    return hf_hub_url(repo, path, revision=revision, endpoint=endpoint)


def fetch_hub_file(
    repo: str,
    path: str,
    revision: str,
    target: Path,
    expected: Expected,
    *,
    env: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    timeout: float = 30.0,
) -> Downloaded:
    """Download `path` of the hub repository `repo` at `revision` to `target`, verified.

    Without a pinned sha256 (`expected.sha256` None), the sha256 and size the hub advertises for an LFS
    file are checked instead.

    Raises:
        DownloadError: one line naming the URL: the hub refused or could not be reached, the transfer broke
            off, or the file failed a check (and was discarded).
    """
    from huggingface_hub import get_hf_file_metadata, hf_hub_download

    endpoint, token = hub_endpoint(env), hub_token(env)
    url = hub_url(repo, path, revision, endpoint)
    staging = target.parent / STAGING_DIR
    try:
        with _hub_errors(url, token):
            metadata = get_hf_file_metadata(url, token=token, timeout=timeout)
            if expected.sha256 is None:
                expected = Expected(_sha256(metadata.etag), metadata.size, expected.check, pinned=False)
            target.parent.mkdir(parents=True, exist_ok=True)
            fetched = hf_hub_download(
                repo,
                path,
                revision=revision,
                endpoint=endpoint,
                token=token,
                local_dir=staging,
                etag_timeout=timeout,
                tqdm_class=None if progress is None else _progress_bar(progress),
            )
        return move_into_place(url, Path(str(fetched)), target, expected)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _sha256(etag: str | None) -> str | None:
    """The sha256 an LFS file's etag carries; None for a git blob's sha1 (a small file)."""
    tag = (etag or "").lower()
    return tag if len(tag) == 64 and all(c in "0123456789abcdef" for c in tag) else None


@contextmanager
def _hub_errors(url: str, token: str | None) -> Iterator[None]:
    """Turns what `huggingface_hub` and the network raise into a one-line `DownloadError`."""
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError

    try:
        yield
    except HfHubHTTPError as error:
        status = error.response.status_code
        hint = "; the repository may need a Hugging Face token: set HF_TOKEN"
        hint = hint if status in (401, 403) and token is None else ""
        message = f"{url}: HTTP {status} {error.response.reason_phrase}{hint}"
        raise DownloadError(message, status=status) from None
    except (httpx2.ConnectError, ConnectionError) as error:
        raise DownloadError(f"{url}: cannot connect: {_first_line(error)}") from None
    except (httpx2.HTTPError, OSError) as error:
        raise DownloadError(f"{url}: transfer broke off ({_first_line(error)}); run again to retry") from None


def _first_line(error: BaseException) -> str:
    return str(error).split("\n", 1)[0] or type(error).__name__


def _progress_bar(progress: Progress) -> Any:
    """A tqdm class that shows nothing and reports each update to `progress` as (bytes so far, total)."""
    from tqdm import tqdm

    class Forward(tqdm):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.pop("name", None)
            super().__init__(*args, **{**kwargs, "disable": True})
            self.done, self.size = int(kwargs.get("initial") or 0), kwargs.get("total")

        def update(self, n: float | None = 1) -> bool | None:
            self.done += int(n or 0)
            progress(self.done, self.size)
            return None

    return Forward
