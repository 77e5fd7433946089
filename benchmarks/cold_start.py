"""Whole-command wall times of `anima generate`, and where the time of one image goes in a fresh process.

Writes full-size random weights in the official layouts once (`benchmarks/full_size.py`, into DIR, reused
by later runs), then times `python -m anima_prompt generate` as a user runs it, each in a new process:

  * first run: also hashes the three files into the (benchmark's own) hash cache;
  * one image: `--compile never`, the default `auto`, `always` with an empty compile cache (cold), `always`
    again (warm), `--low-vram`;
  * a prompt file of 20 prompts (images/s, as reported by the command and from the wall time);
  * `--sweep 4,8,16`: prompt files of N prompts with `--compile always` (warm cache) against `never`,
    the measurement behind `speed.COMPILE_MIN_IMAGES_*`: a least-squares line through each choice's wall
    times gives its fixed cost and its seconds per image, and where the lines cross is printed.

Then, in one more fresh process, the stages of one image: import torch, CUDA init, tokenizers, each file,
encode, sample, decode, PNG, and a second image in the same process (the in-process image time). The
page cache is warmed by the first run; the compile caches live under DIR and are emptied for the cold
run. Nothing is downloaded.

    python benchmarks/cold_start.py DIR --tokenizers ../shared/data/tokenizers          # H200: the table
    python benchmarks/cold_start.py DIR --quick                                          # fewer runs
    python benchmarks/cold_start.py DIR --size 256 --steps 2 --prompts 3 --device cpu    # CPU check

Without `--tokenizers`, the tiny test tokenizers are written into DIR (their ids are valid for the real
vocabularies, but the real Qwen tokenizer takes longer to read: pass the real files for real figures).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROMPT = (
    "masterpiece, best quality, score_7, safe, 1girl, hatsune miku, vocaloid, (aqua hair:1.2), twintails, "
    "smile, looking at viewer, cherry blossoms. She stands on a bridge over a quiet river at dusk."
)
SUBJECTS = ("cat", "dog", "fox", "owl", "horse", "rabbit", "deer", "swan", "koi", "crane")


@dataclass
class Row:
    scenario: str
    seconds: float
    images: int
    note: str = ""

    def cells(self) -> list[str]:
        rate = f"{self.images / self.seconds:.2f}" if self.images else "—"
        return [self.scenario, f"{self.seconds:.1f}", str(self.images), rate, self.note]


def child_env(directory: Path, compile_cache: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR")
    }
    env["ANIMA_COMPILE_CACHE"] = str(compile_cache)
    env["XDG_CACHE_HOME"] = str(directory / "cache")  # the sha256 cache of the model files
    env["ANIMA_TAG_INDEX"] = str(directory / "no-tag-index.sqlite")  # lint and normalise without an index
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def command(args: argparse.Namespace, tokenizers: Path, out: Path, *extra: str) -> list[str]:
    size = str(args.size)
    base = [sys.executable, "-m", "anima_prompt", "generate", "--model-dir", str(args.directory)]
    base += [
        "--tokenizers",
        str(tokenizers),
        "-W",
        size,
        "-H",
        size,
        "--steps",
        str(args.steps),
        "-o",
        str(out),
    ]
    if args.device:
        base += ["--device", args.device]
    return [*base, *extra]


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    begin = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - begin
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr[-3000:]}")
    return seconds, done.stderr


def prompt_file(directory: Path, count: int) -> Path:
    path = directory / f"prompts-{count}.txt"
    path.write_text(
        "".join(f"safe, 1girl, {SUBJECTS[n % len(SUBJECTS)]}, outdoors, seed {n}\n" for n in range(count))
    )
    return path


def reported_rate(stderr: str) -> str:
    last = stderr.strip().splitlines()[-1] if stderr.strip() else ""
    return last if "images/s" in last else ""


def whole_commands(args: argparse.Namespace, tokenizers: Path) -> list[Row]:
    rows = []
    caches = args.directory / "compile-caches"
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)

        def run(name: str, extra: list[str], cache: str, images: int = 1) -> Row:
            target = out / name.replace(" ", "_")
            seconds, stderr = timed(
                command(args, tokenizers, target, *extra), child_env(args.directory, caches / cache)
            )
            row = Row(name, seconds, images, reported_rate(stderr))
            print(f"  {name}: {seconds:.1f} s", file=sys.stderr, flush=True)
            return row

        shutil.rmtree(args.directory / "cache", ignore_errors=True)
        rows.append(run("first run (hashes the files)", [PROMPT, "--compile", "never"], "none"))
        rows.append(run("one image, --compile never", [PROMPT, "--compile", "never"], "none"))
        rows.append(run("one image, --compile auto (default)", [PROMPT], "auto"))
        if not args.quick:
            shutil.rmtree(caches / "always", ignore_errors=True)
            rows.append(
                run("one image, --compile always, cold cache", [PROMPT, "--compile", "always"], "always")
            )
        warmth = "warm cache" if any((caches / "always").glob("*")) else "cold cache (first compile here)"
        rows.append(run(f"one image, --compile always, {warmth}", [PROMPT, "--compile", "always"], "always"))
        rows.append(run("one image, --low-vram", [PROMPT, "--low-vram"], "auto"))
        count = args.prompts
        file = prompt_file(Path(scratch), count)
        rows.append(run(f"{count}-prompt file, --compile auto", ["--file", str(file)], "always", count))
        for count in args.sweep:
            file = prompt_file(Path(scratch), count)
            for choice in ("never", "always"):
                rows.append(
                    run(
                        f"{count}-prompt file, --compile {choice}",
                        ["--file", str(file), "--compile", choice],
                        "always",
                        count,
                    )
                )
    return rows


def line_fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares (intercept, slope) of y against x."""
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x, _ in points)
    return mean_y - slope * mean_x, slope


def break_even(rows: list[Row], counts: list[int]) -> str:
    """The sweep as two lines (fixed s + s per image) and the image count from which compiling pays."""
    fits = {}
    for choice in ("never", "always"):
        points = [
            (count, row.seconds)
            for count in counts
            for row in rows
            if row.scenario == f"{count}-prompt file, --compile {choice}"
        ]
        fits[choice] = line_fit(points)
    (fixed_never, per_never), (fixed_always, per_always) = fits["never"], fits["always"]
    text = (
        f"\nSweep fit: never {fixed_never:.1f} s + {per_never:.2f} s/image; "
        f"always (warm cache) {fixed_always:.1f} s + {per_always:.2f} s/image"
    )
    if per_always < per_never:
        text += f"; compiling pays from {(fixed_always - fixed_never) / (per_never - per_always):.1f} images"
    return text


def stages_child(args: argparse.Namespace) -> None:
    """In a fresh process: time each stage of one image, then a second image; print JSON on stdout."""
    times: dict[str, float] = {}
    begin = time.perf_counter()
    import torch

    times["import torch"] = time.perf_counter() - begin
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    def stage(name: str, action):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        value = action()
        sync()
        times[name] = time.perf_counter() - start
        return value

    if device.type == "cuda":
        stage("CUDA init", lambda: torch.empty(1, device=device))
    from anima_engine.adapter import adapt
    from anima_engine.generation import encode_texts, generate, sample_latents
    from anima_engine.images import png_bytes, to_pil
    from anima_engine.loading import load_dit, load_text_encoder
    from anima_engine.locate import locate_models
    from anima_engine.memory import MemoryPlan
    from anima_engine.noise import make_noise
    from anima_engine.pipeline import Pipeline
    from anima_engine.request import GenerationRequest, prepare
    from anima_engine.speed import accelerate, choose_speed
    from anima_engine.text_encoder import load_tokenizers
    from anima_engine.vae_loading import load_vae, read_vae_params

    times["import anima_engine"] = time.perf_counter() - begin - sum(times.values())
    files = locate_models(model_dir=args.directory)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    stage("tokenizers (also inside the text encoder row)", lambda: load_tokenizers(args.tokenizers))
    encoder = stage(
        "text encoder file",
        lambda: load_text_encoder(
            files.text_encoder, tokenizer_dir=args.tokenizers, device=device, dtype=dtype
        ),
    )
    model = stage("DiT file", lambda: load_dit(files.dit, device=device, dtype=dtype))
    vae = stage(
        "VAE file", lambda: load_vae(files.vae, params=read_vae_params(files.vae), device=device, dtype=dtype)
    )
    speed = choose_speed("auto", device=device, images=1)
    pipe = Pipeline(
        text_encoder=encoder, dit=model.dit, adapter=model.adapter, vae=vae, device=device, dtype=dtype,
        velocity=accelerate(model.dit, speed), hash_files=False,
    )  # fmt: skip
    request = GenerationRequest(prompt=PROMPT, width=args.size, height=args.size, steps=args.steps)
    prepared = stage("prepare (parse, lint, normalise)", lambda: prepare(request))
    with torch.inference_mode():
        texts = [prepared.prompt, prepared.negative]
        features = stage("encode (Qwen3)", lambda: encode_texts(pipe, texts, MemoryPlan()))
        contexts = stage(
            "adapter", lambda: {key: adapt(pipe.adapter, value) for key, value in features.items()}
        )
        cond, uncond = contexts[prepared.prompt.segments], contexts[prepared.negative.segments]
        options = prepared.options
        noise = make_noise(options.noise, options.seed, 1)
        latents = stage("sample", lambda: sample_latents(pipe, cond, uncond, noise, options, None, None))
        pixels = stage("decode (VAE)", lambda: pipe.vae.decode(latents))
    image = stage("to PIL", lambda: to_pil(pixels)[0])
    times["first image in process, total"] = time.perf_counter() - begin
    [result] = stage("second image in process (generate)", lambda: generate(pipe, request))
    stage("PNG (encode with metadata)", lambda: png_bytes(result.image, result.record))
    assert image.size == result.image.size == (args.size, args.size)
    print(json.dumps(times))


def stages(args: argparse.Namespace, tokenizers: Path) -> dict[str, float]:
    cmd = [sys.executable, __file__, str(args.directory), "--stages-child", "--tokenizers", str(tokenizers)]
    cmd += ["--size", str(args.size), "--steps", str(args.steps)] + (
        ["--device", args.device] if args.device else []
    )
    env = child_env(args.directory, args.directory / "compile-caches" / "none")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"stage timing failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> str:
    import platform

    import torch

    from anima_prompt.bytecode import missing_bytecode

    device = torch.cuda.get_device_name() if torch.cuda.is_available() else platform.processor() or "CPU"
    software = f"Python {platform.python_version()}, torch {torch.__version__}"
    if missing_bytecode("torch"):  # every process compiles torch again: 2 s or more (docs/benchmarks.md)
        software += " without bytecode"
    return f"{device}; {software}; {time.strftime('%Y-%m-%d')}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("directory", type=Path, help="folder for the full-size files (written once, reused)")
    parser.add_argument("--tokenizers", type=Path, help="folder with qwen3/ and t5/ tokenizer.json")
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--prompts", type=int, default=20, help="prompts in the prompt-file run [20]")
    parser.add_argument("--device", help="torch device [cuda if available]")
    parser.add_argument("--quick", action="store_true", help="skip the cold-cache compile run")
    parser.add_argument("--sweep", default="", help="comma-separated prompt counts to time compiled and not")
    parser.add_argument("--stages-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.sweep = [int(n) for n in args.sweep.split(",") if n.strip()]
    args.directory = args.directory.resolve()
    if args.stages_child:
        stages_child(args)
        return
    from full_size import write_full_size  # this script's folder is on the path

    write_full_size(args.directory)
    tokenizers = args.tokenizers
    if tokenizers is None:
        from anima_engine._tiny import write_tiny_tokenizers

        tokenizers = write_tiny_tokenizers(args.directory / "tiny-tokenizers")
    tokenizers = tokenizers.resolve()
    print(f"{machine()}; {args.size}², {args.steps} steps", file=sys.stderr)
    rows = whole_commands(args, tokenizers)
    parts = stages(args, tokenizers)
    print(f"\nWhole commands ({machine()}; {args.size}², {args.steps} steps, files in the page cache)\n")
    print("| command | wall s | images | images/s | reported by the command |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row.cells()) + " |")
    if len(args.sweep) >= 2:
        print(break_even(rows, args.sweep))
    print("\nStages of one image in a fresh process (`--compile auto` for one image)\n")
    print("| stage | s |")
    print("|---|---|")
    for name, seconds in parts.items():
        print(f"| {name} | {seconds:.2f} |")
    image = parts["second image in process (generate)"]
    one = next(row for row in rows if row.scenario == "one image, --compile auto (default)")
    print(
        f"\nOne-image command: {one.seconds:.1f} s wall against {image:.2f} s for an image in a warm process "
        f"({one.seconds - image:.1f} s of start-up, loading and first-call costs)."
    )


if __name__ == "__main__":
    main()
