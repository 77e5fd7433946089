"""Parity with diffusers' Anima LoRA loading (`AnimaLoraLoaderMixin`, applied through PEFT).

diffusers reads the `diffusion_model.`-prefixed layout (converted by
`_convert_non_diffusers_anima_lora_to_diffusers`) with `lora_A`/`lora_B` tensors, and its own names; it
reads no Kohya names, `lora_down`/`lora_up` pairs (PEFT finds no rank), `.alpha`, LoKr or DoRA, so those
layouts are checked against hand-computed ΔW in `test_lora.py` only. The same
tiny LoRA goes into our DiT and adapter (merged and on the fly) and into diffusers'
`CosmosTransformer3DModel` and `AnimaTextConditioner` holding the same base weights.
"""

import pytest
import torch
from torch import Tensor

from anima_engine._tiny import TINY_ADAPTER, TINY_DIT, randomize
from anima_engine.adapter import LLMAdapter
from anima_engine.dit import DiT
from anima_engine.lora import LoraTargets, attach, merge, parse_lora
from tests.support.lora_files import tiny_lora
from tests.support.reference import reference_adapter, reference_dit

pytest.importorskip("peft")
from diffusers.loaders.lora_pipeline import AnimaLoraLoaderMixin


def _targets() -> LoraTargets:
    return LoraTargets(
        dit=randomize(DiT(TINY_DIT), 0).eval(), adapter=randomize(LLMAdapter(TINY_ADAPTER), 1).eval()
    )


def _inputs() -> tuple[Tensor, ...]:
    g = torch.Generator().manual_seed(3)
    return (
        torch.randn(2, TINY_DIT.in_channels, 1, 4, 6, generator=g),
        torch.rand(2, generator=g),
        torch.randn(2, 20, TINY_DIT.context_channels, generator=g),
        torch.randn(2, 7, TINY_ADAPTER.source_dim, generator=g),
        torch.randint(0, TINY_ADAPTER.vocab_size, (2, 5), generator=g),
    )


def _ours(targets: LoraTargets) -> tuple[Tensor, Tensor]:
    x, sigma, context, states, ids = _inputs()
    assert targets.adapter is not None
    with torch.no_grad():
        return targets.dit(x, sigma, context), targets.adapter(states, ids)


def _diffusers(targets: LoraTargets, loras: list[tuple[dict[str, Tensor], float]]) -> tuple[Tensor, Tensor]:
    assert isinstance(targets.dit, DiT) and isinstance(targets.adapter, LLMAdapter)
    dit = reference_dit(TINY_DIT, targets.dit.state_dict())
    conditioner = reference_adapter(TINY_ADAPTER, targets.adapter.state_dict())
    names = [f"lora{i}" for i in range(len(loras))]
    for name, (tensors, _) in zip(names, loras, strict=True):
        converted = AnimaLoraLoaderMixin.lora_state_dict(dict(tensors))
        for model, prefix in ((dit, "transformer"), (conditioner, "text_conditioner")):
            part = {key: value for key, value in converted.items() if key.startswith(f"{prefix}.")}
            assert part, prefix
            model.load_lora_adapter(part, prefix=prefix, adapter_name=name)
    strengths = [strength for _, strength in loras]
    dit.set_adapters(names, weights=strengths)
    conditioner.set_adapters(names, weights=strengths)
    x, sigma, context, states, ids = _inputs()
    with torch.no_grad():
        velocity = dit(torch.cat([x, torch.zeros_like(x[:, :1])], dim=1), sigma, context, return_dict=False)[
            0
        ]
        return velocity, conditioner(states, ids)


def _error(got: Tensor, expected: Tensor) -> float:
    return ((got - expected).norm() / expected.norm()).item()


LAYOUTS = {
    "peft": {"naming": "dotted", "kind": "lora"},
    "diffusers-names": {"naming": "diffusers", "kind": "lora"},
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_one_lora_matches_diffusers(layout: str) -> None:
    targets = _targets()
    base = _ours(targets)
    tensors = tiny_lora(targets, seed=11, **LAYOUTS[layout])  # type: ignore[arg-type]
    lora = parse_lora(tensors, targets, name=layout, source=layout)
    expected = _diffusers(targets, [(tensors, 0.75)])
    with attach(targets, [(lora, 0.75)]):
        live = _ours(targets)
    with merge(targets, [(lora, 0.75)]):
        merged = _ours(targets)
    for got_live, got_merged, reference, original in zip(live, merged, expected, base, strict=True):
        assert _error(got_live, reference) < 1e-5
        assert _error(got_merged, reference) < 1e-5
        assert _error(original, reference) > 1e-3  # the LoRA changes the output


@pytest.mark.filterwarnings("ignore:Already found a `peft_config` attribute")
def test_two_loras_with_strengths_match_diffusers() -> None:
    targets = _targets()
    first = tiny_lora(targets, seed=12)
    second = tiny_lora(targets, naming="diffusers", seed=13)
    stack = [(first, 0.6), (second, -0.9)]
    expected = _diffusers(targets, stack)
    loras = [(parse_lora(t, targets, name=str(i), source=str(i)), s) for i, (t, s) in enumerate(stack)]
    with merge(targets, loras):
        merged = _ours(targets)
    with attach(targets, loras):
        live = _ours(targets)
    for got_merged, got_live, reference in zip(merged, live, expected, strict=True):
        assert _error(got_merged, reference) < 1e-5
        assert _error(got_live, reference) < 1e-5
