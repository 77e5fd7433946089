"""`end_process`: the status and the buffered output survive; the teardown is skipped only after torch."""

import subprocess
import sys

import pytest

from anima_prompt.process_end import exit_status

SCRIPT = """
import atexit, sys
{imports}
from anima_prompt.process_end import end_process
atexit.register(lambda: print("teardown ran", file=sys.stderr))
print("buffered line")  # stdout is a pipe here: block-buffered until flushed
end_process({code})
"""


def run(code: str, imports: str) -> subprocess.CompletedProcess[str]:
    script = SCRIPT.format(code=code, imports=imports)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("code", "status"), [(None, 0), (0, 0), (3, 3), ("'bad thing'", 1)])
def test_after_torch_the_teardown_is_skipped_and_nothing_is_lost(code: object, status: int) -> None:
    done = run(str(code), "import torch")
    assert done.returncode == status
    assert done.stdout == "buffered line\n"
    assert "teardown ran" not in done.stderr
    assert ("bad thing" in done.stderr) == (code == "'bad thing'")


def test_without_torch_the_ordinary_exit_runs() -> None:
    done = run("2", "")
    assert (done.returncode, done.stdout) == (2, "buffered line\n")
    assert "teardown ran" in done.stderr


def test_after_ray_the_ordinary_exit_runs() -> None:
    done = run("0", "import torch; sys.modules.setdefault('ray', sys)")  # stands in for an imported Ray
    assert done.returncode == 0 and "teardown ran" in done.stderr


def test_exit_status_follows_the_interpreter() -> None:
    assert [exit_status(code) for code in (None, 0, 5, "message")] == [0, 0, 5, 1]
