"""The package root exports the tag index API without importing SQLite or rapidfuzz up front."""

import subprocess
import sys

import anima_prompt
from anima_prompt import suggest as suggest_function
from anima_prompt.index import records


def test_index_names_are_exported() -> None:
    for name in ("TagIndex", "TagInfo", "Suggestion", "suggest"):
        assert name in anima_prompt.__all__
        assert name in dir(anima_prompt)
    from anima_prompt.index.query import TagIndex

    assert anima_prompt.TagIndex is TagIndex
    assert anima_prompt.TagInfo is records.TagInfo
    assert anima_prompt.Suggestion is records.Suggestion
    assert callable(suggest_function) and suggest_function.__module__ == "anima_prompt.index.suggest"


def test_suggest_stays_the_function_after_its_module_loads() -> None:
    code = (
        "import anima_prompt.index.suggest as module, anima_prompt; "
        "from anima_prompt import suggest; "
        "assert callable(suggest) and callable(anima_prompt.suggest), type(suggest)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        anima_prompt.NoSuchThing  # noqa: B018
    except AttributeError as error:
        assert "NoSuchThing" in str(error)
    else:
        raise AssertionError("no AttributeError")


def test_import_leaves_sqlite_and_rapidfuzz_out() -> None:
    code = (
        "import sys, anima_prompt; "
        "heavy = ('sqlite3', 'rapidfuzz', 'sqlite_utils', 'anima_prompt.index.query', 'torch'); "
        "loaded = [m for m in heavy if m in sys.modules]; "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
