"""The only code that locates files shipped with the package: grammars, project data and the rule reference.

In an installed wheel the folders live inside the package (`anima_prompt/grammars`, `anima_prompt/data`,
`anima_prompt/docs`); in a source checkout they are the repository's top-level `grammars/`, `data/` and
`docs/`.
"""

from functools import cache
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


def rules_reference() -> Path:
    """Path of the lint rule reference, `docs/rules.md` (one `### ANM-...` heading per rule)."""
    return _resource_dir("docs") / "rules.md"
