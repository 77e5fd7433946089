"""docs/reliability.md is the table the fault-injection suite generates, with a row for every fault class."""

import pytest

from tests.faults.report import DOC, FAULTS, render, rows_in_doc, table_lines


def test_reliability_doc_is_current(request: pytest.FixtureRequest) -> None:
    if request.config.getoption("--update-reliability"):
        pytest.skip("the fault tests are rewriting docs/reliability.md")
    text = DOC.read_text(encoding="utf-8")
    rows = rows_in_doc(text)
    assert list(rows) == [fault.key for fault in FAULTS], "a fault class has no row: run --update-reliability"
    assert len(table_lines(text)) == len(FAULTS), "docs/reliability.md has rows of no fault class"
    assert text == render(rows)
