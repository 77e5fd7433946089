"""`anima dev make-tiny` writes files that the public loaders accept and `generate --model-dir` finds."""

import os
import stat
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
    dit_path = tmp_path / "tiny" / "diffusion_models" / "anima-tiny.safetensors"
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


def test_generate_finds_what_make_tiny_wrote(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["dev", "make-tiny", str(tmp_path / "tiny")]).exit_code == 0
    args = ["generate", "safe, a cat", "--model-dir", str(tmp_path / "tiny"), "-o", str(tmp_path / "out")]
    result = runner.invoke(cli, [*args, "-W", "32", "-H", "32", "--steps", "1"])
    assert result.exit_code == 0, result.output
    assert Path(result.stdout.strip()).parent == tmp_path / "out"


def test_dev_group_help() -> None:
    result = CliRunner().invoke(cli, ["dev", "--help"], catch_exceptions=False)
    assert result.exit_code == 0 and "make-tiny" in result.output


def test_make_tiny_files_have_the_usual_permissions_and_replace_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "tiny"
    previous = os.umask(0o022)
    try:
        result = CliRunner().invoke(cli, ["dev", "make-tiny", str(folder)])
    finally:
        os.umask(previous)
    assert result.exit_code == 0, result.output
    written = [path for path in folder.rglob("*") if path.is_file()]
    assert len(written) == 5
    assert {stat.S_IMODE(path.stat().st_mode) for path in written} == {0o644}

    tokenizer = folder / "tokenizers" / "qwen3" / "tokenizer.json"
    tokenizer.write_text("the real tokenizer", encoding="utf-8")
    again = CliRunner().invoke(cli, ["dev", "make-tiny", str(folder)])
    assert again.exit_code == 2
    assert again.stderr.startswith("anima dev make-tiny: error: ")
    assert again.stderr.endswith(
        "already exists; pass --force to replace it with a tiny random-weight file\n"
    )
    assert tokenizer.read_text(encoding="utf-8") == "the real tokenizer"
    forced = CliRunner().invoke(cli, ["dev", "make-tiny", str(folder), "--force"])
    assert forced.exit_code == 0
    assert tokenizer.read_text(encoding="utf-8") != "the real tokenizer"
