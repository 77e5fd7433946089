"""`anima fmt` and `anima parse` through click's test runner."""

import json
from pathlib import Path

from click.testing import CliRunner

from anima_prompt.cli import cli


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_fmt_argument() -> None:
    code, out, _ = run("fmt", "Hatsune_Miku,  1girl, saber (fate), (blue eyes:1.50)")
    assert (code, out) == (0, "hatsune miku, 1girl, saber \\(fate\\), (blue eyes:1.5)\n")


def test_fmt_stdin_one_prompt_per_line() -> None:
    code, out, _ = run("fmt", "-", stdin="A_b ,c\n\nSmile_face\n")
    assert (code, out) == (0, "a_b, c\nsmile face\n")


def test_fmt_stdin_whole() -> None:
    code, out, _ = run("fmt", "-", "--whole", stdin="deviantart\nFlame\nA dragon.\n")
    assert (code, out) == (0, "deviantart\nFlame\nA dragon.\n")


def test_fmt_file_holds_one_prompt_per_line_unless_whole(tmp_path: Path) -> None:
    path = tmp_path / "prompt.txt"
    path.write_text("1girl,smile\n(x:2.0)\n", encoding="utf-8")
    assert run("fmt", "--file", str(path))[1] == "1girl, smile\n(x:2)\n"
    code, out, _ = run("fmt", "-f", str(path), "--json")
    assert code == 0
    assert [json.loads(line)["origin"] for line in out.splitlines()] == [f"{path}:1", f"{path}:2"]
    code, out, _ = run("fmt", "--whole", "-f", str(path), "--json")
    assert [json.loads(line)["origin"] for line in out.splitlines()] == [str(path)]


def test_fmt_check_exit_codes() -> None:
    assert run("fmt", "--check", "1girl, smile")[0] == 0
    code, out, err = run("fmt", "--check", "1girl,smile")
    assert (code, out, err) == (1, "", "would reformat <prompt>\n")


def test_fmt_diff() -> None:
    code, out, _ = run("fmt", "--diff", "1girl,smile")
    assert code == 0
    assert "-1girl,smile\n+1girl, smile\n" in out
    assert run("fmt", "--diff", "1girl, smile")[1] == ""


def test_fmt_json() -> None:
    code, out, _ = run("fmt", "--json", "1girl,(x")
    assert code == 0
    record = json.loads(out)
    assert record["formatted"] == "1girl, (x"
    assert record["changed"] is True
    assert record["diagnostics"][0]["code"] == "unclosed-group"


def test_fmt_reports_syntax_problems_on_stderr() -> None:
    code, out, err = run("fmt", "1girl, (smile")
    assert (code, out) == (0, "1girl, (smile\n")
    assert err == "<prompt>:1:8: '(' is never closed\n"


def test_fmt_strict_fails_with_one_line() -> None:
    code, _, err = run("fmt", "--strict", "1girl, (smile")
    assert code == 1
    assert err == "anima fmt: error: <prompt>: line 1, column 8: '(' is never closed\n"


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    code, _, err = run("fmt", "--file", str(tmp_path / "missing.txt"))
    assert code == 2
    assert "does not exist" in err


def test_parse_outline() -> None:
    code, out, _ = run("parse", "1girl, @wlop, (smile:1.2)")
    assert code == 0
    assert out.splitlines() == [
        "tag 1:1 '1girl'",
        "separator 1:6 comma ', '",
        "artist 1:8 '@wlop'",
        "separator 1:13 comma ', '",
        "weighted 1:15 weight=1.2",
        "  tag 1:16 'smile'",
    ]


def test_parse_json_gives_kinds_and_spans() -> None:
    text = (
        "masterpiece, best quality, score_7, safe, 1girl, oomuro sakurako, yuru yuri, @nnn yryr, long hair. "
        "She is smiling at the viewer, standing under cherry blossoms."
    )
    code, out, _ = run("parse", "--json", text)
    assert code == 0
    tree = json.loads(out)
    items = [node for node in tree["children"] if node["kind"] != "separator"]
    assert [node["kind"] for node in items] == ["tag"] * 7 + ["artist", "tag", "phrase"]
    for node in tree["children"]:
        span = node["span"]
        assert text[span["start"] : span["end"]] == node["text"]
        assert span["line"] == 1 and span["column"] == span["start"] + 1


def test_parse_several_prompts_from_stdin() -> None:
    code, out, _ = run("parse", "-", stdin="a\nb\n")
    assert code == 0
    assert out.splitlines() == ["# <stdin>:1", "tag 1:1 'a'", "", "# <stdin>:2", "tag 1:1 'b'"]


def test_parse_strict() -> None:
    code, _, err = run("parse", "--strict", "a \\ b")
    assert code == 1
    assert err.startswith("anima parse: error: <prompt>: line 1, column 3: '\\' escapes only")
