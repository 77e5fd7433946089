"""The conventions every `anima` command shares (README, "Conventions"): exit statuses, one-line errors,
and what `-` and `--whole` mean."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from anima_prompt.cli import cli
from tests.conftest import TEST_DATA


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANIMA_TAG_INDEX", str(tmp_path / "missing.sqlite"))


def invoke(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), input=stdin)


def assert_one_line_error(result, command: str, status: int) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == status, result.output
    assert "Traceback" not in result.output
    assert result.stderr.startswith(f"{' '.join(['anima', command]).strip()}: error: ")
    assert result.stderr.count("\n") == 1, result.stderr


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (["nope"], ""),
        (["lint", "--nope", "x"], "lint"),
        (["fmt", "--nope", "x"], "fmt"),
        (["parse"], "parse"),
        (["lint", "--db", "missing.db", "x"], "lint"),
        (["tags", "search", "hat", "--db", "missing.db"], "tags search"),
        (["tags", "show", "x", "--db", "missing.db"], "tags show"),
        (["index", "info", "--db", "missing.db"], "index info"),
        (["tags", "search"], "tags search"),
        (["tags", "search", ""], "tags search"),
        (["index", "build"], "index build"),
        (
            ["index", "build", "--source", str(TEST_DATA / "tags_small.csv"), "--db", "no/such/dir/x.sqlite"],
            "index build",
        ),
        (["models", "download", "--model-dir", "m", "--what", "bogus"], "models download"),
        (["generate", "-W", "65", "safe, 1girl"], "generate"),
        (["generate", "-W", "8", "safe, 1girl"], "generate"),
        (["lint", "--lora", "x.safetensors:abc", "safe, 1girl"], "lint"),
        (["dev", "make-tiny"], "dev make-tiny"),
    ],
)
def test_usage_errors_exit_2_on_one_line(args: list[str], command: str) -> None:
    assert_one_line_error(invoke(*args), command, 2)


def test_a_bad_lora_strength_is_named() -> None:
    result = invoke("lint", "--lora", "x.safetensors:abc", "safe, 1girl")
    assert result.stderr == (
        "anima lint: error: --lora x.safetensors:abc: the strength 'abc' is not a number; "
        "write PATH:STRENGTH, e.g. x.safetensors:0.8\n"
    )


def test_domain_errors_exit_1_on_one_line(tmp_path: Path) -> None:
    assert_one_line_error(invoke("tags", "search", "hat"), "tags search", 1)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"prompt": 3}\n', encoding="utf-8")
    assert_one_line_error(invoke("lint", "--file", str(broken)), "lint", 1)
    assert_one_line_error(invoke("fmt", "--file", str(broken)), "fmt", 1)


def test_bare_anima_and_help_show_every_command() -> None:
    for args in ([], ["-h"], ["--help"]):
        result = invoke(*args)
        assert result.exit_code == 0
        assert result.stdout.startswith("Usage: ")
        for command in ("fmt", "generate", "index", "info", "lint", "models", "parse", "tags"):
            assert f"\n  {command} " in result.stdout


@pytest.mark.parametrize("command", ["fmt", "parse", "lint"])
def test_dash_reads_one_prompt_per_line_and_whole_reads_one(command: str) -> None:
    stdin = "safe, 1girl, long_hair\n\nsafe, 1boy, long_hair\n"
    as_json = ["--format", "json"] if command == "lint" else ["--json"]
    lines = invoke(command, "-", *as_json, stdin=stdin)
    whole = invoke(command, "-", "--whole", *as_json, stdin=stdin)
    if command == "lint":
        assert {item["source"] for item in json.loads(lines.stdout)} == {"<stdin>:1", "<stdin>:3"}
        assert {item["source"] for item in json.loads(whole.stdout)} == {"<stdin>"}
    else:
        assert [json.loads(line)["origin"] for line in lines.stdout.splitlines()] == [
            "<stdin>:1",
            "<stdin>:3",
        ]
        assert [json.loads(line)["origin"] for line in whole.stdout.splitlines()] == ["<stdin>"]


def test_lint_fix_of_standard_input_keeps_one_prompt_per_line() -> None:
    fixed = invoke("lint", "-", "--fix", stdin="safe, 1girl,long_hair\nsafe, 1boy\n")
    assert fixed.exit_code == 0, fixed.output
    assert fixed.stdout == "safe, 1girl, long hair\nsafe, 1boy\n"


def test_an_unexpected_exception_is_one_line_unless_debugging(monkeypatch: pytest.MonkeyPatch) -> None:
    import anima_prompt.commands.fmt as fmt_module

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(fmt_module, "render", broken)
    result = invoke("fmt", "1girl")
    assert result.exit_code == 1
    assert result.stderr == (
        "anima fmt: internal error: RuntimeError: boom; please report it with the command line "
        "(ANIMA_DEBUG=1 shows the traceback)\n"
    )
    monkeypatch.setenv("ANIMA_DEBUG", "1")
    assert isinstance(invoke("fmt", "1girl").exception, RuntimeError)


def test_library_warnings_are_shown_on_one_line(tmp_path: Path) -> None:
    danbooru = tmp_path / "danbooru_tags.csv"
    danbooru.write_bytes((TEST_DATA / "tags_small.csv").read_bytes())
    result = invoke("index", "build", "--source", str(danbooru), "--format", "e621-csv", "--db", "x.sqlite")
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        f"anima index build: warning: {danbooru}: read as e621-csv, but the name says danbooru; "
        "if so, use --format danbooru-csv\n"
    )
