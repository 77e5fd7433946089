"""Shared pieces of the LoRA tests: a fresh tiny model, its inputs, and ΔW computed by hand in float64."""

import torch
from torch import Tensor, nn

from anima_engine._tiny import TINY_ADAPTER, TINY_DIT, TINY_TEXT_ENCODER, randomize
from anima_engine.adapter import LLMAdapter
from anima_engine.dit import DiT
from anima_engine.lora import LoraTargets
from anima_engine.qwen3 import Qwen3


def tiny_targets(dtype: torch.dtype = torch.float32) -> LoraTargets:
    """A fresh random tiny DiT, adapter and Qwen3 (the same weights on every call)."""
    return LoraTargets(
        dit=randomize(DiT(TINY_DIT), 0).eval().to(dtype),
        adapter=randomize(LLMAdapter(TINY_ADAPTER), 1).eval().to(dtype),
        text_encoder=randomize(Qwen3(TINY_TEXT_ENCODER), 2).eval().to(dtype),
    )


def outputs(targets: LoraTargets) -> tuple[Tensor, Tensor, Tensor]:
    """(DiT velocity, adapter context, Qwen3 states) for fixed inputs."""
    g = torch.Generator().manual_seed(7)
    dtype = targets.dit.t_embedding_norm.weight.dtype
    x = torch.randn(1, TINY_DIT.in_channels, 1, 4, 6, generator=g).to(dtype)
    context = torch.randn(1, 12, TINY_DIT.context_channels, generator=g).to(dtype)
    states = torch.randn(1, 5, TINY_ADAPTER.source_dim, generator=g).to(dtype)
    with torch.no_grad():
        velocity = targets.dit(x, torch.tensor([0.6]), context)
        adapted = targets.adapter(states, torch.tensor([[4, 9, 30, 1]]))
        assert targets.text_encoder is not None
        encoded = targets.text_encoder(torch.tensor([[5, 17, 200, 3, 9]]))
    return velocity, adapted, encoded


def weights(targets: LoraTargets) -> dict[str, Tensor]:
    """Every weight of the three networks, copied, by `component.name`."""
    found = {}
    for component, network in targets.components().items():
        found |= {f"{component}.{key}": value.clone() for key, value in network.state_dict().items()}
    return found


def linear(targets: LoraTargets, component: str, name: str) -> nn.Linear:
    module = targets.components()[component].get_submodule(name)
    assert isinstance(module, nn.Linear)
    return module


def hand_delta(tensors: dict[str, Tensor], stem: str) -> Tensor:
    """ΔW of one layer in float64, from the file's tensors, by the LoRA/LyCORIS formulas."""

    def get(suffix: str) -> Tensor | None:
        value = tensors.get(f"{stem}.{suffix}")
        return None if value is None else value.double()

    alpha = get("alpha")
    if alpha is not None and alpha.item() == 0:
        alpha = None  # Kohya sd-scripts and LyCORIS: alpha 0 means "alpha = rank"
    for down_name, up_name in (("lora_A.weight", "lora_B.weight"), ("lora_down.weight", "lora_up.weight")):
        down, up = get(down_name), get(up_name)
        if down is not None and up is not None:
            rank = down.shape[0]
            scale = 1.0 if alpha is None else alpha.item() / rank
            return scale * (up @ down)
    w1, w2 = get("lokr_w1"), get("lokr_w2")
    rank = None
    if w1 is None:
        w1_a, w1_b = get("lokr_w1_a"), get("lokr_w1_b")
        assert w1_a is not None and w1_b is not None
        w1, rank = w1_a @ w1_b, w1_b.shape[0]
    if w2 is None:
        w2_a, w2_b = get("lokr_w2_a"), get("lokr_w2_b")
        assert w2_a is not None and w2_b is not None
        w2, rank = w2_a @ w2_b, w2_b.shape[0]
    # LyCORIS: with both factors full the scale is 1 whatever alpha says.
    scale = 1.0 if rank is None or alpha is None else alpha.item() / rank
    return scale * torch.kron(w1, w2)


def hand_dora(weight: Tensor, delta: Tensor, magnitude: Tensor, strength: float) -> Tensor:
    """W + s·(m·(W+ΔW)/‖W+ΔW‖ − W), the norm along the axis m's shape says, in float64."""
    weight, merged, magnitude = weight.double(), weight.double() + delta, magnitude.double()
    dim = 1 if magnitude.shape == (weight.shape[0], 1) else 0
    return weight + strength * (magnitude * merged / merged.norm(dim=dim, keepdim=True) - weight)


def relative_error(got: Tensor, expected: Tensor) -> float:
    return ((got.double() - expected.double()).norm() / expected.double().norm()).item()
