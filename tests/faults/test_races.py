"""Files that vanish or change while a command works on them: one line, and the other writer's data kept."""

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

import anima_prompt.index.sources as sources
from anima_prompt.cli import cli
from anima_prompt.index.records import Site
from anima_prompt.lint import Linter
from tests.conftest import TEST_DATA
from tests.faults.conftest import Recorder, index_tags
from tests.faults.report import FaultReport

ORIGINAL = "safe, 1girl,long_hair\nsafe, 1boy, smile\n"
FIXED_FIRST = "safe, 1girl, long hair\n"
# What another program does to the file while it is being fixed, and what the file must hold afterwards:
# None when the fix must stop and leave the other program's text; else the merge of both.
EDITS: dict[str, tuple[Callable[[Path], object], str | None]] = {
    "deleted": (lambda path: path.unlink(), None),
    "first line edited": (lambda path: path.write_text("safe, 1girl, short hair\nsafe, 1boy\n"), None),
    "emptied": (lambda path: path.write_text(""), None),
    "replaced by a folder": (lambda path: (path.unlink(), path.mkdir()), None),
    "line appended": (
        lambda path: path.write_text(ORIGINAL + "safe, 1other\n"),
        FIXED_FIRST + "safe, 1boy, smile\nsafe, 1other\n",
    ),
    "other line edited": (
        lambda path: path.write_text(ORIGINAL.replace("1boy", "2boy")),
        FIXED_FIRST + "safe, 2boy, smile\n",
    ),
}


def test_prompt_file_vanishes_or_changes_while_fixed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reliability: Recorder
) -> None:
    monkeypatch.chdir(tmp_path)
    fix = Linter.fix
    lost = tracebacks = 0
    for name, (edit, merged) in EDITS.items():
        path = tmp_path / f"{name.replace(' ', '-')}.txt"
        path.write_text(ORIGINAL, encoding="utf-8")
        theirs: list[str | None] = []

        def fix_while_another_program_writes(
            self: Linter,
            text: str,
            path: Path = path,
            edit: Callable[[Path], object] = edit,
            theirs: list[str | None] = theirs,
            **kwargs: object,
        ) -> str:
            if not theirs:
                edit(path)
                theirs.append(path.read_text(encoding="utf-8") if path.is_file() else None)
            return fix(self, text, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(Linter, "fix", fix_while_another_program_writes)
        result = CliRunner().invoke(cli, ["lint", "--fix", "--file", str(path)])
        tracebacks += result.exception is not None and not isinstance(result.exception, SystemExit)
        now = path.read_text(encoding="utf-8") if path.is_file() else None
        if merged is None:
            assert result.exit_code == 1, (name, result.output)
            assert result.stderr.splitlines()[-1].startswith(f"anima lint: error: {path}")
            lost += now != theirs[0]
        else:
            assert result.exit_code == 0, (name, result.output)
            lost += now != merged
        lost += any(entry.name.endswith(".tmp") for entry in tmp_path.iterdir())
    reliability(FaultReport("vanish-or-change", len(EDITS), lost, tracebacks))


SOURCE_EDITS: dict[str, Callable[[Path], None]] = {
    "deleted": lambda path: path.unlink(),
    "garbage": lambda path: path.write_bytes(os.urandom(64)),
    "cut mid-line": lambda path: path.write_bytes(path.read_bytes()[:-7]),
    "binary": lambda path: path.write_bytes(b"\x00\x01\x02,3,4\n"),
}


def test_source_vanishes_or_changes_while_the_index_is_built(
    tmp_path: Path, small_index: Path, monkeypatch: pytest.MonkeyPatch, reliability: Recorder
) -> None:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "tags.sqlite"
    db.write_bytes(small_index.read_bytes())
    tags = index_tags(db)
    read = sources.read_tag_csv
    lost = tracebacks = 0
    for name, edit in SOURCE_EDITS.items():
        source = tmp_path / "tags.csv"
        source.write_bytes((TEST_DATA / "tags_small.csv").read_bytes())

        def read_after_another_writer(
            path: Path, site: Site, edit: Callable[[Path], None] = edit
        ) -> tuple[sources.TagRow, ...]:
            edit(path)
            return read(path, site)

        monkeypatch.setattr(sources, "read_tag_csv", read_after_another_writer)
        result = CliRunner().invoke(cli, ["index", "build", "--source", str(source), "--db", str(db)])
        tracebacks += result.exception is not None and not isinstance(result.exception, SystemExit)
        assert result.exit_code == 1, (name, result.output)
        assert (
            result.stderr.startswith(f"anima index build: error: {source}") and result.stderr.count("\n") == 1
        )
        lost += index_tags(db) != tags
    reliability(FaultReport("vanish-source", len(SOURCE_EDITS), lost, tracebacks))
