"""Downloads under faults: killed, a full disk, a server that sends garbage, stalls or the wrong length.
Nothing ever lies under the real name unless it passed its checks, and the next run resumes."""

import hashlib
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from anima_prompt.download import PinnedSource, fetch
from anima_prompt.errors import TagIndexError
from tests.faults.conftest import Recorder
from tests.faults.report import FaultReport
from tests.faults.runner import KILLED, TERMINATED, run, run_interrupted
from tests.support.fileserver import CHUNK_BYTES, FileServer, file_server

LIST = "/lists/danbooru_tags.csv"
BODY = b"".join(b"tag_%06d,%d,%d,\n" % (n, (0, 1, 3, 4, 5)[n % 5], 10**6 - n) for n in range(60_000))
SHA256 = hashlib.sha256(BODY).hexdigest()


@pytest.fixture
def server() -> Iterator[FileServer]:
    with file_server() as served:
        served.files[LIST] = BODY
        yield served


def _download(server: FileServer, folder: Path) -> list[str]:
    url = server.base + LIST
    return [
        "index",
        "download",
        "--url",
        url,
        "--sha256",
        SHA256,
        "--format",
        "danbooru-csv",
        "--dir",
        str(folder),
        "--no-build",
    ]


def _intact(target: Path) -> bool:
    """Nothing under the real name, or the whole verified file."""
    return not target.exists() or hashlib.sha256(target.read_bytes()).hexdigest() == SHA256


def test_kill_during_a_tag_list_download(tmp_path: Path, server: FileServer, reliability: Recorder) -> None:
    rng = random.Random(1501)
    server.chunk_delay = 0.004
    transfer = len(BODY) / CHUNK_BYTES * server.chunk_delay  # about a second for the whole list
    folder, target = tmp_path / "sources", tmp_path / "sources" / "danbooru_tags.csv"
    runs, lost, tracebacks, endings = 6, 0, 0, set()
    for number in range(runs):
        signum = signal.SIGKILL if number % 2 else signal.SIGTERM
        seen = len(server.requests)
        done = run_interrupted(
            _download(server, folder),
            cwd=tmp_path,
            delay=rng.uniform(0.1, 0.8) * transfer,  # counted from the request: mid-transfer, however slowly
            signum=signum,  # the interpreter starts on a loaded machine
            started=lambda seen=seen: len(server.requests) > seen,
        )
        endings.add(done.returncode)
        tracebacks += done.traceback
        lost += not _intact(target)
    assert endings & {KILLED, TERMINATED}
    final = run(_download(server, folder), cwd=tmp_path)
    assert final.returncode == 0, final.stderr
    assert any(request.range for request in server.requests)  # a broken-off transfer was resumed
    lost += hashlib.sha256(target.read_bytes()).hexdigest() != SHA256
    reliability(FaultReport("kill-download", runs, lost, tracebacks))


def test_full_disk_during_a_tag_list_download(
    tmp_path: Path, server: FileServer, reliability: Recorder
) -> None:
    rng = random.Random(1502)
    folder = tmp_path / "sources"
    runs, lost, tracebacks = 3, 0, 0
    for _ in range(runs):
        done = run(_download(server, folder), cwd=tmp_path, file_size_limit=rng.randint(1, len(BODY) - 1))
        tracebacks += done.traceback
        assert done.returncode == 1
        assert done.stderr.startswith(
            f"anima index download: error: {server.base}{LIST}: transfer broke off after "
        )
        assert done.stderr.endswith("File too large); run again to resume\n"), done.stderr
        lost += (folder / "danbooru_tags.csv").exists()
    reliability(FaultReport("full-disk-download", runs, lost, tracebacks))


def test_a_server_that_sends_the_wrong_bytes(
    tmp_path: Path, server: FileServer, reliability: Recorder
) -> None:
    url = server.base + LIST
    cases = {
        "other bytes": (lambda: server.files.update({LIST: BODY[::-1]}), "does not match the pinned"),
        "error status": (lambda: server.status.update({LIST: 500}), "HTTP 500"),
        "not found": (lambda: server.status.update({LIST: 404}), "HTTP 404"),
        "fewer bytes than announced": (
            lambda: setattr(server, "length_offset", 4096),
            "transfer broke off after",
        ),
        "more bytes than announced": (
            lambda: setattr(server, "length_offset", -4096),
            "does not match the pinned",
        ),
    }
    lost = tracebacks = 0
    for name, (misbehave, message) in cases.items():
        server.files[LIST], server.status, server.length_offset = BODY, {}, 0
        misbehave()
        folder = tmp_path / name.replace(" ", "-")
        done = run(_download(server, folder), cwd=tmp_path)
        tracebacks += done.traceback
        assert done.returncode == 1, (name, done.stderr)
        assert done.stderr.startswith(f"anima index download: error: {url}: "), done.stderr
        assert message in done.stderr and done.stderr.count("\n") == 1, (name, done.stderr)
        lost += (folder / "danbooru_tags.csv").exists()
    reliability(FaultReport("server-garbage", len(cases), lost, tracebacks))


def test_a_server_that_stalls_or_cuts_the_transfer(
    tmp_path: Path, server: FileServer, reliability: Recorder
) -> None:
    pin = PinnedSource("list", server.base + LIST, "danbooru_tags.csv", SHA256, len(BODY), "danbooru-csv")
    misbehaviours = {
        "stall": lambda: (setattr(server, "stall_after", 200_000), setattr(server, "stall_seconds", 2.0)),
        "cut": lambda: setattr(server, "cut_after", 300_000),
    }
    lost = tracebacks = 0
    for name, misbehave in misbehaviours.items():
        folder = tmp_path / name
        misbehave()
        with pytest.raises(TagIndexError, match=r"transfer broke off after \d+ .*run again to resume"):
            fetch(pin, folder, timeout=0.5)
        lost += (folder / pin.filename).exists()
        fetched = fetch(pin, folder, timeout=5)  # the next run resumes and verifies
        lost += hashlib.sha256(fetched.read_bytes()).hexdigest() != SHA256
    assert sum(request.range is not None for request in server.requests) == len(misbehaviours)
    reliability(FaultReport("server-stall-or-cut", len(misbehaviours), lost, tracebacks))


def test_kill_during_a_model_download(tmp_path: Path, reliability: Recorder) -> None:
    from anima_engine._tiny import TINY_PIPELINE_VAE, write_tiny_vae
    from tests.engine.hub_helpers import HUB_FILES, sha256

    rng = random.Random(1503)
    vae = write_tiny_vae(tmp_path / "source.safetensors", TINY_PIPELINE_VAE).read_bytes()
    target = tmp_path / "models" / "vae" / "qwen_image_vae.safetensors"
    args = ["models", "download", "--model-dir", str(tmp_path / "models"), "--what", "vae"]
    with file_server() as server:
        server.serve_like_the_hub(HUB_FILES["vae"], vae, etag=sha256(vae))
        server.chunk_delay = 0.015  # the transfer, not the start-up, takes most of the time
        env = {"HF_ENDPOINT": server.base}
        started = time.perf_counter()
        timing = run([*args[:3], str(tmp_path / "timing"), *args[4:]], cwd=tmp_path, env=env)
        assert timing.returncode == 0, timing.stderr
        duration = time.perf_counter() - started
        runs, lost, tracebacks, endings = 4, 0, 0, set()
        for number in range(runs):
            signum = signal.SIGKILL if number % 2 else signal.SIGTERM
            delay = rng.uniform(0.25, 0.8) * duration
            done = run_interrupted(args, cwd=tmp_path, delay=delay, signum=signum, env=env)
            endings.add(done.returncode)
            tracebacks += done.traceback
            lost += target.exists() and target.read_bytes() != vae
        assert endings & {KILLED, TERMINATED}
        final = run(args, cwd=tmp_path, env=env)
    assert final.returncode == 0, final.stderr
    lost += target.read_bytes() != vae
    reliability(FaultReport("kill-model-download", runs, lost, tracebacks))


def test_a_file_of_the_users_under_the_downloads_name(
    tmp_path: Path, server: FileServer, reliability: Recorder
) -> None:
    folder = tmp_path / "sources"
    folder.mkdir()
    target = folder / "danbooru_tags.csv"
    contents = [b"my own edited list\n", BODY[:-10], b""]
    lost = tracebacks = 0
    for content in contents:
        target.write_bytes(content)
        done = run(_download(server, folder), cwd=tmp_path)
        tracebacks += done.traceback
        assert done.returncode == 1
        assert done.stderr.startswith(f"anima index download: error: {target} is there but is not the file ")
        assert done.stderr.endswith("it is left alone: move it away and run again\n"), done.stderr
        lost += target.read_bytes() != content
    reliability(FaultReport("foreign-target", len(contents), lost, tracebacks))
