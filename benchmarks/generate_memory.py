"""Peak GPU memory and time of `generate` with the real-size networks (random weights), ± low_vram.

Run on a CUDA machine: `python benchmarks/generate_memory.py --size 1024 --steps 4`. The networks are
built directly at the released sizes in bf16 (timing and memory do not depend on the weight values); the
tokenizers are the tiny test ones, whose ids are valid for the real vocabularies.
"""

import argparse
import dataclasses
import tempfile
import time

import torch

from anima_engine._tiny import write_tiny_tokenizers
from anima_engine.adapter import LLMAdapter
from anima_engine.config import PRESETS
from anima_engine.dit import DiT
from anima_engine.generation import generate
from anima_engine.pipeline import Pipeline
from anima_engine.qwen3 import Qwen3
from anima_engine.request import GenerationRequest
from anima_engine.text_encoder import TextEncoder, load_tokenizers
from anima_engine.vae import VAE

PROMPT = "safe, 1girl, (red hair:1.2), smile, looking at viewer, outdoors, cherry blossoms"


def build(device: torch.device, dtype: torch.dtype, tokenizer_dir: str) -> Pipeline:
    spec = PRESETS["anima"]
    cpu = torch.device("cpu")
    with torch.device(cpu):
        qwen = Qwen3(spec.text_encoder).to(dtype).eval().requires_grad_(False)
    with torch.device(device):
        dit = DiT(spec.dit).to(dtype).eval().requires_grad_(False)
        adapter = LLMAdapter(spec.adapter).to(dtype).eval().requires_grad_(False)
        vae = VAE(spec.vae).to(dtype).eval().requires_grad_(False)
    encoder = TextEncoder(model=qwen, tokenizers=load_tokenizers(tokenizer_dir), params=spec.text_encoder)
    return Pipeline(text_encoder=encoder, dit=dit, adapter=adapter, vae=vae, device=device, dtype=dtype)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args()
    device = torch.device(args.device)
    with tempfile.TemporaryDirectory() as directory:
        pipe = build(device, torch.bfloat16, str(write_tiny_tokenizers(directory)))
    request = GenerationRequest(
        prompt=PROMPT,
        width=args.size,
        height=args.size,
        steps=args.steps,
        cfg=4.0,
        sampler="er_sde",
        lint=False,
    )
    for low_vram in (True, False):
        run = dataclasses.replace(pipe, low_vram=low_vram)
        generate(run, dataclasses.replace(request, steps=1))  # warm-up
        if device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        generate(run, request)
        if device.type == "cuda":
            torch.cuda.synchronize()
            peak = torch.cuda.max_memory_allocated() / 2**30
        else:
            peak = float("nan")
        elapsed = time.perf_counter() - start
        print(
            f"{args.size}² {args.steps} steps er_sde CFG 4, low_vram={low_vram}: "
            f"{elapsed:.2f} s, peak allocated {peak:.2f} GiB"
        )


if __name__ == "__main__":
    main()
