"""The same prompt gives the same findings through `anima lint`, the language server and the web API, over
every record of the labelled corpus (`tests/corpus/prompts.jsonl`).

Each finding is compared as (record, target, rule, start, end, message), offsets in the record's own
texts. The server's ranges are turned back into those offsets independently of its code: the test writes
the JSONL file itself, ASCII-only, so a column is an index into the line and `json.dumps` of a prompt's
first characters says where each character's escape ends.
"""

import json
import subprocess
import threading
from functools import cache, partial
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from anima_prompt.cli import cli
from anima_prompt.editor import EditorServices
from anima_prompt.lint import LintConfig
from anima_prompt.lsp.launch import read_message, write_message
from anima_prompt.serve.api import Playground, create_app
from tests.lsp.conftest import server_command

CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "prompts.jsonl"
LINTED_SETTINGS = {
    "cfg",
    "steps",
    "width",
    "height",
    "sampler",
    "variant",
}  # the corpus also names schedulers
Key = tuple[int, str, str, int, int, str]
SERVER_SECONDS = 120  # the most the server may take; it is killed after that


def corpus() -> list[dict[str, Any]]:
    """Every corpus record as the linter reads it: prompt, negative (if any) and the linted settings."""
    records = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        raw = json.loads(line)
        record: dict[str, Any] = {"prompt": raw["prompt"]}
        if raw["negative"] is not None:
            record["negative"] = raw["negative"]
        settings = {key: value for key, value in raw["settings"].items() if key in LINTED_SETTINGS}
        if settings:
            record["settings"] = settings
        records.append(record)
    return records


def jsonl_line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=True)


@cache
def string_offsets(line: str, key: str, value: str) -> tuple[int, ...]:
    """The index in `line` of each character of the string value of `"key": "value"`, and of its end."""
    start = line.index(f"{json.dumps(key)}: {json.dumps(value)}") + len(json.dumps(key)) + 3
    return tuple(start + len(json.dumps(value[:index])) - 2 for index in range(len(value) + 1))


def from_server(records: list[dict[str, Any]], diagnostic: dict[str, Any]) -> Key:
    """A diagnostic (as JSON) as (record, target, rule, start, end, message)."""
    where = diagnostic["range"]
    number = where["start"]["line"]
    record = records[number]
    line = jsonl_line(record)
    start, end = where["start"]["character"], where["end"]["character"]
    code, message = diagnostic["code"], diagnostic["message"]
    for target in ("prompt", "negative"):
        if target not in record:
            continue
        offsets = string_offsets(line, target, record[target])
        if offsets[0] <= start <= offsets[-1]:
            return number, target, code, offsets.index(start), offsets.index(end), message
    return number, "settings", code, 0, 0, message


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return corpus()


@pytest.fixture
def corpus_file(records: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no configuration file is found, from here or from the file's folder
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(jsonl_line(record) + "\n" for record in records), encoding="utf-8")
    return path


def cli_findings(corpus_file: Path, db: Path) -> set[Key]:
    result = CliRunner().invoke(
        cli, ["lint", "--file", str(corpus_file), "--db", str(db), "--format", "json"]
    )
    assert result.exit_code in (0, 1), result.stderr
    found = set()
    for item in json.loads(result.stdout):
        line = int(item["source"].rsplit(":", 1)[1]) - 1
        start, end = (item["start"], item["end"]) if item["target"] != "settings" else (0, 0)
        found.add((line, item["target"], item["code"], start, end, item["message"]))
    return found


def web_findings(records: list[dict[str, Any]], tag_index: Any) -> set[Key]:
    playground = Playground(services=EditorServices(index=tag_index, config=LintConfig()))
    found = set()
    with TestClient(create_app(playground, hosts=None)) as client:
        for number, record in enumerate(records):
            response = client.post("/api/lint", json=record)
            assert response.status_code == 200, response.text
            for problem in response.json()["problems"]:
                found.add(
                    (
                        number,
                        problem["target"],
                        problem["code"],
                        problem["start"],
                        problem["end"],
                        problem["message"],
                    )
                )
    return found


def server_findings(records: list[dict[str, Any]], corpus_file: Path, db: Path) -> set[Key]:
    """The diagnostics `anima lsp` publishes for the corpus file, read by a plain JSON-RPC client: the
    pytest-lsp client takes a quarter of a minute to build typed values for its 8,000 diagnostics."""
    command = server_command(db)
    with subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=corpus_file.parent
    ) as server:
        watchdog = threading.Timer(SERVER_SECONDS, server.kill)  # a hung server ends the test, not CI
        watchdog.start()
        assert server.stdin is not None and server.stdout is not None
        send = partial(write_message, server.stdin)
        send(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {"processId": None, "capabilities": {}},
            }
        )
        assert read_message(server.stdout) is not None
        send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        document = {
            "uri": corpus_file.as_uri(),
            "languageId": "jsonl",
            "version": 1,
            "text": corpus_file.read_text(),
        }
        send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": document}})
        published = read_message(server.stdout)
        send({"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
        send({"jsonrpc": "2.0", "method": "exit"})
        assert server.wait(SERVER_SECONDS) == 0
        watchdog.cancel()
    assert published is not None and published["method"] == "textDocument/publishDiagnostics"
    return {from_server(records, diagnostic) for diagnostic in published["params"]["diagnostics"]}


def test_lint_server_and_web_api_agree_on_the_corpus(
    records: list[dict[str, Any]], corpus_file: Path, tag_index_path: Path, tag_index: Any
) -> None:
    expected = cli_findings(corpus_file, tag_index_path)
    assert len(expected) > len(records)  # the corpus gives findings of many kinds
    assert {key[1] for key in expected} == {"prompt", "negative", "settings"}
    assert web_findings(records, tag_index) == expected
    assert server_findings(records, corpus_file, tag_index_path) == expected
