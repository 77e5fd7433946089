"""Killing a command at a random point never damages what was there before, and leaves no partial file."""

import random
import re
import shutil
import signal
import time
from pathlib import Path

from tests.faults.conftest import Recorder, index_tags
from tests.faults.report import FaultReport
from tests.faults.runner import KILLED, TERMINATED, run, run_interrupted

RUNS = 8
TEMPORARY = re.compile(r"\..+\.\d+-[0-9a-f]{8}\.tmp")


def _strays(folder: Path, keep: set[str]) -> list[str]:
    """Files in `folder` that are neither kept names nor temporary files."""
    return [
        path.name for path in folder.iterdir() if path.name not in keep and not TEMPORARY.fullmatch(path.name)
    ]


def _temporaries(folder: Path) -> list[str]:
    return [path.name for path in folder.iterdir() if TEMPORARY.fullmatch(path.name)]


def _timed(args: list[str], cwd: Path, stdin: str | None = None) -> tuple[float, str]:
    """How long `anima ARGS` takes here and now (the signals are sent at random points within it)."""
    started = time.perf_counter()
    done = run(args, cwd=cwd, stdin=stdin)
    assert done.returncode in (0, 1), done.stderr
    return time.perf_counter() - started, done.stdout


def _interrupt_builds(
    tmp_path: Path, source: Path, old_index: Path, signum: int, seed: int
) -> tuple[int, int, list[int]]:
    rng = random.Random(seed)
    db = tmp_path / "tags.sqlite"
    args = ["index", "build", "--source", str(source), "--db", str(db)]
    duration, _ = _timed([*args[:-1], str(tmp_path / "timing.sqlite")], tmp_path)
    complete = {index_tags(tmp_path / "timing.sqlite"), index_tags(old_index)} - {None}  # new or old
    (tmp_path / "timing.sqlite").unlink()
    shutil.copy(old_index, db)
    lost = tracebacks = 0
    endings = []
    for _ in range(RUNS):
        done = run_interrupted(args, cwd=tmp_path, delay=rng.uniform(0.05, 0.9) * duration, signum=signum)
        endings.append(done.returncode)
        tracebacks += done.traceback
        lost += index_tags(db) not in complete or bool(_strays(tmp_path, {db.name}))
        if signum == signal.SIGTERM:
            lost += bool(_temporaries(tmp_path))  # a terminated build removes its own temporary file
    return lost, tracebacks, endings


def test_sigkill_during_index_build(
    tmp_path: Path, big_source: Path, small_index: Path, reliability: Recorder
) -> None:
    lost, tracebacks, endings = _interrupt_builds(tmp_path, big_source, small_index, signal.SIGKILL, 1201)
    assert KILLED in endings
    again = run(["index", "build", "--source", str(big_source), "--db", "tags.sqlite"], cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert _temporaries(tmp_path) == []  # the killed builds' files were removed
    reliability(FaultReport("kill-index-build", RUNS, lost, tracebacks))


def test_sigterm_during_index_build(
    tmp_path: Path, big_source: Path, small_index: Path, reliability: Recorder
) -> None:
    lost, tracebacks, endings = _interrupt_builds(tmp_path, big_source, small_index, signal.SIGTERM, 1202)
    assert TERMINATED in endings
    reliability(FaultReport("term-index-build", RUNS, lost, tracebacks))


def test_kill_or_term_during_lint_fix(tmp_path: Path, reliability: Recorder) -> None:
    rng = random.Random(1203)
    lines = [f"safe, 1girl,long_hair, tag_{n}" if n % 3 else f"safe, 1boy, tag {n}" for n in range(1500)]
    original = "\n".join(lines) + "\n"
    prompts = tmp_path / "prompts.txt"
    prompts.write_text(original, encoding="utf-8")
    duration, _ = _timed(["lint", "--fix", "--file", str(prompts), "--fail-on", "error"], tmp_path)
    fixed = prompts.read_text(encoding="utf-8")
    assert fixed != original
    lost = tracebacks = 0
    endings = set()
    for number in range(RUNS):
        prompts.write_text(original, encoding="utf-8")
        signum = signal.SIGKILL if number % 2 else signal.SIGTERM
        delay = rng.uniform(0.05, 0.95) * duration
        done = run_interrupted(
            ["lint", "--fix", "--file", str(prompts)], cwd=tmp_path, delay=delay, signum=signum
        )
        endings.add(done.returncode)
        tracebacks += done.traceback
        lost += prompts.read_text(encoding="utf-8") not in (original, fixed)
        lost += bool(_strays(tmp_path, {prompts.name}))
    assert endings & {KILLED, TERMINATED}
    reliability(FaultReport("kill-lint-fix", RUNS, lost, tracebacks))
