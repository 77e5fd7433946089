"""Finding weights in model folders and ComfyUI layouts; the one-line error."""

from pathlib import Path

import pytest

from anima_engine.errors import ConfigError
from anima_engine.locate import ModelNotFoundError, locate_models

NO_ENV: dict[str, str] = {}


def touch(path: Path, data: bytes = b"w") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def comfyui(root: Path, dit: str = "anima-base-v1.0.safetensors") -> Path:
    touch(root / "models" / "diffusion_models" / dit)
    touch(root / "models" / "text_encoders" / "qwen_3_06b_base.safetensors")
    touch(root / "models" / "vae" / "qwen_image_vae.safetensors")
    return root


def test_flat_model_dir(tmp_path: Path) -> None:
    for name in ("anima-base-v1.0.safetensors", "qwen_3_06b_base.safetensors", "qwen_image_vae.safetensors"):
        touch(tmp_path / name)
    found = locate_models(model_dir=tmp_path, env=NO_ENV, home=tmp_path)
    assert found.dit == tmp_path / "anima-base-v1.0.safetensors"
    assert (
        found.text_encoder.name == "qwen_3_06b_base.safetensors"
        and found.vae.name == "qwen_image_vae.safetensors"
    )


def test_hugging_face_split_files_layout(tmp_path: Path) -> None:
    split = tmp_path / "split_files"
    touch(split / "diffusion_models" / "anima-preview3.safetensors")
    touch(split / "text_encoders" / "qwen_3_06b_base.safetensors")
    touch(split / "vae" / "qwen_image_vae.safetensors")
    found = locate_models(model_dir=tmp_path, env=NO_ENV, home=tmp_path)
    assert found.dit == split / "diffusion_models" / "anima-preview3.safetensors"


def test_comfyui_given_by_flag_env_and_default_location(tmp_path: Path) -> None:
    install = comfyui(tmp_path / "somewhere" / "ComfyUI")
    by_flag = locate_models(comfyui=install, env=NO_ENV, home=tmp_path)
    assert by_flag.vae == install / "models" / "vae" / "qwen_image_vae.safetensors"
    assert locate_models(env={"COMFYUI_PATH": str(install)}, home=tmp_path) == by_flag
    home_install = comfyui(tmp_path / "home" / "comfy" / "ComfyUI")
    by_default = locate_models(env=NO_ENV, home=tmp_path / "home")
    assert by_default.dit == home_install / "models" / "diffusion_models" / "anima-base-v1.0.safetensors"


def test_anima_model_dir_env_comes_before_comfyui(tmp_path: Path) -> None:
    install = comfyui(tmp_path / "ComfyUI")
    own = touch(tmp_path / "weights" / "qwen_image_vae.safetensors")
    found = locate_models(
        env={"ANIMA_MODEL_DIR": str(own.parent), "COMFYUI_PATH": str(install)}, home=tmp_path
    )
    assert found.vae == own and found.dit.parent == install / "models" / "diffusion_models"


def test_comfyui_subfolders_and_legacy_folder_names(tmp_path: Path) -> None:
    touch(tmp_path / "models" / "unet" / "anima" / "anima-base-v1.0.safetensors")
    touch(tmp_path / "models" / "clip" / "qwen_3_06b_base.safetensors")
    touch(tmp_path / "models" / "vae" / "qwen_image_vae.safetensors")
    found = locate_models(comfyui=tmp_path, env=NO_ENV, home=tmp_path)
    assert found.dit == tmp_path / "models" / "unet" / "anima" / "anima-base-v1.0.safetensors"


def test_variants_pick_their_own_files(tmp_path: Path) -> None:
    folder = tmp_path / "models" / "diffusion_models"
    for name in (
        "anima-base-v1.0.safetensors",
        "anima-aesthetic-v1.0.safetensors",
        "anima-aesthetic-v1.0b.safetensors",
        "anima-turbo.safetensors",
        "animagine-xl-3.1.safetensors",
    ):
        touch(folder / name)
    comfyui(tmp_path)

    def dit(variant: str) -> str:
        return locate_models(comfyui=tmp_path, variant=variant, env=NO_ENV, home=tmp_path).dit.name

    assert dit("base") == "anima-base-v1.0.safetensors"
    assert dit("aesthetic") == "anima-aesthetic-v1.0b.safetensors"
    assert dit("turbo") == "anima-turbo.safetensors"


def test_base_falls_back_to_any_anima_file_but_not_other_variants_or_models(tmp_path: Path) -> None:
    folder = tmp_path / "models" / "diffusion_models"
    touch(folder / "anima-turbo.safetensors")
    touch(folder / "animagine-xl-3.1.safetensors")
    touch(folder / "anima-preview2.safetensors")
    touch(folder / "anima-preview10.safetensors")
    comfyui(tmp_path, dit="anima-turbo.safetensors")
    found = locate_models(comfyui=tmp_path, env=NO_ENV, home=tmp_path)
    assert found.dit.name == "anima-preview10.safetensors"


def test_explicit_paths_win(tmp_path: Path) -> None:
    comfyui(tmp_path)
    mine = touch(tmp_path / "elsewhere" / "my-finetune.safetensors")
    found = locate_models(dit=mine, comfyui=tmp_path, env=NO_ENV, home=tmp_path)
    assert found.dit == mine and found.vae.parent == tmp_path / "models" / "vae"


def test_missing_explicit_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        locate_models(vae=tmp_path / "nope.safetensors", model_dir=tmp_path, env=NO_ENV, home=tmp_path)
    assert str(info.value) == f"VAE file not found: {tmp_path / 'nope.safetensors'} (given by --vae)"


def test_missing_file_names_the_file_and_every_place_searched(tmp_path: Path) -> None:
    touch(tmp_path / "anima-base-v1.0.safetensors")
    touch(tmp_path / "qwen_image_vae.safetensors")
    with pytest.raises(ModelNotFoundError) as info:
        locate_models(model_dir=tmp_path, comfyui=tmp_path / "ComfyUI", env=NO_ENV, home=tmp_path)
    t, c = tmp_path, tmp_path / "ComfyUI" / "models"
    assert str(info.value) == (
        f"text encoder file qwen_3_06b_base.safetensors not found; looked in: {t} (--model-dir); "
        f"{t / 'text_encoders'} (--model-dir); {t / 'split_files' / 'text_encoders'} (--model-dir); "
        f"{c / 'text_encoders'} (--comfyui); {c / 'clip'} (--comfyui); "
        "pass --model-dir, --comfyui or --text-encoder"
    )
    assert "\n" not in str(info.value)
    assert isinstance(info.value, FileNotFoundError)


def test_nothing_configured_lists_the_default_locations(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        locate_models(variant="turbo", env=NO_ENV, home=tmp_path)
    message = str(info.value)
    assert message.startswith("DiT file anima-turbo*.safetensors not found; looked in: ")
    assert f"{tmp_path / 'ComfyUI' / 'models' / 'diffusion_models'} (default)" in message
    assert f"{tmp_path / 'Documents' / 'ComfyUI' / 'models' / 'unet'} (default)" in message


def test_unknown_variant() -> None:
    with pytest.raises(ConfigError, match="unknown variant 'xl'; expected one of base, aesthetic, turbo"):
        locate_models(variant="xl", env=NO_ENV)
