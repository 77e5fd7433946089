"""Dataset mode throughput: `anima lint --dataset` over a generated LoRA dataset of caption files.

Builds the tag index from the shared Danbooru data (or uses `--db`), writes a dataset of `--files` caption
files, each beside an empty `.png` (a character tag, a safety tag and 12 to 30 general tags drawn from the
most used Danbooru tags, Zipf-weighted as real captions are, some with raw underscores or typos), then
times `anima lint --dataset DIR` as a subprocess with `--jobs 1` and `--jobs 2` (process start, index
opening and output included; the summary only, then every finding as JSON), best of `--runs`. CPU is the
command's user + system time, which the machine's other load changes less than the wall time.

Usage: python benchmarks/dataset_bench.py [--data ../shared/data] [--db tags.sqlite] [--files 2000]
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lint_bench import build_index, load_tags, written

ROOT = Path(__file__).resolve().parent.parent
SAFETY = ["safe", "safe", "safe", "sensitive"]


def make_dataset(folder: Path, tags: dict[int, list[str]], count: int, seed: int = 5) -> None:
    """`count` captions in `folder`, with an empty image beside each."""
    rng = random.Random(seed)
    general = tags[0][:3000]
    weights = [1 / (rank + 1) for rank in range(len(general))]
    character = rng.choice(tags[4][:200])
    for number in range(count):
        picked = dict.fromkeys(rng.choices(general, weights, k=rng.randint(12, 30)))
        names = [character, rng.choice(SAFETY), *picked]
        text = ", ".join(written(name, rng) for name in names)
        (folder / f"{number:05d}.txt").write_text(text + "\n", encoding="utf-8")
        (folder / f"{number:05d}.png").write_bytes(b"")


OUTPUTS = {"summary": ["--statistics"], "json": ["--format", "json"]}
"""The outputs timed: the summary only (`--statistics`), and every finding, tag and the summary as JSON."""


def time_cli(folder: Path, db: Path, jobs: int, output: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one `anima lint --dataset` run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    command = [sys.executable, "-m", "anima_prompt", "lint", "--dataset", str(folder), "--db", str(db)]
    subprocess.run([*command, "--jobs", str(jobs), *output], stdout=subprocess.DEVNULL, check=False, cwd=ROOT)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--db", type=Path, help="tag index (default: built from --data into a temp folder)")
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        db = args.db or build_index(args.data, folder)
        dataset = folder / "dataset"
        dataset.mkdir()
        make_dataset(
            dataset, load_tags(args.data / "danbooru" / "danbooru_2025-05-01_pt25-ia-dd.csv"), args.files
        )
        for name, output in OUTPUTS.items():
            for jobs in (1, 2):
                runs = [time_cli(dataset, db, jobs, output) for _ in range(args.runs)]
                wall, cpu = min(runs)
                walls = ", ".join(f"{args.files / w:,.0f}" for w, _ in runs)
                rate = f"{args.files / wall:,.0f} files/s best ({walls} in {args.runs} runs)"
                print(f"{name}, --jobs {jobs}: {rate}; best {wall:.2f} s wall, {cpu:.2f} s CPU")


if __name__ == "__main__":
    main()
