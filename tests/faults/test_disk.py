"""A full disk or a read-only folder stops a write with one line, and the old file stays as it was."""

import os
import random
import re
import shutil
import stat
from pathlib import Path

import pytest

from tests.faults.conftest import Recorder, index_tags
from tests.faults.report import FaultReport
from tests.faults.runner import run

TEMPORARY = re.compile(r"\..+\.\d+-[0-9a-f]{8}\.tmp")
PROMPTS = "".join(f"safe, 1girl,long_hair, tag_{n}\n" for n in range(400))


def _temporaries(folder: Path) -> list[str]:
    return [path.name for path in folder.iterdir() if TEMPORARY.fullmatch(path.name)]


def _one_line(stderr: str, prefix: str) -> bool:
    return stderr.startswith(prefix) and stderr.count("\n") == 1


def test_full_disk_during_index_build(
    tmp_path: Path, big_source: Path, small_index: Path, reliability: Recorder
) -> None:
    rng = random.Random(1301)
    db = tmp_path / "tags.sqlite"
    shutil.copy(small_index, db)
    tags = index_tags(db)
    runs, lost, tracebacks = 6, 0, 0
    for _ in range(runs):
        limit = rng.randint(4, 512) * 1024
        done = run(
            ["index", "build", "--source", str(big_source), "--db", str(db)],
            cwd=tmp_path,
            file_size_limit=limit,
        )
        tracebacks += done.traceback
        assert done.returncode == 1, done.stderr
        assert re.fullmatch(
            rf"anima index build: error: cannot write the tag index {re.escape(str(db))}: "
            r"(database or disk is full|disk I/O error|File too large); check the free space and the "
            r"folder's permissions, then run again \(the previous index is unchanged\)\n",
            done.stderr,
        ), done.stderr
        lost += index_tags(db) != tags or bool(_temporaries(tmp_path))
    reliability(FaultReport("full-disk-index", runs, lost, tracebacks))


def test_full_disk_during_lint_fix(tmp_path: Path, reliability: Recorder) -> None:
    rng = random.Random(1302)
    prompts = tmp_path / "prompts.txt"
    prompts.write_text(PROMPTS, encoding="utf-8")
    runs, lost, tracebacks = 4, 0, 0
    for _ in range(runs):
        limit = rng.randint(1, len(PROMPTS) - 1)
        done = run(["lint", "--fix", "--file", str(prompts)], cwd=tmp_path, file_size_limit=limit)
        tracebacks += done.traceback
        assert done.returncode == 1
        assert done.stderr.endswith(
            f"anima lint: error: {prompts}: File too large; free some space (or raise the file size limit) "
            "and run again\n"
        ), done.stderr
        lost += prompts.read_text(encoding="utf-8") != PROMPTS or bool(_temporaries(tmp_path))
    reliability(FaultReport("full-disk-fix", runs, lost, tracebacks))


@pytest.fixture
def read_only(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A folder to make read-only (made writable again afterwards, so pytest can clean it up)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    yield folder
    for path in (folder, *folder.iterdir()):
        path.chmod(0o755 if path.is_dir() else 0o644)


def test_index_build_into_a_read_only_folder(
    read_only: Path, big_source: Path, small_index: Path, reliability: Recorder
) -> None:
    existing = read_only / "tags.sqlite"
    shutil.copy(small_index, existing)
    tags = index_tags(existing)
    read_only.chmod(0o555)
    runs, lost, tracebacks = 0, 0, 0
    for db in (existing, read_only / "new.sqlite"):
        done = run(
            ["index", "build", "--source", str(big_source), "--db", str(db)],
            cwd=read_only.parent,
            unprivileged=True,
        )
        runs, tracebacks = runs + 1, tracebacks + done.traceback
        assert done.returncode == 1
        assert done.stderr == (
            f"anima index build: error: cannot write the tag index {db}: Permission denied; check the free "
            "space and the folder's permissions, then run again (the previous index is unchanged)\n"
        )
    lost += index_tags(existing) != tags or sorted(os.listdir(read_only)) != ["tags.sqlite"]
    reliability(FaultReport("read-only-index", runs, lost, tracebacks))


def test_lint_fix_in_a_read_only_folder_or_file(read_only: Path, reliability: Recorder) -> None:
    prompts = read_only / "prompts.txt"
    cases = [(0o555, 0o644), (0o755, 0o444), (0o555, 0o444)]  # folder mode, file mode
    runs, lost, tracebacks = 0, 0, 0
    for folder_mode, file_mode in cases:
        read_only.chmod(0o755)
        prompts.write_text(PROMPTS, encoding="utf-8")
        prompts.chmod(file_mode)
        read_only.chmod(folder_mode)
        done = run(["lint", "--fix", "--file", str(prompts)], cwd=read_only.parent, unprivileged=True)
        runs, tracebacks = runs + 1, tracebacks + done.traceback
        assert done.returncode == 1
        message = (
            f"anima lint: error: {prompts}: the file is read-only; make it writable to fix it\n"
            if not file_mode & stat.S_IWUSR
            else f"anima lint: error: {prompts}: Permission denied; "
            "check the permissions of the file and its folder\n"
        )
        assert done.stderr.endswith(message), done.stderr
        lost += prompts.read_text(encoding="utf-8") != PROMPTS or os.listdir(read_only) != ["prompts.txt"]
    reliability(FaultReport("read-only-fix", runs, lost, tracebacks))
