"""Checked shapes of JSON and TOML values."""

from anima_prompt.shapes import items, strings, table


def test_table() -> None:
    assert table({"a": 1}) == {"a": 1}
    assert table({1: "a"}) is None
    assert table([("a", 1)]) is None


def test_items_and_strings() -> None:
    assert items([1, "a"]) == [1, "a"]
    assert items("ab") is None
    assert strings(["a", "b"]) == ["a", "b"]
    assert strings(["a", 1]) is None
    assert strings(None) is None
