"""Engine speed against diffusers: the same random weights of the true size, the same card, one process.

Times with CUDA events after warm-up (median of `--repeats`), bf16:
  * one DiT forward with CFG (batch 2) at 1024², 832×1216 and 1536², and batch 1 at 1024²;
  * the VAE decode of one 1024² image, with its peak memory;
  * text conditioning (Qwen3 encode + LLM adapter) of a typical prompt;
  * a whole 30-step 1024² generation (encode + sample + decode) with our engine.
Each DiT row gives the ratio to diffusers' eager forward and the achieved TFLOP/s. The run also checks
that every fast path agrees with our plain float32 forward within bf16 expectations.

    python benchmarks/engine_bench.py                     # the table, on a CUDA card
    python benchmarks/engine_bench.py --explore           # time every optimisation variant at 1024²
    python benchmarks/engine_bench.py --smoke             # tiny sizes on the CPU: checks the script runs

diffusers is needed only here and in the tests (the `test` extra).
"""

import argparse
import dataclasses
import json
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.support

import torch
from safetensors.torch import load_file
from torch import Tensor, nn

from anima_engine._tiny import (
    TINY_ADAPTER,
    TINY_DIT,
    TINY_PIPELINE_VAE,
    TINY_TEXT_ENCODER,
    write_tiny_tokenizers,
    write_tiny_vae,
)
from anima_engine.adapter import LLMAdapter
from anima_engine.config import (
    PRESETS,
    QWEN_IMAGE_VAE,
    AdapterParams,
    DiTParams,
    TextEncoderParams,
    VAEParams,
)
from anima_engine.dit import DiT
from anima_engine.generation import generate
from anima_engine.pipeline import Pipeline
from anima_engine.qwen3 import Qwen3
from anima_engine.request import GenerationRequest
from anima_engine.speed import PLAIN, SpeedOptions, accelerate, attention_backend
from anima_engine.text_encoder import TextEncoder, load_tokenizers
from anima_engine.vae_loading import load_vae
from tests.support.reference import reference_adapter, reference_dit, reference_vae, reference_velocity

SIZES = ((1024, 1024), (832, 1216), (1536, 1536))
CONTEXT_ROWS = 512
BF16_TOLERANCE = 3e-2  # relative L2 error of a bf16 forward against float32 through 28 random blocks


@dataclasses.dataclass
class Row:
    name: str
    ours_ms: float
    reference_ms: float | None = None
    tflops: float | None = None
    peak_gib: float | None = None
    reference_peak_gib: float | None = None
    note: str = ""

    def cells(self) -> list[str]:
        ratio = f"{self.reference_ms / self.ours_ms:.2f}×" if self.reference_ms else "—"
        return [
            self.name,
            f"{self.ours_ms:.1f}",
            f"{self.reference_ms:.1f}" if self.reference_ms else "—",
            ratio,
            f"{self.tflops:.0f}" if self.tflops else "—",
            f"{self.peak_gib:.2f}" if self.peak_gib is not None else "—",
            f"{self.reference_peak_gib:.2f}" if self.reference_peak_gib is not None else "—",
            self.note,
        ]


HEADER = [
    "measurement",
    "ours ms",
    "diffusers ms",
    "speed-up",
    "TFLOP/s",
    "peak GiB",
    "diffusers GiB",
    "note",
]


def print_table(rows: list[Row]) -> None:
    lines = [HEADER, ["---"] * len(HEADER), *(row.cells() for row in rows)]
    for line in lines:
        print("| " + " | ".join(line) + " |")


# ---------------------------------------------------------------------------------------------------------
# Models with random weights


def fill_random(module: nn.Module, seed: int) -> nn.Module:
    """Seeded N(0, 1/fan_in) matrices and norm gains near 1, drawn on the module's device (fast on a GPU)."""
    generator = torch.Generator(device=next(module.parameters()).device).manual_seed(seed)
    with torch.no_grad():
        for name, param in module.named_parameters():
            noise = torch.randn(param.shape, generator=generator, device=param.device, dtype=torch.float32)
            if param.ndim >= 2:
                value = noise / math.sqrt(param[0].numel())
            elif "norm" in name or name.endswith("gamma"):
                value = 1 + 0.1 * noise
            else:
                value = 0.02 * noise
            param.copy_(value)
    return module


def build(module_type: Callable[[], nn.Module], device: torch.device) -> nn.Module:
    with torch.device("meta"):
        module = module_type()
    return module.to_empty(device=device).eval().requires_grad_(False)


# ---------------------------------------------------------------------------------------------------------
# Timing


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_ms(fn: Callable[[], object], device: torch.device, *, warmup: int, repeats: int) -> float:
    """Median milliseconds of `fn` after `warmup` calls (CUDA events on a GPU, the host clock on a CPU)."""
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        else:
            begin = time.perf_counter()
            fn()
            times.append((time.perf_counter() - begin) * 1000)
    return statistics.median(times)


def peak_gib(fn: Callable[[], object], device: torch.device) -> float | None:
    """Peak memory allocated by one call of `fn`, above what was allocated before it."""
    if device.type != "cuda":
        return None
    sync(device)
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    fn()
    sync(device)
    return (torch.cuda.max_memory_allocated(device) - before) / 2**30


def dit_flops(params: DiTParams, tokens: int, context: int, batch: int) -> float:
    """Multiply-adds ×2 of one DiT forward: the block linears, both attentions and the final layer."""
    d, dc, dm = params.model_channels, params.context_channels, params.mlp_channels
    linear = tokens * (6 * d * d + 2 * d * dm) + context * 2 * dc * d
    attention = 2 * tokens * tokens * d + 2 * tokens * context * d
    final = tokens * d * params.out_channels * math.prod(params.patch_size)
    return 2.0 * batch * (params.num_blocks * (linear + attention) + final)


def relative_error(got: Tensor, want: Tensor) -> float:
    got, want = got.float(), want.float()
    return ((got - want).norm() / want.norm()).item()


# ---------------------------------------------------------------------------------------------------------
# The measurements


@dataclasses.dataclass
class Setup:
    device: torch.device
    dtype: torch.dtype
    dit_params: DiTParams
    adapter_params: AdapterParams
    vae_params: VAEParams
    sizes: tuple[tuple[int, int], ...]
    warmup: int
    repeats: int
    steps: int
    tokenizer_dir: Path | None


def dit_inputs(setup: Setup, width: int, height: int, batch: int, seed: int = 0) -> tuple[Tensor, ...]:
    generator = torch.Generator(device=setup.device).manual_seed(seed)
    ratio = setup.vae_params.spatial_ratio
    x = torch.randn(
        batch,
        setup.dit_params.in_channels,
        1,
        height // ratio,
        width // ratio,
        generator=generator,
        device=setup.device,
    )
    sigma = torch.rand(batch, generator=generator, device=setup.device)
    context = torch.randn(
        batch, CONTEXT_ROWS, setup.dit_params.context_channels, generator=generator, device=setup.device
    )
    context[:, 60:] = 0  # a 60-token prompt zero-padded to 512 rows, as the adapter gives it
    return x, sigma, context.to(setup.dtype)


def explore(setup: Setup, dit: DiT, dit32: DiT, reference: nn.Module, only: Sequence[str] = ()) -> None:
    """Every optimisation variant at 1024² with CFG (batch 2), its first-call time and its error."""
    x, sigma, context = dit_inputs(setup, *setup.sizes[0], batch=2)
    with torch.inference_mode():
        want = dit32(x, sigma, context.float())
        base = time_ms(
            lambda: reference_velocity(reference)(x, sigma, context),
            setup.device,
            warmup=setup.warmup,
            repeats=setup.repeats,
        )
        with attention_backend("cudnn" if setup.device.type == "cuda" else "default"):
            ref_cudnn = time_ms(
                lambda: reference_velocity(reference)(x, sigma, context),
                setup.device,
                warmup=setup.warmup,
                repeats=setup.repeats,
            )
    flops = dit_flops(setup.dit_params, x.shape[-1] * x.shape[-2] // 4, CONTEXT_ROWS, 2)
    rows = [
        Row("diffusers eager", base, base, flops / base / 1e9),
        Row("diffusers eager, cuDNN attention", ref_cudnn, base, flops / ref_cudnn / 1e9),
    ]
    graphless = {"cuda_graph": False}
    variants = {
        "ours eager, default attention": PLAIN,
        "ours eager, cuDNN attention": SpeedOptions(attention="cudnn", compile="none", **graphless),
        "ours eager, flash attention": SpeedOptions(attention="flash", compile="none", **graphless),
        "ours compiled blocks": SpeedOptions(attention="cudnn", compile="blocks", **graphless),
        "ours compiled blocks, max-autotune": SpeedOptions(
            attention="cudnn", compile="blocks", mode="max-autotune-no-cudagraphs", **graphless
        ),
        "ours compiled model": SpeedOptions(attention="cudnn", compile="model", **graphless),
        "ours compiled blocks + CUDA graph": SpeedOptions(attention="cudnn", compile="blocks"),
        "ours compiled model + CUDA graph": SpeedOptions(attention="cudnn", compile="model"),
    }
    if only:
        variants = {name: value for name, value in variants.items() if any(word in name for word in only)}
    for name, options in variants.items():
        reset_compiled(dit)
        velocity = accelerate(dit, options)
        with torch.inference_mode():
            begin = time.perf_counter()
            try:
                got = velocity(x, sigma, context).clone()
            except RuntimeError as error:  # a backend that does not take these shapes
                print(f"{name}: failed: {str(error).splitlines()[0]}", file=sys.stderr)
                continue
            sync(setup.device)
            first = time.perf_counter() - begin
            ms = time_ms(
                lambda v=velocity: v(x, sigma, context),
                setup.device,
                warmup=setup.warmup,
                repeats=setup.repeats,
            )
        error = relative_error(got, want)
        rows.append(
            Row(name, ms, base, flops / ms / 1e9, note=f"first call {first:.1f} s, error {error:.1e}")
        )
        print_table(rows[-1:])
    reset_compiled(dit)
    print_table(rows)


def profile_step(setup: Setup, velocity: Callable[[Tensor, Tensor, Tensor], Tensor]) -> None:
    """Print the CUDA kernels of one CFG step at the first size, by total time."""
    from torch.profiler import ProfilerActivity, profile

    x, sigma, context = dit_inputs(setup, *setup.sizes[0], batch=2)
    with torch.inference_mode():
        for _ in range(3):
            velocity(x, sigma, context)
        sync(setup.device)
        cuda = setup.device.type == "cuda"
        with profile(activities=[ProfilerActivity.CUDA if cuda else ProfilerActivity.CPU]) as profiler:
            velocity(x, sigma, context)
            sync(setup.device)
    order = "cuda_time_total" if cuda else "cpu_time_total"
    print(profiler.key_averages().table(sort_by=order, row_limit=30, max_name_column_width=90))


def reset_compiled(dit: DiT) -> None:
    for module in (*dit.blocks, dit.final_layer):
        module._compiled_call_impl = None
    torch._dynamo.reset()


def measure(setup: Setup, dit: DiT, dit32: DiT, reference: nn.Module, options: SpeedOptions) -> list[Row]:
    """The DiT rows: CFG steps at every size and batch 1 at the first, ours (fast) against diffusers.

    The first row also says how far the fast path, the plain bf16 forward and diffusers are from our
    float32 forward on the same inputs.
    """
    reference_fn = reference_velocity(reference)
    x, sigma, context = dit_inputs(setup, *setup.sizes[0], batch=2)
    with torch.inference_mode():
        want = dit32(x, sigma, context.float())
        plain_error = relative_error(dit(x, sigma, context), want)
        reference_error = relative_error(reference_fn(x, sigma, context), want)
    velocity = accelerate(dit, options)
    with torch.inference_mode():
        fast_error = relative_error(velocity(x, sigma, context), want)
    if not fast_error < BF16_TOLERANCE:
        raise SystemExit(f"fast DiT forward deviates from float32: {fast_error:.2e}")
    cases = [(size, 2) for size in setup.sizes] + [(setup.sizes[0], 1)]
    rows = [measure_case(setup, velocity, reference_fn, size, batch) for size, batch in cases]
    rows[
        0
    ].note += (
        f"; vs fp32: fast {fast_error:.1e}, plain bf16 {plain_error:.1e}, diffusers {reference_error:.1e}"
    )
    return rows


def measure_fp8(setup: Setup, dit32: DiT, reference: nn.Module, options: SpeedOptions) -> Row:
    """The fast path with fp8 linears on a fresh bf16 copy of the weights, at the first size with CFG."""
    dit8 = build(lambda: DiT(setup.dit_params), setup.device)
    dit8.load_state_dict({k: v.to(setup.dtype) for k, v in dit32.state_dict().items()}, assign=True)
    velocity = accelerate(dit8, dataclasses.replace(options, fp8=True))
    x, sigma, context = dit_inputs(setup, *setup.sizes[0], batch=2)
    with torch.inference_mode():
        error = relative_error(velocity(x, sigma, context), dit32(x, sigma, context.float()))
    row = measure_case(setup, velocity, reference_velocity(reference), setup.sizes[0], 2)
    row.name += ", fp8 linears"
    row.note += f"; vs fp32: {error:.1e}"
    return row


def measure_case(
    setup: Setup,
    velocity: Callable[[Tensor, Tensor, Tensor], Tensor],
    reference_fn: Callable[[Tensor, Tensor, Tensor], Tensor],
    size: tuple[int, int],
    batch: int,
) -> Row:
    """One DiT row: the first call (compilation included), then the medians of ours and diffusers."""
    width, height = size
    x, sigma, context = dit_inputs(setup, width, height, batch)

    def ours() -> Tensor:
        return velocity(x, sigma, context)

    def theirs() -> Tensor:
        return reference_fn(x, sigma, context)

    with torch.inference_mode():
        begin = time.perf_counter()
        # The first call compiles and captures: its peak includes the CUDA graph's memory pool, which
        # holds the activations of every later replay.
        ours_peak = peak_gib(ours, setup.device)
        first = time.perf_counter() - begin
        ours_ms = time_ms(ours, setup.device, warmup=setup.warmup, repeats=setup.repeats)
        theirs_ms = time_ms(theirs, setup.device, warmup=setup.warmup, repeats=setup.repeats)
        theirs_peak = peak_gib(theirs, setup.device)
    tokens = x.shape[-1] * x.shape[-2] // 4
    tflops = dit_flops(setup.dit_params, tokens, CONTEXT_ROWS, batch) / ours_ms / 1e9
    name = f"DiT {width}×{height}, batch {batch}" + (" (CFG step)" if batch == 2 else "")
    return Row(name, ours_ms, theirs_ms, tflops, ours_peak, theirs_peak, f"first call {first:.1f} s")


def measure_vae(setup: Setup, directory: Path) -> list[Row]:
    """Decode of one image at the first size: ours (bf16, channels-last) against diffusers (bf16)."""
    path = write_tiny_vae(directory / "vae.safetensors", setup.vae_params, seed=3)
    ours = load_vae(path, params=setup.vae_params, device=setup.device, dtype=setup.dtype)
    ours32 = load_vae(path, params=setup.vae_params, device=setup.device, dtype=torch.float32)
    contiguous = load_vae(path, params=setup.vae_params, device=setup.device, dtype=setup.dtype)
    contiguous = contiguous.to(memory_format=torch.contiguous_format)
    theirs = reference_vae(setup.vae_params, load_file(str(path))).to(device=setup.device, dtype=setup.dtype)
    width, height = setup.sizes[0]
    ratio = setup.vae_params.spatial_ratio
    generator = torch.Generator(device=setup.device).manual_seed(4)
    z = torch.randn(
        1,
        setup.vae_params.z_dim,
        1,
        height // ratio,
        width // ratio,
        generator=generator,
        device=setup.device,
    )
    mean = torch.tensor(setup.vae_params.latents_mean, device=setup.device).view(1, -1, 1, 1, 1)
    std = torch.tensor(setup.vae_params.latents_std, device=setup.device).view(1, -1, 1, 1, 1)
    z_raw = (z * std + mean).to(setup.dtype)

    def decode_ours() -> Tensor:
        return ours.decode(z)

    def decode_contiguous() -> Tensor:
        return contiguous.decode(z)

    def decode_theirs() -> Tensor:
        return theirs.decode(z_raw, return_dict=False)[0]

    with torch.inference_mode():
        ours_ms = time_ms(decode_ours, setup.device, warmup=setup.warmup, repeats=setup.repeats)
        theirs_ms = time_ms(decode_theirs, setup.device, warmup=setup.warmup, repeats=setup.repeats)
        contiguous_ms = time_ms(decode_contiguous, setup.device, warmup=setup.warmup, repeats=setup.repeats)
        ours_peak, theirs_peak = peak_gib(decode_ours, setup.device), peak_gib(decode_theirs, setup.device)
        contiguous_peak = peak_gib(decode_contiguous, setup.device)
        want = ours32.decode(z)
        error = relative_error(decode_ours(), want)
        reference_error = relative_error(decode_theirs()[:, :, 0], want)
    if not error < BF16_TOLERANCE:
        raise SystemExit(f"bf16 VAE decode deviates from float32: {error:.2e}")
    note = f"vs fp32: ours {error:.1e}, diffusers {reference_error:.1e}"
    return [
        Row(f"VAE decode {width}×{height}", ours_ms, theirs_ms, None, ours_peak, theirs_peak, note),
        Row(
            f"VAE decode {width}×{height}, NCHW layout",
            contiguous_ms,
            theirs_ms,
            None,
            contiguous_peak,
            theirs_peak,
            "our default on CUDA is channels-last (row above)",
        ),
    ]


def measure_text(setup: Setup, adapter: LLMAdapter, qwen: Qwen3) -> list[Row]:
    """Qwen3 encode of 64 tokens, then the adapter over 48 T5 ids: ours against diffusers' conditioner."""
    reference = reference_adapter(adapter.params, adapter.state_dict())
    generator = torch.Generator(device=setup.device).manual_seed(5)
    qwen_ids = torch.randint(0, qwen.params.vocab_size - 2, (1, 64), generator=generator, device=setup.device)
    t5_ids = torch.randint(2, adapter.params.vocab_size, (1, 48), generator=generator, device=setup.device)
    weights = torch.ones(1, 48, device=setup.device, dtype=setup.dtype)

    def ours() -> Tensor:
        return adapter(qwen(qwen_ids), t5_ids, weights)

    def theirs() -> Tensor:
        return reference(qwen(qwen_ids), t5_ids)

    with torch.inference_mode():
        ours_ms = time_ms(ours, setup.device, warmup=setup.warmup, repeats=setup.repeats)
        theirs_ms = time_ms(theirs, setup.device, warmup=setup.warmup, repeats=setup.repeats)
        error = relative_error(ours(), theirs())
    return [
        Row(
            "text conditioning (Qwen3 64 tok + adapter)", ours_ms, theirs_ms, note=f"vs diffusers {error:.1e}"
        )
    ]


PROMPT = (
    "masterpiece, best quality, score_7, safe, 1girl, hatsune miku, vocaloid, (aqua hair:1.2), twintails, "
    "smile, looking at viewer, cherry blossoms. She stands on a bridge over a quiet river at dusk."
)


def measure_generation(
    setup: Setup, dit: DiT, adapter: LLMAdapter, qwen: Qwen3, text_params: TextEncoderParams,
    directory: Path, options: SpeedOptions,
) -> list[Row]:  # fmt: skip
    """A whole image through `generate`: prompt and empty negative, er_sde with CFG 4, decode, PIL."""
    tokenizer_dir = setup.tokenizer_dir or write_tiny_tokenizers(directory / "tokenizers")
    vae = load_vae(
        directory / "vae.safetensors", params=setup.vae_params, device=setup.device, dtype=setup.dtype
    )
    pipe = Pipeline(
        text_encoder=TextEncoder(qwen, load_tokenizers(tokenizer_dir), text_params),
        dit=dit,
        adapter=adapter,
        vae=vae,
        device=setup.device,
        dtype=setup.dtype,
        velocity=accelerate(dit, options),
    )
    width, height = setup.sizes[0]
    request = GenerationRequest(
        prompt=PROMPT, width=width, height=height, steps=setup.steps, cfg=4.0, sampler="er_sde", lint=False
    )
    generate(pipe, request)  # warm-up: compiles and captures the shapes it needs
    sync(setup.device)
    begin = time.perf_counter()
    (result,) = generate(pipe, request)
    sync(setup.device)
    seconds = time.perf_counter() - begin
    assert result.image.size == (width, height)
    name = f"whole image {width}×{height}, {setup.steps} steps, CFG 4"
    return [
        Row(name, seconds * 1000, note="generate: parse, normalise, encode, er_sde, decode, PIL; wall clock")
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="tiny models on the CPU, to check the script")
    parser.add_argument("--explore", action="store_true", help="time every optimisation variant at 1024²")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--attention", default="cudnn", help="attention backend of the fast path")
    parser.add_argument("--compile", default="blocks", help="none | blocks | model")
    parser.add_argument("--mode", default="default", help="torch.compile mode of the fast path")
    parser.add_argument("--no-cuda-graph", action="store_true", help="no CUDA graph in the fast path")
    parser.add_argument("--fp8", action="store_true", help="also time the fast path with fp8 linears")
    parser.add_argument(
        "--only", nargs="*", default=(), help="with --explore: variants containing these words"
    )
    parser.add_argument(
        "--profile", action="store_true", help="print the top CUDA kernels of one fast CFG step"
    )
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--tokenizers", type=Path, help="folder with qwen3/ and t5/ tokenizer.json files")
    args = parser.parse_args()

    if args.smoke:
        spec = PRESETS["anima"]
        setup = Setup(
            torch.device("cpu"),
            torch.bfloat16,
            dataclasses.replace(TINY_DIT, context_channels=32),
            TINY_ADAPTER,
            TINY_PIPELINE_VAE,
            ((64, 64), (48, 80)),
            1,
            2,
            3,
            None,
        )
        text_params = TINY_TEXT_ENCODER
        options = SpeedOptions(attention="default", compile="none")
    else:
        if not torch.cuda.is_available():
            raise SystemExit("no CUDA device: run with --smoke on a CPU")
        spec = PRESETS["anima"]
        setup = Setup(
            torch.device("cuda"),
            torch.bfloat16,
            spec.dit,
            spec.adapter,
            QWEN_IMAGE_VAE,
            SIZES,
            args.warmup,
            args.repeats,
            args.steps,
            args.tokenizers,
        )
        text_params = spec.text_encoder
        options = SpeedOptions(
            attention=args.attention,
            compile=args.compile,
            mode=args.mode,
            cuda_graph=not args.no_cuda_graph,
        )
        torch.backends.cudnn.benchmark = True
        props = torch.cuda.get_device_properties(0)
        print(
            f"# {props.name}, {props.total_memory / 2**30:.0f} GiB, torch {torch.__version__}, "
            f"CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}"
        )
    import diffusers

    print(f"# diffusers {diffusers.__version__}; fast path: {options}")
    device = setup.device
    dit32 = fill_random(build(lambda: DiT(setup.dit_params), device), seed=1)
    dit = build(lambda: DiT(setup.dit_params), device)
    dit.load_state_dict({k: v.to(setup.dtype) for k, v in dit32.state_dict().items()}, assign=True)
    reference = reference_dit(setup.dit_params, dit.state_dict())
    if args.explore:
        explore(setup, dit, dit32, reference, args.only)
    if args.profile:
        profile_step(setup, accelerate(dit, options))
    if args.explore:
        return
    rows = measure(setup, dit, dit32, reference, options)
    if args.fp8:
        rows.append(measure_fp8(setup, dit32, reference, options))
    del reference
    adapter = fill_random(build(lambda: LLMAdapter(setup.adapter_params), device), seed=2).to(setup.dtype)
    qwen = Qwen3(text_params).to(device=device, dtype=setup.dtype).eval().requires_grad_(False)
    fill_random(qwen, seed=7)
    rows += measure_text(setup, adapter, qwen)
    with tempfile.TemporaryDirectory() as directory:
        rows += measure_vae(setup, Path(directory))
        rows += measure_generation(setup, dit, adapter, qwen, text_params, Path(directory), options)
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps([dataclasses.asdict(row) for row in rows], indent=1))


if __name__ == "__main__":
    main()
