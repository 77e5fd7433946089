"""One version, from the installed metadata, wherever the toolkit writes it."""

import json
import tomllib
from pathlib import Path

from click.testing import CliRunner

from anima_prompt.cli import cli
from anima_prompt.index.query import TagIndex
from anima_prompt.version import toolkit_version

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_the_version_is_the_project_version() -> None:
    assert toolkit_version() == tomllib.loads(PYPROJECT.read_text())["project"]["version"]


def test_anima_version_and_sarif_say_the_same() -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["--version"]).output == f"anima, version {toolkit_version()}\n"
    sarif = runner.invoke(cli, ["lint", "--format", "sarif", "--select", "ANM-SYN", "1girl"])
    assert json.loads(sarif.stdout)["runs"][0]["tool"]["driver"]["version"] == toolkit_version()


def test_the_index_records_the_same_version(tag_index: TagIndex) -> None:
    assert tag_index.info().meta["tool_version"] == toolkit_version()
