"""`anima dev make-tiny` writes files that the public loaders accept."""

from pathlib import Path

from click.testing import CliRunner

from anima_engine.loading import load_dit, load_text_encoder
from anima_engine.vae_loading import load_vae, read_vae_params
from anima_prompt.cli import cli


def test_make_tiny_writes_loadable_files(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["dev", "make-tiny", str(tmp_path / "tiny"), "--seed", "3"], catch_exceptions=False
    )
    assert result.exit_code == 0
    dit_path = tmp_path / "tiny" / "diffusion_models" / "anima-base-v1.0.safetensors"
    encoder_path = tmp_path / "tiny" / "text_encoders" / "qwen_3_06b_base.safetensors"
    vae_path = tmp_path / "tiny" / "vae" / "qwen_image_vae.safetensors"
    assert result.output == (
        f"dit: {dit_path}\ntext encoder: {encoder_path}\ntokenizers: {tmp_path / 'tiny' / 'tokenizers'}\n"
        f"vae: {vae_path}\n"
    )
    assert load_vae(vae_path, params=read_vae_params(vae_path)).params.z_dim == 16
    assert len(load_dit(dit_path).dit.blocks) == 2
    encoder = load_text_encoder(encoder_path, tokenizer_dir=tmp_path / "tiny" / "tokenizers")
    assert encoder.encode("a cat").qwen_states.shape[1] == 5


def test_dev_group_help() -> None:
    result = CliRunner().invoke(cli, ["dev", "--help"], catch_exceptions=False)
    assert result.exit_code == 0 and "make-tiny" in result.output
