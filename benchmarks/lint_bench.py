"""Linter throughput with the full Danbooru index, and the CLI's cold start.

Builds the tag index from the shared Danbooru data into a temporary folder (or uses `--db`), writes 1,000
realistic prompts (tag lists, mixed tags and prose, prose only; raw Danbooru spellings, weights, qualifiers,
typos, several artists) to a JSONL file, then times

1. `Linter.lint` over the file's records (the library path, one `Linter` so lookups are cached per run);
2. `anima lint --file prompts.jsonl --format json` as a subprocess (end to end, parsing and output included);
3. the cold start of `anima lint "1girl, solo"` (median of several runs).

Usage: python benchmarks/lint_bench.py [--data ../shared/data] [--db tags.sqlite] [--prompts 1000]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUALITY = [
    "masterpiece",
    "best quality",
    "good quality",
    "score_7",
    "score_8",
    "score_9",
    "highres",
    "absurdres",
]
SAFETY = ["safe", "sensitive", "nsfw", "explicit"]
COUNTS = ["1girl", "1boy", "2girls", "1other", "no humans", "multiple girls"]
SENTENCES = [
    "A girl stands on a rooftop at sunset, her hair blowing in the wind.",
    "She holds a paper umbrella while rain falls over the quiet street.",
    "The background shows a crowded festival with lanterns and food stalls.",
    "Soft light comes from the left side of the image.",
    "He looks at the viewer with a calm smile.",
    "Cherry blossoms drift across a school courtyard in spring.",
    "A small dragon sleeps on a pile of old books (in the library).",
    'The sign above the door says "welcome to the summer festival".',
]


def load_tags(csv_path: Path) -> dict[int, list[str]]:
    """Danbooru names by category, most posts first."""
    by_category: dict[int, list[tuple[int, str]]] = {}
    with csv_path.open(encoding="utf-8", newline="") as stream:
        for row in csv.reader(stream):
            by_category.setdefault(int(row[1]), []).append((int(row[2]), row[0]))
    return {
        category: [name for _, name in sorted(rows, reverse=True)] for category, rows in by_category.items()
    }


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def written(name: str, rng: random.Random, raw_share: float = 0.15) -> str:
    """A tag as users write it: mostly prompt form, sometimes the raw Danbooru spelling."""
    if rng.random() < raw_share:
        return name
    text = name.replace("_", " ")
    if "(" in text and rng.random() < 0.7:
        text = text.replace("(", "\\(").replace(")", "\\)")
    return text


def make_prompt(tags: dict[int, list[str]], rng: random.Random) -> dict[str, object]:
    general = tags[0][:3000]
    shape = rng.random()
    parts: list[str] = []
    if shape < 0.8:
        parts += rng.sample(QUALITY, rng.randint(0, 3))
        if rng.random() < 0.85:
            parts.append(rng.choice(SAFETY))
        parts.append(rng.choice(COUNTS))
        if rng.random() < 0.5:
            parts.append(written(rng.choice(tags[4][:800]), rng))
            parts.append(written(rng.choice(tags[3][:300]), rng))
        for _ in range(rng.choice([0, 1, 1, 1, 2, 3])):
            parts.append("@" + written(rng.choice(tags[1][:3000]), rng, 0.05))
        for name in rng.sample(general, rng.randint(8, 45)):
            text = written(name, rng)
            roll = rng.random()
            if roll < 0.04:
                text = typo(text, rng)
            elif roll < 0.10:
                text = f"({text}:{rng.choice(['1.2', '1.5', '2'])})"
            parts.append(text)
        if shape > 0.55:
            parts += rng.sample(SENTENCES, 2)
        prompt = ", ".join(parts)
    else:
        prompt = " ".join(rng.sample(SENTENCES, rng.randint(1, 3)))
    record: dict[str, object] = {"prompt": prompt}
    if rng.random() < 0.5:
        record["negative"] = "worst quality, low quality, score_1, score_2, score_3, artist name, nsfw"
    if rng.random() < 0.5:
        record["settings"] = {
            "cfg": rng.choice([1, 4, 4.5, 5, 7, 12]),
            "steps": rng.choice([10, 30, 40]),
            "width": rng.choice([832, 1024, 1152, 1000]),
            "height": rng.choice([1216, 1024, 896]),
            "sampler": rng.choice(["er_sde", "euler_ancestral", "dpmpp_2m_sde_gpu", "euler"]),
            "variant": rng.choice(["base", "aesthetic", "turbo"]),
        }
    return record


def build_index(data: Path, folder: Path) -> Path:
    from anima_prompt.index.query import TagIndex

    danbooru = data / "danbooru"
    sources = [
        danbooru / "danbooru_2025-05-01_pt25-ia-dd.csv",
        danbooru / "tag_aliases_2025-05-01.json.gz",
        danbooru / "tag_implications_2025-05-01.json.gz",
    ]
    path = folder / "tags.sqlite"
    started = time.perf_counter()
    TagIndex.build(sources, path).close()
    print(f"index build: {time.perf_counter() - started:.1f} s -> {path}")
    return path


def cold_start(db: Path | None, runs: int) -> float:
    """Median wall time of `anima lint "1girl, solo"` in a fresh process, with or without a tag index."""
    command = [sys.executable, "-m", "anima_prompt", "lint", "1girl, solo"]
    env = dict(os.environ, ANIMA_TAG_INDEX=str(db) if db else str(Path(tempfile.gettempdir()) / "no-index"))
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, capture_output=True, check=False, env=env)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--db", type=Path)
    parser.add_argument("--prompts", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7, help="cold-start runs (median reported)")
    args = parser.parse_args()

    from anima_prompt.index.query import TagIndex
    from anima_prompt.lint import Linter
    from anima_prompt.lint.inputs import read_file

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        db = args.db or build_index(args.data, folder)
        rng = random.Random(20250901)
        tags = load_tags(args.data / "danbooru" / "danbooru_2025-05-01_pt25-ia-dd.csv")
        prompts_file = folder / "prompts.jsonl"
        records = [make_prompt(tags, rng) for _ in range(args.prompts)]
        prompts_file.write_text("\n".join(json.dumps(record) for record in records) + "\n", encoding="utf-8")

        index = TagIndex.open(db)
        linter = Linter(index=index)
        started, cpu_started = time.perf_counter(), time.process_time()
        findings = 0
        for record in read_file(prompts_file):
            findings += len(linter.lint(record.prompt, negative=record.negative, settings=record.settings))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        print(
            f"library: {args.prompts} prompts in {elapsed:.2f} s = {args.prompts / elapsed:.0f} prompts/s "
            f"(CPU time {cpu:.2f} s = {args.prompts / cpu:.0f} prompts per CPU-second; {findings} findings)"
        )

        command = [
            sys.executable,
            "-m",
            "anima_prompt",
            "lint",
            "--file",
            str(prompts_file),
            "--db",
            str(db),
            "--format",
            "json",
        ]
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
        assert result.returncode in (0, 1), result.stderr
        print(
            f"cli: {args.prompts} prompts in {elapsed:.2f} s = {args.prompts / elapsed:.0f} prompts/s "
            f"(CPU {cpu:.2f} s; process start, file reading and JSON output included)"
        )

        for label, path in (("with the index", db), ("without an index", None)):
            median = cold_start(path, args.runs) * 1000
            print(
                f'cold start {label}: `anima lint "1girl, solo"` median {median:.0f} ms over {args.runs} runs'
            )
        index.close()


if __name__ == "__main__":
    main()
