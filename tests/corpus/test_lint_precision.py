"""Tests of `benchmarks/lint_precision.py`: matching findings to labels, fix damage and the boundary check."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from anima_prompt import parse
from anima_prompt.lint import Linter

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "lint_precision.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lint_precision", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def record(rid: str, prompt: str, split: str = "dev") -> dict[str, object]:
    return {"id": rid, "kind": "tags", "split": split, "prompt": prompt, "negative": None, "settings": {}}


def unit(text: str, prompt: str, label: str) -> dict[str, object]:
    return {"text": text, "start": prompt.index(text), "label": label}


def test_parsed_as_names_what_the_parser_made_of_each_unit(bench: ModuleType) -> None:
    text = "1girl, @wlop, A cat sleeps on a warm mat. <lora:style:0.8>"
    prompt = parse(text)
    assert bench.parsed_as(prompt, unit("1girl", text, "tag")) == "tag"
    assert bench.parsed_as(prompt, unit("@wlop", text, "artist")) == "artist"
    assert bench.parsed_as(prompt, unit("A cat sleeps on a warm mat", text, "prose")) == "prose"
    assert bench.parsed_as(prompt, unit("cat", text, "prose")) == "prose"
    assert bench.parsed_as(prompt, unit("<lora:style:0.8>", text, "syntax")) == "syntax"
    assert bench.parsed_as(prompt, unit("1gi", text, "tag")) == "split"


def test_an_edit_touches_a_unit_only_inside_it(bench: ModuleType) -> None:
    prose = {"text": "a b", "start": 2, "label": "prose"}
    assert bench.edits("x,a b", "x, a b") == [(2, 2)]
    assert not bench.touches(2, 2, prose)  # an insertion before the unit
    assert bench.touches(3, 3, prose)
    assert bench.touches(0, 3, prose)
    assert not bench.touches(0, 2, prose)


def test_fix_check_reports_edits_of_prose_only(bench: ModuleType) -> None:
    text = "1girl, long_hair, A girl reads a book."
    units = (
        unit("1girl", text, "tag"),
        unit("long_hair", text, "tag"),
        unit("A girl reads a book", text, "prose"),
    )
    result = bench.fix_check(Linter(), record("p1", text), units)
    assert result == {"changed": True, "damaged": [], "unstable": False}
    as_prose = (units[0], {**units[1], "label": "prose"}, units[2])
    assert bench.fix_check(Linter(), record("p1", text), as_prose)["damaged"] == ["long_hair"]


def test_measure_matches_findings_to_labels(bench: ModuleType) -> None:
    linter = Linter()
    records = (record("p1", "1girl,solo,long_hair"), record("p2", "Smile, 1girl", split="holdout"))
    found = bench.lint_all(linter, records)
    assert len(found) >= 2
    first, second = found[0], found[1]
    labels = {
        bench.label_key(first): {**first, "label": "correct"},
        bench.label_key(second): {**second, "label": "wrong"},
    }
    gone = {**first, "code": "ANM-TAG-999", "label": "correct"}
    labels[bench.label_key(gone)] = gone
    units = {item["id"]: (unit(item["prompt"], item["prompt"], "tag"),) for item in records}
    corpus = bench.Corpus(records, units, labels)

    result = bench.measure(corpus, linter, "all")

    assert result["overall"] == {
        "correct": 1,
        "wrong": 1,
        "unlabelled": len(found) - 2,
        "precision": 0.5,
    }
    assert [bench.label_key(entry) for entry in result["lost"]] == [bench.label_key(gone)]
    assert len(result["unlabelled"]) == len(found) - 2
    assert bench.measure(corpus, linter, "holdout")["records"] == 1


def test_a_label_whose_warning_moved_counts_as_moved_not_lost(bench: ModuleType) -> None:
    linter = Linter()
    records = (record("p1", "1girl,solo,long_hair"),)
    (given, *_) = bench.lint_all(linter, records)
    labels = {bench.label_key(given): {**given, "label": "correct"}}
    span = {"start": given["start"], "end": given["end"], "text": given["text"]}
    earlier = {**given, "start": 99, "end": 99, "text": "", "label": "correct", "same_as": span}
    labels[bench.label_key(earlier)] = earlier
    units = {"p1": (unit(records[0]["prompt"], records[0]["prompt"], "tag"),)}

    result = bench.measure(bench.Corpus(records, units, labels), linter, "all")
    assert result["lost"] == [] and [entry["start"] for entry in result["moved"]] == [99]

    labels[bench.label_key(given)] = {**given, "label": "wrong"}  # the new finding must be right too
    result = bench.measure(bench.Corpus(records, units, labels), linter, "all")
    assert [bench.label_key(entry) for entry in result["lost"]] == [bench.label_key(earlier)]


def test_suggestion_figures_count_offered_right_and_missed(bench: ModuleType) -> None:
    def entry(text: str, suggestions: list[str]) -> dict[str, object]:
        return {
            "id": "p1",
            "target": "prompt",
            "code": "ANM-TAG-004",
            "start": 0,
            "end": len(text),
            "text": text,
            "suggestions": suggestions,
        }

    found = [entry("a", ["b"]), entry("c", ["d"]), entry("e", []), entry("f", [])]
    labels = {
        bench.label_key(found[0]): {**found[0], "label": "correct", "reason": "the suggestion is right"},
        bench.label_key(found[1]): {**found[1], "label": "wrong", "reason": "suggests something else"},
        bench.label_key(found[2]): {**found[2], "label": "wrong", "reason": "misses the tag meant"},
        bench.label_key(found[3]): {**found[3], "label": "correct", "reason": "no tag meant"},
    }
    figures = bench.suggestion_figures(found, labels)
    assert figures == {"offered": 2, "right": 1, "missed": 1, "precision": 0.5, "recall": 0.5}
    stale = {**labels[bench.label_key(found[0])], "suggestions": ["x"]}
    assert bench.label_of(found[0], {bench.label_key(found[0]): stale}) is None
