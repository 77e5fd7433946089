"""Checks of the labelled corpus of real prompts (`prompts.jsonl`, `boundary.jsonl`, `findings.jsonl`).

The files are data for `benchmarks/lint_precision.py`; these tests keep them well-formed: the schema, ids,
offsets that point at the text they name, every prompt labelled, licences and sources present.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from anima_prompt.lint.registry import all_rules

CORPUS = Path(__file__).resolve().parent
KINDS = {"tags", "hybrid", "prose", "caption", "template"}
SPLITS = {"dev", "holdout"}
UNIT_LABELS = {"tag", "artist", "prose", "syntax"}
SETTING_TYPES: dict[str, tuple[type, ...]] = {
    "cfg": (int, float),
    "steps": (int,),
    "width": (int,),
    "height": (int,),
    "sampler": (str,),
    "scheduler": (str,),
    "variant": (str,),
}
PROMPT_FIELDS = {
    "id",
    "kind",
    "model",
    "split",
    "prompt",
    "negative",
    "settings",
    "source",
    "licence",
    "collected",
}
FINDING_FIELDS = {"id", "target", "code", "start", "end", "text", "message", "label", "reason"}
LETTER = re.compile(r"[^\W\d_]")


def read(name: str) -> list[dict[str, Any]]:
    lines = (CORPUS / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def prompts() -> list[dict[str, Any]]:
    return read("prompts.jsonl")


@pytest.fixture(scope="module")
def by_id(prompts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {record["id"]: record for record in prompts}


def normalised(text: str) -> str:
    return " ".join(text.split())


def test_prompt_records_have_the_schema(prompts: list[dict[str, Any]]) -> None:
    assert len(prompts) >= 220
    for record in prompts:
        where = record.get("id")
        assert set(record) == PROMPT_FIELDS, where
        assert record["kind"] in KINDS, where
        assert record["split"] in SPLITS, where
        assert isinstance(record["prompt"], str) and record["prompt"].strip(), where
        assert record["negative"] is None or (
            isinstance(record["negative"], str) and record["negative"].strip()
        )
        assert isinstance(record["model"], str) and record["model"].strip(), where
        assert isinstance(record["source"], str) and record["source"].strip(), where
        assert isinstance(record["licence"], str) and record["licence"].strip(), where
        datetime.date.fromisoformat(record["collected"])
        assert isinstance(record["settings"], dict), where
        for key, value in record["settings"].items():
            assert key in SETTING_TYPES, (where, key)
            assert isinstance(value, SETTING_TYPES[key]) and not isinstance(value, bool), (where, key)


def test_prompt_ids_are_unique_and_derived_from_the_text(prompts: list[dict[str, Any]]) -> None:
    ids = [record["id"] for record in prompts]
    assert len(ids) == len(set(ids))
    for record in prompts:
        digest = hashlib.sha1(normalised(record["prompt"]).encode()).hexdigest()[:8]
        assert record["id"] == "p" + digest


def test_no_prompt_repeats_up_to_white_space(prompts: list[dict[str, Any]]) -> None:
    texts = Counter(normalised(record["prompt"]) for record in prompts)
    assert texts.most_common(1)[0][1] == 1


def test_holdout_is_a_quarter_of_each_kind(prompts: list[dict[str, Any]]) -> None:
    for kind in KINDS:
        records = [record for record in prompts if record["kind"] == kind]
        holdout = sum(record["split"] == "holdout" for record in records)
        assert records and holdout == round(len(records) * 0.25), kind


def test_boundary_labels_every_prompt_in_order(prompts: list[dict[str, Any]]) -> None:
    entries = read("boundary.jsonl")
    assert [entry["id"] for entry in entries] == [record["id"] for record in prompts]
    for entry in entries:
        assert set(entry) == {"id", "units"}
        assert entry["units"], entry["id"]


def test_boundary_units_point_at_their_text(by_id: dict[str, dict[str, Any]]) -> None:
    for entry in read("boundary.jsonl"):
        text = by_id[entry["id"]]["prompt"]
        last_end = 0
        for unit in entry["units"]:
            where = (entry["id"], unit.get("text"))
            assert set(unit) == {"text", "start", "label"}, where
            assert unit["label"] in UNIT_LABELS, where
            assert unit["text"] and unit["text"] == unit["text"].strip(), where
            start, end = unit["start"], unit["start"] + len(unit["text"])
            assert text[start:end] == unit["text"], where
            assert start >= last_end, where
            assert not LETTER.search(text[last_end:start]), (entry["id"], text[last_end:start])
            last_end = end
        assert not LETTER.search(text[last_end:]), (entry["id"], text[last_end:])


def test_findings_are_keyed_and_labelled(by_id: dict[str, dict[str, Any]]) -> None:
    codes = set(all_rules())
    keys = set()
    for entry in read("findings.jsonl"):
        where = (entry.get("id"), entry.get("code"), entry.get("start"))
        assert set(entry) - {"suggestions", "same_as"} == FINDING_FIELDS, where
        suggestions = entry.get("suggestions", [])
        assert isinstance(suggestions, list) and all(isinstance(item, str) for item in suggestions), where
        assert entry["id"] in by_id, where
        assert entry["code"] in codes, where
        assert entry["label"] in {"correct", "wrong"}, where
        assert entry["reason"].strip() and "\n" not in entry["reason"], where
        record = by_id[entry["id"]]
        if entry["target"] == "settings":
            assert entry["start"] is None and entry["end"] is None and entry["text"] is None, where
        else:
            assert entry["target"] in {"prompt", "negative"}, where
            source = record["prompt"] if entry["target"] == "prompt" else record["negative"]
            assert source is not None, where
            assert 0 <= entry["start"] <= entry["end"] <= len(source), where
            assert source[entry["start"] : entry["end"]] == entry["text"], where
        key = (entry["id"], entry["target"], entry["code"], entry["start"], entry["end"], entry["text"])
        assert key not in keys, where
        keys.add(key)


def test_a_moved_label_names_a_correct_label_of_the_same_rule() -> None:
    entries = list(read("findings.jsonl"))
    labels = {(e["id"], e["target"], e["code"], e["start"], e["end"], e["text"]): e for e in entries}
    for entry in entries:
        moved = entry.get("same_as")
        if moved is None:
            continue
        where = (entry["id"], entry["code"], entry["start"])
        assert entry["label"] == "correct" and set(moved) == {"start", "end", "text"}, where
        key = (entry["id"], entry["target"], entry["code"], moved["start"], moved["end"], moved["text"])
        assert key != (
            entry["id"],
            entry["target"],
            entry["code"],
            entry["start"],
            entry["end"],
            entry["text"],
        )
        assert labels[key]["label"] == "correct", where
