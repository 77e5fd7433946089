import py_compile
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from anima_prompt import cli as cli_module
from anima_prompt.bytecode import bytecode_note, missing_bytecode


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An installed package with no bytecode."""
    source = tmp_path / "fresh_pkg_for_bytecode" / "__init__.py"
    source.parent.mkdir()
    source.write_text("VALUE = 1\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return source


def test_a_package_without_bytecode_that_python_may_not_write(
    package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    assert missing_bytecode("fresh_pkg_for_bytecode")
    note = bytecode_note("fresh_pkg_for_bytecode")
    assert note is not None and "PYTHONDONTWRITEBYTECODE" in note
    assert f"-m compileall -q {package.parent.parent}" in note
    py_compile.compile(str(package))  # what `compileall` writes
    assert not missing_bytecode("fresh_pkg_for_bytecode")
    assert bytecode_note("fresh_pkg_for_bytecode") is None


def test_python_writes_the_bytecode_itself_where_it_may(
    package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    assert not missing_bytecode("fresh_pkg_for_bytecode")
    assert not missing_bytecode("no_such_module_anywhere")


def test_engine_commands_give_the_note_before_their_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_module, "bytecode_note", lambda: "note: torch has no bytecode")
    cli_module._note_missing_bytecode.cache_clear()
    runner = CliRunner()
    engine = runner.invoke(cli_module.cli, ["models", "--help"])
    assert engine.stderr.count("note: torch has no bytecode") == 1
    lint = runner.invoke(cli_module.cli, ["lint", "--help"])
    assert "bytecode" not in lint.stderr
    cli_module._note_missing_bytecode.cache_clear()
