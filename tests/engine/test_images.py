"""PNG metadata round trip through Pillow, A1111 parameters text, and never overwriting files."""

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from anima_engine.errors import ConfigError
from anima_engine.images import (
    GenerationRecord,
    MetadataError,
    ModelFile,
    parameters_text,
    read_png_metadata,
    save_png,
    to_pil,
)
from anima_prompt.version import toolkit_version

HASH = "ab" * 32


def record(**changes: object) -> GenerationRecord:
    settings: dict[str, object] = {
        "prompt": "1girl, (masterpiece:1.2), 猫耳, @artist",
        "negative": "worst quality, lowres",
        "seed": 123,
        "sampler": "er_sde",
        "scheduler": "simple",
        "steps": 30,
        "cfg": 4.5,
        "width": 1024,
        "height": 896,
        "models": (
            ModelFile(role="dit", name="anima-base-v1.0.safetensors", sha256=HASH),
            ModelFile(role="text_encoder", name="qwen_3_06b_base.safetensors", sha256="cd" * 32),
            ModelFile(role="vae", name="qwen_image_vae.safetensors"),
        ),
        "loras": (ModelFile(role="lora", name="style.safetensors", sha256="ef" * 32, weight=0.8),),
    }
    settings.update(changes)
    return GenerationRecord(**settings)  # type: ignore[arg-type]


def image() -> Image.Image:
    return to_pil(torch.linspace(-1, 1, 3 * 16 * 16).reshape(1, 3, 16, 16))[0]


def test_metadata_round_trips_through_pillow(tmp_path: Path) -> None:
    original = record()
    path = save_png(image(), original, tmp_path)
    assert read_png_metadata(path) == original
    with Image.open(path) as png:
        assert json.loads(png.text["anima"])["seed"] == 123
        assert png.text["parameters"] == parameters_text(original)


def test_parameters_text_is_a1111_style() -> None:
    text = parameters_text(record())
    version = toolkit_version()
    assert text == (
        "1girl, (masterpiece:1.2), 猫耳, @artist\n"
        "Negative prompt: worst quality, lowres\n"
        "Steps: 30, Sampler: ER SDE, Schedule type: Simple, CFG scale: 4.5, Seed: 123, Size: 1024x896, "
        'Model hash: ababababab, Model: anima-base-v1.0, Noise: anima, Lora hashes: "style: efefefefefef", '
        f"Version: anima-toolkit {version}"
    )


def test_parameters_text_without_negative_and_with_strength() -> None:
    text = parameters_text(record(negative="", strength=0.55, models=(), loras=()))
    assert "Negative prompt" not in text
    assert "Denoising strength: 0.55" in text.splitlines()[1]


def test_version_comes_from_the_project() -> None:
    assert toolkit_version()[0].isdigit()


def test_to_pil_maps_minus_one_to_black_and_one_to_white() -> None:
    pixels = torch.tensor([-1.0, -2.0, 0.0, 1.0, 3.0, 0.5]).reshape(1, 3, 1, 2)
    (img,) = to_pil(pixels)
    assert img.size == (2, 1) and img.mode == "RGB"
    assert img.getpixel((0, 0)) == (0, 128, 255) and img.getpixel((1, 0)) == (0, 255, 191)


def test_never_overwrites_and_numbers_consecutively(tmp_path: Path) -> None:
    first = save_png(image(), record(), tmp_path)
    second = save_png(image(), record(seed=124), tmp_path)
    assert first.name == "anima_00001_seed123.png"
    assert second.name == "anima_00002_seed124.png"
    # A file another program put at the next name is skipped, not replaced.
    squatter = tmp_path / "anima_00003_seed5.png"
    squatter.write_bytes(b"not ours")
    third = save_png(image(), record(seed=5), tmp_path)
    assert third.name == "anima_00004_seed5.png" and squatter.read_bytes() == b"not ours"


def test_a_race_for_the_same_name_moves_to_the_next_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import anima_engine.images as images

    monkeypatch.setattr(images, "_next_number", lambda directory, prefix: 1)
    (tmp_path / "anima_00001_seed7.png").write_bytes(b"first")
    path = save_png(image(), record(seed=7), tmp_path)
    assert path.name == "anima_00002_seed7.png"
    assert (tmp_path / "anima_00001_seed7.png").read_bytes() == b"first"


def test_reading_a_png_without_a_record(tmp_path: Path) -> None:
    path = tmp_path / "plain.png"
    image().save(path)
    with pytest.raises(MetadataError, match=r"plain.png: no 'anima' generation record in this image"):
        read_png_metadata(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "the 'anima' record is not JSON"),
        ('{"format": 99}', "the 'anima' record is not format 1"),
        ('{"format": 1, "prompt": "x"}', "the 'anima' record is invalid"),
    ],
)
def test_malformed_records(text: str, message: str) -> None:
    with pytest.raises(MetadataError, match=message):
        GenerationRecord.from_json(text)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"width": 1000}, "`width` must be a positive multiple of 16, got 1000"),
        ({"height": 0}, "`height` must be a positive multiple of 16, got 0"),
        ({"steps": 0}, "`steps` must be an integer >= 1, got 0"),
        ({"cfg": -1.0}, "`cfg` must be >= 0, got -1.0"),
        ({"seed": -5}, "`seed` must be an integer in [0, 2**64), got -5"),
        ({"strength": 0.0}, "`strength` must be in (0, 1], got 0.0"),
        (
            {"sampler": "ddim"},
            "unknown sampler 'ddim'; expected one of euler, euler_ancestral, er_sde, dpmpp_2m_sde, "
            "dpmpp_2m_sde_gpu, dpmpp_2m_sde_heun, dpmpp_2m_sde_heun_gpu, res_multistep, uni_pc, uni_pc_bh2",
        ),
        (
            {"scheduler": "exp"},
            "unknown scheduler 'exp'; expected one of simple, normal, beta, karras, linear, sgm_uniform, "
            "exponential, ddim_uniform, linear_quadratic, kl_optimal",
        ),
        ({"variant": "xl"}, "unknown variant 'xl'; expected one of base, aesthetic, turbo"),
    ],
)
def test_settings_are_validated(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        record(**changes)
    assert str(info.value) == message


def test_model_file_hash_must_be_sha256() -> None:
    with pytest.raises(ConfigError, match="must be 64 lowercase hex digits"):
        ModelFile(role="dit", name="a.safetensors", sha256="xyz")
