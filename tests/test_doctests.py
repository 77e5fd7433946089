"""The examples in the prompt modules' docstrings run and give what they say."""

import doctest
import importlib

import pytest

MODULES = [
    "anima_prompt",
    "anima_prompt.nodes",
    "anima_prompt.parser",
    "anima_prompt.render",
    "anima_prompt.normalize",
    "anima_prompt.weights",
    "anima_prompt.tagtext",
    "anima_prompt.vocab",
    "anima_prompt.sections",
    "anima_prompt.index.records",
    "anima_prompt.loras",
    "anima_prompt.lint",
    "anima_prompt.editor.services",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no docstring examples to run"
    assert result.failed == 0
