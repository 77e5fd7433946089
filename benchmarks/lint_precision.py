"""Linter precision on real prompts: today's code against the labelled corpus in `tests/corpus/`.

The corpus holds real prompts (`prompts.jsonl`), the units a careful reader sees in each (`boundary.jsonl`)
and a label for every finding the linter once gave (`findings.jsonl`). This script lints every record of the
chosen split with the full Danbooru index, the shared tokenizers and the record's settings, then prints

1. precision (correct / labelled findings) per rule, per prompt kind, per split and overall;
2. findings with no label (they must be labelled before a figure is trusted) and findings labelled
   `correct` that the linter no longer gives (lost);
3. fix damage: prompts whose `Linter.fix` output edits a `prose` unit (the text between units holds only
   separators, brackets and weights), and prompts where fixing the fixed text changes it again; and the
   precision and recall of the unknown-tag suggestions (see `suggestion_figures`);
4. boundary accuracy: per labelled unit, whether `parse()` gives it the matching node (tag/artist: a `Tag`/
   `Artist` covering exactly the unit; prose: inside a `Phrase`; syntax: inside a `Foreign`/`ForeignGroup`),
   with a confusion table; once for `parse()` (no index) and once for the linter's parser, which reads
   items with the tag index.

A finding is matched to its label by (id, target, code, start, end, text): offsets into the prompt or the
negative prompt, and the source text they cover (settings findings have no span; start, end and text are
null). A label that also records the suggestions it judged (`suggestions`, as unknown-tag labels do) holds
only while the finding makes the same suggestions; otherwise the finding counts as unlabelled until it is
labelled again. A correct label whose rule now gives the same warning at another span (a rule that reports
once per prompt anchoring it elsewhere) names that span in `same_as`; it counts as moved, not lost, while
that finding is given and labelled correct. `--unlabelled FILE` writes the unlabelled findings as JSONL
records ready to be labelled; `--wrong` lists the findings labelled wrong, by prompt kind, with each
label's reason.

Usage: python benchmarks/lint_precision.py [--db tags.sqlite] [--data ../shared/data]
       [--split dev|holdout|all] [--json] [--unlabelled FILE] [--wrong]
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import hashlib
import json
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from anima_prompt import LintConfig, LintSettings, Prompt, TagIndex, parse  # noqa: E402
from anima_prompt.lint import Linter  # noqa: E402
from anima_prompt.lint.findings import Finding, Target  # noqa: E402
from anima_prompt.nodes import Artist, Foreign, ForeignGroup, Phrase, Tag, walk  # noqa: E402

CORPUS = ROOT / "tests" / "corpus"
SPLITS = ("dev", "holdout", "all")
LABELS = ("tag", "artist", "prose", "syntax")
#: Environment variables that would make the run depend on the machine (tokenizers, LoRA folders).
MACHINE_ENV = ("ANIMA_TOKENIZERS", "ANIMA_LORA_DIR", "COMFYUI_PATH")
SETTING_KEYS = frozenset(item.name for item in dataclasses.fields(LintSettings))
Key = tuple[str, str, str, int | None, int | None, str | None]


@dataclass(frozen=True, slots=True)
class Corpus:
    """The three corpus files, read.

    Attributes:
        records: `prompts.jsonl` records in file order.
        units: the labelled units of each record, by id.
        labels: the `findings.jsonl` records by key.
    """

    records: tuple[dict[str, Any], ...]
    units: dict[str, tuple[dict[str, Any], ...]]
    labels: dict[Key, dict[str, Any]]

    def select(self, split: str) -> tuple[dict[str, Any], ...]:
        """The records of `split` (`dev`, `holdout` or `all`)."""
        return tuple(record for record in self.records if split == "all" or record["split"] == split)


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSONL file, one per non-empty line."""
    with path.open(encoding="utf-8") as stream:
        for line in stream:
            if line.strip():
                yield json.loads(line)


def label_key(entry: dict[str, Any]) -> Key:
    """The key of a labelled or reported finding."""
    return (entry["id"], entry["target"], entry["code"], entry["start"], entry["end"], entry["text"])


def label_of(entry: dict[str, Any], labels: dict[Key, dict[str, Any]]) -> dict[str, Any] | None:
    """The label of a reported finding, or None when it has none or its label is stale: the label records
    the suggestions it judged and the finding now makes others."""
    label = labels.get(label_key(entry))
    if label is None or ("suggestions" in label and label["suggestions"] != entry["suggestions"]):
        return None
    return label


def successor_key(entry: dict[str, Any]) -> Key | None:
    """The key of the finding a label's `same_as` names (the same warning, now given at another span of the
    same rule, record and target), or None when the label has no `same_as`."""
    moved = entry.get("same_as")
    if moved is None:
        return None
    return (entry["id"], entry["target"], entry["code"], moved["start"], moved["end"], moved["text"])


def load_corpus(folder: Path = CORPUS) -> Corpus:
    """Read `prompts.jsonl`, `boundary.jsonl` and `findings.jsonl` from `folder`."""
    records = tuple(read_jsonl(folder / "prompts.jsonl"))
    units = {entry["id"]: tuple(entry["units"]) for entry in read_jsonl(folder / "boundary.jsonl")}
    labels = {label_key(entry): entry for entry in read_jsonl(folder / "findings.jsonl")}
    return Corpus(records, units, labels)


def tag_index(db: Path | None, data: Path) -> Path:
    """`db`, or an index built once from the shared Danbooru files into a cache folder."""
    if db is not None:
        return db
    # named after the code that writes the index, so a change of it builds a new cache
    writer = hashlib.sha1()
    for module in ("build.py", "schema.py", "sources.py"):
        writer.update((ROOT / "anima_prompt" / "index" / module).read_bytes())
    path = Path(tempfile.gettempdir()) / "anima-lint-precision" / f"tags-{writer.hexdigest()[:8]}.sqlite"
    if path.is_file():
        return path
    danbooru = data / "danbooru"
    sources = [
        danbooru / "danbooru_2025-05-01_pt25-ia-dd.csv",
        danbooru / "tag_aliases_2025-05-01.json.gz",
        danbooru / "tag_implications_2025-05-01.json.gz",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial")
    started = time.perf_counter()
    TagIndex.build(sources, partial).close()
    partial.replace(path)
    print(f"index build: {time.perf_counter() - started:.1f} s -> {path}", file=sys.stderr)
    return path


def make_linter(db: Path, data: Path) -> Linter:
    """A linter with default rules, the index at `db` and the shared tokenizers.

    The environment variables that point at tokenizers or LoRA folders are cleared first, so the findings
    do not depend on the machine.
    """
    for name in MACHINE_ENV:
        os.environ.pop(name, None)
    tokenizers = data / "tokenizers"
    config = LintConfig(tokenizers=str(tokenizers) if tokenizers.is_dir() else None)
    return Linter(config=config, index=TagIndex.open(db))


def settings_of(record: dict[str, Any]) -> LintSettings | None:
    """The record's settings the linter reads; others (`scheduler`) are kept in the corpus only."""
    known = {key: value for key, value in (record.get("settings") or {}).items() if key in SETTING_KEYS}
    return LintSettings.from_mapping(known) if known else None


def report_of(record: dict[str, Any], finding: Finding) -> dict[str, Any]:
    """A finding as a keyed JSON-ready record (the key fields, then what it says)."""
    source = record["negative"] if finding.target is Target.NEGATIVE else record["prompt"]
    span = finding.span
    return {
        "id": record["id"],
        "target": finding.target.value,
        "code": finding.code,
        "start": span.start if span else None,
        "end": span.end if span else None,
        "text": source[span.start : span.end] if span else None,
        "severity": finding.severity.label,
        "message": finding.message,
        "suggestions": list(finding.suggestions),
    }


def lint_all(linter: Linter, records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every finding of every record, as `report_of` records."""
    found = []
    for record in records:
        findings = linter.lint(record["prompt"], negative=record["negative"], settings=settings_of(record))
        found.extend(report_of(record, finding) for finding in findings)
    return found


def ratio(hits: int, total: int) -> float | None:
    """`hits / total`, or None when there is nothing to count."""
    return hits / total if total else None


def precision_table(
    found: list[dict[str, Any]], labels: dict[Key, dict[str, Any]], group: dict[str, str] | None
) -> dict[str, dict[str, Any]]:
    """Correct, wrong and unlabelled findings with precision, by rule code or by `group[record id]`."""
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for entry in found:
        name = entry["code"] if group is None else group[entry["id"]]
        label = label_of(entry, labels)
        table[name][label["label"] if label else "unlabelled"] += 1
    return {
        name: {
            "correct": counts["correct"],
            "wrong": counts["wrong"],
            "unlabelled": counts["unlabelled"],
            "precision": ratio(counts["correct"], counts["correct"] + counts["wrong"]),
        }
        for name, counts in sorted(table.items())
    }


def touches(start: int, end: int, unit: dict[str, Any]) -> bool:
    """Whether the edit replacing `[start, end)` changes the unit's text (an insertion counts inside it)."""
    unit_start, unit_end = unit["start"], unit["start"] + len(unit["text"])
    if start == end:
        return unit_start < start < unit_end
    return start < unit_end and unit_start < end


def edits(before: str, after: str) -> list[tuple[int, int]]:
    """The `[start, end)` ranges of `before` that differ in `after`."""
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    return [(i1, i2) for tag, i1, i2, _, _ in matcher.get_opcodes() if tag != "equal"]


def fix_check(linter: Linter, record: dict[str, Any], units: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    """Whether fixing the record's prompt edits prose, and whether fixing twice differs from fixing once."""
    settings = settings_of(record)
    fixed = linter.fix(record["prompt"], negative=record["negative"], settings=settings)
    again = linter.fix(fixed, negative=record["negative"], settings=settings)
    prose = [unit for unit in units if unit["label"] == "prose"]
    damaged = sorted(
        {
            unit["text"]
            for start, end in edits(record["prompt"], fixed)
            for unit in prose
            if touches(start, end, unit)
        }
    )
    return {"changed": fixed != record["prompt"], "damaged": damaged, "unstable": again != fixed}


def parsed_as(prompt: Prompt, unit: dict[str, Any]) -> str:
    """What the parser makes of a unit: `tag`/`artist` (a node exactly covering it), `prose`/`syntax` (the
    innermost phrase or foreign syntax holding it), `split` (none of these: cut or merged with other text)."""
    start, end = unit["start"], unit["start"] + len(unit["text"])
    holders = []
    for node in walk(prompt):
        if isinstance(node, Tag | Artist) and (node.span.start, node.span.end) == (start, end):
            return node.kind
        if (
            isinstance(node, Phrase | Foreign | ForeignGroup)
            and node.span.start <= start
            and end <= node.span.end
        ):
            holders.append(node)
    if not holders:
        return "split"
    innermost = min(holders, key=lambda node: node.span.end - node.span.start)
    return "prose" if isinstance(innermost, Phrase) else "syntax"


def suggestion_figures(found: list[dict[str, Any]], labels: dict[Key, dict[str, Any]]) -> dict[str, Any]:
    """How good the unknown-tag suggestions are: of the labelled findings that offer suggestions, how many
    offer the tag the user meant (precision); of the findings whose user meant a tag, how many offer it
    (recall). A finding that offers none although a tag was meant is labelled wrong with a reason that
    starts with `misses`."""
    offered = right = missed = 0
    for entry in found:
        label = label_of(entry, labels)
        if entry["code"] != "ANM-TAG-004" or label is None:
            continue
        if entry["suggestions"]:
            offered += 1
            right += label["label"] == "correct"
        elif label["label"] == "wrong" and label["reason"].startswith("misses"):
            missed += 1
    return {
        "offered": offered,
        "right": right,
        "missed": missed,
        "precision": ratio(right, offered),
        "recall": ratio(right, right + missed),
    }


def boundary_counts(
    corpus: Corpus, records: Iterable[dict[str, Any]], read: Callable[[str], Prompt] = parse
) -> Counter[tuple[str, str]]:
    """(label, what the parser made of it) for every labelled unit of `records`, parsed by `read`."""
    counts: Counter[tuple[str, str]] = Counter()
    for record in records:
        prompt = read(record["prompt"])
        for unit in corpus.units[record["id"]]:
            counts[unit["label"], parsed_as(prompt, unit)] += 1
    return counts


def boundary_figures(confusion: Counter[tuple[str, str]]) -> dict[str, Any]:
    """Accuracy per unit label and overall, and the confusion table, from `boundary_counts`."""
    per_label = {
        label: {
            "units": sum(count for (name, _), count in confusion.items() if name == label),
            "matched": confusion[label, label],
        }
        for label in LABELS
    }
    for entry in per_label.values():
        entry["accuracy"] = ratio(entry["matched"], entry["units"])
    return {
        "per_label": per_label,
        "accuracy": ratio(sum(entry["matched"] for entry in per_label.values()), sum(confusion.values())),
        "confusion": {f"{label} -> {parsed}": count for (label, parsed), count in sorted(confusion.items())},
    }


def measure(corpus: Corpus, linter: Linter, split: str) -> dict[str, Any]:
    """Every figure the script reports, for the records of `split`."""
    records = corpus.select(split)
    ids = {record["id"] for record in records}
    started = time.perf_counter()
    found = lint_all(linter, records)
    lint_seconds = time.perf_counter() - started
    produced = {label_key(entry) for entry in found}
    labels = corpus.labels
    kinds = {record["id"]: record["kind"] for record in records}
    splits = {record["id"]: record["split"] for record in records}
    judged = [(entry, label_of(entry, labels)) for entry in found]
    counted = [label for _, label in judged if label is not None]
    correct = sum(label["label"] == "correct" for label in counted)
    fixes = {record["id"]: fix_check(linter, record, corpus.units[record["id"]]) for record in records}
    return {
        "split": split,
        "records": len(records),
        "lint_seconds": lint_seconds,
        "findings": len(found),
        "overall": {
            "correct": correct,
            "wrong": len(counted) - correct,
            "unlabelled": len(found) - len(counted),
            "precision": ratio(correct, len(counted)),
        },
        "per_rule": precision_table(found, labels, None),
        "per_kind": precision_table(found, labels, kinds),
        "per_split": precision_table(found, labels, splits),
        "unlabelled": [entry for entry, label in judged if label is None],
        "wrong": [
            {**entry, "reason": label.get("reason", "")}
            for entry, label in judged
            if label is not None and label["label"] == "wrong"
        ],
        "lost": [
            entry
            for key, entry in labels.items()
            if entry["label"] == "correct"
            and entry["id"] in ids
            and key not in produced
            and not moved(entry, produced, labels)
        ],
        "moved": [
            entry
            for key, entry in labels.items()
            if entry["id"] in ids and key not in produced and moved(entry, produced, labels)
        ],
        "fix": {
            "changed": sum(item["changed"] for item in fixes.values()),
            "damaged": {name: item["damaged"] for name, item in fixes.items() if item["damaged"]},
            "unstable": sorted(name for name, item in fixes.items() if item["unstable"]),
        },
        "suggestions": suggestion_figures(found, labels),
        "boundary": boundary_figures(boundary_counts(corpus, records)),
        "boundary_with_index": boundary_figures(boundary_counts(corpus, records, linter.parser.parse)),
    }


def moved(entry: dict[str, Any], produced: set[Key], labels: dict[Key, dict[str, Any]]) -> bool:
    """Whether a correct label's warning is given at its `same_as` span, and that finding is labelled
    correct too."""
    key = successor_key(entry)
    return key is not None and key in produced and labels.get(key, {}).get("label") == "correct"


def where(entry: dict[str, Any]) -> str:
    """A finding's record, target, rule and offsets, for listing it."""
    return f"{entry['id']} {entry['target']} {entry['code']} [{entry['start']}:{entry['end']}]"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def print_table(title: str, table: dict[str, dict[str, Any]]) -> None:
    print(f"\n{title:<16} {'correct':>8} {'wrong':>6} {'unlab.':>7} {'precision':>10}")
    for name, row in table.items():
        print(
            f"{name:<16} {row['correct']:>8} {row['wrong']:>6} {row['unlabelled']:>7} "
            f"{percent(row['precision']):>10}"
        )


def print_wrong(result: dict[str, Any], kinds: dict[str, str]) -> None:
    """The findings labelled wrong, by prompt kind, each with its label's reason."""
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in result["wrong"]:
        by_kind[kinds[entry["id"]]].append(entry)
    for kind, entries in sorted(by_kind.items()):
        print(f"\nwrong findings on {kind} prompts: {len(entries)}")
        for entry in entries:
            print(f"  {where(entry)} {entry['text']!r}: {entry['reason']}")


def print_report(result: dict[str, Any]) -> None:
    overall = result["overall"]
    print(
        f"split {result['split']}: {result['records']} prompts, {result['findings']} findings "
        f"(lint {result['lint_seconds']:.1f} s)"
    )
    print(
        f"precision {percent(overall['precision'])} ({overall['correct']} correct, {overall['wrong']} wrong, "
        f"{overall['unlabelled']} unlabelled)"
    )
    print_table("rule", result["per_rule"])
    print_table("kind", result["per_kind"])
    print_table("split", result["per_split"])
    print(f"\nunlabelled findings: {len(result['unlabelled'])}")
    for entry in result["unlabelled"]:
        suggested = f" (suggests {', '.join(entry['suggestions'])})" if entry["suggestions"] else ""
        print(f"  {where(entry)} {entry['message']}{suggested}")
    print(f"lost correct findings: {len(result['lost'])}")
    for entry in result["lost"]:
        print(f"  {where(entry)} {entry['text']!r}")
    print(f"moved correct findings (the same warning at the label's `same_as` span): {len(result['moved'])}")
    for entry in result["moved"]:
        print(f"  {where(entry)} {entry['text']!r} -> {entry['same_as']['text']!r}")
    fix = result["fix"]
    print(
        f"\nfix: {fix['changed']} of {result['records']} prompts changed; {len(fix['damaged'])} with prose "
        f"edited; {len(fix['unstable'])} where fix(fix(x)) != fix(x)"
    )
    for name, texts in fix["damaged"].items():
        print(f"  damaged {name}: {', '.join(repr(text) for text in texts)}")
    for name in fix["unstable"]:
        print(f"  unstable {name}")
    suggested = result["suggestions"]
    print(
        f"\nunknown-tag suggestions: offered by {suggested['offered']} findings, the meant tag in "
        f"{suggested['right']} (precision {percent(suggested['precision'])}); the meant tag missing in "
        f"{suggested['missed']} (recall {percent(suggested['recall'])})"
    )
    for key, title in (
        ("boundary", "parse(), no index"),
        ("boundary_with_index", "the linter's parser, index"),
    ):
        print_boundary(title, result[key])


def print_boundary(title: str, boundary: dict[str, Any]) -> None:
    print(f"\nboundary accuracy ({title}) {percent(boundary['accuracy'])}")
    for label, entry in boundary["per_label"].items():
        print(
            f"  {label:<7} {entry['matched']:>5} of {entry['units']:>5} units  {percent(entry['accuracy'])}"
        )
    print("confusion (label -> parsed as):")
    for pair, count in boundary["confusion"].items():
        print(f"  {pair:<20} {count:>5}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--db", type=Path, help="tag index (default: built once from --data into a cache)")
    parser.add_argument("--split", choices=SPLITS, default="all")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--unlabelled", type=Path, help="write the unlabelled findings to this JSONL file")
    parser.add_argument("--wrong", action="store_true", help="also list the findings labelled wrong, by kind")
    args = parser.parse_args()

    corpus = load_corpus()
    linter = make_linter(tag_index(args.db, args.data), args.data)
    result = measure(corpus, linter, args.split)
    if args.unlabelled:
        lines = (json.dumps(entry, ensure_ascii=False) + "\n" for entry in result["unlabelled"])
        args.unlabelled.write_text("".join(lines), encoding="utf-8")
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        print_report(result)
    if args.wrong:
        print_wrong(result, {record["id"]: record["kind"] for record in corpus.records})


if __name__ == "__main__":
    main()
