"""`anima models download` and `anima models list`, against a local server that answers like the hub."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from anima_engine._tiny import TinyFiles
from anima_engine.images import read_png_metadata
from anima_prompt.cli import cli
from anima_prompt.progress import format_bytes
from tests.engine.hub_helpers import HUB_FILES
from tests.support.fileserver import FileServer

MODEL_PARTS = "dit,text-encoder,vae"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()  # in the test's own user folders, no hub variables (tests/conftest.py)


def test_download_then_generate(
    runner: CliRunner, hub: FileServer, tiny_files: TinyFiles, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    env = {"HF_ENDPOINT": hub.base}
    result = runner.invoke(
        cli, ["models", "download", "--model-dir", str(models), "--what", MODEL_PARTS], env=env
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"downloaded {models / target} ({size}; checked: size, sha256 (from the server), content)"
        for target, size in (
            ("diffusion_models/anima-base-v1.0.safetensors", format_bytes(tiny_files.dit.stat().st_size)),
            (
                "text_encoders/qwen_3_06b_base.safetensors",
                format_bytes(tiny_files.text_encoder.stat().st_size),
            ),
            ("vae/qwen_image_vae.safetensors", format_bytes(tiny_files.vae.stat().st_size)),
        )
    ]
    assert result.stderr.splitlines()[-1] == f"use them with: anima generate --model-dir {models} PROMPT"

    again = runner.invoke(
        cli, ["models", "download", "--what", MODEL_PARTS], env={**env, "ANIMA_MODEL_DIR": str(models)}
    )
    assert again.exit_code == 0 and again.stdout.startswith(f"kept {models}/diffusion_models/")

    tokenizers = str(tiny_files.tokenizer_dir)
    args = ["generate", "safe, cat", "--model-dir", str(models), "--tokenizers", tokenizers, "--no-lint"]
    made = runner.invoke(cli, [*args, "-W", "32", "-H", "32", "--steps", "1", "-o", str(tmp_path / "out")])
    assert made.exit_code == 0, made.output
    record = read_png_metadata(Path(made.stdout.strip()))
    assert [model.name for model in record.models] == [
        "anima-base-v1.0.safetensors",
        "qwen_3_06b_base.safetensors",
        "qwen_image_vae.safetensors",
    ]


def test_a_refused_file_is_a_one_line_error(runner: CliRunner, hub: FileServer, tmp_path: Path) -> None:
    hub.redirects[HUB_FILES["vae"]] = hub.redirects[HUB_FILES["dit"]]
    args = ["models", "download", "--model-dir", str(tmp_path), "--what", "vae"]
    result = runner.invoke(cli, args, env={"HF_ENDPOINT": hub.base})
    assert result.exit_code == 1
    assert result.stderr == (
        f"anima models download: error: {hub.base}{HUB_FILES['vae']}: it holds an Anima DiT, "
        "not a Qwen-Image VAE; the file was discarded\n"
    )
    assert not (tmp_path / "vae" / "qwen_image_vae.safetensors").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--what", "vae"],
            "anima models download: error: name the folder to download into with --model-dir "
            "(or set ANIMA_MODEL_DIR)",
        ),
        (
            ["--model-dir", "x", "--what", "unet"],
            "anima models download: error: unknown part 'unet'; expected some of dit, text-encoder",
        ),
        (["--model-dir", "x", "--what", ","], "anima models download: error: --what names no part"),
        (
            ["--model-dir", "x", "--variant", "turbo"],
            "anima models download: error: no download is known for the turbo DiT; fetch it",
        ),
    ],
)
def test_bad_options(runner: CliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(cli, ["models", "download", *args])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1].startswith(message)


def test_list_shows_sources_and_pins(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["models", "list"], env={"HF_ENDPOINT": "https://hf-mirror.example"})
    assert result.exit_code == 0
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert [line[0] for line in lines] == ["dit", "text-encoder", "vae", "tokenizers", "tokenizers"]
    assert lines[0][2] == (
        "https://hf-mirror.example/circlestone-labs/Anima/resolve/main/split_files/diffusion_models/"
        "anima-base-v1.0.safetensors"
    )
    assert lines[0][3] == "sha256 advertised by the hub"
    assert lines[3][3] == "sha256 aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4"
