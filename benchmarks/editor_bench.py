"""Editor services latency with the full Danbooru index: `complete` on every keystroke, `diagnose` on
600-character prompts.

Builds the tag index from the shared Danbooru data into a temporary folder (or uses `--db`), makes
600-character prompts from `benchmarks/corpus/prompts.txt`, then replays typing each prompt one character
at a time:

1. `complete(text[:i], i)` at every keystroke (the word being typed, with the text before it);
2. `diagnose(text[:i])` at every 10th keystroke and on the whole prompt (each text is new to the linter).

`warm()` runs first, as `anima serve` does at start-up; its time is reported. Targets: p99 <= 5 ms for
`complete`, <= 20 ms for `diagnose` on a 600-character prompt.

Usage: python benchmarks/editor_bench.py [--data ../shared/data] [--db tags.sqlite] [--prompts 40]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPUS = ROOT / "benchmarks" / "corpus" / "prompts.txt"
PROMPT_LENGTH = 600


def corpus_prompts() -> list[str]:
    """The corpus prompts, one a line (`\\n` in a line is a line break), comments left out."""
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    return [line.replace("\\n", "\n") for line in lines if line.strip() and not line.startswith("#")]


def long_prompts(count: int, length: int = PROMPT_LENGTH) -> list[str]:
    """`count` prompts of about `length` characters: consecutive corpus prompts joined, cut after a comma."""
    corpus = corpus_prompts()
    prompts: list[str] = []
    start = 0
    while len(prompts) < count:
        text = ""
        while len(text) < length:
            text += (", " if text else "") + corpus[start % len(corpus)]
            start += 1
        cut = text.rfind(",", 0, length)
        prompts.append(text[: cut if cut > length // 2 else length])
    return prompts


def build_index(data: Path, folder: Path) -> Path:
    from anima_prompt import TagIndex

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


def percentiles(times: list[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"n={len(ordered)}  p50 {statistics.median(ordered) * 1000:.2f} ms  p99 {p99 * 1000:.2f} ms  "
        f"max {ordered[-1] * 1000:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--db", type=Path)
    parser.add_argument("--prompts", type=int, default=40)
    args = parser.parse_args()

    from anima_prompt import TagIndex
    from anima_prompt.editor import EditorServices

    with tempfile.TemporaryDirectory() as scratch:
        db = args.db or build_index(args.data, Path(scratch))
        services = EditorServices(index=TagIndex.open(db))
        started = time.perf_counter()
        services.warm()
        print(f"warm(): {time.perf_counter() - started:.2f} s")
        prompts = long_prompts(args.prompts)
        print(f"{len(prompts)} prompts, {statistics.mean(map(len, prompts)):.0f} characters on average")
        completing: list[float] = []
        diagnosing: list[float] = []
        whole: list[float] = []
        for prompt in prompts:
            for i in range(1, len(prompt) + 1):
                text = prompt[:i]
                started = time.perf_counter()
                services.complete(text, i)
                completing.append(time.perf_counter() - started)
                if i % 10 == 0:
                    started = time.perf_counter()
                    services.diagnose(text)
                    diagnosing.append(time.perf_counter() - started)
            started = time.perf_counter()
            services.diagnose(prompt + " ")  # a text the linter has not seen
            whole.append(time.perf_counter() - started)
        print(f"complete, every keystroke:          {percentiles(completing)}")
        print(f"diagnose, every 10th keystroke:     {percentiles(diagnosing)}")
        print(f"diagnose, whole 600-char prompt:    {percentiles(whole)}")


if __name__ == "__main__":
    main()
