"""Fixtures of the fault-injection suite: tag sources, indexes to damage, and the `reliability` recorder."""

import random
import sqlite3
import string
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from anima_prompt.errors import AnimaPromptError
from anima_prompt.index.query import TagIndex
from tests.conftest import TEST_DATA
from tests.faults.report import DOC, FAULT_KEYS, FaultReport, row, rows_in_doc, update_row

BIG_TAGS = 5000
"""Tags in the source whose build the interrupt tests kill (about a second to build)."""

Recorder = Callable[[FaultReport], None]


@pytest.fixture
def reliability(request: pytest.FixtureRequest) -> Recorder:
    """`reliability(report)`: fail unless nothing was lost and no traceback was seen, then check (or, with
    --update-reliability, rewrite) the fault class's row in docs/reliability.md."""
    update = bool(request.config.getoption("--update-reliability"))

    def record(report: FaultReport) -> None:
        assert (report.data_lost, report.tracebacks) == (0, 0), report
        if update:
            update_row(report)
            return
        current = rows_in_doc(DOC.read_text(encoding="utf-8")).get(report.key)
        expected = row(FAULT_KEYS[report.key], report)
        assert current == expected, (
            "docs/reliability.md is out of date: run pytest tests/faults --update-reliability"
        )

    return record


@pytest.fixture(scope="session")
def big_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Danbooru-style tag CSV of `BIG_TAGS` made-up tags (seeded)."""
    rng = random.Random(12)
    path = tmp_path_factory.mktemp("sources") / "danbooru_big.csv"
    with path.open("w", encoding="utf-8") as stream:
        for number in range(BIG_TAGS):
            words = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 8))) for _ in range(2)]
            stream.write(
                f"{'_'.join(words)}_{number},{rng.choice((0, 1, 3, 4, 5))},{rng.randint(25, 10**5)},\n"
            )
    return path


@pytest.fixture(scope="session")
def small_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of `tests/data/tags_small.csv`: the 'old index' the faults must leave intact."""
    path = tmp_path_factory.mktemp("old-index") / "tags.sqlite"
    TagIndex.build([TEST_DATA / "tags_small.csv"], path).close()
    return path


def index_tags(path: Path) -> int | None:
    """How many tags the index at `path` holds, or None when it is damaged (fails SQLite's integrity check,
    cannot be opened or queried)."""
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as connection:
            if connection.execute("PRAGMA integrity_check").fetchone() != ("ok",):
                return None
        with TagIndex.open(path) as index:
            index.search("a", limit=1)
            return index.info().counts["tags"]
    except (AnimaPromptError, sqlite3.Error):
        return None
