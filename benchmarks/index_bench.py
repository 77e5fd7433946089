"""Tag index benchmark: build time and size, lookup and implies latency, suggestion accuracy and latency.

Builds the index from the Danbooru files in the shared data folder, times `lookup` and transitive `implies`
on real names, generates a seeded set of realistic misspellings from real tags, and compares `suggest()`
with a plain rapidfuzz `process.extract` scan over all tag names in the same run.

Usage:
    python benchmarks/index_bench.py [--data ../shared/data] [--queries 2000] [--seed 0]

The error generator (`make_errors`) knows nothing about how `suggest` works. It draws target tags with
probability proportional to the square root of their post count (users type popular tags more often, but
not only the top hundred), then applies one error of a kind drawn from `ERROR_MIX`:

- `edit1` / `edit2`: one or two keyboard slips on the written form: a QWERTY neighbour typed instead or in
  addition (or a random letter, one time in four), a letter dropped, or two neighbours swapped;
- `spacing`: a space dropped between words (`izuminanase`) or put inside a word;
- `plural`: one word switched between singular and plural;
- `word_order`: a two-word character name in Western order (`miku hatsune`);
- `qualifier`: a character or artist written without its qualifier (`tracer` for `tracer_(overwatch)`).

A generated text that is itself a tag or alias is dropped (the user typed a valid tag; nothing to suggest),
as is a qualifier-less base that several tags share unless the target is the most posted of them (the text
would then mean another tag); the same holds for Western order of a qualified name. Edits are only applied to
tags of 4+ letters, two edits to tags of 8+. Underscore/space mixing (`hatsune_miku`, `Hatsune Miku`) is not
in the set: the normaliser maps it to the tag itself, so such texts are valid spellings (unit-tested).
"""

import argparse
import csv
import math
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from anima_prompt.index.query import TagIndex  # noqa: E402
from anima_prompt.index.suggest import suggest  # noqa: E402
from anima_prompt.tagtext import danbooru_name, split_qualifier  # noqa: E402

ERROR_MIX: dict[str, float] = {
    "edit1": 0.30,
    "edit2": 0.15,
    "spacing": 0.15,
    "plural": 0.10,
    "word_order": 0.10,
    "qualifier": 0.15,
}
QWERTY_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")


@dataclass(frozen=True)
class Case:
    kind: str
    text: str
    target: str


def _neighbours() -> dict[str, str]:
    position = {ch: (r, c) for r, row in enumerate(QWERTY_ROWS) for c, ch in enumerate(row)}
    return {
        ch: "".join(
            o for o, (r2, c2) in position.items() if o != ch and abs(r - r2) <= 1 and abs(c - c2) <= 1
        )
        for ch, (r, c) in position.items()
    }


NEIGHBOURS = _neighbours()


def _slip(text: str, rng: random.Random) -> str:
    letters = [i for i, ch in enumerate(text) if ch.isalnum()]
    i = rng.choice(letters)
    ch = text[i]
    other = rng.choice(NEIGHBOURS.get(ch, "") or "abcdefghijklmnopqrstuvwxyz")
    if rng.random() < 0.25:
        other = rng.choice("abcdefghijklmnopqrstuvwxyz")
    op = rng.choice(("substitute", "insert", "delete", "transpose"))
    if op == "substitute":
        return text[:i] + other + text[i + 1 :]
    if op == "insert":
        return text[:i] + other + text[i:] if rng.random() < 0.5 else text[: i + 1] + other + text[i + 1 :]
    if op == "delete":
        return text[:i] + text[i + 1 :]
    j = i + 1 if i + 1 < len(text) else i - 1
    a, b = sorted((i, j))
    return text[:a] + text[b] + text[a] + text[b + 1 :]


def _plural(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("s"):
        return word[:-1]
    if word.endswith("y") and len(word) > 3 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + ("es" if word.endswith(("sh", "ch", "x")) else "s")


def make_errors(
    tags: dict[str, tuple[int, int]], known: set[str], count: int, seed: int
) -> tuple[list[Case], Counter[str]]:
    """A seeded list of misspelt tags.

    `tags` maps each name to (category, post_count); `known` holds every name and alias.
    """
    rng = random.Random(seed)
    names = list(tags)
    weights = [math.sqrt(tags[name][1]) for name in names]
    by_base: dict[str, list[str]] = defaultdict(list)
    for name in names:
        base, qualifier = split_qualifier(name)
        if qualifier:
            by_base[base].append(name)
    makers: dict[str, Callable[[str], str | None]] = {}

    def display(name: str) -> str:
        return name.replace("_", " ")

    def edit(name: str, times: int) -> str | None:
        letters = sum(ch.isalpha() for ch in name)
        if letters < (8 if times == 2 else 4):
            return None
        text = display(name)
        for _ in range(times):
            text = _slip(text, rng)
        return text

    def spacing(name: str) -> str | None:
        text = display(name)
        spaces = [i for i, ch in enumerate(text) if ch == " "]
        if spaces and rng.random() < 0.7:
            i = rng.choice(spaces)
            return text[:i] + text[i + 1 :]
        inner = [i for i in range(2, len(text) - 2) if text[i - 2 : i + 2].isalpha()]
        if not inner:
            return None
        i = rng.choice(inner)
        return text[:i] + " " + text[i:]

    def plural(name: str) -> str | None:
        words = name.split("_")
        choices = [i for i, w in enumerate(words) if w.isalpha() and len(w) >= 3]
        if not choices:
            return None
        i = rng.choice(choices)
        words[i] = _plural(words[i])
        return " ".join(words)

    def means_target(name: str) -> bool:
        base, qual = split_qualifier(name)
        return qual is None or (base not in known and max(by_base[base], key=lambda o: tags[o][1]) == name)

    def word_order(name: str) -> str | None:
        base, _ = split_qualifier(name)
        words = base.split("_")
        if tags[name][0] != 4 or len(words) != 2 or not all(w.isalpha() for w in words):
            return None
        return f"{words[1]} {words[0]}" if means_target(name) else None

    def qualifier(name: str) -> str | None:
        base, qual = split_qualifier(name)
        if qual is None or tags[name][0] not in (1, 4):
            return None
        return display(base) if means_target(name) else None

    makers.update(
        edit1=lambda n: edit(n, 1),
        edit2=lambda n: edit(n, 2),
        spacing=spacing,
        plural=plural,
        word_order=word_order,
        qualifier=qualifier,
    )
    cases: list[Case] = []
    kinds = list(ERROR_MIX)
    kind_weights = list(ERROR_MIX.values())
    tried: Counter[str] = Counter()
    while len(cases) < count:
        kind = rng.choices(kinds, kind_weights)[0]
        for _attempt in range(200):
            target = rng.choices(names, weights)[0]
            text = makers[kind](target)
            tried[kind] += 1
            if text is None or danbooru_name(text) in known:
                continue
            cases.append(Case(kind, text, target))
            break
    return cases, tried


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _score(
    cases: list[Case], rank: Callable[[str], list[str]]
) -> tuple[float, float, list[float], dict[str, tuple[int, int]]]:
    first = top5 = 0
    times: list[float] = []
    per_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for case in cases:
        started = time.perf_counter()
        names = rank(case.text)
        times.append((time.perf_counter() - started) * 1000)
        hit = bool(names) and names[0] == case.target
        first += hit
        top5 += case.target in names[:5]
        per_kind[case.kind][0] += hit
        per_kind[case.kind][1] += 1
    return (
        100 * first / len(cases),
        100 * top5 / len(cases),
        times,
        {k: tuple(v) for k, v in per_kind.items()},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--wratio-queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--popularity", type=float, default=None, help="override suggest()'s prior weight")
    parser.add_argument("--no-baseline", action="store_true", help="skip the plain-scan comparison")
    parser.add_argument("--db", type=Path, help="reuse a built index instead of building one")
    args = parser.parse_args()
    danbooru = args.data / "danbooru"
    csv_path = danbooru / "danbooru_2025-05-01_pt25-ia-dd.csv"

    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "tags.sqlite"
        if args.db is None:
            started, cpu = time.perf_counter(), time.process_time()
            TagIndex.build(
                [
                    csv_path,
                    danbooru / "tag_aliases_2025-05-01.json.gz",
                    danbooru / "tag_implications_2025-05-01.json.gz",
                ],
                db,
            )
            print(
                f"build: {time.perf_counter() - started:.1f} s wall, {time.process_time() - cpu:.1f} s CPU, "
                f"{db.stat().st_size / 1e6:.1f} MB"
            )
        index = TagIndex.open(db)
        run(index, csv_path, args)
        index.close()


def run(index: TagIndex, csv_path: Path, args: argparse.Namespace) -> None:
    from rapidfuzz import fuzz, process

    tags: dict[str, tuple[int, int]] = {}
    known: set[str] = set()
    with csv_path.open(encoding="utf-8", newline="") as stream:
        for name, category, count, aliases in csv.reader(stream):
            tags[name] = (int(category), int(count))
            known.add(name)
            known.update(a for a in aliases.split(",") if a)
    known.update(spelling for spelling in _all_alias_keys(index))
    cases, _ = make_errors(tags, known, args.queries, args.seed)

    rng = random.Random(args.seed)
    sample = rng.choices(list(tags), [math.sqrt(c) for _, c in tags.values()], k=2000)
    for name in sample[:50]:
        index.lookup(name)
    lookup_times = []
    for name in sample:
        started = time.perf_counter()
        index.lookup(name.replace("_", " "))
        lookup_times.append((time.perf_counter() - started) * 1000)
    print(
        f"lookup: p50 {_percentile(lookup_times, 0.5):.3f} ms, p99 {_percentile(lookup_times, 0.99):.3f} ms"
    )
    implies_times = []
    implied = 0
    for name in sample:
        started = time.perf_counter()
        implied += bool(index.implies(name.replace("_", " ")))
        implies_times.append((time.perf_counter() - started) * 1000)
    print(
        f"implies (transitive): p50 {_percentile(implies_times, 0.5):.3f} ms, "
        f"p99 {_percentile(implies_times, 0.99):.3f} ms ({implied} of {len(sample)} names imply a tag)"
    )

    options = {} if args.popularity is None else {"popularity": args.popularity}
    for case in cases[:50]:
        suggest(case.text + "x", index, **options)
    ours = _score(cases, lambda text: [s.name for s in suggest(text, index, **options)])
    choices = list(tags)

    def scan(scorer: Callable[..., float]) -> Callable[[str], list[str]]:
        return lambda text: [
            m[0] for m in process.extract(danbooru_name(text), choices, scorer=scorer, limit=5)
        ]

    if args.no_baseline:
        print(
            f"suggest: first {ours[0]:.1f}%, top 5 {ours[1]:.1f}%, p50 {_percentile(ours[2], 0.5):.2f} ms, "
            f"p99 {_percentile(ours[2], 0.99):.2f} ms"
        )
        return
    ratio = _score(cases, scan(fuzz.ratio))
    wratio = _score(cases[: args.wratio_queries], scan(fuzz.WRatio))
    kinds = Counter(case.kind for case in cases)
    print(
        f"\nerror set: {len(cases)} queries, seed {args.seed}: "
        + ", ".join(f"{k} {v}" for k, v in kinds.items())
    )
    print(f"machine: {_cpu_model()}, Python {platform.python_version()}\n")
    print("| method | queries | first | top 5 | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    for label, (first, top5, times, _) in (
        ("`suggest()` (SQL shortlist + rapidfuzz)", ours),
        ("`process.extract`, `fuzz.ratio`, all names", ratio),
        ("`process.extract`, `fuzz.WRatio`, all names", wratio),
    ):
        print(
            f"| {label} | {len(times)} | {first:.1f}% | {top5:.1f}% | "
            f"{_percentile(times, 0.5):.2f} | {_percentile(times, 0.99):.2f} |"
        )
    print("\nfirst-place accuracy by error kind (suggest / ratio scan):")
    for kind in ERROR_MIX:
        a, n = ours[3].get(kind, (0, 0))
        b, _ = ratio[3].get(kind, (0, 0))
        if n:
            print(f"  {kind:<11} {100 * a / n:5.1f}% / {100 * b / n:5.1f}%  ({n})")
    misses = [(c.text, c.target, [s.name for s in suggest(c.text, index, **options)][:3]) for c in cases]
    misses = [m for m in misses if not m[2] or m[2][0] != m[1]]
    print(f"\nfirst 15 misses of {len(misses)}:")
    for text, target, got in misses[:15]:
        print(f"  {text!r} -> wanted {target}, got {got}")
    print(f"\nstatistics: suggest mean {statistics.mean(ours[2]):.2f} ms")


def _all_alias_keys(index: TagIndex) -> list[str]:
    return [row[0] for row in index._query("SELECT key FROM names WHERE kind = 1")]


def _cpu_model() -> str:
    try:
        output = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown CPU"
    for line in output.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


if __name__ == "__main__":
    main()
