"""Tiny official-layout files through the public loaders; every kind of broken file gets a one-line error."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from anima_engine._tiny import (
    TINY_ADAPTER,
    TINY_DIT,
    TINY_TEXT_ENCODER,
    TinyFiles,
    write_tiny_dit,
    write_tiny_text_encoder,
)
from anima_engine.errors import CheckpointError
from anima_engine.loading import load_dit, load_text_encoder


def _rewrite(source: Path, target: Path, edit: dict[str, torch.Tensor | None]) -> Path:
    """Copy a checkpoint with keys replaced (tensor) or removed (None)."""
    tensors = load_file(str(source))
    for key, value in edit.items():
        if value is None:
            del tensors[key]
        else:
            tensors[key] = value
    save_file(tensors, str(target))
    return target


def _one_line_error(path: Path, loader: str = "dit", **kwargs: object) -> CheckpointError:
    with pytest.raises(CheckpointError) as caught:
        if loader == "dit":
            load_dit(path)
        else:
            load_text_encoder(path, **kwargs)  # type: ignore[arg-type]
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    return caught.value


def test_tiny_dit_file_loads_every_tensor(tiny_files: TinyFiles) -> None:
    dit, adapter = load_dit(tiny_files.dit)
    written = load_file(str(tiny_files.dit))
    assert dit.params == TINY_DIT and adapter.params == TINY_ADAPTER
    for key, value in dit.state_dict().items():
        assert torch.equal(value, written[f"net.{key}"])
    for key, value in adapter.state_dict().items():
        assert torch.equal(value, written[f"net.llm_adapter.{key}"])
    assert not any(p.requires_grad for p in dit.parameters()) and not dit.training
    assert all(p.device.type == "cpu" and p.dtype == torch.float32 for p in dit.parameters())
    context = adapter(torch.randn(1, 5, TINY_ADAPTER.source_dim), torch.tensor([[4, 9, 1]]))
    v = dit(torch.randn(1, 16, 1, 4, 6), torch.tensor([0.5]), context)
    assert v.shape == (1, 16, 1, 4, 6) and torch.isfinite(v).all()


def test_comfyui_bundle_prefix_and_dtype(tmp_path: Path) -> None:
    path = write_tiny_dit(
        tmp_path / "bundle.safetensors", prefix="model.diffusion_model.", dtype=torch.bfloat16
    )
    dit, adapter = load_dit(path, dtype=torch.bfloat16)
    assert dit.x_embedder.proj[1].weight.dtype == torch.bfloat16
    assert adapter.embed.weight.dtype == torch.bfloat16


def test_block_counts_come_from_the_keys(tmp_path: Path) -> None:
    path = write_tiny_dit(
        tmp_path / "deep.safetensors",
        dit=TINY_DIT.__class__(**{**_fields(TINY_DIT), "num_blocks": 5}),
        adapter=TINY_ADAPTER.__class__(**{**_fields(TINY_ADAPTER), "num_blocks": 3}),
    )
    dit, adapter = load_dit(path)
    assert len(dit.blocks) == 5 and len(adapter.blocks) == 3


def _fields(params: object) -> dict[str, object]:
    return {name: getattr(params, name) for name in params.__dataclass_fields__}  # type: ignore[attr-defined]


def test_bookkeeping_keys_are_ignored(tiny_files: TinyFiles, tmp_path: Path) -> None:
    extra = {"net.accum_video_sample_counter": torch.zeros(1), "net.pos_embedder.seq": torch.arange(4.0)}
    path = _rewrite(tiny_files.dit, tmp_path / "extra.safetensors", extra)  # type: ignore[arg-type]
    assert len(load_dit(path).dit.blocks) == TINY_DIT.num_blocks


def test_missing_unexpected_and_misshaped_keys_are_named(tiny_files: TinyFiles, tmp_path: Path) -> None:
    edit: dict[str, torch.Tensor | None] = {
        "net.blocks.1.mlp.layer2.weight": None,
        "net.llm_adapter.norm.weight": None,
        "net.blocks.0.self_attn.extra.weight": torch.zeros(2),
        "stray.weight": torch.zeros(2),
        "net.blocks.1.cross_attn.k_proj.weight": torch.zeros(48, 7),
    }
    error = _one_line_error(_rewrite(tiny_files.dit, tmp_path / "broken.safetensors", edit))
    assert error.missing == ("net.blocks.1.mlp.layer2.weight", "net.llm_adapter.norm.weight")
    assert error.unexpected == ("net.blocks.0.self_attn.extra.weight", "stray.weight")
    assert error.misshaped == ("net.blocks.1.cross_attn.k_proj.weight (file [48, 7], model [48, 32])",)
    for name in ("2 missing keys", "2 unexpected keys", "1 mis-shaped keys", "does not match the Anima DiT"):
        assert name in str(error)


def test_missing_middle_block_is_reported(tiny_files: TinyFiles, tmp_path: Path) -> None:
    tensors = load_file(str(tiny_files.dit))
    edit = {key: None for key in tensors if key.startswith("net.blocks.0.")}
    error = _one_line_error(_rewrite(tiny_files.dit, tmp_path / "gap.safetensors", edit))  # type: ignore[arg-type]
    assert len(error.missing) == len(edit) and not error.unexpected


def test_truncated_file(tiny_files: TinyFiles, tmp_path: Path) -> None:
    path = tmp_path / "cut.safetensors"
    path.write_bytes(tiny_files.dit.read_bytes()[:-100])
    assert "truncated" in str(_one_line_error(path))


def test_corrupt_file(tiny_files: TinyFiles, tmp_path: Path) -> None:
    data = bytearray(tiny_files.dit.read_bytes())
    data[8:40] = b"\x00" * 32  # overwrite the start of the JSON header
    path = tmp_path / "corrupt.safetensors"
    path.write_bytes(bytes(data))
    assert "corrupt safetensors header" in str(_one_line_error(path))


@pytest.mark.parametrize("name", ["anima.ckpt", "anima.pt", "anima.bin"])
def test_pickle_formats_are_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"\x80\x02}q\x00.")
    assert "pickle-based checkpoints are not loaded" in str(_one_line_error(path))


def test_vae_given_as_the_dit(tmp_path: Path) -> None:
    path = tmp_path / "qwen_image_vae.safetensors"
    save_file({"encoder.conv1.weight": torch.zeros(1), "decoder.conv1.weight": torch.zeros(1)}, str(path))
    error = _one_line_error(path)
    assert str(error) == f"{path}: looks like a Qwen-Image VAE, not an Anima DiT"


def test_text_encoder_given_as_the_dit(tiny_files: TinyFiles) -> None:
    error = _one_line_error(tiny_files.text_encoder)
    assert str(error) == f"{tiny_files.text_encoder}: looks like a Qwen3 text encoder, not an Anima DiT"


def test_dit_given_as_the_text_encoder(tiny_files: TinyFiles) -> None:
    error = _one_line_error(tiny_files.dit, "te", tokenizer_dir=tiny_files.tokenizer_dir)
    assert str(error) == f"{tiny_files.dit}: looks like an Anima DiT, not a Qwen3 text encoder"


def test_cosmos_dit_without_adapter(tiny_files: TinyFiles, tmp_path: Path) -> None:
    tensors = load_file(str(tiny_files.dit))
    edit = {key: None for key in tensors if key.startswith("net.llm_adapter.")}
    path = _rewrite(tiny_files.dit, tmp_path / "cosmos.safetensors", edit)  # type: ignore[arg-type]
    assert "looks like a Cosmos-Predict2 DiT without the Anima LLM adapter" in str(_one_line_error(path))


def test_tiny_text_encoder_loads(tiny_files: TinyFiles) -> None:
    encoder = load_text_encoder(tiny_files.text_encoder, tokenizer_dir=tiny_files.tokenizer_dir)
    assert encoder.params == TINY_TEXT_ENCODER
    written = load_file(str(tiny_files.text_encoder))
    for key, value in encoder.model.state_dict().items():
        assert torch.equal(value, written[f"model.{key}"])
    assert set(encoder.model.state_dict()) == {key.removeprefix("model.") for key in written}


def test_text_encoder_with_lm_head_loads(tiny_files: TinyFiles, tmp_path: Path) -> None:
    head = torch.zeros(TINY_TEXT_ENCODER.vocab_size, TINY_TEXT_ENCODER.hidden_size)
    path = _rewrite(tiny_files.text_encoder, tmp_path / "causal_lm.safetensors", {"lm_head.weight": head})
    assert load_text_encoder(path, tokenizer_dir=tiny_files.tokenizer_dir).params == TINY_TEXT_ENCODER


def test_text_encoder_key_problems(tiny_files: TinyFiles, tmp_path: Path) -> None:
    edit: dict[str, torch.Tensor | None] = {
        "model.layers.1.mlp.up_proj.weight": None,
        "model.layers.1.self_attn.q_norm.weight": torch.ones(9),
    }
    path = _rewrite(tiny_files.text_encoder, tmp_path / "te.safetensors", edit)
    error = _one_line_error(path, "te", tokenizer_dir=tiny_files.tokenizer_dir)
    assert error.missing == ("model.layers.1.mlp.up_proj.weight",)
    assert error.misshaped == ("model.layers.1.self_attn.q_norm.weight (file [9], model [8])",)
    assert "does not match the Qwen3 text encoder layout" in str(error)


def test_inconsistent_sizes_are_refused(tiny_files: TinyFiles, tmp_path: Path) -> None:
    edit: dict[str, torch.Tensor | None] = {"model.layers.0.self_attn.q_norm.weight": torch.ones(9)}
    path = _rewrite(tiny_files.text_encoder, tmp_path / "odd.safetensors", edit)
    error = _one_line_error(path, "te", tokenizer_dir=tiny_files.tokenizer_dir)
    assert "tensor shapes do not form a valid model (TextEncoderParams.head_dim: got 9" in str(error)


def test_text_encoder_vocabulary_must_cover_the_tokenizer(tiny_files: TinyFiles, tmp_path: Path) -> None:
    small = TINY_TEXT_ENCODER.__class__(**{**_fields(TINY_TEXT_ENCODER), "vocab_size": 200})
    path = write_tiny_text_encoder(tmp_path / "small.safetensors", params=small)
    error = _one_line_error(path, "te", tokenizer_dir=tiny_files.tokenizer_dir)
    assert "embedding table has 200 rows, the Qwen tokenizer" in str(error) and "needs 257" in str(error)


def test_non_numeric_block_key_is_unexpected(tiny_files: TinyFiles, tmp_path: Path) -> None:
    edit = {"net.blocks.extra.weight": torch.zeros(1)}
    path = _rewrite(tiny_files.dit, tmp_path / "odd.safetensors", edit)  # type: ignore[arg-type]
    assert _one_line_error(path).unexpected == ("net.blocks.extra.weight",)


def test_loading_and_generating_never_import_the_compiler(tiny_dir: Path) -> None:
    """Importing torch._dynamo takes seconds; only compiling may pay for it (`weights.Embedding`)."""
    script = f"""
import sys
from anima_engine import GenerationRequest, generate, load_pipeline
pipe = load_pipeline(model_dir={str(tiny_dir)!r}, device="cpu", hash_files=False)
generate(pipe, GenerationRequest(prompt="safe, cat", width=64, height=64, steps=1, lint=False))
print(sorted(name for name in sys.modules if name.startswith(("torch._dynamo", "torch._inductor"))))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
