"""`safewrite`: a file is replaced whole or not at all, keeps its permissions, and stale temporaries go."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from anima_prompt.safewrite import STALE_SECONDS, remove_stale, replacing, temporary_path, write_bytes


def test_a_new_file_gets_the_default_permissions(tmp_path: Path) -> None:
    previous = os.umask(0o027)
    try:
        write_bytes(tmp_path / "new.txt", b"text")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o640


def test_a_replaced_file_keeps_its_permissions_and_links(tmp_path: Path) -> None:
    real = tmp_path / "real.txt"
    real.write_bytes(b"old")
    real.chmod(0o600)
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    write_bytes(link, b"new")
    assert link.is_symlink() and real.read_bytes() == b"new"
    assert stat.S_IMODE(real.stat().st_mode) == 0o600


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "kept.txt"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), replacing(target) as temporary:
        temporary.write_bytes(b"half")
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["kept.txt"]


def test_only_stale_temporaries_of_the_same_target_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "tags.sqlite"
    pid = int(
        subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True).stdout
    )
    dead = tmp_path / f".tags.sqlite.{pid}-0123abcd.tmp"
    alive = temporary_path(target)
    old = tmp_path / f".tags.sqlite.{os.getppid()}.tmp"
    other = tmp_path / f".tags.sqlite-journal.{pid}.tmp"
    for path in (dead, alive, old, other):
        path.write_bytes(b"x")
    os.utime(old, (0, 0))  # older than STALE_SECONDS, although its pid runs
    assert STALE_SECONDS < 10**9
    assert sorted(remove_stale(target)) == sorted([dead, old])
    assert sorted(os.listdir(tmp_path)) == sorted([alive.name, other.name])
