"""The pieces of a batch run without a model or a cluster: outputs, job splits, the summary's accounting."""

from pathlib import Path

import pytest

from anima_engine.batch import BatchPlan, summarize
from anima_engine.errors import ConfigError
from anima_engine.jobs import Job, Planned, Problem, split_job
from anima_engine.options import SamplingOptions
from anima_engine.outputs import LocalFolder, RemoteFolder, is_url, open_output
from anima_engine.render_worker import Outcome
from anima_engine.request import GenerationRequest


@pytest.mark.parametrize("kind", ["local", "url"])
def test_outputs_write_new_files_only_and_leave_nothing_else(tmp_path: Path, kind: str) -> None:
    folder = tmp_path / "out" / "deeper"
    output = LocalFolder(folder) if kind == "local" else RemoteFolder(folder.as_uri())
    output.check()
    assert not output.exists("a.png")
    where = output.write_new("a.png", b"first")
    assert where == output.location("a.png") and output.exists("a.png")
    with pytest.raises(FileExistsError):
        output.write_new("a.png", b"second")
    assert output.read("a.png") == b"first" and (folder / "a.png").read_bytes() == b"first"
    assert [path.name for path in folder.iterdir()] == ["a.png"]  # no temporary file left


def test_an_output_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "taken").write_bytes(b"")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        RemoteFolder((tmp_path / "taken").as_uri()).check()
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        LocalFolder(tmp_path / "taken").check()


def test_urls_and_folders() -> None:
    assert is_url("s3://bucket/images") and is_url("file:///tmp/x") and not is_url("images/s3://x")
    assert isinstance(open_output("gs://bucket/x"), RemoteFolder)
    assert open_output("C:/images") == LocalFolder(Path("C:/images"))
    with pytest.raises(ConfigError, match="nosuchscheme://x"):
        RemoteFolder("nosuchscheme://x").check()


def planned(location: str, *names: str) -> Planned:
    return Planned(location, GenerationRequest(prompt=location), names)


OPTIONS = SamplingOptions(width=32, height=32, steps=2, cfg=1.0, sampler="euler", scheduler="simple", seed=0)


def test_a_job_splits_in_order_for_a_smaller_device() -> None:
    job = Job((planned("a", "a"), planned("b", "b1", "b2"), planned("c", "c"), planned("d", "d")), OPTIONS)
    assert split_job(job, 5) == [job]
    parts = split_job(job, 2)
    assert [[item.location for item in part.items] for part in parts] == [["a"], ["b"], ["c", "d"]]
    assert all(part.options == OPTIONS for part in parts)
    assert [[item.location for item in part.items] for part in split_job(job, 1)] == [
        ["a"],
        ["b"],
        ["c"],
        ["d"],
    ]


def test_the_summary_counts_each_planned_image_once() -> None:
    plan = BatchPlan(
        jobs=(),
        problems=(Problem("p:9", "invalid JSON"),),
        names=(("a.png", "p:1"), ("b.png", "p:2"), ("c.png", "p:3"), ("d.png", "p:4"), ("e.png", "p:5")),
        present=frozenset({"a.png"}),
    )
    outcomes = [
        Outcome("p:2", "b.png", "written", path="out/b.png", worker="w1", seconds=2.0),
        # c.png was written by a worker that died before it reported; its job ran again elsewhere
        Outcome("p:3", "c.png", "present", worker="w2"),
        Outcome("p:4", "d.png", "failed", message="out of memory", worker="w1"),
        Outcome("p:4", "d.png", "written", path="out/d.png", worker="w2", seconds=1.0),
        # e.png: no outcome at all
    ]
    summary = summarize(plan, outcomes, seconds=10.0, rendering=8.0, first_image=3.0)
    assert (summary.written, summary.present) == (3, 1)
    assert [(o.name, o.message) for o in summary.failed] == [("e.png", "no worker reported this image")]
    assert [(w.worker, w.images, w.per_second) for w in summary.workers] == [("w1", 1, 0.5), ("w2", 1, 1.0)]
    assert not summary.ok and summary.problems == plan.problems


def test_a_prompt_file_by_url_is_checked_like_a_local_one(tmp_path: Path) -> None:
    from anima_engine.batch import CheckSettings, InProcess

    records = tmp_path / "p.jsonl"
    records.write_text('{"prompt": "safe, cat", "seed": 3}\r\n{broken\r\n')
    settings = CheckSettings(
        GenerationRequest(prompt="", lint=False, steps=2), jsonl=True, variant="base", stem="p"
    )
    local = InProcess().check(str(records), settings)
    remote = InProcess().check(records.as_uri(), settings)
    assert [planned.names for planned, _ in local.work] == [planned.names for planned, _ in remote.work]
    assert [problem.message for problem in remote.problems] == [problem.message for problem in local.problems]
    assert remote.problems[0].location == f"{records.as_uri()}:2"


def test_leftovers_of_killed_writers_are_removed_for_the_run_names_only(tmp_path: Path) -> None:
    import os
    import subprocess

    dead = subprocess.Popen(["true"])  # a process that has ended: its pid runs nothing
    dead.wait()
    folder = tmp_path / "out"
    folder.mkdir()
    for name in (f".a.png.{dead.pid}.tmp", f".b.png.{os.getpid()}.tmp", f".c.png.{dead.pid}.tmp", "a.png"):
        (folder / name).write_bytes(b"")
    assert LocalFolder(folder).remove_leftovers(["a.png", "b.png"]) == 1
    assert sorted(path.name for path in folder.iterdir()) == [
        f".b.png.{os.getpid()}.tmp",
        f".c.png.{dead.pid}.tmp",
        "a.png",
    ]

    remote = tmp_path / "remote"
    remote.mkdir()
    for name in (f".a.png.{'0' * 32}.tmp", f".c.png.{'f' * 32}.tmp", "a.png"):
        (remote / name).write_bytes(b"")
    assert RemoteFolder(remote.as_uri()).remove_leftovers(["a.png"]) == 1
    assert sorted(path.name for path in remote.iterdir()) == [f".c.png.{'f' * 32}.tmp", "a.png"]
