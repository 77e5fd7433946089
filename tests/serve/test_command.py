"""`anima serve` as a command: the configuration it lints with, and what it prints."""

import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from anima_prompt.cli import cli


def test_the_lint_configuration_is_found_as_anima_lint_finds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "anima.toml").write_text('[lint]\nignore = ["ANM-SAFE"]\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    captured: list[Any] = []
    monkeypatch.setattr("uvicorn.Server.run", lambda self, sockets=None: captured.append(self.config.app))
    result = CliRunner().invoke(cli, ["serve", "--port", "0", "--no-generate"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    with TestClient(captured[0], base_url="http://127.0.0.1") as client:
        problems = client.post("/api/lint", json={"prompt": "1girl"}).json()["problems"]
    assert not [problem for problem in problems if problem["code"].startswith("ANM-SAFE")]
    (tmp_path / "anima.toml").write_text("[lint]\nno-such-option = 1\n", encoding="utf-8")
    broken = CliRunner().invoke(cli, ["serve", "--port", "0", "--no-generate"])
    assert broken.exit_code == 1
    assert broken.output.startswith("anima serve: error: ") and "anima.toml" in broken.output


def test_without_the_engine_the_page_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    captured: list[Any] = []
    monkeypatch.setitem(sys.modules, "torch", None)
    for name in [name for name in sys.modules if name.partition(".")[0] == "anima_engine"]:
        monkeypatch.delitem(sys.modules, name)  # imported again, they find no torch
    monkeypatch.setattr("uvicorn.Server.run", lambda self, sockets=None: captured.append(self.config.app))
    result = CliRunner().invoke(cli, ["serve", "--port", "0"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "generation needs the engine extra: pip install 'anima-toolkit[engine]'" in result.output
    with TestClient(captured[0], base_url="http://127.0.0.1") as client:
        info = client.get("/api/info").json()
        refused = client.post("/api/generate", json={"prompt": "safe"})
    assert info["engine"] is None
    assert refused.status_code == 503
