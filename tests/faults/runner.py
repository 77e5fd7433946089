"""Running the `anima` command in a real process, under a fault: a signal after a delay, a file size limit,
or without the privileges that would let it write into read-only folders."""

import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

ANIMA = (sys.executable, "-m", "anima_prompt")
TRACEBACK = "Traceback (most recent call last)"
# As root, folder permissions bind only without the capabilities that override them.
_NO_CAPABILITIES = (
    "setpriv",
    "--bounding-set=-all",
    "--inh-caps=-all",
    "--securebits=+noroot,+noroot_locked",
)


@dataclass(frozen=True, slots=True)
class Run:
    """How one run of the command ended."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def traceback(self) -> bool:
        return TRACEBACK in self.stdout or TRACEBACK in self.stderr


def _limit_file_size(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def run(
    args: Sequence[str],
    *,
    cwd: Path,
    stdin: str | None = None,
    file_size_limit: int | None = None,
    unprivileged: bool = False,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> Run:
    """Run `anima ARGS` to the end.

    Args:
        file_size_limit: `RLIMIT_FSIZE` in bytes: writing past it fails with EFBIG, as on a full disk.
        unprivileged: drop root's capabilities first, so that read-only folders bind as for any user.
        env: variables to set besides the inherited ones.
    """
    command = [*ANIMA, *args]
    if unprivileged and os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: read-only folders cannot be enforced")
        command = [*_NO_CAPABILITIES, *command]
    done = subprocess.run(
        command,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        preexec_fn=_limit_file_size(file_size_limit) if file_size_limit is not None else None,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def run_interrupted(
    args: Sequence[str],
    *,
    cwd: Path,
    delay: float,
    signum: int,
    env: dict[str, str] | None = None,
    started: Callable[[], bool] | None = None,
) -> Run:
    """Start `anima ARGS`, send `signum` after `delay` seconds (if it still runs), and wait for the end;
    with `started`, the delay counts from when `started()` first holds (the work began: a request came in),
    so a slow interpreter start on a loaded machine does not use it up."""
    process = subprocess.Popen(
        [*ANIMA, *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    while started is not None and process.poll() is None and not started():
        time.sleep(0.005)
    deadline = time.monotonic() + delay
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    if process.poll() is None:
        process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=120)
    return Run(process.returncode, stdout, stderr)


KILLED = -signal.SIGKILL
TERMINATED = 143
