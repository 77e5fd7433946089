"""The quick `initialize` answer: the same capabilities pygls computes, and the protocol's rules before it."""

import io
import json
import sys
from collections.abc import Callable
from importlib import resources
from typing import Any

import pytest
from click.testing import CliRunner
from pygls.protocol import default_converter

from anima_prompt.cli import cli
from anima_prompt.lsp import launch
from anima_prompt.lsp.projects import Projects
from anima_prompt.lsp.server import build_server

CLIENTS = sorted(
    path.name for path in resources.files("pytest_lsp.clients").iterdir() if path.name.endswith(".json")
)


def client_params(name: str) -> dict[str, Any]:
    """The `initialize` parameters of a real editor, as recorded by pytest-lsp."""
    recorded = json.loads(resources.files("pytest_lsp.clients").joinpath(name).read_text(encoding="utf-8"))
    return {"processId": None, "rootUri": None, **recorded}


@pytest.mark.parametrize("name", CLIENTS)
def test_the_quick_answer_is_what_pygls_computes(name: str) -> None:
    params = client_params(name)
    server = build_server(Projects(), rules_url="file:///rules.md", version="1.0")
    server.accept_initialize({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params})
    computed = default_converter().unstructure(server.server_capabilities)
    assert launch.initialize_result(params)["capabilities"] == computed


def test_the_first_encoding_offered_that_the_server_counts_is_chosen() -> None:
    offered = {"capabilities": {"general": {"positionEncodings": ["utf-7", "utf-8", "utf-16"]}}}
    assert launch.position_encoding(offered) == "utf-8"
    assert launch.position_encoding({"capabilities": {}}) == "utf-16"


def frames(*messages: dict[str, Any]) -> io.BytesIO:
    stream = io.BytesIO()
    for message in messages:
        launch.write_message(stream, message)
    stream.seek(0)
    return stream


def replies(stream: io.BytesIO) -> list[dict[str, Any]]:
    stream.seek(0)
    found = []
    while (message := launch.read_message(stream)) is not None:
        found.append(message)
    return found


def recording_load(seen: list[dict[str, Any]]) -> Callable[[], launch.Start]:
    def load() -> launch.Start:
        def start(initialize: dict[str, Any]) -> Callable[[], None]:
            seen.append(initialize)
            return lambda: None

        return start

    return load


def test_requests_before_initialize_are_refused_and_initialize_is_handed_over() -> None:
    early = {"jsonrpc": "2.0", "id": 7, "method": "textDocument/hover", "params": {}}
    note = {"jsonrpc": "2.0", "method": "initialized", "params": {}}
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}
    stdout = io.BytesIO()
    seen: list[dict[str, Any]] = []
    status = launch.serve(frames(early, note, initialize), stdout, load=recording_load(seen))
    refused, answered = replies(stdout)
    assert status == 0
    assert refused == {
        "jsonrpc": "2.0",
        "id": 7,
        "error": {"code": -32002, "message": "the server has not been initialized"},
    }
    assert answered["id"] == 1 and answered["result"]["serverInfo"]["name"] == "anima"
    assert seen == [initialize]


def test_exit_or_the_end_of_input_before_initialize_ends_with_status_1() -> None:
    seen: list[dict[str, Any]] = []
    assert (
        launch.serve(frames({"jsonrpc": "2.0", "method": "exit"}), io.BytesIO(), load=recording_load(seen))
        == 1
    )
    assert launch.serve(frames(), io.BytesIO(), load=recording_load(seen)) == 1
    assert seen == []


def test_a_failing_load_is_raised_after_the_answer() -> None:
    def load() -> launch.Start:
        raise ModuleNotFoundError("No module named 'pygls'")

    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
    with pytest.raises(ModuleNotFoundError):
        launch.serve(frames(initialize), io.BytesIO(), load=load)


def test_without_the_lsp_extra_the_command_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pygls", None)
    result = CliRunner().invoke(cli, ["lsp"])
    assert result.exit_code == 1
    assert (
        result.output
        == "anima lsp: error: the lsp extra is not installed; pip install 'anima-toolkit[lsp]'\n"
    )
