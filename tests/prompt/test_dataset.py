"""Dataset mode: which files are captions, one caption → result, results → summary, fixing, the CLI."""

import json
import pickle
import random
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from anima_prompt.cli import cli
from anima_prompt.errors import LintInputError
from anima_prompt.lint import LintConfig, Linter
from anima_prompt.lint.dataset import (
    check_caption,
    find_captions,
    lint_dataset,
    summarize,
)

TAGS = [
    "1girl",
    "long_hair",
    "very long hair",
    "blue eyes",
    "hatsune miku",
    "sole female",
    "@wlop",
    "blue hiar",
]


def caption(root: Path, name: str, text: str, *, image: str = ".png") -> Path:
    path = root / f"{name}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if image:
        path.with_suffix(image).write_bytes(b"")
    return path


def generated(root: Path, count: int, seed: int = 7) -> Path:
    """A dataset of `count` captions drawn from `TAGS`, in a few folders."""
    pick = random.Random(seed)
    for number in range(count):
        tags = pick.sample(TAGS, pick.randint(2, 6))
        caption(root / f"{number % 3}_set", f"img_{number:05d}", ", ".join(["safe", *tags]) + "\n")
    return root


def test_captions_are_txt_files_beside_an_image(tmp_path: Path) -> None:
    caption(tmp_path, "a", "1girl")
    caption(tmp_path / "sub", "b", "1girl", image=".JPEG")
    caption(tmp_path, "notes", "not a caption", image="")
    caption(tmp_path / ".cache", "c", "1girl")
    caption(tmp_path / "wildcards", "d", "1girl")
    found = find_captions(tmp_path)
    assert [path.relative_to(tmp_path).as_posix() for path in found.paths] == ["a.txt", "sub/b.txt"]
    assert found.skipped == 2  # notes.txt and the wildcard list; hidden folders are not searched


def test_a_missing_folder_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LintInputError, match="no such folder"):
        find_captions(tmp_path / "nope")


def test_one_caption_gives_its_findings_canonical_tags_and_unknown_tags(tmp_path: Path, tag_index) -> None:  # type: ignore[no-untyped-def]
    path = caption(tmp_path, "a", "safe, sole_female, Long_Hair, blue hiar, @wlop, 1girl\n")
    result = check_caption(path, Linter(index=tag_index), root=tmp_path)
    assert result.record.source == "a.txt"
    assert result.tags == ("safe", "1girl", "long hair", "blue hiar", "@wlop")  # aliases resolved, once each
    assert result.unknown == ("blue hiar",)
    assert {finding.code for finding in result.findings} >= {"ANM-TAG-001", "ANM-TAG-004"}


def test_unreadable_captions_are_results_with_an_error(tmp_path: Path) -> None:
    path = caption(tmp_path, "a", "")
    path.write_bytes(b"\xff\xfe1girl")
    result = check_caption(path, Linter(), root=tmp_path)
    assert result.error is not None and result.error.startswith("not UTF-8 text")
    assert summarize([result]).errors == (("a.txt", result.error),)


def test_the_summary_does_not_depend_on_the_order(tmp_path: Path, tag_index) -> None:  # type: ignore[no-untyped-def]
    root = generated(tmp_path, 60)
    linter = Linter(index=tag_index)
    results = [check_caption(path, linter, root=root) for path in find_captions(root).paths]
    summary = summarize(results)
    shuffled = results[:]
    random.Random(1).shuffle(shuffled)
    assert summarize(shuffled) == summary
    assert summary.files == 60
    assert dict(summary.tags)["safe"] == 60
    assert dict(summary.tags)["1girl"] == sum("1girl" in result.tags for result in results)
    assert dict(summary.unknown) == {"blue hiar": dict(summary.tags)["blue hiar"]}
    assert [count for _, count in summary.tags] == sorted((count for _, count in summary.tags), reverse=True)


def test_processes_give_the_same_results_as_one(tmp_path: Path, tag_index_path: Path) -> None:
    root = generated(tmp_path, 300)
    captions = find_captions(root)
    one = list(lint_dataset(captions, config=LintConfig(), index_path=tag_index_path, jobs=1))
    two = list(lint_dataset(captions, config=LintConfig(), index_path=tag_index_path, jobs=2))
    assert one == two
    assert [result.record.source for result in one] == [
        p.relative_to(root).as_posix() for p in captions.paths
    ]


def test_fix_rewrites_captions_keeping_line_endings_and_byte_order_mark(tmp_path: Path, tag_index) -> None:  # type: ignore[no-untyped-def]
    path = caption(tmp_path, "a", "")
    path.write_bytes(b"\xef\xbb\xbfsafe, 1girl,long_hair\r\n")
    result = check_caption(path, Linter(index=tag_index), root=tmp_path, fix=True)
    assert result.fixed and result.record.prompt == "safe, 1girl, long hair"
    assert path.read_bytes() == b"\xef\xbb\xbfsafe, 1girl, long hair\r\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    again = check_caption(path, Linter(index=tag_index), root=tmp_path, fix=True)
    assert not again.fixed


def test_a_caption_changed_while_fixing_is_not_overwritten(tmp_path: Path) -> None:
    path = caption(tmp_path, "a", "1girl,long_hair\n")

    class EditedMeanwhile(Linter):
        def fix(self, text: str, **options: Any) -> str:
            path.write_text("edited meanwhile\n", encoding="utf-8")  # another program saves the file
            return super().fix(text, **options)

    result = check_caption(path, EditedMeanwhile(), root=tmp_path, fix=True)
    assert result.error is not None and "changed while being fixed" in result.error
    assert not result.fixed
    assert path.read_text(encoding="utf-8") == "edited meanwhile\n"


def test_cli_dataset_json_and_exit_status(tmp_path: Path, tag_index_path: Path) -> None:
    root = generated(tmp_path / "data", 40)
    caption(root, "notes", "hello", image="")
    runner = CliRunner()
    args = ["lint", "--dataset", str(root), "--db", str(tag_index_path), "--format", "json", "--jobs", "2"]
    result = runner.invoke(cli, args, catch_exceptions=False)
    report = json.loads(result.stdout)
    assert result.exit_code == 1  # long_hair and blue hiar give warnings
    assert report["skipped"] == 1 and len(report["captions"]) == 40
    assert report["summary"]["files"] == 40
    assert report["summary"]["tags"][0] == {"tag": "safe", "captions": 40}
    assert report["summary"]["unknown"][0]["tag"] == "blue hiar"
    text = runner.invoke(cli, ["lint", "--dataset", str(root), "--db", str(tag_index_path), "--statistics"])
    assert "40 captions in" in text.stdout and "unknown tags (1):" in text.stdout


def test_cli_dataset_fix_then_clean(tmp_path: Path, tag_index_path: Path) -> None:
    root = tmp_path / "data"
    caption(root, "a", "safe, 1girl,long_hair\n")
    runner = CliRunner()
    args = ["lint", "--dataset", str(root), "--db", str(tag_index_path)]
    fixed = runner.invoke(cli, [*args, "--fix"], catch_exceptions=False)
    assert "fixed 1 file(s)" in fixed.stderr and fixed.exit_code == 0
    assert (root / "a.txt").read_text(encoding="utf-8") == "safe, 1girl, long hair\n"


def test_cli_dataset_usage_errors_are_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(cli, ["lint", "--dataset", str(tmp_path / "nope")])
    assert (missing.exit_code, missing.stderr) == (
        2,
        f"anima lint: error: {tmp_path / 'nope'}: no such folder\n",
    )
    both = runner.invoke(cli, ["lint", "--dataset", str(tmp_path), "1girl"])
    assert both.stderr == "anima lint: error: give --dataset DIR alone, not with a PROMPT or --file\n"


def test_results_and_summaries_travel_between_processes(tmp_path: Path, tag_index) -> None:  # type: ignore[no-untyped-def]
    result = check_caption(caption(tmp_path, "a", "1girl, long_hair"), Linter(index=tag_index), root=tmp_path)
    assert pickle.loads(pickle.dumps(result)) == result
    summary = summarize([result])
    assert pickle.loads(pickle.dumps(summary)) == summary


def test_fmt_dataset_checks_every_caption(tmp_path: Path) -> None:
    root = tmp_path / "data"
    caption(root, "a", "1girl, long hair\n")
    caption(root / "sub", "b", "Long_Hair,1girl\n")
    caption(root, "notes", "Not_A_Caption", image="")
    result = CliRunner().invoke(cli, ["fmt", "--dataset", str(root), "--check"])
    assert (result.exit_code, result.stderr) == (1, f"would reformat {root / 'sub' / 'b.txt'}\n")
    printed = CliRunner().invoke(cli, ["fmt", "--dataset", str(root)])
    assert printed.stdout == "1girl, long hair\nlong hair, 1girl\n"
