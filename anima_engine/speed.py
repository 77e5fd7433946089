"""Running the DiT fast on a GPU: attention backend, `torch.compile` with a persistent cache, CUDA graphs.

Nothing here changes the numerics beyond bf16 rounding: the benchmark (`benchmarks/engine_bench.py`)
checks the accelerated forward against the plain float32 one on every run. What each option bought on an
H200 is recorded in `docs/benchmarks.md`.
"""

import contextlib
import dataclasses
import logging
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
from anima_engine.timing import timed

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
logger = logging.getLogger(__name__)

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
EAGER = SpeedOptions(compile="none", cuda_graph=False)
"""On CUDA without compiling: the preferred attention kernels only. The eager forward is not replayed as
a CUDA graph: on an H200 a two-image run took 0.9 s longer with the graph (19.0 against 18.1 s, issue 13)
and a replay only removes launch gaps, which the eager forward already hides behind its GPU time."""

COMPILE_CHOICES = ("auto", "always", "never")

COMPILE_MIN_IMAGES_WARM = 7
"""`auto` compiles the DiT for runs of at least this many images once this machine has compiled it with
this torch before (the kernels are cached).

From `benchmarks/cold_start.py --sweep 4,8,16` on an H200 with bytecode for every package (torch 2.11,
1024², 30 steps, warm cache, 2026-12-05, docs/benchmarks.md "Fifth round"): least-squares lines through the
wall times of N-prompt files are 3.5 s + 2.82 s per image without compiling and 7.3 s + 2.19 s per image
compiled, so compiling costs 3.8 s once (importing the compiler, tracing, loading the cached kernels) and
saves 0.63 s per image; the lines cross at 6.0 images. The benchmark prints this fit after a sweep."""

COMPILE_MIN_IMAGES_COLD = 19
"""As `COMPILE_MIN_IMAGES_WARM` while the compile cache is cold: the one-image command took 17.3 s with
a cold cache against 6.6 s without compiling (same machine and day), so compiling costs 15.1 - 3.5 = 11.6 s
more once and pays from 19 images at 0.63 s per image."""


def default_options(device: torch.device) -> SpeedOptions:
    """Compiled blocks and a CUDA graph on CUDA; the plain forward elsewhere (CPU compiles are slow)."""
    return SpeedOptions() if device.type == "cuda" else PLAIN


def choose_speed(
    choice: str, *, device: torch.device, images: int, fp8: bool = False, cache_warm: bool = False
) -> SpeedOptions:
    """How the DiT runs for a run of `images` images: compile only where it pays (the thresholds above).

    Args:
        choice: `always` compiles (on CUDA), `never` does not, `auto` compiles for runs of at least
            `COMPILE_MIN_IMAGES_WARM` images when `cache_warm`, else `COMPILE_MIN_IMAGES_COLD`.
        device: where the DiT runs; off CUDA the forward is always plain.
        images: how many images the run will make.
        fp8: run the block linears in fp8 (CUDA only).
        cache_warm: this machine has compiled the DiT with this torch before (`compiled_before`).

    Raises:
        ConfigError: an unknown choice, or fp8 off CUDA.
    """
    if choice not in COMPILE_CHOICES:
        raise ConfigError(f"compile: got {choice!r}, expected one of {COMPILE_CHOICES}")
    if fp8 and device.type != "cuda":
        raise ConfigError(f"fp8 needs a CUDA GPU (Hopper or newer); the device is {device}")
    if device.type != "cuda":
        return PLAIN
    threshold = COMPILE_MIN_IMAGES_WARM if cache_warm else COMPILE_MIN_IMAGES_COLD
    compiled = choice == "always" or (choice == "auto" and images >= threshold)
    return dataclasses.replace(SpeedOptions() if compiled else EAGER, fp8=fp8)


def compile_cache_dir() -> Path:
    """The persistent directory for inductor's compiled kernels (`$ANIMA_COMPILE_CACHE` overrides)."""
    from anima_prompt.places import user_cache_dir

    return Path(os.environ.get("ANIMA_COMPILE_CACHE", user_cache_dir() / "inductor"))


def _compiled_marker(cache_dir: Path | None) -> Path:
    version = "".join(char if char.isalnum() or char in "._-" else "_" for char in torch.__version__)
    return (cache_dir or compile_cache_dir()) / f"anima-dit-torch-{version}.compiled"


def compiled_before(cache_dir: Path | None = None) -> bool:
    """Whether this torch version compiled the DiT here before, so the kernel cache is warm (checked
    without initialising CUDA)."""
    return _compiled_marker(cache_dir).is_file()


def _remember_compiled(cache_dir: Path | None) -> None:
    marker = _compiled_marker(cache_dir)
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError:  # only the next run's choice is affected
        pass


@contextlib.contextmanager
def attention_backend(name: str) -> Iterator[None]:
    """Prefer the SDPA kernels of `ATTENTION_BACKENDS[name]`, in that order, inside the block."""
    backends = ATTENTION_BACKENDS[name]
    if not backends:
        yield
        return
    with sdpa_kernel(list(backends), set_priority=True):
        yield


WARM_UP_HEAD_DIM = 128
"""Head size of the attention the warm-up runs: the DiT's, the adapter's and Qwen3's."""


def warm_up_kernels(device: torch.device, dtype: torch.dtype, *, attention: str = "auto") -> None:
    """Use cuBLAS, cuBLASLt and cuDNN (matrix products, fused attention, a convolution) once on `device`,
    so that their libraries load and initialise now: the first eager DiT call in a process took 0.49 s
    against 0.09 s for the next ones on an H200 host (issue 13). `load_pipeline` calls it on the calling
    thread (some of these libraries keep per-thread state) while the files load on others. Off CUDA it
    does nothing; its results are thrown away, and a failure only logs a warning (the first real call
    initialises the libraries then)."""
    if device.type != "cuda":
        return
    with timed("warm up cuBLAS and cuDNN (while the files load)", device):
        try:
            run_warm_up(device, dtype, attention=attention)
            torch.cuda.synchronize(device)
        except RuntimeError as error:
            logger.warning("warming up the GPU libraries failed: %s", error)


def run_warm_up(device: torch.device, dtype: torch.dtype, *, attention: str = "auto") -> None:
    """The operations of `warm_up_kernels`, on any device."""
    import torch.nn.functional as F

    with torch.inference_mode():
        x = torch.randn(256, 1024, device=device, dtype=dtype)
        weight = torch.randn(1024, 1024, device=device, dtype=dtype)
        bias = torch.zeros(1024, device=device, dtype=dtype)
        F.gelu(F.linear(F.layer_norm(x, (1024,)), weight, bias), approximate="tanh")
        F.silu(F.rms_norm(F.linear(x, weight), (1024,)))
        q = x.view(2, -1, 128, WARM_UP_HEAD_DIM)  # (B, Hd, L, 128)
        with attention_backend(attention):
            F.scaled_dot_product_attention(q, q, q)
        image = x.view(1, 16, 128, 128)[:, :, :32, :32]
        F.conv2d(image, weight.view(64, 16, 32, 32)[:, :, :3, :3].contiguous(), padding=1)


def import_compiler() -> None:
    """Import the parts of torch that compiling the DiT uses (dynamo, and inductor's compiler, which the
    first compiled call would import: 3.7 s on an H200 host, issue 13). `load_pipeline` runs it after the
    files load: it holds the GIL, and the loads beside it were slowed several times over."""
    import torch._dynamo
    import torch._inductor.compile_fx  # noqa: F401


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
            # The final layer runs once per forward for well under a millisecond; compiling it too would
            # add a second graph to trace and load at every start.
            for block in dit.blocks:
                block.compile(fullgraph=True, dynamic=False, mode=options.mode)
        else:
            forward = torch.compile(dit, fullgraph=True, dynamic=False, mode=options.mode)

    compiled = options.compile != "none"

    def velocity(x: Tensor, sigma: Tensor, context: Tensor) -> Tensor:
        nonlocal compiled
        with attention_backend(options.attention):
            v = forward(x, sigma, context)
        if compiled:  # the first compiled forward finished: the kernels are in the cache now
            _remember_compiled(options.cache_dir)
            compiled = False
        return v

    return GraphedVelocity(velocity) if options.cuda_graph else velocity
