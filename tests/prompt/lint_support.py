"""Shared helpers for the linter tests: a small tag index built from `tests/data` and example runners."""

from pathlib import Path

import pytest

from anima_prompt.lint import LintConfig, Linter, LintSettings
from anima_prompt.lint.config import config_from_mapping
from anima_prompt.lint.findings import Finding
from anima_prompt.lint.registry import Example

DATA = Path(__file__).resolve().parent.parent / "data"
SMALL_SOURCES = (DATA / "lint_tags.csv", DATA / "lint_implications.json")


@pytest.fixture(scope="session")
def small_index(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from anima_prompt.index.query import TagIndex

    index = TagIndex.build(list(SMALL_SOURCES), tmp_path_factory.mktemp("index") / "tags.sqlite")
    yield index
    index.close()


def run_example(example: Example, index: object, config: LintConfig | None = None) -> tuple[Finding, ...]:
    """Lint an example prompt with its negative prompt, settings and configuration options."""
    settings = LintSettings.from_mapping(example.settings) if example.settings else None
    config = config or LintConfig()
    if example.config:
        config = config_from_mapping(example.config, config)
    linter = Linter(config=config, index=index)
    return linter.lint(example.prompt, negative=example.negative, settings=settings)
