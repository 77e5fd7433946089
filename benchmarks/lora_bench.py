"""Time LoRAs on the real-size DiT and adapter with random weights: reading, merging, unmerging, and the
cost of on-the-fly hooks per DiT forward, for a low-rank LoRA, a LoKr and a LoKr with DoRA.

Run on a CUDA machine: `python benchmarks/lora_bench.py --size 1024 --rank 32`; `--device cpu --size 64`
is a quick smoke run. The LoRAs cover every Linear layer of the DiT and the adapter (Kohya names).
"""

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.support

import torch

from anima_engine._tiny import randomize
from anima_engine.adapter import LLMAdapter
from anima_engine.config import PRESETS
from anima_engine.dit import DiT
from anima_engine.lora import LoraTargets, attach, merge, parse_lora
from tests.support.lora_files import tiny_lora


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn: Callable[[], object], repeats: int, device: torch.device) -> float:
    """Mean seconds per call after one warm-up call."""
    fn()
    _sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    _sync(device)
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=1024, help="image side in pixels")
    parser.add_argument("--batch", type=int, default=2, help="batch (2 = cond + uncond)")
    parser.add_argument("--rank", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args()
    device, dtype = torch.device(args.device), torch.bfloat16
    spec = PRESETS["anima"]
    with torch.device(device):
        dit = randomize(DiT(spec.dit), 0).to(dtype).eval().requires_grad_(False)
        adapter = randomize(LLMAdapter(spec.adapter), 1).to(dtype).eval().requires_grad_(False)
    targets = LoraTargets(dit=dit, adapter=adapter)
    side = args.size // 8
    x = torch.randn(args.batch, 16, 1, side, side, device=device)
    sigma = torch.rand(args.batch, device=device)
    context = torch.randn(args.batch, 512, 1024, device=device, dtype=dtype)

    def forward() -> torch.Tensor:
        with torch.inference_mode():
            return dit(x, sigma, context)

    base = timed(forward, args.repeats, device)
    print(f"DiT forward B={args.batch} {args.size}², no LoRA: {base * 1000:.1f} ms")
    kinds = {
        "LoRA": {"kind": "lora_down_up", "alpha": args.rank / 2},
        "LoKr": {"kind": "lokr_w2_factored", "alpha": args.rank / 2},
        "LoKr+DoRA": {"kind": "lokr_w2_factored", "alpha": args.rank / 2, "dora": "column"},
    }
    for label, options in kinds.items():
        tensors = tiny_lora(targets, naming="kohya", rank=args.rank, **options)  # type: ignore[arg-type]
        megabytes = sum(t.numel() * t.element_size() for t in tensors.values()) / 2**20
        start = time.perf_counter()
        lora = parse_lora(tensors, targets, name=label, source=label)
        parsed = time.perf_counter() - start
        original = dit.blocks[5].mlp.layer1.weight.clone()
        _sync(device)
        start = time.perf_counter()
        merged = merge(targets, [(lora, 0.8)])
        _sync(device)
        merging = time.perf_counter() - start
        with_merged = forward()
        start = time.perf_counter()
        merged.unmerge()
        _sync(device)
        unmerging = time.perf_counter() - start
        exact = torch.equal(dit.blocks[5].mlp.layer1.weight, original)
        with attach(targets, [(lora, 0.8)]):
            live = timed(forward, args.repeats, device)
            with_hooks = forward()
        error = ((with_hooks.float() - with_merged.float()).norm() / with_merged.float().norm()).item()
        print(
            f"{label} rank {args.rank} ({len(lora.patches)} layers, {megabytes:.0f} MB fp32): parse "
            f"{parsed * 1000:.0f} ms, merge {merging * 1000:.0f} ms, unmerge {unmerging * 1000:.0f} ms "
            f"(exact: {exact}); forward on the fly {live * 1000:.1f} ms ({live / base - 1:+.0%}); "
            f"on-the-fly vs merged output: relative difference {error:.1e} (bf16)"
        )


if __name__ == "__main__":
    main()
