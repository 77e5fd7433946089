"""The public linter API: `anima_prompt.lint(...)` is callable and is also the `anima_prompt.lint` package."""

import importlib

import anima_prompt
from anima_prompt.lint import Linter, LintSettings
from anima_prompt.lint import lint as lint_function


def test_package_lint_is_callable_as_the_function() -> None:
    text, negative = "1girl,long_hair, saber (fate)", "safe, worst quality"
    settings = {"cfg": 12, "variant": "turbo"}
    assert anima_prompt.lint(text, negative=negative, settings=settings) == lint_function(
        text, negative=negative, settings=LintSettings.from_mapping(settings)
    )
    assert [finding.code for finding in anima_prompt.lint("safe, 1girl, long_hair")] == ["ANM-TAG-001"]


def test_package_lint_is_also_the_subpackage() -> None:
    assert anima_prompt.lint.Linter is Linter
    lookup = importlib.import_module("anima_prompt.lint.lookup")
    import anima_prompt.lint.lookup as imported

    assert imported is lookup
    assert anima_prompt.lint.lint is lint_function
