"""`benchmarks/gpu_profile.py --final`, the one run that measures issue 13's targets, checked on the CPU."""

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
from final_run import Result, Scenario, run_scenario, summary_row, timeline  # noqa: E402


def test_a_stage_seen_again_is_folded_into_one_row() -> None:
    events = [
        {"t": 1.0, "event": "imported torch"},
        {"t": 2.0, "event": "sample 4 image(s): 0.500 s"},
        {"t": 2.5, "event": "PNG: encode and write: 0.100 s"},
        {"t": 3.0, "event": "sample 4 image(s): 0.300 s"},
        {"t": 3.2, "event": "command returned", "code": 0},
    ]
    rows = timeline(events, 3.5)
    assert [row[0] for row in rows] == [
        "imported torch",
        "sample 4 image(s)",
        "PNG: encode and write",
        "command returned",
        "process exited",
        "sample 4 image(s) (all 2)",
    ]
    assert rows[-1][2:] == ["0.800", "", "mean 0.400"]
    assert rows[-2][1:3] == ["3.50", "0.300"]


def test_a_command_past_its_time_is_killed_with_its_children(tmp_path: Path) -> None:
    scenario = Scenario("slow", "a slow command", (), "none", 1)
    sleeper = "[sys.executable, '-c', 'import time; time.sleep(60)']"
    hang = f"import subprocess, sys, time; subprocess.Popen({sleeper}); time.sleep(60)"
    result = run_scenario(scenario, [], {}, tmp_path, hang, timeout=2)
    assert result.wall is None and result.note == "killed after 2 s"
    assert summary_row(result)[1] == "—"


def test_targets_are_judged_from_the_wall_time() -> None:
    one = Scenario("never", "one image", (), "none", 45, target="≤ 8 s")
    batch = Scenario("file", "20 prompts", (), "final", 150, images=20, target="≥ 0.45 images/s")
    assert summary_row(Result(one, wall=7.9))[2] == "≤ 8 s met"
    assert summary_row(Result(one, wall=8.1))[2] == "≤ 8 s missed"
    assert summary_row(Result(batch, wall=40.0))[2:4] == ["≥ 0.45 images/s met", "0.50"]


@pytest.mark.slow
def test_the_final_run_completes_on_the_cpu_with_tiny_weights(tmp_path: Path) -> None:
    command = [sys.executable, str(BENCHMARKS / "gpu_profile.py"), str(tmp_path), "--final", "--tiny"]
    command += ["--device", "cpu", "--size", "64", "--steps", "1", "--prompts", "3", "--budget", "400"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    table = done.stdout[done.stdout.index("## Whole commands") :].split("\n\n")[1].splitlines()[2:]
    assert len(table) == 7 and all(row.split(" | ")[1] != "—" for row in table), done.stdout
    assert "3 images in" in table[5]
    assert done.stdout.count("| process exited |") == 6  # all but the warm-up's
