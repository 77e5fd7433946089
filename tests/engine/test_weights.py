"""Safe safetensors reading: every broken file gets a one-line CheckpointError naming file and problem."""

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from anima_engine.errors import CheckpointError
from anima_engine.weights import (
    assign_state_dict,
    checkpoint_kind,
    load_tensors,
    read_header,
    require_kind,
    strip_prefix,
)


@pytest.fixture
def good_file(tmp_path: Path) -> Path:
    path = tmp_path / "model.safetensors"
    save_file({"net.layer.weight": torch.ones(4, 3), "net.layer.bias": torch.zeros(4)}, str(path))
    return path


def test_reads_a_good_file(good_file: Path) -> None:
    assert set(read_header(good_file)) == {"net.layer.weight", "net.layer.bias"}
    tensors = strip_prefix(load_tensors(good_file), ["model.diffusion_model.", "net."])
    assert set(tensors) == {"layer.weight", "layer.bias"}


def test_truncated_file(good_file: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(good_file.read_bytes()[:-10])
    with pytest.raises(CheckpointError, match=r"cut\.safetensors: truncated"):
        load_tensors(cut)


@pytest.mark.parametrize("content", [b"", b"abc", b"\xff" * 64, (12).to_bytes(8, "little") + b"not json!!!!"])
def test_not_safetensors(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "junk.safetensors"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=r"junk\.safetensors: (not a safetensors|corrupt)"):
        load_tensors(path)


@pytest.mark.parametrize("name", ["model.ckpt", "model.pt", "pytorch_model.bin"])
def test_pickle_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"\x80\x04junk")
    with pytest.raises(CheckpointError, match="pickle-based checkpoints are not loaded"):
        load_tensors(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="file not found"):
        load_tensors(tmp_path / "nope.safetensors")


def test_assign_reports_every_problem() -> None:
    with torch.device("meta"):
        module = nn.Linear(3, 4)
    tensors = {"weight": torch.ones(4, 2), "extra": torch.ones(1)}
    with pytest.raises(CheckpointError) as caught:
        assign_state_dict(module, tensors, path="x.safetensors")
    error = caught.value
    assert error.missing == ("bias",)
    assert error.unexpected == ("extra",)
    assert error.misshaped == ("weight (file [4, 2], model [4, 3])",)
    assert "\n" not in str(error)


def test_assign_loads_onto_meta_module() -> None:
    with torch.device("meta"):
        module = nn.Linear(3, 4)
    tensors = {"weight": torch.ones(4, 3), "bias": torch.zeros(4)}
    assign_state_dict(module, tensors, path="x", dtype=torch.float64)
    assert module.weight.dtype == torch.float64
    assert module(torch.ones(1, 3, dtype=torch.float64)).tolist() == [[3.0] * 4]


@pytest.mark.parametrize(
    ("keys", "kind"),
    [
        (["net.blocks.3.mlp.layer1.weight", "net.llm_adapter.blocks.0.norm_mlp.weight"], "dit"),
        (["model.diffusion_model.blocks.0.mlp.layer1.weight"], "cosmos_dit"),
        (["transformer_blocks.0.attn1.to_q.weight"], "diffusers_dit"),
        (
            ["model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.q_norm.weight"],
            "text_encoder",
        ),
        (
            ["model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.q_proj.bias"],
            "qwen2_text_encoder",
        ),
        (["shared.weight", "encoder.block.0.layer.0.SelfAttention.q.weight"], "t5_encoder"),
        (["decoder.conv1.weight", "encoder.conv1.weight", "conv2.weight"], "vae"),
        (["something.else"], "unknown"),
    ],
)
def test_checkpoint_kind(keys: list[str], kind: str) -> None:
    assert checkpoint_kind(keys) == kind


def test_require_kind_names_both_kinds() -> None:
    with pytest.raises(
        CheckpointError, match=r"^x\.safetensors: looks like no known model, not an Anima DiT$"
    ):
        require_kind("x.safetensors", ["a.weight"], "dit")


def test_bad_shape_entry_is_corrupt(tmp_path: Path) -> None:
    header = b'{"w": {"dtype": "F32", "shape": [2, "x"], "data_offsets": [0, 8]}}'
    path = tmp_path / "shape.safetensors"
    path.write_bytes(len(header).to_bytes(8, "little") + header + bytes(8))
    with pytest.raises(CheckpointError, match=r"shape\.safetensors: corrupt safetensors header entry 'w'"):
        read_header(path)
