"""Where the toolkit looks for things on disk: its user folders, ComfyUI installations, LoRA folders and
tokenizers. The linter and `anima generate` both ask this module, so they agree on every place.

ComfyUI installations: `--comfyui` (or the `comfyui` lint option) when given, else `$COMFYUI_PATH` and the
common install folders under the home directory that exist.

LoRA folders, in order: `--lora-dir` folders (then the `lora-dirs` lint option), `$ANIMA_LORA_DIR`
(several folders separated by the OS path separator), then the `models/loras/` folder of each ComfyUI
installation.

Tokenizers (a folder holding `qwen3/tokenizer.json` and `t5/tokenizer.json`), in order: `--tokenizers`
(or the `tokenizers` lint option), `$ANIMA_TOKENIZERS`, the `tokenizers/` folder of the model folder
(`--model-dir`, else `$ANIMA_MODEL_DIR`), the `models/tokenizers/` folder of a ComfyUI installation named
with `--comfyui` (where `anima models download --model-dir <ComfyUI>/models` puts them), then the
`tokenizers/` folder of the user data folder, where `anima models download` can put them.
"""

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "anima-toolkit"
"""The folder name of the toolkit's user data and cache folders."""

COMFYUI_ENV = "COMFYUI_PATH"
LORA_DIR_ENV = "ANIMA_LORA_DIR"
TOKENIZERS_ENV = "ANIMA_TOKENIZERS"
MODEL_DIR_ENV = "ANIMA_MODEL_DIR"

DEFAULT_COMFYUI_DIRS = ("ComfyUI", "comfy/ComfyUI", "Documents/ComfyUI", "Documents/comfy/ComfyUI")
"""ComfyUI install folders relative to the home directory: git clone, comfy-cli, the desktop app."""
COMFYUI_LORA_SUBDIR = Path("models") / "loras"

TOKENIZER_FILES = {"qwen3": "qwen3/tokenizer.json", "t5": "t5/tokenizer.json"}
"""Each tokenizer's file, relative to a tokenizer folder."""
TOKENIZER_SUBDIR = "tokenizers"


def user_data_dir() -> Path:
    """The per-user data folder of the toolkit (the tag index, downloaded tokenizers)."""
    import platformdirs

    return platformdirs.user_data_path(APP_NAME)


def user_cache_dir() -> Path:
    """The per-user cache folder of the toolkit (downloaded tag lists, file hashes, compiled kernels)."""
    import platformdirs

    return platformdirs.user_cache_path(APP_NAME)


def comfyui_roots(
    comfyui: str | Path | None = None, *, env: Mapping[str, str] | None = None, home: Path | None = None
) -> list[Path]:
    """ComfyUI installations: `comfyui` if given, else `$COMFYUI_PATH` and the common install folders that
    exist.

    Args:
        comfyui: an installation named by the user.
        env: environment variables (default `os.environ`).
        home: the home directory (default `Path.home()`).
    """
    if comfyui is not None:
        return [Path(comfyui).expanduser()]
    env = os.environ if env is None else env
    home = Path.home() if home is None else home
    roots = [Path(env[COMFYUI_ENV]).expanduser()] if env.get(COMFYUI_ENV) else []
    roots += [home / relative for relative in DEFAULT_COMFYUI_DIRS if (home / relative).is_dir()]
    return roots


def lora_folders(
    lora_dirs: Iterable[str | Path] = (),
    *,
    comfyui: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> tuple[Path, ...]:
    """The folders LoRA names are looked up in, in order (see the module docstring).

    Args:
        lora_dirs: folders given explicitly.
        comfyui: a ComfyUI installation named by the user; else the ones `comfyui_roots` finds.
        env: environment variables (default `os.environ`), for `ANIMA_LORA_DIR` and `COMFYUI_PATH`.
        home: the home directory (default `Path.home()`).

    Returns:
        Every folder to search, duplicates removed, whether it exists or not.
    """
    env = os.environ if env is None else env
    folders = [Path(folder).expanduser() for folder in lora_dirs]
    folders += [Path(part).expanduser() for part in env.get(LORA_DIR_ENV, "").split(os.pathsep) if part]
    folders += [root / COMFYUI_LORA_SUBDIR for root in comfyui_roots(comfyui, env=env, home=home)]
    return tuple(dict.fromkeys(folders))


@dataclass(frozen=True, slots=True)
class Place:
    """A folder searched for something, and why it is searched (`--tokenizers`, `$ANIMA_TOKENIZERS`, ...)."""

    folder: Path
    origin: str


def has_tokenizers(folder: Path) -> bool:
    """Whether `folder` holds both tokenizer files."""
    return all((folder / name).is_file() for name in TOKENIZER_FILES.values())


def tokenizer_places(
    tokenizer_dir: str | Path | None = None,
    *,
    model_dir: str | Path | None = None,
    comfyui: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    data_dir: Path | None = None,
) -> list[Place]:
    """The folders searched for tokenizers, in order (see the module docstring).

    Args:
        tokenizer_dir: a folder named by the user (`--tokenizers`).
        model_dir: the model folder; its `tokenizers/` sub-folder is searched.
        comfyui: a ComfyUI installation named by the user; its `models/tokenizers/` is searched.
        env: environment variables (default `os.environ`), for `ANIMA_TOKENIZERS` and `ANIMA_MODEL_DIR`.
        data_dir: the user data folder (default `user_data_dir()`).
    """
    env = os.environ if env is None else env
    places: list[Place] = []
    if tokenizer_dir is not None:
        places.append(Place(Path(tokenizer_dir).expanduser(), "--tokenizers"))
    if env.get(TOKENIZERS_ENV):
        places.append(Place(Path(env[TOKENIZERS_ENV]).expanduser(), f"${TOKENIZERS_ENV}"))
    if model_dir is not None:
        places.append(Place(Path(model_dir).expanduser() / TOKENIZER_SUBDIR, "--model-dir"))
    elif env.get(MODEL_DIR_ENV):
        places.append(Place(Path(env[MODEL_DIR_ENV]).expanduser() / TOKENIZER_SUBDIR, f"${MODEL_DIR_ENV}"))
    if comfyui is not None:
        places.append(Place(Path(comfyui).expanduser() / "models" / TOKENIZER_SUBDIR, "--comfyui"))
    data = user_data_dir() if data_dir is None else data_dir
    places.append(Place(data / TOKENIZER_SUBDIR, "user data"))
    return places


def find_tokenizers(
    tokenizer_dir: str | Path | None = None,
    *,
    model_dir: str | Path | None = None,
    comfyui: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    data_dir: Path | None = None,
) -> Path | None:
    """The first folder of `tokenizer_places` that holds both tokenizer files, or None.

    A folder named by the user that lacks them is not passed over: the answer is None.
    """
    places = tokenizer_places(tokenizer_dir, model_dir=model_dir, comfyui=comfyui, env=env, data_dir=data_dir)
    if tokenizer_dir is not None:
        places = places[:1]
    return next((place.folder for place in places if has_tokenizers(place.folder)), None)
