"""Arbitrary command lines and standard input never produce a traceback: a result or one error line."""

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anima_prompt.cli import cli, load_command
from tests.conftest import TEST_DATA
from tests.faults.conftest import Recorder
from tests.faults.report import FaultReport

EXAMPLES = 150
COMMANDS = (
    ("fmt",),
    ("parse",),
    ("lint",),
    ("tags", "show"),
    ("tags", "search"),
    ("tags", "suggest"),
    ("index", "build"),
    ("index", "info"),
    ("info",),
)
"""The prompt-side commands (index download would reach the network; the engine's load models)."""
FILES = {
    "prompts.txt": b"safe, 1girl,long_hair\n(smile:1.2\nShe waves. @wlop\n",
    "records.jsonl": b'{"prompt": "safe, 1girl", "settings": {"cfg": 4}}\n{"prompt": 3}\n',
    "tags.csv": (TEST_DATA / "tags_small.csv").read_bytes(),
    "binary.bin": bytes(range(256)),
    "anima.toml": b"[lint]\nmax-lines = 20\n",
}
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


def _command(path: tuple[str, ...]) -> click.Command:
    command = load_command(path[0])
    assert command is not None
    for name in path[1:]:
        assert isinstance(command, click.Group)
        found = command.get_command(click.Context(command), name)
        assert found is not None
        command = found
    return command


def _value(parameter: click.Parameter) -> st.SearchStrategy[str]:
    paths = st.sampled_from([*FILES, "tags.sqlite", "missing.txt", ".", "sub/x.sqlite", "-"])
    numbers = st.integers(min_value=-(10**6), max_value=10**6).map(str)
    kind = parameter.type
    if isinstance(kind, click.Choice):
        return st.one_of(st.sampled_from([str(choice) for choice in kind.choices]), TEXT)
    if isinstance(kind, click.types.IntParamType | click.types.FloatParamType):
        return st.one_of(numbers, st.sampled_from(["nan", "inf", "-0", "1e999", "0x10"]), TEXT)
    if isinstance(kind, click.Path):
        return st.one_of(paths, TEXT)
    return st.one_of(TEXT, paths, numbers)


@st.composite
def command_lines(draw: st.DrawFn) -> tuple[list[str], bytes]:
    path = draw(st.sampled_from(COMMANDS))
    command = _command(path)
    args = list(path)
    options = [parameter for parameter in command.params if isinstance(parameter, click.Option)]
    for parameter in draw(st.lists(st.sampled_from(options), max_size=5)):
        args.append(draw(st.sampled_from(parameter.opts)))
        if not parameter.is_flag:
            args.append(draw(_value(parameter)))
    for parameter in command.params:
        if isinstance(parameter, click.Argument) and draw(st.integers(0, 9)):  # now and then left out
            args.append(draw(st.one_of(_value(parameter), st.just("-"))))
    if not draw(st.integers(0, 9)):
        args.insert(draw(st.integers(0, len(args))), draw(st.sampled_from(["--bogus", "-x", "--", "--help"])))
    stdin = draw(st.one_of(st.binary(max_size=60), TEXT.map(str.encode)))
    return args, stdin


@contextmanager
def _inside(folder: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


def test_arbitrary_command_lines(tmp_path: Path, small_index: Path, reliability: Recorder) -> None:
    outcomes = {"runs": 0, "tracebacks": 0}
    environment = {"ANIMA_TAG_INDEX": str(tmp_path / "work" / "tags.sqlite")}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(command_lines())
    def one(case: tuple[list[str], bytes]) -> None:
        args, stdin = case
        work = tmp_path / "work"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        for name, content in FILES.items():
            (work / name).write_bytes(content)
        shutil.copy(small_index, work / "tags.sqlite")
        with _inside(work):
            result = CliRunner().invoke(cli, args, input=stdin, env=environment)
        outcomes["runs"] += 1
        crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
        shown = result.output + (result.stderr or "")
        if crashed or "Traceback" in shown or "internal error" in shown:
            outcomes["tracebacks"] += 1
        assert not crashed, (args, result.exception)
        assert "internal error" not in shown, (args, shown)
        assert result.exit_code in (0, 1, 2), (args, result.exit_code, shown)
        errors = [
            line for line in result.stderr.splitlines() if line.startswith("anima") and ": error: " in line
        ]
        assert len(errors) <= 1, (args, result.stderr)

    one()
    reliability(FaultReport("fuzz-cli", EXAMPLES, 0, outcomes["tracebacks"]))
