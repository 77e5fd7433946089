"""`anima index build` never replaces a file it did not write, names broken sources, and cleans up after
builds that were killed."""

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from anima_prompt.cli import cli
from anima_prompt.safewrite import temporary_path
from tests.conftest import TEST_DATA

TAGS = TEST_DATA / "tags_small.csv"


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)


def build(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["index", "build", *args])


def test_a_file_that_is_not_an_index_is_not_replaced(tmp_path: Path) -> None:
    important = tmp_path / "important.txt"
    important.write_text("my notes\n", encoding="utf-8")
    result = build("--source", str(TAGS), "--db", str(important))
    assert result.exit_code == 2
    assert result.stderr == (
        f"anima index build: error: {important} exists and is not a tag index; give another path, "
        "or pass --force to replace it\n"
    )
    assert important.read_text(encoding="utf-8") == "my notes\n"
    assert build("--source", str(TAGS), "--db", str(important), "--force").exit_code == 0
    assert important.read_bytes().startswith(b"SQLite format 3\x00")


def test_an_index_and_an_empty_file_are_replaced(tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    assert build("--source", str(TAGS), "--db", str(empty)).exit_code == 0
    first = empty.stat().st_ino
    assert build("--source", str(TAGS), "--db", str(empty)).exit_code == 0
    assert empty.stat().st_ino != first  # a new file took the old one's place


def test_missing_folders_are_not_created(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "x.sqlite"
    result = build("--source", str(TAGS), "--db", str(target))
    assert result.exit_code == 2
    assert result.stderr == (
        f"anima index build: error: --db {target}: the folder {target.parent} does not exist; "
        "create it first\n"
    )
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "tag_aliases.json.gz",
            gzip.compress(b'[{"id": 1, "antecedent_name": "a", "consequent_name": "b", "status": "active"}]')[
                :-12
            ],
            "the compressed file is cut short; download it again",
        ),
        ("tag_aliases.json.gz", b"\x1f\x8b\x09" + bytes(20), "not a valid gzip file"),
        (
            "tags.csv",
            b"1girl,0,100,\nsolo,0,9",
            "tags.csv:2: the last line has no line break, so the file looks cut short",
        ),
        ("tags.csv", b'1girl,0,100,"1girls\n', "malformed CSV: unexpected end of data"),
        ("tags.csv", b"1girl,0,100,\ncaf\xe9,0,1,\n", "not UTF-8 text (byte 0xe9 at offset 16)"),
    ],
    ids=["cut-gzip", "bad-gzip", "cut-line", "open-quote", "latin-1"],
)
def test_broken_sources_are_named_on_one_line(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    source = tmp_path / name
    source.write_bytes(content)
    sources = ["--source", str(source)] + (["--source", str(TAGS)] if "aliases" in name else [])
    result = build(*sources, "--db", str(tmp_path / "x.sqlite"))
    assert result.exit_code == 1
    assert result.stderr.startswith("anima index build: error: ")
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "x.sqlite").exists()


def test_a_danbooru_list_read_as_e621_is_named(tmp_path: Path) -> None:
    rows = "".join(f"tag_{n},{(0, 1, 3, 4, 5)[n % 5]},{1000 - n},\n" for n in range(1000))
    source = tmp_path / "tags.csv"
    source.write_text(rows, encoding="utf-8")
    result = build("--source", str(source), "--format", "e621-csv", "--db", str(tmp_path / "x.sqlite"))
    assert result.exit_code == 0
    assert result.stderr == (
        f"anima index build: warning: {source}: read as e621-csv, but none of its 1000 rows has an e621-only "
        "category (2, 7, 8), so it looks like a Danbooru list; if so, use --format danbooru-csv\n"
    )


def _dead_pid() -> int:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    return int(finished.stdout)


def test_temporary_files_of_killed_builds_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "tags.sqlite"
    dead = _dead_pid()
    leftovers = [tmp_path / f".tags.sqlite.{dead}-0123abcd.tmp", tmp_path / f".tags.sqlite.{dead}.tmp"]
    alive = temporary_path(target)  # this process's own: still being written
    unrelated = [tmp_path / f".other.sqlite.{dead}.tmp", tmp_path / f"tags.sqlite.{dead}.tmp"]
    for path in (*leftovers, alive, *unrelated):
        path.write_bytes(b"partial")
    assert build("--source", str(TAGS), "--db", str(target)).exit_code == 0
    assert sorted(os.listdir(tmp_path)) == sorted(p.name for p in (target, alive, *unrelated))
