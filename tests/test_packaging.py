"""The distribution's promises: the prompt side imports without torch, and the console script runs."""

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from anima_prompt.cli import cli


def test_import_anima_prompt_leaves_torch_out() -> None:
    modules = "anima_prompt, anima_prompt.imagemeta, anima_prompt.sampler_names"
    code = f"import {modules}, sys; assert 'torch' not in sys.modules, 'torch was imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_anima_help_lists_the_group() -> None:
    result = CliRunner().invoke(cli, ["--help"], catch_exceptions=False)
    assert result.exit_code == 0
    assert "Anima" in result.output


# Runs the `anima` group as the prompt-only install does: every module of the engine extra fails to import.
WITHOUT_ENGINE = """
import sys
for name in ("torch", "huggingface_hub", "safetensors", "einops", "numpy", "PIL", "torchsde"):
    sys.modules[name] = None
from anima_prompt.cli import cli
cli(sys.argv[1:], prog_name="anima")
"""


def run_without_engine(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", WITHOUT_ENGINE, *args], capture_output=True, text=True)


@pytest.mark.parametrize("args", [[], ["-h"], ["--help"]])
def test_help_works_without_the_engine_and_lists_its_commands(args: list[str]) -> None:
    result = run_without_engine(*args)
    assert (result.returncode, result.stderr) == (0, "")
    engine_note = "(needs the engine extra: pip install 'anima-toolkit[engine]')"
    for command in ("generate", "models", "dev"):
        assert f"  {command} " in result.stdout
        line = next(line for line in result.stdout.splitlines() if line.startswith(f"  {command} "))
        assert line.endswith(engine_note)
    assert "  lint " in result.stdout and engine_note not in next(
        line for line in result.stdout.splitlines() if line.startswith("  lint ")
    )


def test_info_and_prompt_commands_work_without_the_engine() -> None:
    info = run_without_engine("info")
    assert info.returncode == 0, info.stderr
    assert "engine: not installed (pip install 'anima-toolkit[engine]')" in info.stdout
    assert "tag index: " in info.stdout
    fmt = run_without_engine("fmt", "Hatsune_Miku,  1girl")
    assert (fmt.returncode, fmt.stdout) == (0, "hatsune miku, 1girl\n")


def test_engine_commands_without_the_engine_say_what_to_install() -> None:
    result = run_without_engine("generate", "safe, 1girl")
    assert result.returncode == 1
    assert result.stderr == (
        "anima generate: error: this command needs the engine extra: pip install 'anima-toolkit[engine]'\n"
    )


def test_python_dash_m_runs_the_same_group() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "anima_prompt", "--help"], capture_output=True, text=True, check=True
    )
    assert "Usage:" in result.stdout


@pytest.mark.slow
def test_wheel_ships_grammars_and_data(tmp_path: Path) -> None:
    """`pip wheel` builds the distribution with the grammar and data folders and the rule reference inside
    the package."""
    repo = Path(__file__).resolve().parent.parent
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*pip_wheel, "-w", str(tmp_path), str(repo)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("anima_toolkit-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "anima_prompt/grammars/anima.lark" in names
    assert any(name.startswith("anima_prompt/data/") for name in names)
    assert "anima_prompt/parser.py" in names
    assert "anima_prompt/docs/rules.md" in names  # the rule reference language-server diagnostics link to
    assert not [name for name in names if name.startswith("tests/") or "reference" in name]
    for asset in ("index.html", "playground.css", "playground.js"):
        assert f"anima_prompt/serve/static/{asset}" in names


@pytest.mark.parametrize("name", ["index.html", "playground.css"])
def test_page_files_in_the_package_match_their_sources(name: str) -> None:
    """`web/build.mjs` copies these into the package; a changed source needs `npm run build` in web/."""
    repo = Path(__file__).resolve().parent.parent
    source = repo / "web" / "src" / name
    built = repo / "anima_prompt" / "serve" / "static" / name
    assert built.read_text(encoding="utf-8") == source.read_text(encoding="utf-8")


def test_page_script_bundles_codemirror() -> None:
    """The page's script is the built bundle, CodeMirror included, and loads nothing from elsewhere."""
    repo = Path(__file__).resolve().parent.parent
    script = (repo / "anima_prompt" / "serve" / "static" / "playground.js").read_text(encoding="utf-8")
    assert "cm-tooltip-autocomplete" in script and "cm-lintRange" in script
    assert "/api/complete" in script
    assert not re.search(r"""(import|from)\s*["']https?://""", script)
