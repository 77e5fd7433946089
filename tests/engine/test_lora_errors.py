"""LoRA files that do not fit: every problem is one line naming the file and the key, shape or family."""

from pathlib import Path

import pytest
import torch
from torch import nn

from anima_engine.errors import CheckpointError, LoraError
from anima_engine.lora import LoraTargets, load_lora, parse_lora
from anima_engine.lora.names import NameTable, Target, linear_layers
from tests.engine.lora_helpers import tiny_targets
from tests.support.lora_files import tiny_lora, write_lora


@pytest.fixture(scope="module")
def targets() -> LoraTargets:
    return tiny_targets()


def _error(tensors: dict[str, torch.Tensor], targets: LoraTargets, tmp_path: Path) -> LoraError:
    path = write_lora(tmp_path / "bad.safetensors", tensors)
    with pytest.raises(LoraError) as caught:
        load_lora(path, targets)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    return caught.value


def _pair(stem: str, out: int, inp: int, rank: int = 4) -> dict[str, torch.Tensor]:
    return {
        f"{stem}.lora_down.weight": torch.zeros(rank, inp),
        f"{stem}.lora_up.weight": torch.zeros(out, rank),
    }


def test_unmapped_keys_are_named(targets: LoraTargets, tmp_path: Path) -> None:
    tensors = tiny_lora(targets)
    tensors["diffusion_model.blocks.7.self_attn.q_proj.lora_A.weight"] = torch.zeros(4, 48)
    tensors["diffusion_model.blocks.0.self_attn.q_norm.lora_A.weight"] = torch.zeros(4, 24)
    tensors["diffusion_model.blocks.0.self_attn.q_proj.hada_w1_a"] = torch.zeros(48, 4)
    error = _error(tensors, targets, tmp_path)
    assert "3 keys name no layer of the Anima model: " in str(error)
    assert error.unexpected == (
        "diffusion_model.blocks.0.self_attn.q_norm.lora_A.weight",
        "diffusion_model.blocks.0.self_attn.q_proj.hada_w1_a",
        "diffusion_model.blocks.7.self_attn.q_proj.lora_A.weight",
    )
    assert all(key in str(error) for key in error.unexpected)


def test_kohya_names_are_resolved_only_through_the_table(targets: LoraTargets, tmp_path: Path) -> None:
    # "blocks_0_self_attn_q" is not a layer even though splitting at underscores could make one up
    error = _error(_pair("lora_unet_blocks_0_self_attn_q", 48, 48), targets, tmp_path)
    assert error.unexpected == (
        "lora_unet_blocks_0_self_attn_q.lora_down.weight",
        "lora_unet_blocks_0_self_attn_q.lora_up.weight",
    )


def test_an_underscored_name_two_layers_share_is_refused() -> None:
    tree = nn.Module()
    tree.a_b = nn.Module()
    tree.a_b.c = nn.Linear(2, 2)
    tree.a = nn.Module()
    tree.a.b_c = nn.Linear(2, 2)
    table = NameTable.build(linear_layers({"dit": tree}))
    assert table.resolve("diffusion_model.a.b_c") == Target("dit", "a.b_c")
    assert table.resolve("lora_unet_a_b_c_d") is None
    with pytest.raises(LoraError, match=r"'lora_unet_a_b_c' is ambiguous: it could name a.b_c, a_b.c"):
        table.resolve("lora_unet_a_b_c")


def test_mismatched_ranks(targets: LoraTargets, tmp_path: Path) -> None:
    stem = "lora_unet_blocks_0_mlp_layer1"
    tensors = {f"{stem}.lora_down.weight": torch.zeros(4, 48), f"{stem}.lora_up.weight": torch.zeros(96, 3)}
    message = str(_error(tensors, targets, tmp_path))
    assert message.endswith(f"{stem} has mismatched ranks: up [96, 3] has rank 3, down [4, 48] has rank 4")


def test_update_of_the_wrong_shape(targets: LoraTargets, tmp_path: Path) -> None:
    message = str(_error(_pair("diffusion_model.blocks.0.mlp.layer1", 48, 96), targets, tmp_path))
    assert message.endswith(
        "diffusion_model.blocks.0.mlp.layer1 makes an update of shape [48, 96], "
        "but blocks.0.mlp.layer1 has weight shape [96, 48]"
    )


Z = torch.zeros


@pytest.mark.parametrize(
    ("tensors", "expected"),
    [
        ({"x.lora_up.weight": Z(96, 4)}, "x has a LoRA up tensor but no down tensor"),
        ({"x.lora_down.weight": Z(4, 48, 1, 1), "x.lora_up.weight": Z(96, 4)},
         "x down should be a matrix, got shape [4, 48, 1, 1]"),
        ({"x.lora_down.weight": Z(4, 48), "x.lora_up.weight": Z(96, 4), "x.alpha": torch.ones(2)},
         "x.alpha should be one number, got shape [2]"),
        ({"x.alpha": torch.tensor(4.0)}, "x has only alpha, no weight update"),
        ({"x.lokr_w1": Z(8, 6), "x.lokr_w2_a": Z(12, 4)},
         "x needs lokr_w2, or both lokr_w2_a and lokr_w2_b (found: lokr_w1, lokr_w2_a)"),
        ({"x.lokr_w1": Z(8, 6), "x.lokr_w2_a": Z(12, 4), "x.lokr_w2_b": Z(3, 8)},
         "x has mismatched ranks: lokr_w2_a [12, 4], lokr_w2_b [3, 8]"),
        ({"x.lokr_w1": Z(8, 6), "x.lokr_w2": Z(12, 8), "x.lora_up.weight": Z(96, 4)},
         "x mixes LoRA and LoKr tensors"),
        ({"x.lokr_w1": Z(8, 6), "x.lokr_w2": Z(12, 8), "x.dora_scale": Z(96)},
         "x.dora_scale has shape [96], expected [1, 48] or [96, 1] for blocks.0.mlp.layer1"),
    ],
)  # fmt: skip
def test_malformed_tensors(
    tensors: dict[str, torch.Tensor], expected: str, targets: LoraTargets, tmp_path: Path
) -> None:
    renamed = {key.replace("x.", "diffusion_model.blocks.0.mlp.layer1.", 1): v for key, v in tensors.items()}
    message = str(_error(renamed, targets, tmp_path))
    assert message.endswith(expected.replace("x", "diffusion_model.blocks.0.mlp.layer1", 1))


def test_two_keys_for_one_layer(targets: LoraTargets, tmp_path: Path) -> None:
    tensors = _pair("lora_unet_blocks_0_mlp_layer1", 96, 48) | _pair(
        "diffusion_model.blocks.0.mlp.layer1", 96, 48
    )
    message = str(_error(tensors, targets, tmp_path))
    assert message.endswith(
        "diffusion_model.blocks.0.mlp.layer1 and lora_unet_blocks_0_mlp_layer1 both name blocks.0.mlp.layer1"
    )


FOREIGN = {
    "SDXL": ["lora_unet_input_blocks_4_1_proj_in", "lora_te1_text_model_encoder_layers_0_mlp_fc1",
             "lora_te2_text_model_encoder_layers_0_mlp_fc1"],
    "Stable Diffusion 1.x/2.x": ["lora_unet_down_blocks_0_attentions_0_proj_in",
                                 "lora_te_text_model_encoder_layers_0_mlp_fc1"],
    "Flux (or HunyuanVideo)": ["diffusion_model.double_blocks.0.img_attn.qkv",
                               "diffusion_model.single_blocks.0.linear1"],
    "SD3": ["transformer.joint_blocks.0.context_block.attn.qkv"],
    "Wan": ["diffusion_model.blocks.0.ffn.0", "diffusion_model.blocks.0.self_attn.q"],
    "Qwen-Image": ["transformer.transformer_blocks.0.img_mlp.net.2"],
    "HunyuanVideo": ["diffusion_model.txt_in.individual_token_refiner.blocks.0.mlp.fc1",
                     "diffusion_model.double_blocks.0.img_attn_qkv"],
    "Lumina 2 / Z-Image": ["diffusion_model.noise_refiner.0.attention.qkv"],
}  # fmt: skip


@pytest.mark.parametrize("family", sorted(FOREIGN))
def test_other_model_families_are_recognised(family: str, targets: LoraTargets, tmp_path: Path) -> None:
    tensors: dict[str, torch.Tensor] = {}
    for stem in FOREIGN[family]:
        tensors |= _pair(stem, 8, 8)
    # a real foreign file may share a name with Anima by chance; that does not hide the family
    tensors |= _pair("diffusion_model.blocks.0.mlp.layer1", 96, 48)
    message = str(_error(tensors, targets, tmp_path))
    assert f": this is a LoRA for {family}, not Anima (key " in message


def test_text_encoder_keys_without_a_text_encoder(targets: LoraTargets, tmp_path: Path) -> None:
    no_encoder = LoraTargets(dit=targets.dit, adapter=targets.adapter)
    tensors = tiny_lora(targets, naming="kohya", components=("dit", "text_encoder"))
    path = write_lora(tmp_path / "te.safetensors", tensors)
    with pytest.raises(
        LoraError, match=r": 28 text-encoder keys but no text encoder to apply them to: lora_te_"
    ):
        load_lora(path, no_encoder)
    lora = parse_lora(
        tiny_lora(targets, naming="kohya", components=("dit",)), no_encoder, name="x", source="x"
    )
    assert lora.components == {"dit"}


def test_empty_and_pickle_files(targets: LoraTargets, tmp_path: Path) -> None:
    with pytest.raises(LoraError, match=r"empty: the file holds no tensors$"):
        parse_lora({}, targets, name="empty", source="empty")
    pickled = tmp_path / "style.pt"
    torch.save({"a": torch.zeros(1)}, pickled)
    with pytest.raises(CheckpointError, match="pickle-based checkpoints are not loaded"):
        load_lora(pickled, targets)


def test_a_lora_read_for_another_model_is_refused_when_applied(targets: LoraTargets) -> None:
    from anima_engine.lora import attach, merge

    lora = parse_lora(tiny_lora(targets, components=("dit",)), targets, name="x", source="x.safetensors")
    other = tiny_targets()
    other.dit.blocks[0].mlp.layer1 = nn.Linear(48, 80, bias=False)
    with pytest.raises(LoraError, match=r"^x.safetensors: .*blocks.0.mlp.layer1 has shape \[96, 48\], but "):
        merge(other, [(lora, 1.0)])
    assert all(
        torch.equal(a, b)
        for a, b in zip(other.dit.blocks[1].parameters(), targets.dit.blocks[1].parameters(), strict=True)
    )
    other = tiny_targets()
    del other.dit.blocks[1]
    with pytest.raises(
        LoraError, match=r"^x.safetensors: no Linear layer blocks\.1\.\S+ in the model the LoRA is applied"
    ):
        attach(other, [(lora, 1.0)])
