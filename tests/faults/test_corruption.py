"""A damaged index or hash cache: one line (or a correct answer), never a traceback, never more damage."""

import hashlib
import json
import random
from pathlib import Path

from click.testing import CliRunner

from anima_prompt.cli import cli
from tests.faults.conftest import Recorder
from tests.faults.report import FaultReport


def _damaged(original: bytes, rng: random.Random, kind: str) -> bytes:
    if kind == "garbage":
        return rng.randbytes(len(original))
    if kind == "truncated":
        return original[: rng.randrange(len(original))]
    data = bytearray(original)
    for _ in range(16):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


def test_corrupt_index(tmp_path: Path, small_index: Path, reliability: Recorder) -> None:
    rng = random.Random(1401)
    original = small_index.read_bytes()
    kinds = ["garbage", "truncated", "truncated", "flipped", "flipped", "flipped", "flipped", "empty"]
    lost = tracebacks = 0
    for number, kind in enumerate(kinds):
        db = tmp_path / f"damaged-{number}.sqlite"
        damaged = b"" if kind == "empty" else _damaged(original, rng, kind)
        db.write_bytes(damaged)
        for command in (["tags", "search", "ha"], ["lint", "safe, 1girl, long_hair", "--fail-on", "error"]):
            result = CliRunner().invoke(cli, [*command, "--db", str(db)])
            tracebacks += result.exception is not None and not isinstance(result.exception, SystemExit)
            assert result.exit_code in (0, 1), (kind, result.output)
            if result.exit_code == 1:
                errors = [line for line in result.stderr.splitlines() if ": error: " in line]
                assert len(errors) == 1 and str(db) in errors[0], (kind, result.stderr)
                assert "rebuild" in errors[0] or "build one" in errors[0], errors[0]
        lost += db.read_bytes() != damaged
    reliability(FaultReport("corrupt-index", len(kinds), lost, tracebacks))


def test_corrupt_hash_cache(tmp_path: Path, reliability: Recorder) -> None:
    from anima_prompt.hashing import cached_file_sha256

    weights = tmp_path / "weights.safetensors"
    weights.write_bytes(b"not really weights" * 1000)
    expected = hashlib.sha256(weights.read_bytes()).hexdigest()
    cache = tmp_path / "cache"
    cache.mkdir()
    damages = [
        b"\x00\xff garbage",
        b'{"a": {"size": 1, "mtime',
        b"[1, 2, 3]",
        json.dumps({str(weights.resolve()): {"size": "big", "mtime_ns": None, "sha256": 7}}).encode(),
        b"[" * 100_000,
        "{\ud800}".encode("utf-8", "surrogatepass"),
    ]
    lost = tracebacks = 0
    for damage in damages:
        (cache / "sha256.json").write_bytes(damage)
        try:
            digest = cached_file_sha256(weights, cache_dir=cache)
        except Exception:
            tracebacks += 1
            continue
        lost += digest != expected
        rewritten = json.loads((cache / "sha256.json").read_text(encoding="utf-8"))
        lost += rewritten[str(weights.resolve())]["sha256"] != expected
    reliability(FaultReport("corrupt-hash-cache", len(damages), lost, tracebacks))
