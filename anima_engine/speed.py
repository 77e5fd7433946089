"""Running the DiT fast on a GPU: the attention backend, `torch.compile` with a persistent cache.

Nothing here changes the numerics beyond bf16 rounding: the benchmark (`benchmarks/engine_bench.py`)
checks the accelerated forward against the plain float32 one on every run. What each option bought on an
H100/H200 is recorded in `docs/benchmarks.md`.
"""

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor
from torch.nn.attention import SDPBackend, sdpa_kernel

from anima_engine.dit import DiT
from anima_engine.errors import ConfigError

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
COMPILE_MODES = ("default", "max-autotune-no-cudagraphs", "reduce-overhead")


@dataclass(frozen=True, slots=True, kw_only=True)
class SpeedOptions:
    """How to run the DiT.

    Attributes:
        attention: a key of `ATTENTION_BACKENDS`; "default" leaves PyTorch's own choice.
        compile: "none"; "blocks" compiles each transformer block (one graph, reused by all blocks, so the
            first call compiles in seconds); "model" compiles the whole forward (more fusion across blocks,
            longer first compile).
        mode: the torch.compile mode: "max-autotune-no-cudagraphs" also tries Triton matrix-multiply
            templates with fused epilogues; "reduce-overhead" replays CUDA graphs (with `compile="model"`
            only: the blocks share one compiled graph, so per-block CUDA graphs would overwrite the output a
            block hands to the next).
        cache_dir: where compiled kernels are kept between runs; None uses the user cache directory.
    """

    attention: str = "auto"
    compile: str = "blocks"
    mode: str = "default"
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
        if self.mode == "reduce-overhead" and self.compile != "model":
            raise ConfigError('mode "reduce-overhead" (CUDA graphs) needs compile="model"')


PLAIN = SpeedOptions(attention="default", compile="none")


def compile_cache_dir() -> Path:
    """The persistent directory for inductor's compiled kernels (`$ANIMA_COMPILE_CACHE` overrides)."""
    from platformdirs import user_cache_dir

    return Path(os.environ.get("ANIMA_COMPILE_CACHE", Path(user_cache_dir("anima-toolkit")) / "inductor"))


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


def accelerate(dit: DiT, options: SpeedOptions) -> Callable[[Tensor, Tensor, Tensor], Tensor]:
    """A velocity function `(x, sigma, context) -> v` running `dit` as `options` say.

    "blocks" compiles the blocks in place (the module keeps its parameters and state-dict names, so LoRA
    merging and unmerging still act on the same tensors); "model" returns a compiled forward.
    """
    mode = options.mode
    forward: Callable[[Tensor, Tensor, Tensor], Tensor] = dit
    if options.compile != "none":
        _use_compile_cache(options.cache_dir or compile_cache_dir())
        if options.compile == "blocks":
            for block in dit.blocks:
                block.compile(fullgraph=True, dynamic=False, mode=mode)
            dit.final_layer.compile(fullgraph=True, dynamic=False, mode=mode)
        else:
            forward = torch.compile(dit, fullgraph=True, dynamic=False, mode=mode)

    def velocity(x: Tensor, sigma: Tensor, context: Tensor) -> Tensor:
        with attention_backend(options.attention):
            return forward(x, sigma, context)

    return velocity
