"""The real tag lists and tokenizer files some tests read, found or fetched as a user would.

A file is looked for, by its path in the shared layout (`danbooru/...`, `e621/...`, `tokenizers/...`), in
`$ANIMA_SHARED_DATA`, else in `../shared/data` beside the repository. When it is not there and the toolkit
pins a download for it (`data/sources.toml` for tag lists, `data/models.toml` for tokenizers), it is
downloaded with the toolkit's own verified download into `.pytest_cache/d/anima-real-data/` and kept for
later runs. A file that can be had neither way makes its test skip, with the reason.
"""

import os
from collections.abc import Callable, Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV_VAR = "ANIMA_SHARED_DATA"
CACHE_NAME = "anima-real-data"

Fetch = Callable[[Path], None]
"""Downloads one file to the given path (verified), or raises."""


def shared_data_dir() -> Path:
    """Where a local copy of the real files is: `$ANIMA_SHARED_DATA`, else `../shared/data`."""
    return Path(os.environ.get(ENV_VAR) or REPO_ROOT.parent / "shared" / "data")


def pinned_downloads() -> dict[str, Fetch]:
    """Shared-layout path -> how to download it, for every file the toolkit pins."""
    from anima_prompt.download import fetch, load_manifest
    from anima_prompt.index.sources import FORMATS

    fetches: dict[str, Fetch] = {}
    for pin in load_manifest():
        site = FORMATS[pin.format][0]
        fetches[f"{site}/{pin.filename}"] = lambda path, pin=pin: _fetch_tag_list(fetch, pin, path)
    try:
        from anima_engine.model_download import download_source
        from anima_engine.model_manifest import load_model_manifest
    except ImportError:  # no engine extra: the tokenizers cannot be fetched this way
        return fetches
    for source in load_model_manifest():
        if source.part == "tokenizers":
            fetches[source.target] = lambda path, s=source: _fetch_model_file(download_source, s, path)
    return fetches


def _fetch_tag_list(fetch: Callable[..., Path], pin: object, path: Path) -> None:
    fetch(pin, path.parent, timeout=15.0)


def _fetch_model_file(download: Callable[..., object], source: object, path: Path) -> None:
    root = path
    for _ in Path(source.target).parts:  # type: ignore[attr-defined]
        root = root.parent
    download(source, root, timeout=15.0)


def real_files(
    relatives: tuple[str, ...], *, local: Path, cache: Path, fetches: Mapping[str, Fetch]
) -> Path | str:
    """A folder holding every one of `relatives`, or the reason why there is none.

    The local copy is used when it holds them all; otherwise each missing file is downloaded into `cache`.
    """
    if all((local / relative).is_file() for relative in relatives):
        return local
    for relative in relatives:
        target = cache / relative
        if target.is_file():
            continue
        fetch = fetches.get(relative)
        if fetch is None:
            return f"needs {relative}: not in {local} (set {ENV_VAR}) and no pinned download exists for it"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fetch(target)
        except _download_errors() as error:
            return f"needs {relative}: not in {local} (set {ENV_VAR}) and its download failed: {error}"
    return cache


def _download_errors() -> tuple[type[Exception], ...]:
    from anima_prompt.errors import AnimaPromptError

    try:
        from anima_engine.errors import AnimaEngineError
    except ImportError:
        return (AnimaPromptError, OSError)
    return (AnimaPromptError, AnimaEngineError, OSError)
