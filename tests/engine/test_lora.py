"""Every LoRA key layout on the tiny model: merged weights equal ΔW computed by hand, on-the-fly outputs
equal merged ones, unmerging restores the weights bit for bit, several LoRAs combine with their strengths."""

from pathlib import Path
from typing import NamedTuple

import pytest
import torch

from anima_engine.lora import Lora, attach, load_lora, merge, parse_lora
from tests.engine.lora_helpers import (
    hand_delta,
    hand_dora,
    linear,
    outputs,
    relative_error,
    tiny_targets,
    weights,
)
from tests.support.lora_files import lora_stem, tiny_lora, write_lora


class Case(NamedTuple):
    naming: str
    prefix: str
    kind: str
    alpha: float | None
    dora: str | None
    components: tuple[str, ...]


UNET = ("dit", "adapter")
ALL = ("dit", "adapter", "text_encoder")
CASES = {
    "peft": Case("dotted", "diffusion_model.", "lora", None, None, UNET),
    "peft-transformer-prefix": Case("dotted", "transformer.", "lora", None, None, UNET),
    "peft-base-model-prefix": Case("dotted", "base_model.model.", "lora", None, None, UNET),
    "peft-base-model-transformer": Case("dotted", "base_model.model.transformer.", "lora", None, None, UNET),
    "peft-bare-names": Case("dotted", "", "lora", None, None, UNET),
    "peft-text-encoder": Case("dotted", "diffusion_model.", "lora", None, None, ALL),
    "comfy-down-up-alpha": Case("dotted", "diffusion_model.", "lora_down_up", 2.0, None, UNET),
    "kohya": Case("kohya", "", "lora_down_up", 8.0, None, ALL),
    "kohya-alpha-zero": Case("kohya", "", "lora_down_up", 0.0, None, UNET),
    "diffusers": Case("diffusers", "", "lora", None, None, UNET),
    "lokr-full": Case("dotted", "diffusion_model.", "lokr", 3.0, None, UNET),
    "lokr-w2-factored": Case("dotted", "diffusion_model.", "lokr_w2_factored", 2.0, None, UNET),
    "lokr-factored": Case("dotted", "diffusion_model.", "lokr_factored", 6.0, None, UNET),
    "lokr-kohya": Case("kohya", "", "lokr_w2_factored", 1.0, None, ALL),
    "lokr-dora-column": Case("dotted", "diffusion_model.", "lokr_w2_factored", 2.0, "column", UNET),
    "lokr-dora-row": Case("dotted", "diffusion_model.", "lokr", None, "row", UNET),
    "lora-dora": Case("dotted", "transformer.", "lora", 2.0, "column", UNET),
}  # fmt: skip


def make(case: Case, targets, seed: int = 0) -> dict[str, torch.Tensor]:  # type: ignore[no-untyped-def]
    return tiny_lora(
        targets,
        naming=case.naming,
        prefix=case.prefix,
        kind=case.kind,
        components=case.components,
        alpha=case.alpha,
        dora=case.dora,
        seed=seed,
    )


def stems(targets, case: Case) -> dict[str, tuple[str, str]]:  # type: ignore[no-untyped-def]
    """File stem -> (component, layer) for every Linear layer the case's LoRA covers."""
    found = {}
    for component in case.components:
        for name, module in targets.components()[component].named_modules():
            if isinstance(module, torch.nn.Linear):
                found[lora_stem(_target(component, name), case.naming, case.prefix)] = (component, name)
    return found


def _target(component: str, name: str):  # type: ignore[no-untyped-def]
    from anima_engine.lora import Target

    return Target(component, name)


@pytest.mark.parametrize("name", sorted(CASES))
def test_merged_weights_equal_the_hand_computed_update(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    targets = tiny_targets()
    before = weights(targets)
    tensors = make(case, targets)
    lora = load_lora(write_lora(tmp_path / f"{name}.safetensors", tensors), targets)
    covered = stems(targets, case)
    assert {patch.key for patch in lora.patches} == set(covered)
    assert lora.components == set(case.components)

    strength = 0.7
    merge(targets, [(lora, strength)])
    after = weights(targets)
    for stem, (component, layer) in covered.items():
        key = f"{component}.{layer}.weight"
        delta = hand_delta(tensors, stem)
        magnitude = tensors.get(f"{stem}.dora_scale")
        if magnitude is None:
            expected = before[key].double() + strength * delta
        else:
            expected = hand_dora(before[key], delta, magnitude, strength)
        assert relative_error(after[key], expected) < 1e-6, key
        assert relative_error(after[key], before[key]) > 1e-3, key  # the update is not negligible
    changed = {f"{component}.{layer}.weight" for component, layer in covered.values()}
    for key in before.keys() - changed:
        assert torch.equal(after[key], before[key]), key


@pytest.mark.parametrize(
    "name", ["peft-text-encoder", "kohya", "lokr-factored", "lokr-dora-row", "lora-dora"]
)
def test_on_the_fly_outputs_equal_merged_outputs(name: str) -> None:
    case = CASES[name]
    targets = tiny_targets()
    base = outputs(targets)
    lora = parse_lora(make(case, targets), targets, name=name, source=name)
    with attach(targets, [(lora, 0.8)]) as hooks:
        assert hooks.attached == len(lora.patches)
        live = outputs(targets)
    assert all(torch.equal(a, b) for a, b in zip(outputs(targets), base, strict=True))  # detached
    with merge(targets, [(lora, 0.8)]):
        merged = outputs(targets)
    for component, got, expected, original in zip(ALL, live, merged, base, strict=True):
        assert relative_error(got, expected) < 1e-5
        assert (relative_error(expected, original) > 1e-3) == (component in case.components)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_unmerge_restores_the_weights_exactly(dtype: torch.dtype) -> None:
    targets = tiny_targets(dtype)
    before = weights(targets)
    loras = [
        parse_lora(make(CASES["kohya"], targets, seed=1), targets, name="a", source="a"),
        parse_lora(make(CASES["lokr-dora-column"], targets, seed=2), targets, name="b", source="b"),
    ]
    merged = merge(targets, [(loras[0], 1.0), (loras[1], -0.5)])
    assert len(merged.layers) == len({p.target for lora in loras for p in lora.patches})
    assert any(not torch.equal(value, before[key]) for key, value in weights(targets).items())
    merged.unmerge()
    merged.unmerge()  # a second call does nothing
    after = weights(targets)
    assert all(torch.equal(after[key], before[key]) and after[key].dtype == dtype for key in before)


def test_several_loras_add_with_their_strengths() -> None:
    targets = tiny_targets()
    before = weights(targets)
    files = [make(CASES["peft"], targets, seed=3), make(CASES["kohya"], targets, seed=4)]
    loras = [parse_lora(t, targets, name=str(i), source=str(i)) for i, t in enumerate(files)]
    strengths = (0.6, -1.3)
    merge(targets, list(zip(loras, strengths, strict=True)))
    after = weights(targets)
    layer = "blocks.1.cross_attn.k_proj"
    expected = before[f"dit.{layer}.weight"].double()
    for tensors, case, strength in zip(files, (CASES["peft"], CASES["kohya"]), strengths, strict=True):
        expected = expected + strength * hand_delta(
            tensors, lora_stem(_target("dit", layer), case.naming, case.prefix)
        )
    assert relative_error(after[f"dit.{layer}.weight"], expected) < 1e-6
    # Qwen3 layers only get the Kohya LoRA.
    te_layer = "layers.0.mlp.down_proj"
    te_expected = before[f"text_encoder.{te_layer}.weight"].double() + strengths[1] * hand_delta(
        files[1], f"lora_te_{te_layer.replace('.', '_')}"
    )
    assert relative_error(after[f"text_encoder.{te_layer}.weight"], te_expected) < 1e-6


def test_switching_loras_on_the_fly_needs_no_reload() -> None:
    targets = tiny_targets()
    base = outputs(targets)
    first = parse_lora(
        make(CASES["peft-text-encoder"], targets, seed=5), targets, name="first", source="first"
    )
    second = parse_lora(make(CASES["lokr-kohya"], targets, seed=6), targets, name="second", source="second")
    reference: list[tuple[torch.Tensor, ...]] = []
    for stack in ([(first, 1.0)], [(second, 0.5)], [(first, 0.3), (second, 0.5)]):
        with merge(targets, stack):
            reference.append(outputs(targets))
    hooks = attach(targets, [(first, 1.0)])
    for index, stack in enumerate(([(second, 0.5)], [(first, 0.3), (second, 0.5)])):
        got_before = outputs(targets)
        assert all(relative_error(g, e) < 1e-5 for g, e in zip(got_before, reference[index], strict=True))
        hooks.detach()
        hooks = attach(targets, stack)
    assert all(relative_error(g, e) < 1e-5 for g, e in zip(outputs(targets), reference[2], strict=True))
    hooks.detach()
    assert all(torch.equal(g, e) for g, e in zip(outputs(targets), base, strict=True))


def test_dora_at_strength_zero_leaves_the_weights_and_at_one_renormalises() -> None:
    targets = tiny_targets()
    before = weights(targets)
    tensors = make(CASES["lokr-dora-column"], targets)
    lora: Lora = parse_lora(tensors, targets, name="dora", source="dora")
    with merge(targets, [(lora, 0.0)]):
        assert all(torch.allclose(v, before[k], atol=1e-6) for k, v in weights(targets).items())
    with merge(targets, [(lora, 1.0)]):
        layer = linear(targets, "dit", "blocks.0.mlp.layer2").weight
        magnitude = tensors["diffusion_model.blocks.0.mlp.layer2.dora_scale"]
        # at strength 1 the column norms are exactly the stored magnitudes
        assert torch.allclose(layer.norm(dim=0, keepdim=True), magnitude, rtol=1e-5)
