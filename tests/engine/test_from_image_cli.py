"""`anima info IMAGE` and `anima generate --from IMAGE` on images from this toolkit, ComfyUI and A1111."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image, PngImagePlugin

from anima_engine import GenerationRequest, request_from_png
from anima_engine._tiny import TinyFiles
from anima_engine.from_image import reproduction
from anima_engine.images import read_png_metadata
from anima_prompt.cli import cli
from anima_prompt.errors import AnimaPromptError
from anima_prompt.imagemeta import ImageSettings, LoraSetting
from tests.engine.test_generate_cli import model_args, runner  # noqa: F401  (the fixture)


def png_with(path: Path, **texts: str) -> Path:
    info = PngImagePlugin.PngInfo()
    for key, value in texts.items():
        info.add_text(key, value)
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    return path


COMFY_PROMPT = {
    "1": {"class_type": "UNETLoader", "inputs": {"unet_name": "anima-base-v1.0.safetensors"}},
    "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "safe, 1girl, smile", "clip": ["5", 0]}},
    "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "worst quality", "clip": ["5", 0]}},
    "4": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 48, "batch_size": 2}},
    "5": {"class_type": "CLIPLoader", "inputs": {"clip_name": "qwen_3_06b_base.safetensors"}},
    "6": {
        "class_type": "KSampler",
        "inputs": {
            **{
                "seed": 11,
                "steps": 2,
                "cfg": 3.5,
                "sampler_name": "euler_ancestral",
                "scheduler": "sgm_uniform",
            },
            **{"denoise": 1.0, "model": ["1", 0], "positive": ["2", 0], "negative": ["3", 0]},
            "latent_image": ["4", 0],
        },
    },
    "7": {"class_type": "UpscaleModelLoader", "inputs": {"model_name": "4x.pth"}},
    "8": {"class_type": "KSampler", "inputs": {"seed": 1, "latent_image": ["6", 0]}},
}


def test_info_prints_the_settings_of_a_comfyui_png(runner: CliRunner, tmp_path: Path) -> None:  # noqa: F811
    image = png_with(tmp_path / "comfy.png", prompt=json.dumps(COMFY_PROMPT))
    result = runner.invoke(cli, ["info", str(image)], catch_exceptions=False)
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "source: comfyui-prompt",
        "prompt: safe, 1girl, smile",
        "negative: worst quality",
        "seed: 11",
        "steps: 2",
        "cfg: 3.5",
        "sampler: euler_ancestral",
        "scheduler: sgm_uniform",
        "width: 64",
        "height: 48",
        "batch: 2",
        "denoise: 1.0",
        "noise: comfyui",
        "model: anima-base-v1.0.safetensors",
        "not mapped: KSampler (node 8): another sampler pass",
    ]
    as_json = runner.invoke(cli, ["info", "--json", str(image)], catch_exceptions=False)
    assert json.loads(as_json.output)["scheduler"] == "sgm_uniform"


def test_info_on_an_image_without_settings_is_one_line(runner: CliRunner, tmp_path: Path) -> None:  # noqa: F811
    image = png_with(tmp_path / "plain.png", Software="GIMP")
    result = runner.invoke(cli, ["info", str(image)])
    assert result.exit_code == 1
    assert result.output == (
        f"anima info: error: {image}: no generation settings: expected a text chunk "
        f"'anima', 'prompt', 'workflow', "
        "'parameters' (found: Software)\n"
    )


def test_generate_from_a_comfyui_png_reproduces_its_settings(
    runner: CliRunner,  # noqa: F811
    tiny_files: TinyFiles,
    tmp_path: Path,
) -> None:
    image = png_with(tmp_path / "comfy.png", prompt=json.dumps(COMFY_PROMPT))
    out = tmp_path / "out"
    args = ["generate", "--from", str(image), "--steps", "3", *model_args(tiny_files), "-o", str(out)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert (
        f"{image}: not reproduced: KSampler (node 8): another sampler pass; "
        "model file 'anima-base-v1.0.safetensors' (the model found as usual is used)"
    ) in result.stderr.splitlines()
    records = [read_png_metadata(Path(line)) for line in result.stdout.splitlines()]
    assert len(records) == 2
    first = records[0]
    assert (first.prompt, first.negative, first.seed, first.cfg) == (
        "safe, 1girl, smile",
        "worst quality",
        11,
        3.5,
    )
    assert (first.sampler, first.scheduler, first.width, first.height) == (
        "euler_ancestral",
        "sgm_uniform",
        64,
        48,
    )
    assert (first.steps, first.noise, first.batch) == (3, "comfyui", 2)  # --steps on the command line wins

    # our own PNG round-trips: same settings, same pixels
    again = runner.invoke(cli, ["generate", "--from", result.stdout.splitlines()[1], *model_args(tiny_files),
                                "-o", str(tmp_path / "again")])  # fmt: skip
    assert again.exit_code == 0, again.output
    repeated = [Path(line) for line in again.stdout.splitlines()]
    with Image.open(repeated[1]) as a, Image.open(result.stdout.splitlines()[1]) as b:
        assert a.tobytes() == b.tobytes()


def test_generate_from_an_a1111_png(runner: CliRunner, tiny_files: TinyFiles, tmp_path: Path) -> None:  # noqa: F811
    parameters = "safe, 1girl\nNegative prompt: lowres\nSteps: 2, Sampler: Euler, Schedule type: Normal, " \
        "CFG scale: 5, Seed: 3, Size: 64x48, RNG: GPU"  # fmt: skip
    image = png_with(tmp_path / "a1111.png", parameters=parameters)
    result = runner.invoke(
        cli, ["generate", "--from", str(image), *model_args(tiny_files), "-o", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert f"{image}: not reproduced: RNG: GPU" in result.stderr.splitlines()
    record = read_png_metadata(Path(result.stdout.strip()))
    assert (record.prompt, record.negative, record.sampler, record.scheduler, record.cfg, record.seed) == (
        "safe, 1girl", "lowres", "euler", "normal", 5.0, 3
    )  # fmt: skip


def test_generate_needs_a_prompt_or_an_image(runner: CliRunner) -> None:  # noqa: F811
    result = runner.invoke(cli, ["generate"])
    assert result.exit_code == 2 and "give a PROMPT, or --from IMAGE" in result.output


def test_reproduction_leaves_img2img_amounts_to_an_init_image() -> None:
    settings = ImageSettings(
        source="comfyui-prompt",
        steps=20,
        denoise=0.6,
        init_image="in.png",
        loras=(LoraSetting("a.safetensors", 0.5),),
    )
    without = reproduction(settings, init_image=False)
    assert without.options == {"steps": 20}
    assert without.notes == (
        "img2img denoise 0.6 (give --init-image to apply it)",
        "img2img input 'in.png' (give it with --init-image)",
    )
    assert without.loras == ("a.safetensors:0.5",)
    assert reproduction(settings, init_image=True).options == {"steps": 20, "denoise": 0.6}


def test_request_from_png_is_the_python_form_of_from(tmp_path: Path) -> None:
    """The API builds the request `--from` builds: the image's settings, the user's fields kept."""
    image = png_with(tmp_path / "comfy.png", prompt=json.dumps(COMFY_PROMPT))
    base = GenerationRequest(prompt="", seed=5, loras=(("mine.safetensors", 1.0),))
    found = request_from_png(image, base, keep={"seed"})
    request = found.request
    assert (request.prompt, request.negative, request.seed, request.steps, request.cfg) == (
        "safe, 1girl, smile", "worst quality", 5, 2, 3.5
    )  # fmt: skip
    assert (request.sampler, request.scheduler, request.width, request.height, request.batch) == (
        "euler_ancestral", "sgm_uniform", 64, 48, 2
    )  # fmt: skip
    assert request.loras == (("mine.safetensors", 1.0),)
    assert any("model file" in note for note in found.notes)
    assert request_from_png(image).request.seed == 11


def test_request_from_png_of_an_image_without_settings_raises(tmp_path: Path) -> None:
    image = png_with(tmp_path / "plain.png")
    with pytest.raises(AnimaPromptError):
        request_from_png(image)
