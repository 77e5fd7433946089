"""What an ahead-of-time compiled DiT would save: the compiler's imports against loading an AOT package.

`anima generate --compile` pays for importing `torch._dynamo` and inductor (9-11 s on the H200 host of
docs/benchmarks.md) before its first compiled call. An AOTInductor package (`torch.export` + inductor,
compiled once) is loaded by a C++ runner, so a command could skip those imports. Each row is measured in a
fresh process, as a command would meet it:

  1. imports: `import torch`, then `torch._dynamo`, then inductor's `compile_fx` (what `--compile` imports);
  2. the loader's import: `import torch`, then the package loader (`torch._C._aoti`, and inductor's Python
     loader), and which heavy modules came with each;
  3. build: the full-size DiT with random weights, exported at the image size with CFG (batch 2) and
     compiled into a package (once; its time and size);
  4. load: in a fresh process, the package loaded, its first call and its steady step against the eager
     DiT's step in the same process.

    python benchmarks/aot_probe.py DIR                                        # H200: 1024², bf16
    python benchmarks/aot_probe.py DIR --tiny --device cpu --size 64          # CPU check of the script
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HEAVY_MODULES = ("torch._dynamo", "torch._inductor.compile_fx", "sympy", "triton")


def run_phase(args: argparse.Namespace, phase: str) -> dict:
    """Run one phase in a fresh interpreter; its last stdout line is a JSON object of results."""
    command = [sys.executable, __file__, str(args.directory), "--phase", phase, "--device", args.device]
    command += ["--size", str(args.size)] + (["--tiny"] if args.tiny else [])
    begin = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
    wall = time.perf_counter() - begin
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-12:]
        return {"error": f"phase {phase} exited with {done.returncode}", "tail": tail, "wall_s": wall}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_s"] = wall
    return result


def heavy_loaded() -> list[str]:
    return [name for name in HEAVY_MODULES if name in sys.modules]


def phase_imports() -> dict:
    begin = time.perf_counter()
    import torch

    torch_s = time.perf_counter() - begin
    begin = time.perf_counter()
    import torch._dynamo  # noqa: F401

    dynamo_s = time.perf_counter() - begin
    begin = time.perf_counter()
    from torch._inductor import compile_fx  # noqa: F401

    inductor_s = time.perf_counter() - begin
    return {"torch_s": torch_s, "dynamo_s": dynamo_s, "compile_fx_s": inductor_s}


def phase_loader_import() -> dict:
    begin = time.perf_counter()
    import torch

    torch_s = time.perf_counter() - begin
    begin = time.perf_counter()
    runner_type = torch._C._aoti.AOTIModelPackageLoader
    runner_s = time.perf_counter() - begin
    after_runner = heavy_loaded()
    begin = time.perf_counter()
    import torch._inductor.package

    package_s = time.perf_counter() - begin
    return {
        "torch_s": torch_s,
        "runner_s": runner_s,
        "runner_type": runner_type.__name__,
        "heavy_after_runner": after_runner,
        "python_loader_s": package_s,
        "heavy_after_python_loader": heavy_loaded(),
    }


def setup(args: argparse.Namespace):
    """The seeded DiT (full size or tiny) and one CFG step's inputs at the image size, on the device."""
    import torch
    from engine_bench import build, fill_random  # this script's folder

    from anima_engine._tiny import TINY_DIT
    from anima_engine.config import DiTParams
    from anima_engine.dit import DiT

    device = torch.device(args.device)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    params = TINY_DIT if args.tiny else DiTParams()
    dit = fill_random(build(lambda: DiT(params), device), seed=0).to(dtype)
    generator = torch.Generator(device=device).manual_seed(0)
    side = args.size // 8
    x = torch.randn(2, params.in_channels, 1, side, side, generator=generator, device=device)
    sigma = torch.rand(2, generator=generator, device=device)
    context = torch.randn(2, 512, params.context_channels, generator=generator, device=device).to(dtype)
    return torch, dit, (x.to(dtype), sigma, context)


def step_ms(forward, inputs, device: str) -> float:
    import torch
    from engine_bench import time_ms

    with torch.no_grad():
        return time_ms(lambda: forward(*inputs), torch.device(device), warmup=2, repeats=10)


def phase_build(args: argparse.Namespace) -> dict:
    torch, dit, inputs = setup(args)
    package = args.directory / "dit.pt2"
    begin = time.perf_counter()
    with torch.no_grad():
        exported = torch.export.export(dit, inputs)
    export_s = time.perf_counter() - begin
    begin = time.perf_counter()
    # The weights stay out of the package (a 2B model's embedded constants made a package that did not
    # load): a command hands the runner the tensors it loaded from the safetensors files.
    options = {"aot_inductor.package_constants_in_so": False}
    torch._inductor.aoti_compile_and_package(exported, package_path=str(package), inductor_configs=options)
    compile_s = time.perf_counter() - begin
    eager = step_ms(dit, inputs, args.device)
    torch.save([t.cpu() for t in inputs], args.directory / "inputs.pt")
    with torch.no_grad():
        torch.save(dit(*inputs).cpu(), args.directory / "eager_out.pt")
    return {
        "export_s": export_s,
        "aoti_compile_s": compile_s,
        "package_gib": package.stat().st_size / 2**30,
        "eager_step_ms": eager,
    }


def phase_load(args: argparse.Namespace) -> dict:
    begin = time.perf_counter()
    import torch

    torch_s = time.perf_counter() - begin
    device = args.device
    inputs = [t.to(device) for t in torch.load(args.directory / "inputs.pt")]
    _, dit, _ = setup(args)  # the same seeded weights, as a command has them after loading the files
    weights = dict(dit.state_dict())
    heavy_before = heavy_loaded()
    if device == "cuda":
        torch.cuda.synchronize()
    begin = time.perf_counter()
    runner = torch._C._aoti.AOTIModelPackageLoader(str(args.directory / "dit.pt2"), "model", False, 1, -1)
    load_s = time.perf_counter() - begin
    begin = time.perf_counter()
    names = runner.get_constant_fqns()
    runner.load_constants({name: weights[name] for name in names}, False, True, True)
    constants_s = time.perf_counter() - begin
    heavy = heavy_loaded()

    def forward(*tensors):
        return runner.run(list(tensors))[0]

    begin = time.perf_counter()
    with torch.no_grad():
        out = forward(*inputs)
    if device == "cuda":
        torch.cuda.synchronize()
    first_s = time.perf_counter() - begin
    from engine_bench import relative_error

    error = relative_error(out.cpu(), torch.load(args.directory / "eager_out.pt"))
    return {
        "torch_s": torch_s,
        "load_s": load_s,
        "constants_s": constants_s,
        "constants": len(names),
        "heavy_before_load": heavy_before,
        "heavy_after_load": heavy,
        "first_call_s": first_s,
        "aot_step_ms": step_ms(forward, inputs, device),
        "relative_error_vs_eager": error,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="where the package and inputs are written")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--size", type=int, default=1024, help="image side in pixels (square)")
    parser.add_argument("--tiny", action="store_true", help="a tiny DiT (a check of the script)")
    parser.add_argument("--timeout", type=float, default=540)
    parser.add_argument("--phase", choices=("imports", "loader", "build", "load"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        phases = {
            "imports": phase_imports,
            "loader": phase_loader_import,
            "build": lambda: phase_build(args),
            "load": lambda: phase_load(args),
        }
        print(json.dumps(phases[args.phase]()))
        return
    args.directory.mkdir(parents=True, exist_ok=True)
    results = {}
    for phase in ("imports", "loader", "imports", "loader", "build", "load", "load"):
        key = phase if phase not in results else f"{phase} (again)"
        results[key] = run_phase(args, phase)
        print(f"{key}: {json.dumps(results[key])}", flush=True)
    print("\n| phase | wall s | figures |\n|---|---|---|")
    for key, result in results.items():
        figures = ", ".join(
            f"{name} {value:.3f}" if isinstance(value, float) else f"{name} {value}"
            for name, value in result.items()
            if name != "wall_s"
        )
        print(f"| {key} | {result['wall_s']:.2f} | {figures} |")


if __name__ == "__main__":
    main()
