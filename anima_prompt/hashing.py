"""The sha256 of files: tag sources, downloads, weights and LoRAs are all hashed here.

`file_sha256` reads the file once; `cached_file_sha256` remembers the digest of multi-GB weights by
(resolved path, size, mtime), so a file is hashed once however many images record it.
"""

import hashlib
import json
import logging
from pathlib import Path
from typing import cast

from anima_prompt.places import user_cache_dir
from anima_prompt.safewrite import write_bytes

logger = logging.getLogger(__name__)

CACHE_FILE = "sha256.json"


def file_sha256(path: str | Path) -> str:
    """The hex sha256 of a file's bytes."""
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def cached_file_sha256(path: str | Path, *, cache_dir: Path | None = None) -> str:
    """`file_sha256`, cached by (resolved path, size, mtime).

    The cache is a small JSON file in `cache_dir` (default: the user cache folder); an unreadable or
    unwritable cache only costs a re-hash.
    """
    path = Path(path).resolve()
    stat = path.stat()
    stamp = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    cache_file = (user_cache_dir() if cache_dir is None else cache_dir) / CACHE_FILE
    cache = _read_cache(cache_file)
    entry = _table(cache.get(str(path)))
    if all(entry.get(k) == v for k, v in stamp.items()) and isinstance(known := entry.get("sha256"), str):
        return known
    digest = file_sha256(path)
    cache[str(path)] = {**stamp, "sha256": digest}
    _write_cache(cache_file, cache)
    return digest


def _read_cache(cache_file: Path) -> dict[str, object]:
    try:
        return _table(json.loads(cache_file.read_text(encoding="utf-8")))
    except (OSError, ValueError, RecursionError):  # unreadable, not JSON, nested too deep: start afresh
        return {}


def _table(value: object) -> dict[str, object]:
    """A JSON object as a dict (its keys are strings), anything else as an empty one."""
    return cast("dict[str, object]", value) if isinstance(value, dict) else {}


def _write_cache(cache_file: Path, cache: dict[str, object]) -> None:
    """Write the cache through a temporary file in the same folder, renamed into place."""
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(cache_file, json.dumps(cache, indent=0).encode("utf-8"))
    except OSError as exc:
        logger.warning("could not write the hash cache %s: %s", cache_file, exc)
