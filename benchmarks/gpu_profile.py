"""Where the time of `anima generate` goes on a GPU, in one run of about four minutes (weights included).

Every phase runs in a fresh process, in order of importance, and a phase that would not fit the time
budget (`--budget`, seconds) is skipped:

  1. commands: `anima generate` as a user runs it (one image `--compile never`, then `--low-vram`), with
     the engine's stage log (`anima_engine.timing`, each stage waiting for the GPU at its end) and the
     peak GPU memory of each stage: interpreter start, imports, checks, each file's load, encode,
     sample, decode, PNG, and the time the process takes to exit after the command returned;
  2. first use: CUDA's first-call costs one at a time (context, allocations, pinned memory, streams,
     copies, cuBLAS, cuDNN attention), the page-cache and host-to-device copy rates, and the text
     encoder's load under cProfile and torch.profiler, then the other files and two images in-process;
  3. eager step: one CFG step of the DiT at the image size (our eager forward, the forward before the
     fused multiply-adds, eager replayed as a CUDA graph) and its top CUDA kernels;
  4. compile: the one-image command with `--compile always` on a cold and then a warm kernel cache,
     the warm compile's parts in-process (imports, first call with the graph capture, under cProfile)
     and the compiled step time; then a prompt file with `--compile always` (images/s).

The last lines printed are a summary (about 8,000 characters); every table and profile is written in
full to `$OUT/gpu_profile/` (or `DIR/profile/` without `$OUT`).

    python benchmarks/gpu_profile.py DIR --tokenizers .gpu/tokenizers            # H200: 1024², 30 steps
    python benchmarks/gpu_profile.py DIR --tiny --device cpu --size 64 --steps 2  # CPU check of the script

With `--final`, only issue 13's targets, each command with its timeline (`final_run.py`):

    python benchmarks/gpu_profile.py /tmp/w --tokenizers .gpu/tokenizers --final
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cold_start import PROMPT, child_env, machine, prompt_file  # this script's folder

# Run inside a fresh interpreter: time the imports, log each engine stage (with its peak GPU memory) to
# the file named by argv[1], run `anima` with the remaining arguments, note when it returned, then end as
# the `anima` script does (`anima_prompt.cli.main`).
WRAPPER = r"""
import json, logging, sys, time
events = open(sys.argv[1], "w")
def note(name, **extra):
    events.write(json.dumps({"t": time.time(), "event": name, **extra}) + "\n"); events.flush()
note("interpreter started")
import anima_prompt.cli
note("imported anima_prompt.cli")
import torch
note("imported torch")
import anima_engine.cli
note("imported anima_engine.cli")
class Stages(logging.Handler):
    def emit(self, record):
        peak = None
        if torch.cuda.is_initialized():
            peak = torch.cuda.max_memory_allocated() / 2**30
            torch.cuda.reset_peak_memory_stats()
        note(record.getMessage(), peak_gib=peak)
timing = logging.getLogger("anima_engine.timing")
timing.setLevel(logging.DEBUG)
timing.addHandler(Stages())
code = 0
try:
    anima_prompt.cli.cli(sys.argv[2:], prog_name="anima")
except SystemExit as exit:
    code = exit.code or 0
note("command returned", code=code)
from anima_prompt.process_end import end_process
end_process(code)
"""


class Budget:
    """Seconds left for the run; a phase runs only if its estimate fits."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def fits(self, estimate: float) -> bool:
        return self.left() >= estimate


class Report:
    """The summary printed at the end, and the detail files."""

    def __init__(self, details: Path) -> None:
        self.details = details
        self.lines: list[str] = []
        details.mkdir(parents=True, exist_ok=True)

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        self.add(
            "| " + " | ".join(header) + " |",
            "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in rows),
        )

    def write(self, name: str, text: str) -> None:
        (self.details / name).write_text(text)


# --- phase 1 and 4: whole commands with the stage log ---------------------------------------------------


def generate_command(args: argparse.Namespace, out: Path, *extra: str) -> list[str]:
    size = str(args.size)
    return [
        *("generate", "--model-dir", str(args.model_dir), "--tokenizers", str(args.tokenizers)),
        *("-W", size, "-H", size, "--steps", str(args.steps), "-o", str(out)),
        *(["--device", args.device] if args.device else []),
        *extra,
    ]


def run_command(
    args: argparse.Namespace, name: str, cli: list[str], cache: str, report: Report, timeout: float
) -> dict[str, Any]:
    """Run the CLI in the wrapper; returns wall time, the events (seconds from the start) and stderr."""
    events_path = report.details / f"{name}.events.jsonl"
    env = child_env(args.directory, args.directory / "compile-caches" / cache)
    started = time.time()
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(events_path), *cli],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    ended = time.time()
    report.write(f"{name}.stderr.txt", done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    events = [json.loads(line) for line in events_path.read_text().splitlines()]
    for event in events:
        event["t"] -= started
    return {"wall": ended - started, "events": events, "stderr": done.stderr}


STAGE_LINE = re.compile(r"^(?P<stage>.*): (?P<seconds>\d+\.\d+) s(?: \((?P<extra>.*)\))?$")


def stage_rows(events: list[dict[str, Any]], wall: float) -> list[list[str]]:
    """Timeline rows: when each stage or event ended, how long it took, the peak memory since the last."""
    rows = []
    previous = 0.0
    for event in events:
        at, peak = event["t"], event.get("peak_gib")
        match = STAGE_LINE.match(event["event"])
        if match:
            stage, seconds, extra = match["stage"], match["seconds"], match["extra"] or ""
        else:
            stage, seconds, extra = event["event"], f"{at - previous:.3f}", "since the previous line"
        rows.append([stage, f"{at:.2f}", seconds, "" if peak is None else f"{peak:.2f}", extra])
        previous = at
    rows.append(["process exited", f"{wall:.2f}", f"{wall - previous:.3f}", "", "since the previous line"])
    return rows


def command_phase(args: argparse.Namespace, report: Report, budget: Budget, scratch: Path) -> None:
    report.add("", "## 1. Commands with the stage log (seconds from the process start)", "")
    runs = [
        (
            "first-run",
            [PROMPT, "--compile", "never"],
            "none",
            "warm-up run (hashes the files the first time, fills the page cache)",
        ),
        ("never", [PROMPT, "--compile", "never"], "none", "one image, --compile never"),
        ("low-vram", [PROMPT, "--low-vram"], "none", "one image, --low-vram"),
    ]
    for name, extra, cache, title in runs:
        if not budget.fits(40):
            report.add(f"skipped {title}: out of time")
            continue
        result = run_command(
            args, name, generate_command(args, scratch / name, *extra), cache, report, budget.left()
        )
        rows = stage_rows(result["events"], result["wall"])
        report.write(f"{name}.timeline.md", "\n".join("| " + " | ".join(row) + " |" for row in rows))
        report.add(f"{title}: {result['wall']:.2f} s wall")
        if name != "first-run":
            report.table(["stage", "ended at", "took s", "peak GiB", ""], rows)
            report.add("")


# --- phase 2: first use, rates, the text encoder's load --------------------------------------------------


@contextmanager
def timed_step(times: dict[str, float], name: str, sync: Callable[[], None]) -> Iterator[None]:
    start = time.perf_counter()
    yield
    sync()
    times[name] = time.perf_counter() - start


def start_child(args: argparse.Namespace, times: dict[str, float]) -> tuple[Any, Callable[[], None]]:
    """A fresh process's first steps: import torch (timed into `times`), its device, and a wait for it."""
    begin = time.perf_counter()
    import torch

    times["import torch"] = time.perf_counter() - begin
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    return device, sync


def first_use_child(args: argparse.Namespace, details: Path) -> dict[str, Any]:
    times: dict[str, float] = {}
    device, sync = start_child(args, times)
    import torch

    cuda = device.type == "cuda"

    def step(name: str) -> Any:
        return timed_step(times, name, sync)

    mib = 1 << 20
    if cuda:
        with step("cuInit (torch.cuda.is_available)"):
            torch.cuda.is_available()
        with step("context (first tensor)"):
            torch.empty(1, device=device)
        with step("first cudaMalloc, 1 GiB"):
            big = torch.empty(1 << 30, dtype=torch.uint8, device=device)
        with step("first pinned buffer, 32 MiB"):
            pinned = torch.empty(32 * mib, dtype=torch.uint8, pin_memory=True)
        with step("second pinned buffer, 32 MiB"):
            torch.empty(32 * mib, dtype=torch.uint8, pin_memory=True)
        with step("first stream"):
            stream = torch.cuda.Stream(device)
        with step("second stream"):
            torch.cuda.Stream(device)
        with step("first host-to-device copy, 32 MiB pinned"), torch.cuda.stream(stream):
            big[: 32 * mib].copy_(pinned, non_blocking=True)
            stream.synchronize()
        with step("second copy"), torch.cuda.stream(stream):
            big[32 * mib : 64 * mib].copy_(pinned, non_blocking=True)
            stream.synchronize()
        with step("first event"):
            event = torch.cuda.Event()
            event.record(stream)
            event.synchronize()
        with step("first kernel (fill)"):
            big.fill_(1)
        a = torch.ones(256, 256, device=device, dtype=torch.bfloat16)
        with step("first cuBLAS matmul"):
            a @ a
        with step("second cuBLAS matmul"):
            a @ a
        q = torch.randn(2, 16, args.tokens, 128, device=device, dtype=torch.bfloat16)
        from anima_engine.speed import attention_backend

        with attention_backend("auto"):
            with step(f"first SDPA (2×16 heads × {args.tokens} tokens)"):
                torch.nn.functional.scaled_dot_product_attention(q, q, q)
            with step("second SDPA"):
                torch.nn.functional.scaled_dot_product_attention(q, q, q)
        del big, q
        rates = copy_rates(args, device, torch)
    else:
        rates = {}
    return {"times": times, "rates": rates}


def copy_rates(args: argparse.Namespace, device: Any, torch: Any) -> dict[str, float]:
    """GB/s: page cache -> pinned (one thread), pinned -> GPU, pageable (mmap of the file) -> GPU."""
    import mmap

    path = args.files["dit"]
    size = min(path.stat().st_size, 1 << 30)
    rates = {}
    pinned = torch.empty(size, dtype=torch.uint8, pin_memory=True)
    start = time.perf_counter()
    with path.open("rb", buffering=0) as file:
        file.readinto(pinned.numpy().data)
    rates["page cache -> pinned, one thread"] = size / (time.perf_counter() - start) / 1e9
    target = torch.empty(size, dtype=torch.uint8, device=device)
    torch.cuda.synchronize(device)
    start = time.perf_counter()
    target.copy_(pinned, non_blocking=True)
    torch.cuda.synchronize(device)
    rates["pinned -> GPU"] = size / (time.perf_counter() - start) / 1e9
    with path.open("rb") as file:  # the mapping stays open until the process ends
        source = torch.frombuffer(mmap.mmap(file.fileno(), size, access=mmap.ACCESS_COPY), dtype=torch.uint8)
    start = time.perf_counter()
    target.copy_(source)
    torch.cuda.synchronize(device)
    rates["pageable (mmap of the file) -> GPU"] = size / (time.perf_counter() - start) / 1e9
    return rates


def loads_child(args: argparse.Namespace, details: Path) -> dict[str, Any]:
    """Fresh process: CUDA init, the text encoder's load profiled, the other files, two images."""
    import logging

    times: dict[str, float] = {}
    device, sync = start_child(args, times)
    import torch

    cuda = device.type == "cuda"
    if cuda:
        with timed_step(times, "CUDA init", sync):
            torch.empty(1, device=device)
    with timed_step(times, "import the engine", sync):
        from anima_engine import weights
        from anima_engine.generation import generate
        from anima_engine.loading import load_dit, load_text_encoder
        from anima_engine.pipeline import Pipeline
        from anima_engine.request import GenerationRequest
        from anima_engine.speed import EAGER, PLAIN, accelerate
        from anima_engine.vae_loading import load_vae, read_vae_params

    dtype = torch.bfloat16 if cuda else torch.float32
    profiler = cProfile.Profile()
    activities = [torch.profiler.ProfilerActivity.CPU] + (
        [torch.profiler.ProfilerActivity.CUDA] if cuda else []
    )
    readers = weights.MAX_READERS
    weights.MAX_READERS = 1  # read in this thread, where cProfile sees it
    name = "text encoder file, one reader (cProfile + torch.profiler on)"
    # The profiler starts and stops outside the timed step (starting it takes seconds).
    with torch.profiler.profile(activities=activities) as traced, timed_step(times, name, sync):
        profiler.enable()
        encoder = load_text_encoder(
            args.files["text_encoder"], tokenizer_dir=args.tokenizers, device=device, dtype=dtype
        )
        profiler.disable()
    weights.MAX_READERS = readers
    details.joinpath("te_load.cprofile.txt").write_text(profile_text(profiler, 60))
    details.joinpath("te_load.torch_profiler.txt").write_text(profiler_table(traced, "cpu_time_total"))
    with timed_step(times, "DiT file", sync):
        model = load_dit(args.files["dit"], device=device, dtype=dtype)
    with timed_step(times, "VAE file", sync):
        vae = load_vae(
            args.files["vae"], params=read_vae_params(args.files["vae"]), device=device, dtype=dtype
        )
    with timed_step(times, "text encoder file again, parallel readers", sync):
        load_text_encoder(
            args.files["text_encoder"], tokenizer_dir=args.tokenizers, device=device, dtype=dtype
        )
    pipe = Pipeline(
        text_encoder=encoder, dit=model.dit, adapter=model.adapter, vae=vae, device=device, dtype=dtype,
        velocity=accelerate(model.dit, EAGER if cuda else PLAIN), hash_files=False,
    )  # fmt: skip
    stages: list[list[str]] = []

    class Stages(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            stages[-1].append(record.getMessage())

    timing = logging.getLogger("anima_engine.timing")
    timing.setLevel(logging.DEBUG)
    timing.addHandler(Stages())
    request = GenerationRequest(
        prompt=PROMPT, width=args.size, height=args.size, steps=args.steps, lint=False
    )
    for name in ("first image in the process", "second image"):
        stages.append([])
        with timed_step(times, name, sync):
            generate(pipe, request)
    return {
        "times": times,
        "stages": stages,
        "te_profile": profile_text(profiler, 14, short=True),
    }


def profile_text(profiler: cProfile.Profile, limit: int, *, short: bool = False) -> str:
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    if short:
        stats.strip_dirs()
    stats.sort_stats("cumulative").print_stats(limit)
    text = stream.getvalue()
    return text[text.find("   ncalls") :] if short else text


def first_use_phase(args: argparse.Namespace, report: Report, budget: Budget, scratch: Path) -> None:
    report.add("", "## 2. First use of CUDA, copy rates, the text encoder's load", "")
    if budget.fits(25):
        result = run_child(args, "first-use", report, budget.left())
        report.table(
            ["step (fresh process, in this order)", "s"],
            [[k, f"{v:.3f}"] for k, v in result["times"].items()],
        )
        if result["rates"]:
            report.add(
                "", "copy rates: " + "; ".join(f"{k} {v:.1f} GB/s" for k, v in result["rates"].items())
            )
    if budget.fits(35):
        result = run_child(args, "loads", report, budget.left())
        report.add("")
        report.table(
            ["step (another fresh process)", "s"], [[k, f"{v:.3f}"] for k, v in result["times"].items()]
        )
        for number, lines in enumerate(result["stages"], 1):
            report.add(f"image {number} stages: " + "; ".join(lines))
        report.add(
            "", "text encoder load, cProfile by cumulative time (full list in te_load.cprofile.txt):", "```"
        )
        report.add(*result["te_profile"].strip().splitlines()[:13], "```")


# --- phase 3: one eager CFG step --------------------------------------------------------------------------


def old_ops() -> dict[str, Callable[..., Any]]:
    """The eager forward's elementwise code before the fused multiply-adds, for comparison."""
    import torch
    import torch.nn.functional as F

    def modulate(x: Any, shift: Any, scale: Any, eps: float) -> Any:
        return F.layer_norm(x, x.shape[-1:], eps=eps) * (1 + scale) + shift

    def gated(x: Any, gate: Any, update: Any) -> Any:
        return x + gate * update

    def apply_rope(x: Any, table: Any) -> Any:
        x32 = x.float()
        x1, x2 = x32.chunk(2, dim=-1)
        return (x32 * table[0] + torch.cat([-x2, x1], dim=-1) * table[1]).to(x.dtype)

    return {"modulate": modulate, "gated": gated, "apply_rope": apply_rope}


def step_inputs(args: argparse.Namespace, dit: Any, device: Any, torch: Any) -> tuple[Any, Any, Any]:
    """One CFG step's DiT input: latents, σ and a 512-row context, batch 2."""
    generator = torch.Generator().manual_seed(0)
    latent = args.size // 8
    x = torch.randn(2, dit.params.in_channels, 1, latent, latent, generator=generator).to(device)
    context = torch.randn(2, 512, dit.params.context_channels, generator=generator).to(device, torch.bfloat16)
    return x, torch.full((2,), 0.7, device=device), context


def step_ms(forward: Callable[..., Any], inputs: tuple[Any, ...], torch: Any, repeats: int = 7) -> float:
    """Median milliseconds of `forward(*inputs)` after two warm-up calls (CUDA events)."""
    for _ in range(2):
        forward(*inputs)
    samples = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        forward(*inputs)
        end.record()
        end.synchronize()
        samples.append(start.elapsed_time(end))
    return statistics.median(samples)


def eager_child(args: argparse.Namespace, details: Path) -> dict[str, Any]:
    import torch

    import anima_engine.layers as layers
    from anima_engine.loading import load_dit
    from anima_engine.speed import EAGER, GraphedVelocity, accelerate

    device = torch.device("cuda")
    dit = load_dit(args.files["dit"], device=device, dtype=torch.bfloat16).dit
    inputs = step_inputs(args, dit, device, torch)
    velocity = accelerate(dit, EAGER)
    results: dict[str, Any] = {}
    with torch.inference_mode():
        start = time.perf_counter()
        velocity(*inputs)
        torch.cuda.synchronize()
        results["first eager call in the process (cuBLAS, cuDNN and kernel first use)"] = (
            time.perf_counter() - start
        ) * 1e3
        results["eager (this branch)"] = step_ms(velocity, inputs, torch)
        saved = {name: getattr(layers, name) for name in ("modulate", "gated", "apply_rope")}
        for name, function in old_ops().items():
            setattr(layers, name, function)
        results["eager, elementwise code before this branch"] = step_ms(velocity, inputs, torch)
        for name, function in saved.items():
            setattr(layers, name, function)
        graphed = GraphedVelocity(velocity)
        start = time.perf_counter()
        graphed(*inputs)
        torch.cuda.synchronize()
        results["eager CUDA graph: first call (2 warm-ups + capture + replay), ms"] = (
            time.perf_counter() - start
        ) * 1e3
        results["eager replayed as a CUDA graph"] = step_ms(graphed, inputs, torch)
        activities = [torch.profiler.ProfilerActivity.CPU, torch.profiler.ProfilerActivity.CUDA]
        with torch.profiler.profile(activities=activities) as traced:
            velocity(*inputs)
            torch.cuda.synchronize()
    events = traced.key_averages()
    details.joinpath("eager_step.torch_profiler.txt").write_text(
        profiler_table(traced, "self_device_time_total")
    )
    kernels = sorted(
        ((event.key, device_time(event), event.count) for event in events if device_time(event) > 0),
        key=lambda row: -row[1],
    )
    total = sum(ms for _, ms, _ in kernels)
    return {"ms": results, "kernels": kernels[:14], "total_ms": total}


def profiler_table(traced: Any, sort_by: str) -> str:
    """torch.profiler's table of the top 60 ops; older torch names the device columns `cuda`."""
    events = traced.key_averages()
    try:
        return events.table(sort_by=sort_by, row_limit=60)
    except (AttributeError, KeyError, ValueError):
        return events.table(sort_by=sort_by.replace("device", "cuda"), row_limit=60)


def device_time(event: Any) -> float:
    """Self device time of a profiler row in ms (the attribute was renamed across torch versions)."""
    for name in ("self_device_time_total", "self_cuda_time_total"):
        value = getattr(event, name, None)
        if value is not None:
            return float(value) / 1e3
    return 0.0


def eager_phase(args: argparse.Namespace, report: Report, budget: Budget, scratch: Path) -> None:
    report.add("", f"## 3. One eager CFG step (DiT batch 2, {args.size}²)", "")
    if args.device == "cpu" or not budget.fits(35):
        report.add("skipped (needs CUDA)" if args.device == "cpu" else "skipped: out of time")
        return
    result = run_child(args, "eager", report, budget.left())
    report.table(["forward", "ms"], [[k, f"{v:.1f}"] for k, v in result["ms"].items()])
    report.add(
        "", f"top kernels of one eager step (self CUDA time; all kernels {result['total_ms']:.1f} ms):"
    )
    report.table(["kernel", "ms", "calls"], [[k[:80], f"{ms:.2f}", str(n)] for k, ms, n in result["kernels"]])


# --- phase 4: compiling -----------------------------------------------------------------------------------


def compiled_child(args: argparse.Namespace, details: Path) -> dict[str, Any]:
    """Fresh process, warm kernel cache: what the first compiled call costs, and the compiled step."""
    times: dict[str, float] = {}
    import torch

    from anima_engine.loading import load_dit
    from anima_engine.speed import SpeedOptions, accelerate

    device = torch.device("cuda")
    dit = load_dit(args.files["dit"], device=device, dtype=torch.bfloat16).dit
    inputs = step_inputs(args, dit, device, torch)
    start = time.perf_counter()
    import torch._dynamo
    import torch._inductor.config

    times["import torch._dynamo and torch._inductor"] = time.perf_counter() - start
    velocity = accelerate(dit, SpeedOptions())
    profiler = cProfile.Profile()
    with torch.inference_mode():
        start = time.perf_counter()
        profiler.enable()
        velocity(*inputs)
        profiler.disable()
        torch.cuda.synchronize()
        times["first call: trace, load the cached kernels, 2 warm-ups, capture, replay"] = (
            time.perf_counter() - start
        )
        compiled_ms = step_ms(velocity, inputs, torch)
    details.joinpath("compiled_first_call.cprofile.txt").write_text(profile_text(profiler, 80))
    return {"times": times, "step_ms": compiled_ms, "profile": profile_text(profiler, 12, short=True)}


def compile_phase(args: argparse.Namespace, report: Report, budget: Budget, scratch: Path) -> None:
    report.add("", "## 4. Compiling", "")
    walls: dict[str, float] = {}
    for name, cache_state in (("compile-cold", "cold"), ("compile-warm", "warm")):
        if not budget.fits(45):
            report.add(f"skipped one image --compile always, {cache_state} cache: out of time")
            continue
        if cache_state == "cold":
            shutil.rmtree(args.directory / "compile-caches" / "profile", ignore_errors=True)
        cli = generate_command(args, scratch / name, PROMPT, "--compile", "always")
        result = run_command(args, name, cli, "profile", report, budget.left())
        walls[name] = result["wall"]
        rows = stage_rows(result["events"], result["wall"])
        report.write(f"{name}.timeline.md", "\n".join("| " + " | ".join(row) + " |" for row in rows))
        sample = next((row for row in rows if row[0].startswith("sample")), None)
        took = f"; sample stage {sample[2]} s" if sample else ""
        report.add(f"one image, --compile always, {cache_state} cache: {result['wall']:.2f} s wall{took}")
    if args.device != "cpu" and "compile-warm" in walls and budget.fits(40):
        result = run_child(args, "compiled", report, budget.left(), cache="profile")
        report.table(["warm compile, in-process", "s"], [[k, f"{v:.2f}"] for k, v in result["times"].items()])
        report.add(f"compiled + CUDA graph step: {result['step_ms']:.1f} ms", "first call, cProfile:", "```")
        report.add(*result["profile"].strip().splitlines()[:11], "```")
    count = args.prompts
    if budget.fits(12 + 4 * count):
        file = prompt_file(scratch, count)
        cli = generate_command(args, scratch / "file", "--file", str(file), "--compile", "always")
        result = run_command(args, "prompt-file", cli, "profile", report, budget.left())
        last = result["stderr"].strip().splitlines()[-1] if result["stderr"].strip() else ""
        report.add(f"{count}-prompt file, --compile always (warm): {result['wall']:.2f} s wall; {last}")
        per_image = (result["wall"] - walls.get("compile-warm", result["wall"])) / (count - 1)
        if per_image > 0:
            twenty = walls["compile-warm"] + 19 * per_image
            report.add(
                f"per further image {per_image:.2f} s; a 20-prompt file would take about {twenty:.1f} s "
                f"({20 / twenty:.2f} images/s; target 0.45)"
            )
    else:
        report.add("skipped the prompt file: out of time")


# --- driver -------------------------------------------------------------------------------------------------

CHILDREN: dict[str, Callable[[argparse.Namespace, Path], dict[str, Any]]] = {
    "first-use": first_use_child,
    "loads": loads_child,
    "eager": eager_child,
    "compiled": compiled_child,
}


def run_child(
    args: argparse.Namespace, name: str, report: Report, timeout: float, cache: str = "none"
) -> dict[str, Any]:
    cmd = [sys.executable, __file__, str(args.directory), "--child", name, "--details", str(report.details)]
    cmd += ["--tokenizers", str(args.tokenizers), "--size", str(args.size), "--steps", str(args.steps)]
    cmd += [
        "--device",
        args.device,
        "--files",
        json.dumps({role: str(path) for role, path in args.files.items()}),
    ]
    env = child_env(args.directory, args.directory / "compile-caches" / cache)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    report.write(f"{name}.stderr.txt", done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"phase {name} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def model_files(args: argparse.Namespace) -> None:
    """Write (or reuse) the weights; set `args.model_dir`, `args.files` and `args.tokenizers`."""
    if args.tiny:
        from anima_engine._tiny import write_tiny_model

        tiny = write_tiny_model(args.directory / "tiny")
        args.model_dir = args.directory / "tiny"
        args.files = {"dit": tiny.dit, "text_encoder": tiny.text_encoder, "vae": tiny.vae}
        args.tokenizers = args.tokenizers or tiny.tokenizer_dir
    else:
        from full_size import write_full_size

        args.files = write_full_size(args.directory)
        args.model_dir = args.directory
        if args.tokenizers is None:
            sys.exit("--tokenizers is needed with the full-size files")
    args.tokenizers = Path(args.tokenizers).resolve()


def final(args: argparse.Namespace, report: Report, budget: Budget, started: float) -> None:
    """The `--final` run (`final_run.py`); the machine is named at the end, so that this process holds
    no CUDA context while the commands run."""
    from final_run import run_final

    print(f"weights ready in {time.perf_counter() - started:.1f} s", flush=True)
    lines = run_final(args, WRAPPER, report.details, budget.end)
    lines += ["", f"{machine()}; total {time.perf_counter() - started:.1f} s; details in {report.details}"]
    print("\n".join(lines), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "directory", type=Path, help="folder for the weights and caches (written once, reused)"
    )
    parser.add_argument("--tokenizers", type=Path, help="folder with qwen3/ and t5/ tokenizer.json")
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--prompts", type=int, help="prompts in the prompt-file run [6; --final: 20]")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--budget", type=float, help="seconds for the whole run [225; --final: 255]")
    parser.add_argument("--final", action="store_true", help="issue 13's targets only (final_run.py)")
    parser.add_argument("--tiny", action="store_true", help="tiny random models (a CPU check of the script)")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--details", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--files", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.directory = args.directory.resolve()
    args.tokens = (args.size // 16) ** 2
    if args.child:  # the parent found the files; importing torch here would spoil the child's timings
        args.files = {role: Path(path) for role, path in json.loads(args.files).items()}
        print(json.dumps(CHILDREN[args.child](args, args.details)))
        return
    args.prompts = args.prompts or (20 if args.final else 6)
    budget = Budget(args.budget or (255 if args.final else 225))
    out = os.environ.get("OUT")
    report = Report(Path(out) / "gpu_profile" if out else args.directory / "profile")
    started = time.perf_counter()
    model_files(args)
    if args.final:
        final(args, report, budget, started)
        return
    report.add(f"# gpu_profile: {machine()}; {args.size}², {args.steps} steps", "")
    report.add(f"weights ready in {time.perf_counter() - started:.1f} s; details in {report.details}")
    with tempfile.TemporaryDirectory() as scratch:
        for phase in (command_phase, first_use_phase, eager_phase, compile_phase):
            begin = time.perf_counter()
            try:
                phase(args, report, budget, Path(scratch))
            except (RuntimeError, subprocess.TimeoutExpired) as error:
                report.add(f"phase {phase.__name__} stopped: {str(error)[-1500:]}")
            print(f"{phase.__name__}: {time.perf_counter() - begin:.1f} s", file=sys.stderr, flush=True)
    report.add("", f"total {time.perf_counter() - started:.1f} s")
    report.write("summary.md", "\n".join(report.lines))
    print("\n".join(report.lines))


if __name__ == "__main__":
    main()
