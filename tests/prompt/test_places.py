"""Where the toolkit looks: ComfyUI installations, LoRA folders, tokenizers, its user folders."""

from pathlib import Path

import pytest

from anima_prompt.places import (
    Place,
    comfyui_roots,
    find_tokenizers,
    lora_folders,
    tokenizer_places,
    user_cache_dir,
    user_data_dir,
)


def tokenizers(folder: Path) -> Path:
    for name in ("qwen3", "t5"):
        (folder / name).mkdir(parents=True, exist_ok=True)
        (folder / name / "tokenizer.json").write_text("{}")
    return folder


def test_lora_folders_in_order(tmp_path: Path) -> None:
    env = {"ANIMA_LORA_DIR": f"{tmp_path / 'env1'}:{tmp_path / 'env2'}"}
    folders = lora_folders([tmp_path / "cli"], comfyui=tmp_path / "ComfyUI", env=env, home=tmp_path)
    assert folders == (
        tmp_path / "cli",
        tmp_path / "env1",
        tmp_path / "env2",
        tmp_path / "ComfyUI" / "models" / "loras",
    )


def test_comfyui_installations_found_without_being_named(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "ComfyUI").mkdir(parents=True)
    (home / "Documents" / "comfy" / "ComfyUI").mkdir(parents=True)
    env = {"COMFYUI_PATH": str(tmp_path / "portable")}
    assert comfyui_roots(env=env, home=home) == [
        tmp_path / "portable",
        home / "ComfyUI",
        home / "Documents" / "comfy" / "ComfyUI",
    ]
    assert comfyui_roots(tmp_path / "mine", env=env, home=home) == [tmp_path / "mine"]
    assert lora_folders(env={}, home=home)[0] == home / "ComfyUI" / "models" / "loras"


def test_lora_folders_are_listed_once(tmp_path: Path) -> None:
    env = {"ANIMA_LORA_DIR": str(tmp_path / "a")}
    assert lora_folders([tmp_path / "a", tmp_path / "a"], env=env, home=tmp_path) == (tmp_path / "a",)


def test_tokenizer_places_in_order(tmp_path: Path) -> None:
    env = {"ANIMA_TOKENIZERS": str(tmp_path / "env"), "ANIMA_MODEL_DIR": str(tmp_path / "models")}
    assert tokenizer_places(tmp_path / "cli", env=env, data_dir=tmp_path / "data") == [
        Place(tmp_path / "cli", "--tokenizers"),
        Place(tmp_path / "env", "$ANIMA_TOKENIZERS"),
        Place(tmp_path / "models" / "tokenizers", "$ANIMA_MODEL_DIR"),
        Place(tmp_path / "data" / "tokenizers", "user data"),
    ]
    places = tokenizer_places(model_dir=tmp_path / "given", env=env, data_dir=tmp_path / "data")
    assert places[1] == Place(tmp_path / "given" / "tokenizers", "--model-dir")


@pytest.mark.parametrize("where", ["env", "models/tokenizers", "data/tokenizers"])
def test_the_first_folder_with_both_files_wins(tmp_path: Path, where: str) -> None:
    env = {"ANIMA_TOKENIZERS": str(tmp_path / "env"), "ANIMA_MODEL_DIR": str(tmp_path / "models")}
    if where != "env":  # a folder with only one of the files is passed over
        (tmp_path / "env" / "qwen3").mkdir(parents=True)
        (tmp_path / "env" / "qwen3" / "tokenizer.json").write_text("{}")
    folder = tokenizers(tmp_path / where)
    tokenizers(tmp_path / "data" / "tokenizers")  # the last place, found only when nothing comes first
    assert find_tokenizers(env=env, data_dir=tmp_path / "data") == folder


def test_a_named_tokenizer_folder_without_the_files_finds_nothing(tmp_path: Path) -> None:
    tokenizers(tmp_path / "data" / "tokenizers")
    assert find_tokenizers(tmp_path / "empty", env={}, data_dir=tmp_path / "data") is None
    assert find_tokenizers(env={}, data_dir=tmp_path / "data") == tmp_path / "data" / "tokenizers"


def test_user_folders_are_named_after_the_toolkit() -> None:
    assert user_data_dir().name == user_cache_dir().name == "anima-toolkit"
