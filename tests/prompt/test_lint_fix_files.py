"""`anima lint --fix` on files rewrites only what it fixed and keeps the file's structure and bytes."""

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from anima_prompt.cli import cli
from anima_prompt.errors import LintInputError
from anima_prompt.lint import Linter
from anima_prompt.lint.inputs import PromptRecord
from anima_prompt.lint.rewrite import rewrite_file


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANIMA_TAG_INDEX", str(tmp_path / "missing.sqlite"))


def fix(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["lint", "--fix", *args])


def test_a_prompt_per_line_file_stays_one_prompt_per_line(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_bytes(b"safe, 1girl,long_hair\n\nsafe, 1boy, smile\nsafe, 1other,blue_eyes\n")
    result = fix("--file", str(path))
    assert result.exit_code == 0, result.output
    assert path.read_bytes() == b"safe, 1girl, long hair\n\nsafe, 1boy, smile\nsafe, 1other, blue eyes\n"
    assert result.stderr.endswith("fixed 1 file(s)\n")


def test_bom_crlf_and_a_missing_final_line_break_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "windows.txt"
    path.write_bytes("\ufeffsafe, 1girl,long_hair\r\nsafe, 1boy\r\nsafe, 1girl, blue_eyes".encode())
    assert fix("--file", str(path)).exit_code == 0
    assert (
        path.read_bytes() == "\ufeffsafe, 1girl, long hair\r\nsafe, 1boy\r\nsafe, 1girl, blue eyes".encode()
    )


def test_whole_files_keep_their_line_endings_and_final_line_break(tmp_path: Path) -> None:
    path = tmp_path / "prompt.txt"
    path.write_bytes(b"safe, 1girl,long_hair\r\n\r\nShe smiles at the viewer. The sky is blue.\r\n")
    result = fix("--whole", "--file", str(path))
    assert result.exit_code == 0, result.output
    assert (
        path.read_bytes() == b"safe, 1girl, long hair\r\n\r\nShe smiles at the viewer. The sky is blue.\r\n"
    )


def test_jsonl_keeps_other_fields_and_untouched_lines_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "prompts.jsonl"
    kept = '{"prompt":"safe, 1boy",  "seed": 3}'
    fixed = json.dumps({"prompt": "safe, 1girl,long_hair", "seed": 7, "note": "初音"}, ensure_ascii=False)
    path.write_bytes(f"{kept}\r\n{fixed}\r\n".encode())
    assert fix("--file", str(path)).exit_code == 0
    first, second = path.read_bytes().decode().split("\r\n")[:2]
    assert first == kept
    assert json.loads(second) == {"prompt": "safe, 1girl, long hair", "seed": 7, "note": "初音"}


def test_permissions_and_symbolic_links_are_kept(tmp_path: Path) -> None:
    real = tmp_path / "real.txt"
    real.write_text("safe, 1girl,long_hair\n", encoding="utf-8")
    real.chmod(0o640)
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    assert fix("--file", str(link)).exit_code == 0
    assert link.is_symlink()
    assert real.read_text(encoding="utf-8") == "safe, 1girl, long hair\n"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_file_changed_while_being_fixed_is_not_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "list.txt"
    path.write_text("safe, 1girl,long_hair\n", encoding="utf-8")
    original_fix = Linter.fix

    def fix_while_someone_edits(self: Linter, text: str, **kwargs: object) -> str:
        path.write_text("safe, 1girl, edited meanwhile\n", encoding="utf-8")
        return original_fix(self, text, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Linter, "fix", fix_while_someone_edits)
    result = fix("--file", str(path))
    assert result.exit_code == 1
    assert result.stderr.endswith(
        f"anima lint: error: {path}:1: the file changed while being fixed; nothing was written, run again\n"
    )
    assert path.read_text(encoding="utf-8") == "safe, 1girl, edited meanwhile\n"


def test_a_file_that_vanished_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "list.txt"
    path.write_text("safe, 1girl,long_hair\n", encoding="utf-8")
    original_fix = Linter.fix

    def fix_and_delete(self: Linter, text: str, **kwargs: object) -> str:
        path.unlink(missing_ok=True)
        return original_fix(self, text, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Linter, "fix", fix_and_delete)
    result = fix("--file", str(path))
    assert result.exit_code == 1
    assert result.stderr.endswith(
        f"anima lint: error: {path}: vanished before it could be fixed; nothing was written\n"
    )
    assert not path.exists()
    assert os.listdir(tmp_path) == []


def test_only_regular_files_are_rewritten(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    record = PromptRecord(f"{fifo}:1", "safe, 1girl,long_hair", path=str(fifo))
    with pytest.raises(LintInputError, match="not a regular file, so it is not rewritten"):
        rewrite_file(fifo, [(record, "safe, 1girl, long hair")])
    assert stat.S_ISFIFO(fifo.stat().st_mode)
