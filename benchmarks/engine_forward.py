"""Time the real-size networks with random weights: one DiT forward, the adapter and a Qwen3 encode.

Run on a CUDA machine: `python benchmarks/engine_forward.py --size 1024 --batch 2`; `--device cpu --size 64`
is a quick smoke run. Weights use the default PyTorch initialisation (timing does not depend on the
values). Also checks that the tiny files load through the public loaders onto the device.
"""

import argparse
import tempfile
import time
from collections.abc import Callable

import torch

from anima_engine.adapter import LLMAdapter
from anima_engine.config import PRESETS
from anima_engine.dit import DiT
from anima_engine.loading import load_dit, load_text_encoder
from anima_engine.testing import write_tiny_model
from anima_engine.text_encoder import build_qwen3


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(label: str, fn: Callable[[], object], repeats: int, device: torch.device) -> None:
    fn()
    _sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    _sync(device)
    print(f"{label}: {(time.perf_counter() - start) / repeats * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=1024, help="image side in pixels")
    parser.add_argument("--batch", type=int, default=2, help="batch (2 = cond + uncond)")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile(dit)")
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args()
    device, dtype = torch.device(args.device), torch.bfloat16
    spec = PRESETS["anima"]

    with tempfile.TemporaryDirectory() as directory:
        files = write_tiny_model(directory)
        dit, adapter = load_dit(files.dit, device=device)
        encoder = load_text_encoder(files.text_encoder, tokenizer_dir=files.tokenizer_dir, device=device)
        context = adapter(encoder.encode("a cat").qwen_states, torch.tensor([[5, 9, 1]], device=device))
        v = dit(torch.randn(1, 16, 1, 8, 8, device=device), torch.tensor([0.5], device=device), context)
        print(f"tiny files on {device}: weights {dit.t_embedding_norm.weight.dtype}, output {v.dtype}, ok")

    with torch.device(device):
        dit = DiT(spec.dit).to(dtype).eval().requires_grad_(False)
        adapter = LLMAdapter(spec.adapter).to(dtype).eval().requires_grad_(False)
        qwen = build_qwen3(spec.text_encoder).to(dtype).eval().requires_grad_(False)
    side = args.size // 8
    x = torch.randn(args.batch, 16, 1, side, side, device=device)
    sigma = torch.rand(args.batch, device=device)
    context = torch.randn(args.batch, 512, 1024, device=device, dtype=dtype)
    ids = torch.randint(0, 32000, (1, 77), device=device)
    qwen_ids = torch.randint(0, 151000, (1, 80), device=device)
    print(f"DiT params: {sum(p.numel() for p in dit.parameters()):,}")
    with torch.inference_mode():
        timed(
            f"DiT forward B={args.batch} {args.size}²", lambda: dit(x, sigma, context), args.repeats, device
        )
        timed(
            "Qwen3 encode (80 tokens)",
            lambda: qwen(input_ids=qwen_ids).last_hidden_state,
            args.repeats,
            device,
        )
        states = qwen(input_ids=qwen_ids).last_hidden_state
        timed("adapter (77 T5 tokens)", lambda: adapter(states, ids), args.repeats, device)
        if args.compile:
            compiled = torch.compile(dit)
            timed(
                f"compiled DiT forward B={args.batch}",
                lambda: compiled(x, sigma, context),
                args.repeats,
                device,
            )
    if device.type == "cuda":
        print(f"peak memory: {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")


if __name__ == "__main__":
    main()
