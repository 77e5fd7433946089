"""Throughput and latency of the prompt language: parse, and parse + normalise, on one core.

Usage:
    python benchmarks/prompt_bench.py [--corpus PATH] [--rounds N] [--json]

The corpus holds one prompt per line (`\\n` inside a line is a line break; lines starting with `#` are
comments). Each round runs every prompt once; a first round warms the parser and is not timed. Throughput is
prompts per second of CPU time of this process (`time.process_time`), which stays meaningful on a busy
machine, for the fastest round and for all rounds; the wall-clock figure is reported next to it. Run
it pinned to one core (`taskset -c 0`). Latency percentiles are per-prompt wall-clock times.
"""

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from anima_prompt import parse
from anima_prompt.normalize import normalize

DEFAULT_CORPUS = Path(__file__).resolve().parent / "corpus" / "prompts.txt"


def load_corpus(path: Path) -> list[str]:
    """The prompts of a corpus file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.replace("\\n", "\n") for line in lines if line and not line.startswith("#")]


def measure(prompts: list[str], work: Callable[[str], object], rounds: int) -> dict[str, float]:
    """Run `work` over the corpus `rounds` times (after one warm-up round) and summarise.

    Throughput is given for the whole run (`mean`) and for the fastest round (`best`, the figure least
    disturbed by other processes, as `timeit` recommends).
    """
    for text in prompts:
        work(text)
    latencies: list[float] = []
    round_cpu: list[float] = []
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    for _ in range(rounds):
        round_start = time.process_time()
        for text in prompts:
            started = time.perf_counter()
            work(text)
            latencies.append(time.perf_counter() - started)
        round_cpu.append(time.process_time() - round_start)
    cpu, wall = time.process_time() - cpu_start, time.perf_counter() - wall_start
    latencies.sort()
    count = len(latencies)
    return {
        "prompts": count,
        "prompts_per_cpu_second_mean": count / cpu,
        "prompts_per_cpu_second_best": len(prompts) / min(round_cpu),
        "prompts_per_wall_second_mean": count / wall,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(count - 1, int(0.99 * count))],
    }


def cpu_model() -> str:
    """The CPU model name as `lscpu` reports it (or the platform's processor string)."""
    try:
        output = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown"
    for line in output.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    prompts = load_corpus(args.corpus)
    results = {
        "machine": cpu_model(),
        "python": platform.python_version(),
        "corpus": str(args.corpus),
        "corpus_prompts": len(prompts),
        "mean_chars": sum(map(len, prompts)) / len(prompts),
        "parse": measure(prompts, parse, args.rounds),
        "parse_normalize": measure(prompts, lambda text: normalize(parse(text)), args.rounds),
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{results['machine']}, Python {results['python']}")
    print(f"corpus: {len(prompts)} prompts, {results['mean_chars']:.0f} characters on average")
    for name in ("parse", "parse_normalize"):
        row = results[name]
        print(
            f"{name:16} CPU: {row['prompts_per_cpu_second_best']:6.0f} prompts/s best round,"
            f" {row['prompts_per_cpu_second_mean']:6.0f} mean;"
            f" wall: {row['prompts_per_wall_second_mean']:6.0f} prompts/s;"
            f" latency p50 {row['p50_ms']:.3f} ms, p99 {row['p99_ms']:.3f} ms"
        )


if __name__ == "__main__":
    main()
