"""Tiny random LoRAs in every key layout `anima_engine.lora` reads, for tests and demos.

`tiny_lora(targets, ...)` covers every Linear layer of the chosen networks of a (tiny) model. The layout
is two independent choices:

* `naming`: "dotted" (checkpoint names under `prefix`, `llm_adapter.` for the adapter,
  `text_encoder.` for Qwen3), "kohya" (`lora_unet_…`, `lora_unet_llm_adapter_…`, `lora_te_…`) or
  "diffusers" (`transformer.transformer_blocks.N.attn1.to_q…`, `text_conditioner.…`);
* `kind`: "lora" (`lora_A`/`lora_B`), "lora_down_up" (`lora_down`/`lora_up`), "lokr" (full `lokr_w1`,
  `lokr_w2`), "lokr_w2_factored" (`lokr_w1`, `lokr_w2_a`, `lokr_w2_b`) or "lokr_factored" (all four
  factors); `alpha` adds `.alpha`, `dora` adds a `.dora_scale`.
"""

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import Tensor

from anima_engine.lora.names import Target, diffusers_name, linear_layers
from anima_engine.lora.reading import LoraTargets

NAMINGS = ("dotted", "kohya", "diffusers")
KINDS = ("lora", "lora_down_up", "lokr", "lokr_w2_factored", "lokr_factored")
DORA_AXES = ("column", "row")
_DELTA_SIZE = 0.2


def lora_stem(target: Target, naming: str, prefix: str = "diffusion_model.") -> str:
    """The name `tiny_lora` gives `target` in a file of this `naming`."""
    if naming == "kohya":
        head = {"dit": "lora_unet_", "adapter": "lora_unet_llm_adapter_", "text_encoder": "lora_te_"}
        return head[target.component] + target.module.replace(".", "_")
    if naming == "diffusers":
        if target.component == "dit":
            return f"transformer.{diffusers_name(target.module)}"
        head = {"adapter": "text_conditioner.", "text_encoder": "text_encoder."}
        return head[target.component] + target.module
    if naming != "dotted":
        raise ValueError(f"unknown naming {naming!r}; expected one of {NAMINGS}")
    if target.component == "text_encoder":
        return f"text_encoder.{target.module}"
    return prefix + ("llm_adapter." if target.component == "adapter" else "") + target.module


def _factor(size: int) -> int:
    """The largest divisor of `size` not above its square root."""
    return max(d for d in range(1, math.isqrt(size) + 1) if size % d == 0)


def _randn(generator: torch.Generator, *shape: int, std: float = 1.0) -> Tensor:
    return std * torch.randn(shape, generator=generator)


def _low_rank(out: int, inp: int, rank: int, kind: str, g: torch.Generator) -> dict[str, Tensor]:
    down, up = ("lora_A", "lora_B") if kind == "lora" else ("lora_down", "lora_up")
    return {
        f"{down}.weight": _randn(g, rank, inp, std=1 / math.sqrt(inp)),
        f"{up}.weight": _randn(g, out, rank, std=_DELTA_SIZE / math.sqrt(rank)),
    }


def _lokr(out: int, inp: int, rank: int, kind: str, g: torch.Generator) -> dict[str, Tensor]:
    a, b = _factor(out), _factor(inp)
    c, d = out // a, inp // b
    tensors = {}
    if kind == "lokr_factored":
        tensors |= {"lokr_w1_a": _randn(g, a, rank), "lokr_w1_b": _randn(g, rank, b, std=1 / rank)}
    else:
        tensors["lokr_w1"] = _randn(g, a, b)
    std = _DELTA_SIZE / math.sqrt(inp)
    if kind == "lokr":
        tensors["lokr_w2"] = _randn(g, c, d, std=std)
    else:
        tensors |= {
            "lokr_w2_a": _randn(g, c, rank),
            "lokr_w2_b": _randn(g, rank, d, std=std / math.sqrt(rank)),
        }
    return tensors


def tiny_lora(
    targets: LoraTargets,
    *,
    naming: str = "dotted",
    prefix: str = "diffusion_model.",
    kind: str = "lora",
    components: Sequence[str] = ("dit", "adapter"),
    rank: int = 4,
    alpha: float | None = None,
    dora: str | None = None,
    seed: int = 0,
) -> dict[str, Tensor]:
    """Random LoRA tensors for every Linear layer of `components` (see the module docstring).

    `dora` ("column" or "row") adds a `dora_scale` near the norms of the current weights of `targets`
    along that axis, shaped (1, in) or (out, 1).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
    if dora is not None and dora not in DORA_AXES:
        raise ValueError(f"unknown DoRA axis {dora!r}; expected one of {DORA_AXES}")
    generator = torch.Generator().manual_seed(seed)
    chosen = {name: module for name, module in targets.components().items() if name in components}
    tensors: dict[str, Tensor] = {}
    for target, layer in sorted(linear_layers(chosen).items()):
        out, inp = layer.weight.shape
        make = _low_rank if kind.startswith("lora") else _lokr
        entries = make(out, inp, rank, kind, generator)
        if alpha is not None:
            entries["alpha"] = torch.tensor(float(alpha))
        if dora is not None:
            weight = layer.weight.detach().float().cpu()
            norm = weight.norm(dim=0, keepdim=True) if dora == "column" else weight.norm(dim=1, keepdim=True)
            entries["dora_scale"] = norm * (1 + 0.1 * torch.randn(norm.shape, generator=generator))
        stem = lora_stem(target, naming, prefix)
        tensors |= {f"{stem}.{suffix}": value for suffix, value in entries.items()}
    return tensors


def write_lora(path: str | Path, tensors: Mapping[str, Tensor]) -> Path:
    """Write LoRA tensors (e.g. from `tiny_lora`) as a safetensors file; returns the path."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({key: value.contiguous() for key, value in tensors.items()}, str(path))
    return path
