"""`anima generate` and `anima info` with the tiny official-layout files."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from anima_engine import GenerationRequest, generate, load_pipeline
from anima_engine._tiny import TinyFiles
from anima_engine.images import png_bytes, read_png_metadata
from anima_prompt.cli import cli


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()  # in the test's own user folders (tests/conftest.py): no tag index, no hash cache


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
    assert record.prompt == "safe, 1girl,  (red hair:1.2)"  # as written
    assert record.encoded == "safe, 1girl, (red hair:1.2)" and record.normalized  # as encoded
    assert (record.negative, record.seed, record.cfg, record.steps) == ("worst quality", 5, 4.5, 2)
    assert (record.noise, record.batch, record.batch_index) == ("comfyui", 2, 1)  # image 1 of the batch draw
    assert (record.sampler, record.scheduler, record.width, record.height) == ("euler", "simple", 64, 48)
    assert [m.role for m in record.models] == ["dit", "text_encoder", "vae"]
    assert all(m.sha256 and len(m.sha256) == 64 for m in record.models)
    assert record.version
    assert json.loads(text["anima"])["seed"] == 5
    assert "Seed: 5" in text["parameters"] and "Sampler: Euler" in text["parameters"]
    assert "Batch size: 2, Batch pos: 1" in text["parameters"]
    assert text["parameters"].startswith("safe, 1girl,  (red hair:1.2)\nNegative prompt: worst quality\n")

    # regenerate from the record alone: the same pixels
    pipe = load_pipeline(
        dit=tiny_files.dit,
        text_encoder=tiny_files.text_encoder,
        vae=tiny_files.vae,
        tokenizer_dir=tiny_files.tokenizer_dir,
        hash_files=False,
    )
    assert record.encoded is not None and record.encoded_negative is not None
    again = GenerationRequest(
        prompt=record.encoded,
        negative=record.encoded_negative,
        width=record.width,
        height=record.height,
        steps=record.steps,
        cfg=record.cfg,
        sampler=record.sampler,
        scheduler=record.scheduler,
        seed=record.seed,
        batch=record.batch,
        noise=record.noise,
        normalize=False,
    )
    assert generate(pipe, again)[record.batch_index].image.tobytes() == written


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
    assert result.stderr.endswith(
        "anima generate: error: the prompt has 1 lint error; fix it or pass --no-lint\n"
    )
    assert not out.exists()


def test_no_lint_overrides(runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["generate", "safe, (cat", "--no-lint", *SMALL, *model_args(tiny_files), "-o", str(out)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "ANM-" not in result.stderr
    record = read_png_metadata(Path(result.stdout.strip()))
    assert (record.prompt, record.encoded) == ("safe, (cat", "safe, (cat")


def test_warnings_are_shown_and_generation_goes_on(
    runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path
) -> None:
    result = runner.invoke(
        cli, ["generate", "safe, long_hair", *SMALL, *model_args(tiny_files), "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert "ANM-TAG-001 warning" in result.stderr
    assert "ANM-RES-001 warning: 64x48" in result.stderr  # the settings are linted too
    record = read_png_metadata(Path(result.stdout.strip()))
    assert (record.prompt, record.encoded) == ("safe, long_hair", "safe, long hair")


def test_comments_are_not_encoded_as_the_comfyui_front_end_removes_them(
    runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path
) -> None:
    prompt = "safe, 1girl, /* pose tags */ smile"
    args = ["generate", prompt, *SMALL, *model_args(tiny_files), "-o", str(tmp_path / "out")]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    record = read_png_metadata(Path(result.stdout.strip()))
    assert (record.prompt, record.encoded) == (prompt, "safe, 1girl, smile")


def test_missing_model_file_is_a_one_line_error(
    runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path
) -> None:
    empty = tmp_path / "models"
    empty.mkdir()
    args = ["generate", "safe, cat", "--model-dir", str(empty), "--tokenizers", str(tiny_files.tokenizer_dir)]
    result = runner.invoke(cli, [*args, *SMALL, "--no-lint"])
    assert result.exit_code == 1
    assert result.output == (
        "anima generate: error: DiT file anima-base-v1.0.safetensors not found; "
        f"looked in: {empty} (--model-dir); "
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
    last = result.stderr.splitlines()[-1]
    assert last == f"anima generate: error: VAE file not found: {missing} (given by --vae)"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-W", "100"], "anima generate: error: `width` must be a multiple of 16, got 100\n"),
        (["--strength", "0.5"], "anima generate: error: `strength` 0.5 needs an init image (img2img)\n"),
    ],
)
def test_bad_settings_are_one_line_errors(
    runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(
        cli, ["generate", "safe, cat", "--no-lint", *SMALL, *args, *model_args(tiny_files)]
    )
    assert result.exit_code == 2
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
    assert bad.exit_code == 2
    assert bad.output.endswith("anima generate: error: `strength` must be in (0, 1], got 1.5\n")


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
    assert lines[1].startswith("python ")
    assert lines[2].startswith("torch ")
    assert lines[3].startswith("device: ")
    assert f"tokenizers: {tiny_files.tokenizer_dir}" in lines
    assert any(
        line.startswith("tag index: ") and line.endswith("(not built: anima index build)") for line in lines
    )


def test_fp8_on_the_cpu_is_refused_before_loading(
    runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path
) -> None:
    args = ["generate", "safe, cat", "--fp8", "--device", "cpu", *SMALL, *model_args(tiny_files)]
    result = runner.invoke(cli, [*args, "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert (
        result.output
        == "anima generate: error: --fp8 needs a CUDA GPU (Hopper or newer); the device is cpu\n"
    )
    assert not (tmp_path / "out").exists()


def test_the_same_request_gives_the_same_png_bytes_through_the_api_and_the_cli(
    runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path
) -> None:
    prompt = "safe, 1girl,  Long_Hair, (red hair:1.2)"
    args = ["generate", prompt, "-n", "worst quality", "--seed", "11", "--cfg", "3", *SMALL]
    result = runner.invoke(cli, [*args, *model_args(tiny_files), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    pipe = load_pipeline(
        dit=tiny_files.dit,
        text_encoder=tiny_files.text_encoder,
        vae=tiny_files.vae,
        tokenizer_dir=tiny_files.tokenizer_dir,
    )
    request = GenerationRequest(
        prompt=prompt, negative="worst quality", seed=11, cfg=3, width=64, height=48, steps=2
    )
    [image] = generate(pipe, request)
    assert png_bytes(image.image, image.record) == Path(result.stdout.strip()).read_bytes()


def test_no_normalize_encodes_the_prompt_as_written(
    runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path
) -> None:
    args = ["generate", "safe, Long_Hair", "--no-normalize", *SMALL, *model_args(tiny_files)]
    result = runner.invoke(cli, [*args, "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    record = read_png_metadata(Path(result.stdout.strip()))
    assert (record.prompt, record.encoded, record.normalized) == ("safe, Long_Hair", "safe, Long_Hair", False)


@pytest.fixture
def no_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the command gets as far as loading weights."""

    def refuse(**kwargs: object) -> None:
        raise AssertionError("weights were loaded before the arguments were checked")

    monkeypatch.setattr("anima_engine.render_worker.load_pipeline", refuse)


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (
            ["--device", "banana"],
            2,
            "anima generate: error: device 'banana' is not a torch device; expected cpu, cuda or cuda:N\n",
        ),
        (
            ["--device", "meta"],
            2,
            "anima generate: error: device 'meta': only cpu, cuda and mps devices are supported\n",
        ),
        (["-W", "100"], 2, "anima generate: error: `width` must be a multiple of 16, got 100\n"),
        (
            ["--lora", "missing.safetensors"],
            1,
            "anima generate: error: LoRA 'missing.safetensors' not found; looked in: ",
        ),
    ],
)
def test_bad_arguments_stop_before_any_weights_load(
    runner: CliRunner, tiny_files: TinyFiles, no_loading: None, args: list[str], status: int, message: str
) -> None:
    result = runner.invoke(
        cli, ["generate", "safe, cat", "--no-lint", *SMALL, *model_args(tiny_files), *args]
    )
    assert result.exit_code == status
    assert result.output.startswith(message) and result.output.count("\n") == 1


def test_cuda_without_cuda_is_one_line(runner: CliRunner, tiny_files: TinyFiles, no_loading: None) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = runner.invoke(cli, ["generate", "safe, cat", "--device", "cuda", *model_args(tiny_files)])
    assert result.exit_code == 2
    assert (
        result.output
        == "anima generate: error: device 'cuda': CUDA is not available on this machine; use --device cpu\n"
    )


def test_an_output_folder_that_cannot_exist_stops_before_loading(
    runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path, no_loading: None
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("keep")
    result = runner.invoke(
        cli, ["generate", "safe, cat", *SMALL, *model_args(tiny_files), "-o", str(afile / "sub")]
    )
    assert result.exit_code == 2
    assert (
        result.output
        == f"anima generate: error: output folder {afile / 'sub'}: {afile} is a file, not a folder\n"
    )
    assert afile.read_text() == "keep"


def test_an_unwritable_output_folder_stops_before_loading(
    runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path, no_loading: None
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who may write anywhere")
        result = runner.invoke(
            cli, ["generate", "safe, cat", *SMALL, *model_args(tiny_files), "-o", str(locked)]
        )
    finally:
        locked.chmod(0o700)
    assert result.exit_code == 2
    assert result.output == f"anima generate: error: output folder {locked} is not writable\n"


def test_make_tiny_then_generate_with_model_dir(runner: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "tiny"
    assert runner.invoke(cli, ["dev", "make-tiny", str(folder)]).exit_code == 0
    result = runner.invoke(
        cli, ["generate", "safe, cat", *SMALL, "--model-dir", str(folder), "-o", str(tmp_path / "o")]
    )
    assert result.exit_code == 0, result.output
    assert read_png_metadata(Path(result.stdout.strip())).models[0].name == "anima-tiny.safetensors"


def test_comfyui_install_with_downloaded_tokenizers(runner: CliRunner, tmp_path: Path) -> None:
    from anima_engine._tiny import write_tiny_model

    comfyui = tmp_path / "ComfyUI"
    write_tiny_model(
        comfyui / "models"
    )  # where `anima models download --model-dir ComfyUI/models` puts files
    result = runner.invoke(
        cli, ["generate", "safe, cat", *SMALL, "--comfyui", str(comfyui), "-o", str(tmp_path / "o")]
    )
    assert result.exit_code == 0, result.output


def test_a_missing_variant_dit_names_where_to_get_it(
    runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    args = ["generate", "safe, cat", "--variant", "turbo", "--model-dir", str(models), "--no-lint", *SMALL]
    result = runner.invoke(cli, [*args, "--tokenizers", str(tiny_files.tokenizer_dir)])
    assert result.exit_code == 1
    assert "anima models download" not in result.output
    assert result.output.rstrip().endswith(
        "no download is known for the turbo DiT; fetch it from https://huggingface.co/circlestone-labs/Anima "
        "and pass --dit"
    )


@pytest.mark.parametrize("flags", [["--compile", "never"], ["--no-compile"], ["--compile", "always"]])
def test_compile_choices_run_plainly_on_the_cpu(
    runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path, flags: list[str]
) -> None:
    result = runner.invoke(
        cli, ["generate", "safe, cat", *SMALL, *model_args(tiny_files), *flags, "-o", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output


def test_a_bare_compile_flag_is_a_usage_error(runner: CliRunner, tiny_files: TinyFiles) -> None:
    result = runner.invoke(cli, ["generate", "safe, cat", *model_args(tiny_files), "--compile"])
    assert result.exit_code == 2
    assert "'--compile' requires an argument" in result.output


def test_prompts_and_file_together_are_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    both = runner.invoke(cli, ["generate", "safe, cat", "--file", str(tmp_path / "p.txt")])
    neither = runner.invoke(cli, ["generate"])
    assert (both.exit_code, neither.exit_code) == (2, 2)
    assert "give prompts (or --from IMAGE) or --file, not both" in both.output
    assert "give a PROMPT, or --from IMAGE, or --file FILE" in neither.output


def test_the_command_ends_fast_with_its_images_and_output(tiny_files: TinyFiles, tmp_path: Path) -> None:
    """As a user runs it (a process of its own, stdout a pipe): the paths printed, the files complete, the
    exit status kept, on success and on failure."""
    out = tmp_path / "out"
    command = [sys.executable, "-m", "anima_prompt", "generate", *SMALL, *model_args(tiny_files)]
    done = subprocess.run(
        [*command, "safe, cat", "safe, dog", "--seed", "3", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    paths = [Path(line) for line in done.stdout.splitlines()]
    assert [path.name for path in paths] == ["anima_00001_seed3.png", "anima_00002_seed3.png"]
    for path in paths:
        with Image.open(path) as image:
            image.load()  # the whole file is there
            assert image.size == (64, 48)
    failed = subprocess.run(
        [*command, "safe, cat", "--steps", "0", "-o", str(out)], capture_output=True, text=True, timeout=300
    )
    assert failed.returncode == 2 and "steps" in failed.stderr and failed.stdout == ""
