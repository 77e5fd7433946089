"""The only code that locates files shipped with the package: grammars, project data and the version.

In an installed wheel the folders live inside the package (`anima_prompt/grammars`, `anima_prompt/data`);
in a source checkout they are the repository's top-level `grammars/` and `data/`.
"""

import re
from functools import cache
from importlib import metadata
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def _resource_dir(name: str) -> Path:
    inside = _PACKAGE_DIR / name
    if inside.is_dir():
        return inside
    return _PACKAGE_DIR.parent / name


def grammar_path(filename: str) -> Path:
    """Path of a grammar file shipped with the toolkit, e.g. ``grammar_path("anima.lark")``."""
    return _resource_dir("grammars") / filename


def data_path(filename: str) -> Path:
    """Path of a project-authored data file shipped with the toolkit, e.g. ``data_path("vocab.toml")``."""
    return _resource_dir("data") / filename


def toolkit_version() -> str:
    """The installed anima-toolkit version, or the source tree's version from pyproject.toml."""
    try:
        return metadata.version("anima-toolkit")
    except metadata.PackageNotFoundError:
        pyproject = _PACKAGE_DIR.parent / "pyproject.toml"
        found = re.search(r'^version\s*=\s*"([^"]+)"', pyproject.read_text(encoding="utf-8"), re.MULTILINE)
        return found.group(1) if found else "unknown"
