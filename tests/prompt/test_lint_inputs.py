"""Prompt files and configuration: every broken input is a one-line error, never a traceback."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from anima_prompt.cli import cli
from anima_prompt.errors import LintConfigError, LintInputError
from anima_prompt.lint import LintConfig, LintSettings, Severity, lint
from anima_prompt.lint.config import config_from_mapping, find_config_file, load_config
from anima_prompt.lint.inputs import MAX_PROMPT_CHARS, read_file


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANIMA_TAG_INDEX", str(tmp_path / "missing.sqlite"))


def lint_file(path: Path, *extra: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["lint", "--file", str(path), *extra])


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary.txt: binary file, not prompt text"),
        (
            "latin1.txt",
            "1girl, caf\xe9".encode("latin-1"),
            "latin1.txt: not UTF-8 text (byte 0xe9 at offset 10); save the file as UTF-8",
        ),
        (
            "bad.jsonl",
            b'{"prompt": "1girl"\n',
            "bad.jsonl:1: invalid JSON: Expecting ',' delimiter (column 19)",
        ),
        ("list.jsonl", b'["1girl"]\n', "list.jsonl:1: expected a JSON object with a 'prompt' field"),
        ("noprompt.jsonl", b'{"text": "1girl"}\n', "noprompt.jsonl:1: 'prompt' must be a string"),
        ("neg.jsonl", b'{"prompt": "1girl", "negative": 3}\n', "neg.jsonl:1: 'negative' must be a string"),
        (
            "settings.jsonl",
            b'{"prompt": "1girl", "settings": {"cfg": "high"}}\n',
            "settings.jsonl:1: cfg must be a number, got 'high'",
        ),
        (
            "twice.jsonl",
            b'{"prompt": "1girl", "loras": ["a"], "settings": {"loras": ["b"]}}\n',
            "twice.jsonl:1: 'loras' is given twice (in the record and in its settings)",
        ),
    ],
)
def test_broken_files(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    result = lint_file(path)
    assert result.exit_code == 1
    assert result.stderr == f"anima lint: error: {tmp_path / message}\n"


def test_unknown_record_keys_are_skipped_with_one_note(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    records = [
        '{"id": "p1", "prompt": "safe, 1girl", "settings": {"cfg": 4.5, "shift": 3, "seed": 1}}',
        '{"id": "p2", "kind": "tags", "prompt": "safe, 1boy", "seed": 7, "out": "x"}',
        '{"prompt": "safe, 1other"}',
    ]
    path.write_text("\n".join(records) + "\n", encoding="utf-8")
    result = lint_file(path)
    assert result.exit_code == 0, result.output
    notes = result.stderr.splitlines()
    assert notes[0] == f"note: {path}: ignored keys id, settings.shift, settings.seed, kind (in 2 records)"
    assert len([line for line in notes if "ignored keys" in line]) == 1


def test_record_settings_read_scheduler_model_and_loras(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    path.write_text(
        '{"prompt": "safe, 1girl", "model": "anima-turbo-v1.safetensors", "loras": ["style.safetensors:0.5"],'
        ' "settings": {"sampler": "Euler a", "scheduler": "Karras", "cfg": 1}}\n',
        encoding="utf-8",
    )
    (record,) = read_file(path)
    settings = record.settings
    assert settings is not None and record.ignored == ()
    assert (settings.variant.value, settings.model, settings.loras) == (
        "turbo",
        "anima-turbo-v1.safetensors",
        (("style.safetensors", 0.5),),
    )
    assert (settings.sampler, settings.scheduler) == ("Euler a", "Karras")


def test_folder_is_a_usage_error(tmp_path: Path) -> None:
    result = lint_file(tmp_path)
    assert result.exit_code == 2
    assert result.stderr == (
        f"anima lint: error: Invalid value for '--file' / '-f': File '{tmp_path}' is a directory. "
        "(see 'anima lint --help')\n"
    )
    with pytest.raises(LintInputError, match="is a folder, not a prompt file"):
        list(read_file(tmp_path))


def test_empty_file_holds_no_prompt_unless_whole(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"\n")
    result = lint_file(path, "--format", "json")
    assert (result.exit_code, result.stdout) == (0, "[]\n")
    assert result.stderr.startswith(f"note: {path}: no prompt in it\n")
    result = lint_file(path, "--format", "json", "--whole")
    assert result.exit_code == 1
    assert '"ANM-FMT-002"' in result.stdout


def test_empty_jsonl_lints_nothing(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"\n\n")
    result = lint_file(path)
    assert result.exit_code == 0
    assert result.stdout == ""


def test_huge_prompt_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    path.write_text("1girl, " * (MAX_PROMPT_CHARS // 7 + 10), encoding="utf-8")
    result = lint_file(path, "--whole")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "more than the 100,000 the linter reads" in result.stderr


def test_bom_and_crlf_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "windows.txt"
    path.write_bytes("\ufeffsafe, 1girl\r\nsafe, 1boy\r\n".encode())
    (first, second) = read_file(path)
    assert (first.prompt, second.prompt, second.source) == ("safe, 1girl", "safe, 1boy", f"{path}:2")


def test_api_errors_are_lint_input_errors() -> None:
    with pytest.raises(LintInputError, match="prompt has 100,001 characters"):
        lint("a" * (MAX_PROMPT_CHARS + 1))
    with pytest.raises(LintInputError, match="steps must be a whole number"):
        lint("1girl", settings={"steps": 2.5})
    with pytest.raises(LintInputError, match="cfg must be a finite number"):
        LintSettings(cfg=float("inf"))


def test_settings_from_mapping() -> None:
    settings = LintSettings.from_mapping({"cfg": 4, "width": 1024.0, "variant": "anima-turbo-v1.safetensors"})
    assert (settings.cfg, settings.width, settings.variant.value) == (4, 1024, "turbo")


def test_find_config_prefers_the_nearest_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.anima.lint]\nmax-lines = 20\n", encoding="utf-8")
    nested = tmp_path / "project"
    nested.mkdir()
    (nested / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    assert find_config_file(nested) == tmp_path / "pyproject.toml"
    (nested / "anima.toml").write_text("[lint]\nmax-lines = 9\n", encoding="utf-8")
    assert find_config_file(nested) == nested / "anima.toml"
    assert load_config(start=nested).max_lines == 9


def test_config_values_are_converted_and_checked() -> None:
    config = config_from_mapping(
        {
            "select": "anm-tag",
            "fail-on": "warn",
            "severity": {"anm-tag-002": "error"},
            "cfg_base": [3, 7],
            "max-lines": 20.0,
        }
    )
    assert config.select == ("ANM-TAG",)
    assert config.fail_on is Severity.WARNING
    assert config.severity_of("ANM-TAG-002", Severity.INFO) is Severity.ERROR
    assert config.cfg_base == (3.0, 7.0)
    assert config.max_lines == 20
    assert config == LintConfig(
        select=("ANM-TAG",), severity=(("ANM-TAG-002", Severity.ERROR),), cfg_base=(3.0, 7.0), max_lines=20
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"max-lines": "many"}, "option 'max-lines' must be a number, got 'many'"),
        ({"max-lines": 2.5}, "option 'max-lines' must be a whole number, got 2.5"),
        ({"cfg-base": [6, 4]}, "cfg-base must be [low, high], got [6.0, 4.0]"),
        ({"cfg-base": 5}, "option 'cfg-base' must be a [low, high] pair, got 5"),
        ({"fail-on": "fatal"}, "option 'fail-on' must be info, warning or error, got 'fatal'"),
        ({"artist-placement": "last"}, "artist-placement must be one of card, first, off, got 'last'"),
        (
            {"severity": {"ANM-TAG-001": "loud"}},
            "option 'severity': unknown severity 'loud'; expected info, warning or error",
        ),
        ({"colour": True}, "unknown lint option 'colour'"),
    ],
)
def test_config_errors(table: dict, message: str) -> None:
    with pytest.raises(LintConfigError) as error:
        config_from_mapping(table)
    assert str(error.value) == message


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "anima.toml"
    path.write_text("[lint\n", encoding="utf-8")
    with pytest.raises(LintConfigError, match=r"anima.toml: invalid TOML"):
        load_config(path)


@pytest.mark.parametrize(
    ("file", "content", "message"),
    [
        (
            "anima.toml",
            "[tool.anima.lint]\nmax-lines = 3\n",
            "[tool.anima.lint] is the pyproject.toml form; in anima.toml write [lint]",
        ),
        (
            "anima.toml",
            "[lnt]\nmax-lines = 3\n",
            "unknown table or key 'lnt'; anima.toml holds a [lint] table",
        ),
        (
            "pyproject.toml",
            "[tool.anima.lnt]\nmax-lines = 3\n",
            "unknown table or key 'tool.anima.lnt'; the linter reads [tool.anima.lint]",
        ),
        ("anima.toml", "[lint]\nmax-lines = -5\n", "max-lines must be at least 1, got -5"),
        ("anima.toml", "[lint]\ncfg-base = [-1, 4]\n", "cfg-base must be at least 0, got -1.0"),
        ("anima.toml", "[lint]\nweak-weight-max = nan\n", "option 'weak-weight-max' must be finite, got nan"),
    ],
)
def test_misplaced_tables_and_bad_values_are_named(
    tmp_path: Path, file: str, content: str, message: str
) -> None:
    (tmp_path / file).write_text(content, encoding="utf-8")
    result = CliRunner().invoke(cli, ["lint", "safe, 1girl"])
    assert result.exit_code == 2
    assert result.stderr == f"anima lint: error: {tmp_path / file}: {message}\n"
