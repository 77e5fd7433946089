"""Running the DiT fast on a GPU: attention backend, `torch.compile` with a persistent cache, CUDA graphs.

Nothing here changes the numerics beyond bf16 rounding: the benchmark (`benchmarks/engine_bench.py`)
checks the accelerated forward against the plain float32 one on every run. What each option bought on an
H200 is recorded in `docs/benchmarks.md`.
"""

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.nn.attention import SDPBackend, sdpa_kernel

from anima_engine.dit import DiT, VelocityFn
from anima_engine.errors import ConfigError
from anima_engine.fp8 import convert_to_fp8

ATTENTION_BACKENDS: dict[str, tuple[SDPBackend, ...]] = {
    # cuDNN's fused attention is the fastest SDPA kernel on Hopper for head dim 128 (docs/benchmarks.md);
    # the others follow as fallbacks for shapes or devices it does not take.
    "auto": (
        SDPBackend.CUDNN_ATTENTION,
        SDPBackend.FLASH_ATTENTION,
        SDPBackend.EFFICIENT_ATTENTION,
        SDPBackend.MATH,
    ),
    "cudnn": (SDPBackend.CUDNN_ATTENTION,),
    "flash": (SDPBackend.FLASH_ATTENTION,),
    "efficient": (SDPBackend.EFFICIENT_ATTENTION,),
    "math": (SDPBackend.MATH,),
    "default": (),
}
COMPILE_SCOPES = ("none", "blocks", "model")
COMPILE_MODES = ("default", "max-autotune-no-cudagraphs")


@dataclass(frozen=True, slots=True, kw_only=True)
class SpeedOptions:
    """How to run the DiT.

    Attributes:
        attention: a key of `ATTENTION_BACKENDS`; "default" leaves PyTorch's own choice.
        compile: "none"; "blocks" compiles each transformer block (one graph, reused by all blocks, so the
            first call compiles in seconds); "model" compiles the whole forward (longer first compile, and
            slower on an H200: docs/benchmarks.md).
        mode: the torch.compile mode; "max-autotune-no-cudagraphs" also tries Triton matrix-multiply
            templates (minutes of tuning for no measurable gain at Anima's shapes).
        fp8: run the blocks' attention and MLP linears with e4m3 weights and activations (`fp8`; Hopper
            and newer). Replaces those modules, so load LoRAs first; accuracy cost in docs/benchmarks.md.
        cuda_graph: on CUDA, capture the whole forward once per input shape and replay it, which removes
            the launch gaps between its ~600 kernels.
        cache_dir: where compiled kernels are kept between runs; None uses the user cache directory.
    """

    attention: str = "auto"
    compile: str = "blocks"
    mode: str = "default"
    fp8: bool = False
    cuda_graph: bool = True
    cache_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.attention not in ATTENTION_BACKENDS:
            raise ConfigError(
                f"attention: got {self.attention!r}, expected one of {sorted(ATTENTION_BACKENDS)}"
            )
        if self.compile not in COMPILE_SCOPES:
            raise ConfigError(f"compile: got {self.compile!r}, expected one of {COMPILE_SCOPES}")
        if self.mode not in COMPILE_MODES:
            raise ConfigError(f"mode: got {self.mode!r}, expected one of {COMPILE_MODES}")


PLAIN = SpeedOptions(attention="default", compile="none", cuda_graph=False)


def default_options(device: torch.device) -> SpeedOptions:
    """Compiled blocks and a CUDA graph on CUDA; the plain forward elsewhere (CPU compiles are slow)."""
    return SpeedOptions() if device.type == "cuda" else PLAIN


def compile_cache_dir() -> Path:
    """The persistent directory for inductor's compiled kernels (`$ANIMA_COMPILE_CACHE` overrides)."""
    from anima_prompt.places import user_cache_dir

    return Path(os.environ.get("ANIMA_COMPILE_CACHE", user_cache_dir() / "inductor"))


@contextlib.contextmanager
def attention_backend(name: str) -> Iterator[None]:
    """Prefer the SDPA kernels of `ATTENTION_BACKENDS[name]`, in that order, inside the block."""
    backends = ATTENTION_BACKENDS[name]
    if not backends:
        yield
        return
    with sdpa_kernel(list(backends), set_priority=True):
        yield


def _use_compile_cache(directory: Path) -> None:
    # Inductor reads the variable when it first compiles; an explicit user setting wins.
    directory.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(directory))
    import torch._inductor.config as inductor_config

    inductor_config.fx_graph_cache = True


class GraphedVelocity:
    """A velocity function replayed from CUDA graphs, one per input shape (falls back to eager off CUDA).

    The first call with a new shape runs the function twice on a side stream (compiling it and letting
    cuDNN and cuBLAS pick their kernels), then captures a third run. Later calls copy the inputs into the
    captured buffers and replay. All graphs share one memory pool, since they never run at the same time.
    The weights are read from their own memory at every replay, so LoRAs merged in place take effect.
    """

    def __init__(self, forward: VelocityFn) -> None:
        self.forward = forward
        self.graphs: dict[tuple[object, ...], tuple[torch.cuda.CUDAGraph, tuple[Tensor, ...], Tensor]] = {}
        self.pool: Any = None  # torch.cuda.graph_pool_handle(), an opaque handle

    def __call__(self, x: Tensor, sigma: Tensor, context: Tensor) -> Tensor:
        if not x.is_cuda:
            return self.forward(x, sigma, context)
        key = tuple((t.shape, t.dtype, t.device) for t in (x, sigma, context))
        if key not in self.graphs:
            self.graphs[key] = self._capture(x, sigma, context)
        graph, inputs, output = self.graphs[key]
        for buffer, value in zip(inputs, (x, sigma, context), strict=True):
            buffer.copy_(value)
        graph.replay()
        return output.clone()

    def _capture(self, x: Tensor, sigma: Tensor, context: Tensor) -> tuple:
        inputs = (x.clone(), sigma.clone(), context.clone())
        side = torch.cuda.Stream(device=x.device)
        side.wait_stream(torch.cuda.current_stream(x.device))
        with torch.cuda.stream(side):
            for _ in range(2):
                self.forward(*inputs)
        torch.cuda.current_stream(x.device).wait_stream(side)
        if self.pool is None:
            self.pool = torch.cuda.graph_pool_handle()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=self.pool):
            output = self.forward(*inputs)
        return graph, inputs, output


def accelerate(dit: DiT, options: SpeedOptions) -> VelocityFn:
    """A velocity function `(x, sigma, context) -> v` running `dit` as `options` say.

    "blocks" compiles the blocks in place (the module keeps its parameters and state-dict names, so LoRA
    merging and unmerging still act on the same tensors); "model" compiles the forward as a whole.
    """
    forward: VelocityFn = dit
    if options.fp8:
        convert_to_fp8(dit)
    if options.compile != "none":
        _use_compile_cache(options.cache_dir or compile_cache_dir())
        if options.compile == "blocks":
            for block in dit.blocks:
                block.compile(fullgraph=True, dynamic=False, mode=options.mode)
            dit.final_layer.compile(fullgraph=True, dynamic=False, mode=options.mode)
        else:
            forward = torch.compile(dit, fullgraph=True, dynamic=False, mode=options.mode)

    def velocity(x: Tensor, sigma: Tensor, context: Tensor) -> Tensor:
        with attention_backend(options.attention):
            return forward(x, sigma, context)

    return GraphedVelocity(velocity) if options.cuda_graph else velocity
