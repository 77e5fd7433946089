"""Batch runs on a local Ray cluster of two CPUs: the same bytes as in-process, a worker killed mid-run,
outputs by URL, retried then reported failures. One cluster for the module (Ray starts slowly)."""

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from anima_engine._tiny import TinyFiles
from anima_engine.batch import BatchPlan, CheckSettings, InProcess, run_batch
from anima_engine.images import read_png_metadata
from anima_engine.outputs import LocalFolder, RemoteFolder
from anima_engine.render_worker import ModelPaths, Outcome, RunSettings, WorkerSpec
from anima_engine.request import GenerationRequest
from anima_engine.samplers import Step
from anima_prompt.cli import cli

ray = pytest.importorskip("ray")

from anima_engine.ray_batch import OnRay, RayOptions  # noqa: E402

BASE = GenerationRequest(prompt="", width=32, height=32, steps=2, cfg=1.0, lint=False)


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    """Two CPUs and a small object store; the workers inherit the tests' own user folders
    (tests/conftest.py sets them before any test runs)."""
    ray.init(num_cpus=2, object_store_memory=80 << 20, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def models(files: TinyFiles) -> ModelPaths:
    return ModelPaths(
        dit=files.dit, text_encoder=files.text_encoder, vae=files.vae, tokenizers=files.tokenizer_dir
    )


def write_records(path: Path, count: int) -> Path:
    """`count` records in separate jobs (their steps alternate), so that the run has many jobs to share."""
    lines = [
        json.dumps({"prompt": f"safe, cat {n}", "seed": n, "settings": {"steps": 2 + n % 2}})
        for n in range(count)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def check_settings(files: TinyFiles) -> CheckSettings:
    return CheckSettings(BASE, jsonl=True, variant="base", stem="p", tokenizers=files.tokenizer_dir)


def spec(files: TinyFiles) -> WorkerSpec:
    return WorkerSpec(models(files), RunSettings(device="cpu", compile="never"), "base", images=0)


class KillOne:
    """A reporter that kills one render actor's process (SIGKILL) after `after` images were written."""

    def __init__(self, after: int) -> None:
        self.after = after
        self.written = 0
        self.killed: int | None = None

    def checked(self, plan: BatchPlan) -> None:
        pass

    def step(self, step: Step) -> None:
        pass

    def outcome(self, outcome: Outcome) -> None:
        self.written += outcome.status == "written"
        if self.killed is None and self.written >= self.after:
            self.killed = render_actor_pids()[0]
            os.kill(self.killed, signal.SIGKILL)


def render_actor_pids() -> list[int]:
    """The processes of this cluster's render actors: Ray names an actor's process after its class, and
    the cluster's processes descend from this one (other clusters on the machine are left alone)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if entry.name.isdigit() and b"RenderActor" in command and descends_from_here(int(entry.name)):
            pids.append(int(entry.name))
    return sorted(pids)


def descends_from_here(pid: int) -> bool:
    while pid > 1:
        if pid == os.getpid():
            return True
        try:
            stat = (Path("/proc") / str(pid) / "stat").read_text()
        except OSError:
            return False
        pid = int(stat.rsplit(")", 1)[1].split()[1])  # the parent, after the command name and the state
    return False


def pngs(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.glob("*.png"))}


def test_a_killed_worker_loses_no_record_and_renders_none_twice(
    cluster: None, tiny_files: TinyFiles, tmp_path: Path
) -> None:
    records = write_records(tmp_path / "p.jsonl", 40)
    killer = KillOne(after=6)
    summary = run_batch(
        str(records),
        check=check_settings(tiny_files),
        spec=spec(tiny_files),
        output=LocalFolder(tmp_path / "ray"),
        executor=OnRay(RayOptions(workers=2)),
        reporter=killer,
    )
    assert killer.killed is not None
    assert (summary.written, summary.present, summary.failed, summary.problems) == (40, 0, (), ())
    written = pngs(tmp_path / "ray")
    assert len(written) == 40 and not list((tmp_path / "ray").glob(".*"))  # no temporary file left
    prompts = sorted(read_png_metadata(tmp_path / "ray" / name).prompt for name in written)
    assert prompts == sorted(f"safe, cat {n}" for n in range(40))

    # the same records in this process give the same bytes (a sample of them: in-process is slower)
    (tmp_path / "sample").mkdir()
    sample = write_records(tmp_path / "sample" / "p.jsonl", 3)
    local = run_batch(
        str(sample),
        check=check_settings(tiny_files),
        spec=spec(tiny_files),
        output=LocalFolder(tmp_path / "local"),
        executor=InProcess(),
    )
    assert local.written == 3
    assert {name: written[name] for name in pngs(tmp_path / "local")} == pngs(tmp_path / "local")

    # a second run finds everything there
    again = run_batch(
        str(records),
        check=check_settings(tiny_files),
        spec=spec(tiny_files),
        output=LocalFolder(tmp_path / "ray"),
        executor=OnRay(RayOptions(workers=2)),
    )
    assert (again.written, again.present) == (0, 40)


def test_the_command_runs_on_ray_into_a_url_and_reports_bad_and_failed_records(
    cluster: None, tiny_files: TinyFiles, tmp_path: Path
) -> None:
    """`--ray` changes where the work runs: bad records are one line each, a record whose LoRA does not
    load fails after its retries and is reported, the others are written through pyarrow."""
    (tmp_path / "broken.safetensors").write_bytes(b"not a safetensors file")
    records = tmp_path / "p.jsonl"
    records.write_text(
        "\n".join(
            [
                json.dumps({"prompt": "safe, cat", "seed": 1, "out": "cat"}),
                "{broken",
                json.dumps({"prompt": "safe, dog", "loras": [str(tmp_path / "broken.safetensors")]}),
                json.dumps({"prompt": "safe, fox", "seed": 2, "out": "fox"}),
            ]
        )
        + "\n"
    )
    out = tmp_path / "out"
    args = ["generate", "--file", str(records), "-W", "32", "-H", "32", "--steps", "2", "--cfg", "1"]
    args += ["--dit", str(tiny_files.dit), "--text-encoder", str(tiny_files.text_encoder)]
    args += ["--vae", str(tiny_files.vae), "--tokenizers", str(tiny_files.tokenizer_dir), "--no-lint"]
    result = CliRunner().invoke(
        cli, [*args, "--device", "cpu", "--ray", "--workers", "1", "-o", out.as_uri()]
    )
    assert result.exit_code == 1, result.output
    assert sorted(result.stdout.splitlines()) == [f"{out.as_uri()}/cat.png", f"{out.as_uri()}/fox.png"]
    lines = result.stderr.splitlines()
    assert f"{records}:2: invalid JSON: Expecting property name enclosed in double quotes (column 2)" in lines
    assert any(line.startswith(f"{records}:3: ") for line in lines)
    assert lines[-1].startswith("2 images in ") and lines[-1].endswith("; 1 failed; 1 bad record")
    assert "Traceback" not in result.output
    assert read_png_metadata(out / "cat.png").prompt == "safe, cat"
    assert RemoteFolder(out.as_uri()).read("fox.png") == (out / "fox.png").read_bytes()


def test_a_grid_on_ray_draws_the_sheets_of_the_run_in_this_process(
    cluster: None, tiny_files: TinyFiles, tmp_path: Path
) -> None:
    """A 2×3×2 grid: the cells and the two contact sheets are byte for byte those of the in-process run."""
    axes = ["--x", "seed=1,2", "--y", "artist=@wlop,@ke-ta,@mika pikazo", "--z", "prompt=red,blue"]
    args = ["grid", "safe, {artist}, red hair", *axes, "-W", "32", "-H", "32", "--steps", "2", "--cfg", "1"]
    args += ["--dit", str(tiny_files.dit), "--text-encoder", str(tiny_files.text_encoder)]
    args += ["--vae", str(tiny_files.vae), "--tokenizers", str(tiny_files.tokenizer_dir), "--no-lint"]
    on_ray = CliRunner().invoke(
        cli, [*args, "--device", "cpu", "--ray", "--workers", "2", "-o", str(tmp_path / "r")]
    )
    assert on_ray.exit_code == 0, on_ray.output
    local = CliRunner().invoke(cli, [*args, "--device", "cpu", "-o", str(tmp_path / "l")])
    assert local.exit_code == 0, local.output
    assert len(on_ray.stdout.splitlines()) == 2 and "12 images in " in on_ray.stderr
    ray_files, local_files = pngs(tmp_path / "r"), pngs(tmp_path / "l")
    assert len(ray_files) == 14 and ray_files == local_files


def test_missing_model_files_are_one_line_before_any_actor_starts(cluster: None, tmp_path: Path) -> None:
    records = write_records(tmp_path / "p.jsonl", 2)
    args = ["generate", "--file", str(records), "--model-dir", str(tmp_path / "nowhere"), "--no-lint"]
    result = CliRunner().invoke(cli, [*args, "--device", "cpu", "--ray", "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("anima generate: error: ") and "anima models download --model-dir" in line
    assert render_actor_pids() == []
