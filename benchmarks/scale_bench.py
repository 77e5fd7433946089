"""Scaling of `anima generate --file … --ray` over the GPUs of one host, against the in-process run.

Runs the command as a user does, each time in a fresh process that starts its own local Ray cluster:

  * in-process on GPU 0 (no `--ray`): the baseline images/s;
  * `--ray` on 1, 2, 4, … GPUs (`CUDA_VISIBLE_DEVICES` picks them; one actor per GPU);
  * the same with `--low-vram` (two actors per GPU), unless `--quick`.

Each run renders `--images` images per GPU (1024², 30 steps by default) from full-size random weights in
the official layout (`benchmarks/full_size.py`, written into DIR once and reused). Each image is timed
by its file's modification time, the moment its PNG was written (the printed paths come late and in
bursts from Ray: a call of several jobs at a time, sometimes held back until a later call is done), so:

  * first image: seconds from the start of the command (Ray start, loading, first job) to the first file;
  * images/s: the steady rate, from the k-th file to the last, where k is the actors times the images of
    a job (`memory.images_per_call`: one at 1024²), about when every actor has written its first job
    (n/a when fewer images than actors follow);
  * scaling efficiency: images/s on N GPUs ÷ (N × images/s on 1 GPU through Ray);
  * Ray overhead: 1 − (Ray on 1 GPU ÷ in-process), the "≤ 5 %" figure;
  * GPU utilisation: the mean of `nvidia-smi` samples (every 0.5 s) over the GPUs of the run, between
    the k-th and the last image.

Runs of `--images` per GPU that leave a few jobs per actor after the first give steadier figures.

    python benchmarks/scale_bench.py DIR --tokenizers ../shared/data/tokenizers            # every GPU
    python benchmarks/scale_bench.py DIR --gpus 1 --images 20                              # one GPU
    python benchmarks/scale_bench.py DIR --quick                                           # no --low-vram
    python benchmarks/scale_bench.py DIR --device cpu --tiny --size 64 --steps 2 --gpus 2  # CPU check

With `--device cpu` the "GPUs" are CPU actors (`--workers`), to check the script without a GPU; `--tiny`
uses the tiny test model instead of full-size weights. `--json PATH` also writes the rows as JSON.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from anima_engine.memory import images_per_call

REPO = Path(__file__).resolve().parent.parent
SUBJECTS = ("hatsune miku, vocaloid", "cat ears, maid", "school uniform, cherry blossoms", "witch hat, night")


@dataclass
class Row:
    """One run of the command."""

    name: str
    gpus: int
    """GPUs of the run (CPU actors with --device cpu)."""
    actors: int
    images: int
    seconds: float
    first_image: float
    per_second: float | None
    """None when the run has too few images after the first job of each actor to time a steady rate."""
    utilisation: float | None
    efficiency: float | None = None

    def cells(self) -> list[str]:
        utilisation = "n/a" if self.utilisation is None else f"{self.utilisation:.0f} %"
        efficiency = "" if self.efficiency is None else f"{self.efficiency * 100:.0f} %"
        return [
            self.name,
            str(self.gpus),
            str(self.actors),
            str(self.images),
            f"{self.seconds:.1f}",
            f"{self.first_image:.1f}",
            "n/a" if self.per_second is None else f"{self.per_second:.3f}",
            efficiency,
            utilisation,
        ]


class Sampler:
    """`nvidia-smi` utilisation samples of every GPU, with their times, in a background process."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, int, float]] = []
        self.process: subprocess.Popen[str] | None = None
        self.thread: threading.Thread | None = None

    def __enter__(self) -> "Sampler":
        if shutil.which("nvidia-smi") is None:
            return self
        query = ["nvidia-smi", "--query-gpu=index,utilization.gpu", "--format=csv,noheader,nounits"]
        self.process = subprocess.Popen([*query, "-lms", "500"], stdout=subprocess.PIPE, text=True)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        return self

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            index, _, value = line.partition(",")
            if index.strip().isdigit() and value.strip().replace(".", "").isdigit():
                self.samples.append((time.perf_counter(), int(index), float(value)))

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait()

    def mean(self, gpus: int, start: float, end: float) -> float | None:
        values = [value for at, index, value in self.samples if index < gpus and start <= at <= end]
        return sum(values) / len(values) if values else None


def child_env(args: argparse.Namespace, gpus: int) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["XDG_CACHE_HOME"] = str(args.directory / "cache")  # the sha256 cache of the model files
    env["ANIMA_TAG_INDEX"] = str(args.directory / "no-tag-index.sqlite")
    env["ANIMA_COMPILE_CACHE"] = str(args.directory / "compile-cache")
    env.pop("RAY_ADDRESS", None)
    if args.device != "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ",".join(str(gpu) for gpu in range(gpus))
    return env


def prompt_file(folder: Path, count: int) -> Path:
    path = folder / f"prompts-{count}.jsonl"
    lines = [
        json.dumps({"prompt": f"safe, 1girl, {SUBJECTS[n % len(SUBJECTS)]}, outdoors", "seed": n})
        for n in range(count)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def run(args: argparse.Namespace, sampler: Sampler, name: str, gpus: int, extra: list[str]) -> Row:
    """One command; its image lines timestamped as they come."""
    actors = gpus * (2 if "--low-vram" in extra else 1)
    images = args.images * gpus
    with tempfile.TemporaryDirectory() as scratch:
        records = prompt_file(Path(scratch), images)
        command = [sys.executable, "-m", "anima_prompt", "generate", "--file", str(records)]
        command += ["--model-dir", str(args.models), "--tokenizers", str(args.tokenizer_dir)]
        command += ["-W", str(args.size), "-H", str(args.size), "--steps", str(args.steps), "--no-lint"]
        command += ["--compile", args.compile, "-o", str(Path(scratch) / "out"), *extra]
        if args.device:
            command += ["--device", args.device]
        if "--ray" in extra and args.device == "cpu":
            command += ["--workers", str(actors)]
        begin = time.perf_counter()
        clock = time.time() - begin  # file times (wall clock) to this script's perf_counter times
        child = subprocess.Popen(
            command, env=child_env(args, gpus), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert child.stdout is not None and child.stderr is not None
        errors: list[str] = []
        reader = threading.Thread(target=lambda: errors.extend(child.stderr), daemon=True)  # type: ignore[union-attr]
        reader.start()
        printed = sum(1 for line in child.stdout if line.strip())
        code = child.wait()
        reader.join()
        seconds = time.perf_counter() - begin
        written = sorted(path.stat().st_mtime - clock for path in (Path(scratch) / "out").rglob("*.png"))
    if code != 0 or printed != images or len(written) != images:
        sys.exit(f"{name}: exit {code}, {len(written)} of {images} images\n{''.join(errors)[-3000:]}")
    # Each image is timed when its file was written, not when the command printed it: a Ray actor's
    # images reach the driver a call of several jobs at a time, and Ray Data may hold a call's
    # results back until a later one is done, so printed lines come in late bursts.
    warm = min(
        actors * images_per_call(width=args.size, height=args.size, guided=True, free_bytes=None), images
    )
    steady = written[-1] - written[warm - 1]  # from the time every actor has written its first job
    per_second = (images - warm) / steady if images - warm >= actors and steady > 0 else None
    utilisation = sampler.mean(gpus, written[warm - 1], written[-1])
    row = Row(name, gpus, actors, images, seconds, written[0] - begin, per_second, utilisation)
    rate = "n/a" if per_second is None else f"{per_second:.3f}"
    print(f"  {name}: {rate} images/s, first image after {row.first_image:.1f} s", file=sys.stderr)
    return row


def gpu_counts(args: argparse.Namespace) -> list[int]:
    if args.gpus is not None:
        most = args.gpus
    elif args.device == "cpu":
        most = 1
    else:
        import torch

        most = torch.cuda.device_count()
        if most == 0:
            sys.exit("no CUDA GPU: pass --device cpu (with --tiny) to check the script on the CPU")
    counts, count = [], 1
    while count < most:
        counts.append(count)
        count *= 2
    return [*counts, most]


def prepare_models(args: argparse.Namespace) -> None:
    """Full-size random weights (written once), or the tiny model, and the tokenizers."""
    if args.tiny:
        from anima_engine._tiny import write_tiny_model

        files = write_tiny_model(args.directory / "tiny", seed=0)
        args.models = files.dit.parent.parent
        args.tokenizer_dir = args.tokenizers or files.tokenizer_dir
        return
    subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "full_size.py"), str(args.directory)], check=True
    )
    args.models = args.directory
    if args.tokenizers is None:
        from anima_engine._tiny import write_tiny_tokenizers

        args.tokenizer_dir = write_tiny_tokenizers(args.directory / "tokenizers")
    else:
        args.tokenizer_dir = args.tokenizers


def table(rows: list[Row]) -> str:
    head = ["run", "GPUs", "actors", "images", "wall s", "first image s", "images/s", "scaling", "GPU util"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("directory", type=Path, help="folder for the full-size files (written once, reused)")
    parser.add_argument("--tokenizers", type=Path, help="folder with qwen3/ and t5/ tokenizer.json")
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--images", type=int, default=16, help="images per GPU in each run [16]")
    parser.add_argument("--gpus", type=int, help="most GPUs to use [all]; runs 1, 2, 4, … up to it")
    parser.add_argument("--quick", action="store_true", help="no --low-vram runs")
    parser.add_argument("--compile", default="never", choices=("never", "auto", "always"))
    parser.add_argument("--device", help="cpu: CPU actors instead of GPUs (a check of the script)")
    parser.add_argument(
        "--tiny", action="store_true", help="the tiny test model instead of full-size weights"
    )
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args()
    args.directory.mkdir(parents=True, exist_ok=True)
    prepare_models(args)
    counts = gpu_counts(args)
    rows: list[Row] = []
    with Sampler() as sampler:
        local = run(args, sampler, "in-process", 1, [])
        rows.append(local)
        ray_rows = [run(args, sampler, f"--ray, {n} GPU", n, ["--ray"]) for n in counts]
        if not args.quick:
            ray_rows += [
                run(args, sampler, f"--ray --low-vram, {n} GPU", n, ["--ray", "--low-vram"]) for n in counts
            ]
    base = {row.actors // row.gpus: row for row in ray_rows if row.gpus == 1}
    for row in ray_rows:
        one = base.get(row.actors // row.gpus)
        if one is not None and one.per_second and row.per_second is not None:
            row.efficiency = row.per_second / (row.gpus * one.per_second)
    rows += ray_rows
    one_gpu = base.get(1)
    print(table(rows))
    if one_gpu is not None and one_gpu.per_second is not None and local.per_second:
        print(f"\nRay overhead on one GPU: {(1 - one_gpu.per_second / local.per_second) * 100:.1f} %")
    print(f"\n{args.size}², {args.steps} steps, --compile {args.compile}, {args.images} images per GPU")
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(row) for row in rows], indent=2))


if __name__ == "__main__":
    main()
