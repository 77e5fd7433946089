"""`anima generate` and `anima info` with the tiny official-layout files."""

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from anima_engine.images import read_png_metadata
from anima_engine.pipeline import generate, load_pipeline
from anima_engine.testing import TinyFiles
from anima_prompt.cli import cli


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    # keep the hash cache and the (absent) tag index out of the user's folders
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("ANIMA_TAG_INDEX", str(tmp_path / "no-index.sqlite"))
    monkeypatch.delenv("ANIMA_TOKENIZERS", raising=False)
    return CliRunner()


def model_args(files: TinyFiles) -> list[str]:
    return [
        "--dit",
        str(files.dit),
        "--text-encoder",
        str(files.text_encoder),
        "--vae",
        str(files.vae),
        "--tokenizers",
        str(files.tokenizer_dir),
    ]


SMALL = ["-W", "64", "-H", "48", "--steps", "2"]


def test_generate_writes_pngs_that_reproduce(
    runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args = ["generate", "safe, 1girl,  (red hair:1.2)", "-n", "worst quality", "--seed", "5", "--cfg", "4.5"]
    result = runner.invoke(
        cli, [*args, "--batch", "2", "--sampler", "euler", *SMALL, *model_args(tiny_files), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    paths = [Path(line) for line in result.stdout.splitlines()]
    assert [p.name for p in paths] == ["anima_00001_seed5.png", "anima_00002_seed5.png"]

    # everything needed to reproduce it is in the PNG's text chunks
    with Image.open(paths[1]) as image:
        text = dict(image.text)  # type: ignore[attr-defined]
        written = image.convert("RGB").tobytes()
    record = read_png_metadata(paths[1])
    assert record.prompt == "safe, 1girl, (red hair:1.2)"  # normalised
    assert (record.negative, record.seed, record.cfg, record.steps) == ("worst quality", 5, 4.5, 2)
    assert (record.noise, record.batch, record.batch_index) == ("comfyui", 2, 1)  # image 1 of the batch draw
    assert (record.sampler, record.scheduler, record.width, record.height) == ("euler", "simple", 64, 48)
    assert [m.role for m in record.models] == ["dit", "text_encoder", "vae"]
    assert all(m.sha256 and len(m.sha256) == 64 for m in record.models)
    assert record.version
    assert json.loads(text["anima"])["seed"] == 5
    assert "Seed: 5" in text["parameters"] and "Sampler: Euler" in text["parameters"]
    assert "Batch size: 2, Batch pos: 1" in text["parameters"]
    assert text["parameters"].startswith("safe, 1girl, (red hair:1.2)\nNegative prompt: worst quality\n")

    # regenerate from the record alone: the same pixels
    pipe = load_pipeline(
        dit=tiny_files.dit,
        text_encoder=tiny_files.text_encoder,
        vae=tiny_files.vae,
        tokenizer_dir=tiny_files.tokenizer_dir,
        hash_files=False,
    )
    again = generate(
        pipe,
        record.prompt,
        negative=record.negative,
        width=record.width,
        height=record.height,
        steps=record.steps,
        cfg=record.cfg,
        sampler=record.sampler,
        scheduler=record.scheduler,
        seed=record.seed,
        batch=record.batch,
        noise=record.noise,
    )[record.batch_index]
    assert again.image.tobytes() == written


def test_generate_never_overwrites(runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "anima_00001_seed0.png").write_bytes(b"keep me")
    result = runner.invoke(cli, ["generate", "safe, cat", *SMALL, *model_args(tiny_files), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out / "anima_00002_seed0.png")
    assert (out / "anima_00001_seed0.png").read_bytes() == b"keep me"


def test_same_seed_twice_gives_identical_files(
    runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path
) -> None:
    images = []
    for name in ("a", "b"):
        result = runner.invoke(
            cli,
            [
                "generate",
                "safe, cat",
                "--seed",
                "3",
                *SMALL,
                *model_args(tiny_files),
                "-o",
                str(tmp_path / name),
            ],
        )
        assert result.exit_code == 0, result.output
        with Image.open(result.stdout.strip()) as image:
            images.append(image.tobytes())
    assert images[0] == images[1]


def test_lint_error_refuses_with_the_finding_shown(
    runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = runner.invoke(cli, ["generate", "safe, (cat", *SMALL, *model_args(tiny_files), "-o", str(out)])
    assert result.exit_code == 1
    assert "<prompt>:1:7: ANM-SYN-004 error: '(' is never closed" in result.stderr
    assert "1 | safe, (cat" in result.stderr
    assert result.stderr.endswith("Error: the prompt has 1 lint error; fix it or pass --no-lint\n")
    assert not out.exists()


def test_no_lint_overrides(runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["generate", "safe, (cat", "--no-lint", *SMALL, *model_args(tiny_files), "-o", str(out)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "ANM-" not in result.stderr
    assert read_png_metadata(Path(result.stdout.strip())).prompt == "safe, (cat"


def test_warnings_are_shown_and_generation_goes_on(
    runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path
) -> None:
    result = runner.invoke(
        cli, ["generate", "safe, long_hair", *SMALL, *model_args(tiny_files), "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert "ANM-TAG-001 warning" in result.stderr
    assert "ANM-RES-001 warning: 64x48" in result.stderr  # the settings are linted too
    assert read_png_metadata(Path(result.stdout.strip())).prompt == "safe, long hair"


def test_missing_model_file_is_a_one_line_error(
    runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path
) -> None:
    empty = tmp_path / "models"
    empty.mkdir()
    args = ["generate", "safe, cat", "--model-dir", str(empty), "--tokenizers", str(tiny_files.tokenizer_dir)]
    result = runner.invoke(cli, [*args, *SMALL, "--no-lint"])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: DiT file anima-base-v1.0.safetensors not found; looked in: {empty} (--model-dir); "
        f"{empty}/diffusion_models (--model-dir); {empty}/split_files/diffusion_models (--model-dir); "
        "pass --model-dir, --comfyui or --dit; "
        f"to download the official files: anima models download --model-dir {empty}\n"
    )


def test_missing_explicit_file_names_the_option(
    runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path
) -> None:
    missing = tmp_path / "nope.safetensors"
    args = model_args(tiny_files)
    args[args.index("--vae") + 1] = str(missing)
    result = runner.invoke(cli, ["generate", "safe, cat", *SMALL, *args])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == f"Error: VAE file not found: {missing} (given by --vae)"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-W", "100"], "Error: `width` must be a multiple of 16, got 100\n"),
        (["--strength", "0.5"], "Error: `strength` 0.5 needs an init image (img2img)\n"),
    ],
)
def test_bad_settings_are_one_line_errors(
    runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(
        cli, ["generate", "safe, cat", "--no-lint", *SMALL, *args, *model_args(tiny_files)]
    )
    assert result.exit_code == 1
    assert result.output.endswith(message)


def test_img2img_from_the_command_line(runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path) -> None:
    start = tmp_path / "start.png"
    Image.new("RGB", (70, 50), "orange").save(start)
    args = ["generate", "safe, cat", "--init-image", str(start), "--steps", "4", *model_args(tiny_files)]
    result = runner.invoke(cli, [*args, "--no-lint", "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    record = read_png_metadata(Path(result.stdout.strip()))
    assert (record.width, record.height, record.strength) == (64, 48, 0.75)  # size from the image
    bad = runner.invoke(cli, [*args, "--no-lint", "--strength", "1.5"])
    assert bad.exit_code == 1
    assert bad.output.endswith("Error: `strength` must be in (0, 1], got 1.5\n")


def test_turbo_variant_uses_its_model_card_defaults(
    runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path
) -> None:
    args = ["generate", "safe, cat", "--variant", "turbo", "-W", "64", "-H", "48", *model_args(tiny_files)]
    result = runner.invoke(cli, [*args, "--no-lint", "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    record = read_png_metadata(Path(result.stdout.strip()))
    assert (record.variant, record.cfg, record.steps, record.sampler) == ("turbo", 1.0, 10, "er_sde")


def test_info_reports_what_it_found(runner: CliRunner, tiny_files: TinyFiles) -> None:
    result = runner.invoke(cli, ["info", "--tokenizers", str(tiny_files.tokenizer_dir)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("anima-toolkit ")
    assert lines[1].startswith("python ") and "torch " in lines[1]
    assert lines[2].startswith("device: ")
    assert f"tokenizers: {tiny_files.tokenizer_dir}" in lines
    assert any(
        line.startswith("tag index: ") and line.endswith("(not built: anima index build)") for line in lines
    )


def test_fp8_mode_generates_a_different_close_image(
    runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path
) -> None:
    images = {}
    for flags in ((), ("--fp8",)):
        out = tmp_path / ("fp8" if flags else "bf16")
        args = ["generate", "safe, cat", *SMALL, *model_args(tiny_files), "-o", str(out), *flags]
        result = runner.invoke(cli, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        (path,) = out.iterdir()
        with Image.open(path) as image:
            images[bool(flags)] = torch.frombuffer(
                bytearray(image.convert("RGB").tobytes()), dtype=torch.uint8
            ).float()
    difference = (images[True] - images[False]).abs().mean().item()
    assert 0 < difference < 40  # fp8 changes the numbers a little, not the picture
