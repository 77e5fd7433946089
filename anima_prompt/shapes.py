"""Checked shapes of values read from JSON and TOML, whose types are only known at run time.

`json.load` and `tomllib` return `Any`; after `isinstance(value, list)` a type checker still knows nothing of
the items. These functions check the items too and return precisely typed values, or None when the value
has another shape, so the caller can say what it expected.
"""

from typing import cast


def table(value: object) -> dict[str, object] | None:
    """`value` as a JSON object or TOML table (string keys), or None."""
    if not isinstance(value, dict):
        return None
    entries = cast(dict[object, object], value)
    if not all(isinstance(key, str) for key in entries):
        return None
    return cast(dict[str, object], entries)


def items(value: object) -> list[object] | None:
    """`value` as a JSON or TOML array, or None."""
    return cast(list[object], value) if isinstance(value, list) else None


def strings(value: object) -> list[str] | None:
    """`value` as an array of strings, or None (also when an item is not a string)."""
    found = items(value)
    if found is None or not all(isinstance(item, str) for item in found):
        return None
    return cast(list[str], found)
