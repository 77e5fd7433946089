"""`anima lint --dataset DIR --ray` and `anima fmt --dataset DIR --ray` on a local Ray cluster of two CPUs:
the same output, the same fixed files and the same errors as the run in this process."""

import json
import shutil
import sys
from functools import partial
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from anima_prompt.cli import cli
from anima_prompt.cluster import Cluster, map_on_cluster
from anima_prompt.errors import TagIndexError
from anima_prompt.lint.batch import make_linter
from anima_prompt.lint.config import LintConfig
from tests.prompt.test_dataset import caption, generated

CAPTIONS = 5000
FIXED = 600


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def files(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*.txt"))}


def dataset(root: Path, count: int) -> Path:
    """`count` generated captions, and one that is not UTF-8 and one that is empty."""
    generated(root, count)
    caption(root / "1_set", "broken", "").write_bytes(b"\xff\xfe1girl")
    caption(root / "2_set", "empty", "")
    return root


@pytest.mark.slow
def test_lint_on_ray_prints_the_json_of_one_process(
    cluster: None, tmp_path: Path, tag_index_path: Path
) -> None:
    root = dataset(tmp_path / "data", CAPTIONS)
    lint = ["lint", "--dataset", str(root), "--db", str(tag_index_path), "--format", "json"]
    here = invoke(*lint, "--jobs", "1")
    on_ray = invoke(*lint, "--ray")
    assert here.exit_code == on_ray.exit_code == 1  # warnings, and an unreadable caption
    assert on_ray.stdout == here.stdout
    report = json.loads(here.stdout)
    assert len(report["captions"]) == CAPTIONS + 2 and report["summary"]["files"] == CAPTIONS + 2
    assert report["summary"]["errors"][0]["error"].startswith("not UTF-8 text")


def test_fix_on_ray_rewrites_the_files_one_process_rewrites(
    cluster: None, tmp_path: Path, tag_index_path: Path
) -> None:
    """On fewer captions: each rewrite is synced to disk, which takes milliseconds a file."""
    original = dataset(tmp_path / "original", FIXED)
    work = tmp_path / "work"
    fix = ["lint", "--dataset", str(work), "--db", str(tag_index_path), "--format", "json", "--fix"]
    shutil.copytree(original, work)
    here = invoke(*fix, "--jobs", "1")
    after_here = files(work)
    shutil.rmtree(work)
    shutil.copytree(original, work)
    on_ray = invoke(*fix, "--ray")
    assert (on_ray.exit_code, on_ray.stdout) == (here.exit_code, here.stdout)
    assert on_ray.stderr.splitlines()[-1] == here.stderr.splitlines()[-1]
    assert here.stderr.splitlines()[-1].startswith("fixed ") and after_here != files(original)
    assert files(work) == after_here
    assert [
        path for path in work.rglob("*.*") if path.suffix not in (".txt", ".png")
    ] == []  # no temporary file


def test_fmt_on_ray_prints_what_one_process_prints_for_a_relative_folder(
    cluster: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generated(tmp_path / "data", 300)
    caption(tmp_path / "data", "odd", "1girl, (long_hair\n")
    monkeypatch.chdir(tmp_path)  # the actors work in this folder too: the relative paths are the same
    for options in (["--check"], ["--json"], ["--diff"], []):
        here = invoke("fmt", "--dataset", "data", *options)
        on_ray = invoke("fmt", "--dataset", "data", "--ray", *options)
        assert (on_ray.exit_code, on_ray.stdout, on_ray.stderr) == (here.exit_code, here.stdout, here.stderr)
    assert "would reformat data/0_set/img_00003.txt" in invoke("fmt", "--dataset", "data", "--check").stderr

    strict = invoke("fmt", "--dataset", "data", "--strict", "--ray")
    assert (strict.exit_code, strict.stderr) == (
        1,
        "anima fmt: error: data/odd.txt: line 1, column 8: '(' is never closed\n",
    )
    assert strict.stdout == invoke("fmt", "--dataset", "data", "--strict").stdout


def test_an_unreadable_caption_stops_fmt_on_ray_as_here(cluster: None, tmp_path: Path) -> None:
    root = tmp_path / "data"
    caption(root, "a", "1girl\n")
    caption(root, "b", "").write_bytes(b"\xff\xfe1girl")
    here = invoke("fmt", "--dataset", str(root))
    on_ray = invoke("fmt", "--dataset", str(root), "--ray")
    assert (on_ray.exit_code, on_ray.stdout, on_ray.stderr) == (here.exit_code, here.stdout, here.stderr)
    assert here.exit_code == 1 and here.stderr.startswith(f"anima fmt: error: {root / 'b.txt'}: not UTF-8")


def test_an_index_that_does_not_open_on_a_worker_is_the_error_of_a_run_here(
    cluster: None, tmp_path: Path
) -> None:
    state = partial(make_linter, LintConfig(), tmp_path / "missing.sqlite")
    with pytest.raises(TagIndexError, match="no tag index at"):
        map_on_cluster(_length, ["1girl", "solo"], state=state, cluster=Cluster())
    assert map_on_cluster(_length, ["1girl", "solo"], state=_nothing, cluster=Cluster(workers=1)) == [5, 4]


def _length(_: object, text: str) -> int:
    return len(text)


def _nothing() -> None:
    return None


def test_without_ray_the_command_says_which_extra_installs_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    caption(tmp_path, "a", "1girl\n")
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as where Ray is not installed
    monkeypatch.setitem(sys.modules, "ray.data", None)
    for command in ("lint", "fmt"):
        result = invoke(command, "--dataset", str(tmp_path), "--ray")
        assert (result.exit_code, result.stderr.splitlines()[-1]) == (
            1,
            f"anima {command}: error: --ray needs Ray: pip install 'anima-toolkit[cluster]'",
        )


def test_ray_runs_only_the_captions_of_a_dataset() -> None:
    for command in ("lint", "fmt"):
        result = invoke(command, "1girl", "--ray")
        assert (result.exit_code, result.stderr) == (
            2,
            f"anima {command}: error: --ray runs the captions of --dataset DIR\n",
        )
