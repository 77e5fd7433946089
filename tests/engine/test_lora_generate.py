"""LoRAs in `anima generate`: `--lora PATH[:STRENGTH]`, `<lora:name:s>` tags from LoRA folders, metadata."""

import hashlib
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from anima_engine import GenerationRequest, generate, load_pipeline
from anima_engine._tiny import TinyFiles
from anima_engine.images import read_png_metadata
from anima_engine.loading import load_dit, load_text_encoder
from anima_engine.lora import LoraTargets
from anima_prompt.cli import cli
from tests.support.lora_files import tiny_lora, write_lora


@pytest.fixture(scope="module")
def lora_dir(tiny_files: TinyFiles, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LoRA folder with a Kohya LoRA for all three networks and a LoKr one in a sub-folder."""
    model = load_dit(tiny_files.dit)
    encoder = load_text_encoder(tiny_files.text_encoder, tokenizer_dir=tiny_files.tokenizer_dir)
    targets = LoraTargets(dit=model.dit, adapter=model.adapter, text_encoder=encoder.model)
    folder = tmp_path_factory.mktemp("loras")
    everything = ("dit", "adapter", "text_encoder")
    write_lora(folder / "ink.safetensors", tiny_lora(targets, naming="kohya", kind="lora_down_up", alpha=8.0,
                                                     components=everything, seed=1))  # fmt: skip
    write_lora(
        folder / "styles" / "pencil.safetensors", tiny_lora(targets, kind="lokr_w2_factored", alpha=2, seed=2)
    )
    return folder


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()  # in the test's own home and user folders: no ComfyUI, no index (tests/conftest.py)


def _args(files: TinyFiles, out: Path) -> list[str]:
    paths = ["--dit", str(files.dit), "--text-encoder", str(files.text_encoder), "--vae", str(files.vae)]
    return [*paths, "--tokenizers", str(files.tokenizer_dir), "-W", "32", "-H", "32", "--steps", "2",
            "--cfg", "1", "--seed", "3", "--no-lint", "-o", str(out)]  # fmt: skip


def _pixels(path: Path) -> bytes:
    with Image.open(path) as image:
        return image.convert("RGB").tobytes()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_tags_and_options_apply_the_same_loras(
    runner: CliRunner, tiny_files: TinyFiles, lora_dir: Path, tmp_path: Path
) -> None:
    tagged = runner.invoke(
        cli,
        ["generate", "<lora:ink:0.8>, 1girl, <lora:pencil:-0.5>", "--lora-dir", str(lora_dir),
         *_args(tiny_files, tmp_path / "tagged")],
    )  # fmt: skip
    assert tagged.exit_code == 0, tagged.output
    ink, pencil = lora_dir / "ink.safetensors", lora_dir / "styles" / "pencil.safetensors"
    options = runner.invoke(
        cli,
        ["generate", "1girl", "--lora", f"{ink}:0.8", "--lora", f"{pencil}:-0.5",
         *_args(tiny_files, tmp_path / "options")],
    )  # fmt: skip
    assert options.exit_code == 0, options.output
    plain = runner.invoke(cli, ["generate", "1girl", *_args(tiny_files, tmp_path / "plain")])
    assert plain.exit_code == 0, plain.output
    [tagged_png], [options_png], [plain_png] = (
        [Path(line) for line in result.stdout.splitlines()] for result in (tagged, options, plain)
    )
    assert _pixels(tagged_png) == _pixels(options_png) != _pixels(plain_png)

    record = read_png_metadata(tagged_png)
    assert record.prompt == "<lora:ink:0.8>, 1girl, <lora:pencil:-0.5>"  # as written
    assert record.encoded == "1girl"  # the tags never reach the text encoder
    assert [(m.role, m.name, m.sha256, m.weight) for m in record.loras] == [
        ("lora", "ink.safetensors", _sha256(ink), 0.8),
        ("lora", "pencil.safetensors", _sha256(pencil), -0.5),
    ]
    with Image.open(tagged_png) as image:
        parameters = image.text["parameters"]  # type: ignore[attr-defined]
    assert f'Lora hashes: "ink: {_sha256(ink)[:12]}, pencil: {_sha256(pencil)[:12]}"' in parameters
    assert read_png_metadata(plain_png).loras == ()


def test_lora_folder_from_the_environment_and_comfyui(
    runner: CliRunner, tiny_files: TinyFiles, lora_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    comfyui = tmp_path / "ComfyUI"
    (comfyui / "models").mkdir(parents=True)
    (comfyui / "models" / "loras").symlink_to(lora_dir, target_is_directory=True)
    found = runner.invoke(
        cli, ["generate", "1girl <lora:ink>", "--comfyui", str(comfyui), *_args(tiny_files, tmp_path / "a")]
    )
    assert found.exit_code == 0, found.output
    monkeypatch.setenv("ANIMA_LORA_DIR", str(lora_dir))
    by_env = runner.invoke(
        cli, ["generate", "1girl, <lora:styles/pencil:0.3>", *_args(tiny_files, tmp_path / "b")]
    )
    assert by_env.exit_code == 0, by_env.output
    assert [m.weight for m in read_png_metadata(Path(by_env.stdout.strip())).loras] == [0.3]


def test_lora_errors_are_one_line(
    runner: CliRunner, tiny_files: TinyFiles, lora_dir: Path, tmp_path: Path
) -> None:
    missing = runner.invoke(
        cli,
        ["generate", "1girl, <lora:nothing:1>", "--lora-dir", str(lora_dir), *_args(tiny_files, tmp_path)],
    )
    assert missing.exit_code == 1
    assert missing.output == f"anima generate: error: LoRA 'nothing' not found; looked in: {lora_dir}\n"

    foreign = tmp_path / "sdxl.safetensors"
    stem = "lora_unet_down_blocks_0_attentions_0_proj_in"
    write_lora(
        foreign, {f"{stem}.lora_down.weight": torch.zeros(4, 8), f"{stem}.lora_up.weight": torch.zeros(8, 4)}
    )
    refused = runner.invoke(cli, ["generate", "1girl", "--lora", str(foreign), *_args(tiny_files, tmp_path)])
    assert refused.exit_code == 1
    assert refused.output == (
        f"anima generate: error: {foreign}: this is a LoRA for Stable Diffusion 1.x/2.x, not Anima "
        "(key 'lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight')\n"
    )
    negative = runner.invoke(
        cli,
        [
            "generate",
            "1girl",
            "-n",
            "<lora:ink:1>",
            "--lora-dir",
            str(lora_dir),
            *_args(tiny_files, tmp_path),
        ],
    )
    assert negative.exit_code == 2
    assert (
        negative.output == "anima generate: error: the negative prompt holds a LoRA tag; "
        "put LoRAs in the prompt or use --lora\n"
    )


def test_prompts_with_different_loras_in_one_call(tiny_files: TinyFiles, lora_dir: Path) -> None:
    pipe = load_pipeline(
        dit=tiny_files.dit,
        text_encoder=tiny_files.text_encoder,
        vae=tiny_files.vae,
        tokenizer_dir=tiny_files.tokenizer_dir,
        hash_files=False,
    )
    before = {key: value.clone() for key, value in pipe.dit.state_dict().items()}

    def request(prompt: str) -> GenerationRequest:
        return GenerationRequest(
            prompt=prompt, width=32, height=32, steps=2, cfg=1.0, seed=4, lora_dirs=(lora_dir,), lint=False
        )

    requests = [request(text) for text in ("1girl <lora:ink>", "1girl <lora:ink>", "1girl")]
    images = generate(pipe, requests)
    alone = generate(pipe, requests[0]) + generate(pipe, requests[2])
    pixels = [image.image.tobytes() for image in images]
    assert pixels[0] == pixels[1] == alone[0].image.tobytes() != pixels[2] == alone[1].image.tobytes()
    assert [len(image.record.loras) for image in images] == [1, 1, 0]
    assert [image.record.encoded for image in images] == ["1girl"] * 3
    assert all(torch.equal(value, before[key]) for key, value in pipe.dit.state_dict().items())  # unmerged


def test_a_lora_tag_in_the_api_applies_the_lora(tiny_files: TinyFiles, lora_dir: Path) -> None:
    """issue 13: through the Python API a tag applies its LoRA and never reaches the text encoder."""
    pipe = load_pipeline(
        dit=tiny_files.dit,
        text_encoder=tiny_files.text_encoder,
        vae=tiny_files.vae,
        tokenizer_dir=tiny_files.tokenizer_dir,
        hash_files=False,
    )
    settings = {"width": 32, "height": 32, "steps": 2, "cfg": 1.0, "lora_dirs": (lora_dir,), "lint": False}
    [tagged] = generate(pipe, GenerationRequest(prompt="Hatsune_Miku, <lora:ink:0.8>", **settings))  # type: ignore[arg-type]
    [plain] = generate(pipe, GenerationRequest(prompt="hatsune miku", **settings))  # type: ignore[arg-type]
    assert tagged.record.encoded == "hatsune miku" == plain.record.encoded
    assert [(m.name, m.weight) for m in tagged.record.loras] == [("ink.safetensors", 0.8)]
    assert tagged.image.tobytes() != plain.image.tobytes()


def test_the_lint_gate_knows_the_loras(
    runner: CliRunner, tiny_files: TinyFiles, lora_dir: Path, tmp_path: Path
) -> None:
    linted = [arg for arg in _args(tiny_files, tmp_path / "out") if arg != "--no-lint"]
    missing = runner.invoke(
        cli, ["generate", "safe, 1girl, <lora:nothing:1>", "--lora-dir", str(lora_dir), *linted]
    )
    assert missing.exit_code == 1
    assert f"ANM-LORA-001 error: LoRA `nothing` not found in {lora_dir}" in missing.stderr
    assert missing.stderr.endswith(
        "anima generate: error: the prompt has 1 lint error; fix it or pass --no-lint\n"
    )

    turbo = tmp_path / "anima_turbo_lora.safetensors"
    turbo.write_bytes((lora_dir / "ink.safetensors").read_bytes())
    linted[linted.index("--cfg") + 1] = "4"
    warned = runner.invoke(
        cli,
        [
            "generate",
            "safe, 1girl, <lora:ink:0.5>",
            "--lora-dir",
            str(lora_dir),
            "--lora",
            str(turbo),
            *linted,
        ],
    )
    assert warned.exit_code == 0, warned.output
    assert "ANM-CFG-003 warning: the Turbo LoRA" in warned.stderr
    assert "ANM-SYN-003" not in warned.stderr  # anima generate loads <lora:...> tags
