"""`anima lint` through click's CliRunner: output formats, exit codes, pinned error wording, files, --fix."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from anima_prompt.cli import cli
from tests.prompt import lint_support

small_index = lint_support.small_index


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No configuration file, tag index or tokenizers from the developer's machine."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANIMA_TAG_INDEX", str(tmp_path / "missing.sqlite"))
    monkeypatch.delenv("ANIMA_TOKENIZERS", raising=False)


def invoke(*args: str, input: str | bytes | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["lint", *args], input=input)


def test_clean_prompt_exits_0() -> None:
    result = invoke("safe, 1girl, solo")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""


def test_findings_show_line_caret_rule_and_help() -> None:
    result = invoke("safe, 1girl, long_hair")
    assert result.exit_code == 1
    assert result.stdout == (
        "<prompt>:1:14: ANM-TAG-001 warning: `long_hair` uses underscores; Anima tags use spaces "
        "(only score_N keeps `_`)\n"
        "  |\n"
        "1 | safe, 1girl, long_hair\n"
        "  |              ^^^^^^^^^\n"
        "  = help: try `long hair`\n"
        "  = fix: replace with `long hair` (anima lint --fix)\n"
    )


def test_colour_only_when_asked() -> None:
    assert "\x1b[" not in invoke("safe, 1girl, long_hair").stdout
    assert "\x1b[" in invoke("safe, 1girl, long_hair", "--color").stdout


def test_missing_index_is_noted_once_on_stderr() -> None:
    result = invoke("safe, 1girl, solo")
    assert result.stderr.count("no tag index") == 1
    assert "anima index build" in result.stderr


def test_fail_on_controls_the_exit_code() -> None:
    assert invoke("safe, 1girl, long_hair", "--fail-on", "error").exit_code == 0
    assert invoke("safe, 1girl,solo").exit_code == 0
    assert invoke("safe, 1girl,solo", "--fail-on", "info").exit_code == 1


def test_settings_options() -> None:
    result = invoke("safe, 1girl", "--cfg", "7", "--variant", "turbo", "--steps", "30", "--format", "json")
    assert result.exit_code == 1
    codes = [item["code"] for item in json.loads(result.stdout)]
    assert codes == ["ANM-CFG-003", "ANM-CFG-003"]


def test_json_output_fields() -> None:
    result = invoke("safe, 1girl, saber (fate)", "--format", "json")
    (item,) = json.loads(result.stdout)
    assert item == {
        "source": "<prompt>",
        "target": "prompt",
        "code": "ANM-ESC-001",
        "name": "unescaped-qualifier",
        "severity": "error",
        "message": "`(fate)` in `saber (fate)` is read as a 1.1 weight and the brackets are dropped",
        "line": 1,
        "column": 20,
        "start": 19,
        "end": 25,
        "suggestions": ["saber \\(fate\\)"],
        "fix": {"start": 19, "end": 25, "replacement": "\\(fate\\)"},
    }


def test_sarif_output(tmp_path: Path) -> None:
    prompt_file = tmp_path / "p.txt"
    prompt_file.write_text("safe, 1girl,\nlong_hair\n", encoding="utf-8")
    result = invoke("--file", str(prompt_file), "--format", "sarif")
    log = json.loads(result.stdout)
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    (finding,) = [item for item in run["results"] if item["ruleId"] == "ANM-TAG-001"]
    assert rule_ids[finding["ruleIndex"]] == "ANM-TAG-001"
    assert finding["level"] == "warning"
    region = finding["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"], region["endColumn"]) == (2, 1, 10)


def test_statistics() -> None:
    result = invoke("1girl,long_hair,blue_hair", "--statistics")
    assert result.stdout.splitlines() == [
        "2  ANM-TAG-001  warning  underscore-in-tag",
        "2  ANM-TAG-003  info     comma-spacing",
        "1  ANM-SAFE-001 error    missing-safety-tag",
    ]


def test_stdin_prompt() -> None:
    result = invoke("-", "--format", "json", input="safe, 1girl, long_hair\n")
    assert [item["code"] for item in json.loads(result.stdout)] == ["ANM-TAG-001"]


def test_negative_prompt() -> None:
    result = invoke("1girl, safe", "--negative", "worst quality, safe", "--format", "json")
    targets = {(item["code"], item["target"]) for item in json.loads(result.stdout)}
    assert ("ANM-SAFE-003", "negative") in targets


def test_fix_prints_the_fixed_prompt() -> None:
    result = invoke("safe, 1girl,long_hair, saber (fate)", "--fix")
    assert result.stdout == "safe, 1girl, long hair, saber \\(fate\\)\n"
    assert result.exit_code == 0
    again = invoke(result.stdout.strip(), "--fix")
    assert again.stdout == result.stdout


def test_fix_names_what_it_could_not_fix() -> None:
    result = invoke("safe, 1girl,long_hair, (smile:5)", "--fix")
    assert result.exit_code == 1
    assert result.stdout == "safe, 1girl, long hair, (smile:5)\n"
    assert "<prompt>:1:25: ANM-WGT-002 warning: " in result.stderr
    assert "ANM-TAG-001" not in result.stderr


def test_fix_rewrites_files(tmp_path: Path) -> None:
    lines = tmp_path / "prompts.lst"
    lines.write_text("safe, 1girl,solo\nsafe, 1girl, long_hair\n", encoding="utf-8")
    records = tmp_path / "prompts.jsonl"
    records.write_text(json.dumps({"prompt": "safe, 1girl, long_hair", "seed": 3}) + "\n", encoding="utf-8")
    result = invoke("--file", str(lines), "--file", str(records), "--fix")
    assert result.exit_code == 0, result.output
    assert lines.read_text(encoding="utf-8") == "safe, 1girl, solo\nsafe, 1girl, long hair\n"
    assert json.loads(records.read_text(encoding="utf-8")) == {"prompt": "safe, 1girl, long hair", "seed": 3}


def test_jsonl_records_with_settings(tmp_path: Path) -> None:
    records = tmp_path / "prompts.jsonl"
    records.write_text(
        json.dumps({"prompt": "safe, 1girl", "negative": "nsfw", "settings": {"cfg": 12}})
        + "\n\n"
        + json.dumps({"prompt": "safe, 1girl, long_hair"})
        + "\n",
        encoding="utf-8",
    )
    result = invoke("--file", str(records), "--format", "json")
    found = [(item["source"], item["code"]) for item in json.loads(result.stdout)]
    assert found == [(f"{records}:1", "ANM-CFG-001"), (f"{records}:3", "ANM-TAG-001")]


def test_explain_and_list_rules() -> None:
    explained = invoke("--explain", "anm-tag-001")
    assert explained.exit_code == 0
    assert explained.stdout.startswith("ANM-TAG-001 underscore-in-tag (warning, fixable)\n")
    listed = invoke("--list-rules")
    assert "ANM-SAFE-001" in listed.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--explain", "ANM-NOPE-001"],
            "unknown rule id 'ANM-NOPE-001'; `anima lint --list-rules` lists them",
        ),
        (["--select", "ANM-TAG,BOGUS", "x"], "unknown rule id 'BOGUS'; `anima lint --list-rules` lists them"),
        (
            ["--ignore", "ANM-XYZ-009", "x"],
            "unknown rule id 'ANM-XYZ-009'; `anima lint --list-rules` lists them",
        ),
        ([], "nothing to read: give a PROMPT, '-' for standard input, or --file PATH"),
        (
            ["--file", "nope.txt"],
            "Invalid value for '--file' / '-f': File 'nope.txt' does not exist. (see 'anima lint --help')",
        ),
        (
            ["--cfg", "abc", "x"],
            "Invalid value for '--cfg': 'abc' is not a valid float. (see 'anima lint --help')",
        ),
        (["--cfg", "nan", "x"], "cfg must be a finite number >= 0, got nan"),
        (["--width", "-5", "x"], "width must be between 1 and 1000000, got -5"),
        (["--variant", "sdxl", "x"], "unknown model variant 'sdxl'; expected base, aesthetic or turbo"),
        (["--format", "markdown", "x"], "--format markdown is only for --list-rules"),
        (
            ["--db", "missing.db", "x"],
            "--db missing.db: no such file; build an index there with "
            "`anima index build --source PATH --db missing.db`",
        ),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(args: list[str], message: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert result.stderr == f"anima lint: error: {message}\n"


def test_configuration_file_is_found_from_a_subfolder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.anima.lint]\nignore = ["ANM-TAG-001"]\nfail-on = "error"\n',
        encoding="utf-8",
    )
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    result = invoke("safe, 1girl, long_hair,solo", "--format", "json")
    assert result.exit_code == 0
    assert [item["code"] for item in json.loads(result.stdout)] == ["ANM-TAG-003"]


def test_bad_configuration_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "anima.toml").write_text("[lint]\nmax-linez = 3\n", encoding="utf-8")
    result = invoke("safe, 1girl")
    assert result.exit_code == 2
    assert result.stderr == f"anima lint: error: {tmp_path / 'anima.toml'}: unknown lint option 'max-linez'\n"


def test_with_an_index(small_index: object) -> None:
    path = str(small_index.path)  # type: ignore[attr-defined]
    result = invoke("safe, 1girl, ebifurya, smilling", "--db", path, "--format", "json")
    assert "no tag index" not in result.stderr
    assert [item["code"] for item in json.loads(result.stdout)] == ["ANM-ART-001", "ANM-TAG-004"]


def test_parallel_jobs_give_the_same_findings_in_order(tmp_path: Path, small_index: object) -> None:
    prompts = tmp_path / "many.lst"
    lines = [f"1girl,long_hair, ebifurya, tag{n}" if n % 2 else "safe, 1girl, solo" for n in range(40)]
    prompts.write_text("\n".join(lines) + "\n", encoding="utf-8")
    common = ["--file", str(prompts), "--format", "json", "--db", str(small_index.path)]  # type: ignore[attr-defined]
    serial = invoke(*common, "--jobs", "1")
    parallel = invoke(*common, "--jobs", "2")
    assert serial.exit_code == parallel.exit_code == 1
    assert json.loads(parallel.stdout) == json.loads(serial.stdout)
    assert len(json.loads(serial.stdout)) > 40


def test_an_inserting_fix_is_described_as_an_insertion(small_index: object) -> None:
    path = str(small_index.path)  # type: ignore[attr-defined]
    result = invoke("safe, 1girl, wlop", "--db", path)
    assert "ANM-ART-001" in result.stdout
    assert "  = fix: insert `@` (anima lint --fix)\n" in result.stdout
