"""File digests: one sha256 function, and its cache keyed by path, size and mtime."""

import hashlib
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from anima_prompt import hashing
from anima_prompt.hashing import cached_file_sha256, file_sha256


def test_file_sha256(tmp_path: Path) -> None:
    data = bytes(range(256)) * 5000  # more than one read buffer
    (tmp_path / "f").write_bytes(data)
    assert file_sha256(tmp_path / "f") == hashlib.sha256(data).hexdigest()
    (tmp_path / "empty").write_bytes(b"")
    assert file_sha256(str(tmp_path / "empty")) == hashlib.sha256(b"").hexdigest()


def test_cached_by_size_and_mtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(b"first contents")
    cache = tmp_path / "cache"
    calls: list[Path] = []
    monkeypatch.setattr(hashing, "file_sha256", lambda p: calls.append(p) or file_sha256(p))
    expected = hashlib.sha256(b"first contents").hexdigest()
    assert cached_file_sha256(weights, cache_dir=cache) == expected
    assert cached_file_sha256(weights, cache_dir=cache) == expected
    assert len(calls) == 1  # the second call came from the cache
    weights.write_bytes(b"other contents!")
    os.utime(weights, ns=(1, 1))
    assert cached_file_sha256(weights, cache_dir=cache) == hashlib.sha256(b"other contents!").hexdigest()
    assert len(calls) == 2
    assert [p.name for p in cache.iterdir()] == ["sha256.json"]  # no temporary file left


def test_a_corrupt_cache_costs_only_a_rehash(tmp_path: Path) -> None:
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(b"abc")
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "sha256.json").write_text("{not json")
    assert cached_file_sha256(weights, cache_dir=tmp_path / "cache") == hashlib.sha256(b"abc").hexdigest()
    stale = json.dumps({str(weights.resolve()): {"size": 3, "mtime_ns": "x", "sha256": "0" * 64}})
    (tmp_path / "cache" / "sha256.json").write_text(stale)
    assert cached_file_sha256(weights, cache_dir=tmp_path / "cache") == hashlib.sha256(b"abc").hexdigest()


def test_the_default_cache_is_the_user_cache_folder(tmp_path: Path) -> None:
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(b"abc")
    cached_file_sha256(weights)
    assert (hashing.user_cache_dir() / "sha256.json").read_text().count(str(weights.resolve())) == 1


def test_files_hashed_at_the_same_time_all_stay_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three threads read the cache before any of them writes (as the pipeline hashes its three files):
    every entry is kept, so the next run hashes nothing."""
    files = [tmp_path / f"file{n}.bin" for n in range(3)]
    for n, path in enumerate(files):
        path.write_bytes(bytes([n]) * 1000)
    all_read = threading.Barrier(len(files))
    real = hashing.file_sha256

    def hash_after_all_read(path: str | Path) -> str:
        all_read.wait(timeout=10)
        return real(path)

    monkeypatch.setattr(hashing, "file_sha256", hash_after_all_read)
    cache = tmp_path / "cache"
    with ThreadPoolExecutor(len(files)) as pool:
        list(pool.map(lambda path: cached_file_sha256(path, cache_dir=cache), files))
    monkeypatch.setattr(hashing, "file_sha256", lambda path: pytest.fail(f"hashed {path} again"))
    assert [cached_file_sha256(path, cache_dir=cache) for path in files] == [real(path) for path in files]
