"""The public linter API: `anima_prompt.lint` is the `lint` function; the subpackage's modules import by
name."""

import importlib
import subprocess
import sys

import anima_prompt
from anima_prompt.lint import Linter, LintSettings
from anima_prompt.lint import lint as lint_function


def test_package_lint_is_the_function() -> None:
    assert anima_prompt.lint is lint_function
    text, negative = "1girl,long_hair, saber (fate)", "safe, worst quality"
    settings = {"cfg": 12, "variant": "turbo"}
    assert anima_prompt.lint(text, negative=negative, settings=settings) == lint_function(
        text, negative=negative, settings=LintSettings.from_mapping(settings)
    )
    assert [finding.code for finding in anima_prompt.lint("safe, 1girl, long_hair")] == ["ANM-TAG-001"]


def test_subpackage_modules_import_by_their_names() -> None:
    assert importlib.import_module("anima_prompt.lint").Linter is Linter
    from anima_prompt.lint.lookup import CachedIndex

    assert importlib.import_module("anima_prompt.lint.lookup").CachedIndex is CachedIndex


def test_lint_stays_the_function_after_more_of_the_subpackage_loads() -> None:
    code = (
        "import anima_prompt; from anima_prompt.lint.docs import explain; "
        "import anima_prompt.lint.output; "
        "assert callable(anima_prompt.lint) and anima_prompt.lint.__module__ == 'anima_prompt.lint'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_lint_function_is_one_linter_run() -> None:
    text = "1girl,long_hair, saber (fate)"
    assert lint_function(text, negative="nsfw") == Linter().lint(text, negative="nsfw")
