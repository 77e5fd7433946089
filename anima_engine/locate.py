"""Finding the three weights files (DiT, text encoder, VAE) and the tokenizers.

Where each file is looked for, in order:
1. an explicit path (`--dit`, `--text-encoder`, `--vae`);
2. the folders the user named: `--model-dir` and `--comfyui`;
3. only if none was named: `$ANIMA_MODEL_DIR`, `$COMFYUI_PATH`, then common ComfyUI install folders.

A model folder may hold the official file names directly, or in the `diffusion_models/`,
`text_encoders/` and `vae/` sub-folders of the Hugging Face repository (optionally under `split_files/`).
A ComfyUI installation keeps them in `models/diffusion_models/` (older: `models/unet/`),
`models/text_encoders/` (older: `models/clip/`) and `models/vae/`, possibly one sub-folder deeper.
`anima models download` (`model_download.py`) fetches the official files into this layout.

The official files hold no tokenizers. `locate_tokenizers` looks for a folder with `qwen3/tokenizer.json`
and `t5/tokenizer.json` where the linter looks too (`anima_prompt.places`): `--tokenizers`,
`$ANIMA_TOKENIZERS`, a `tokenizers/` folder inside the model folder, then the per-user data folder.
"""

import logging
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from anima_engine.errors import AnimaEngineError, ConfigError
from anima_prompt.places import (
    COMFYUI_ENV,
    DEFAULT_COMFYUI_DIRS,
    MODEL_DIR_ENV,
    TOKENIZER_FILES,
    find_tokenizers,
    tokenizer_places,
)
from anima_prompt.variants import VARIANTS

logger = logging.getLogger(__name__)

TEXT_ENCODER_FILE = "qwen_3_06b_base.safetensors"
VAE_FILE = "qwen_image_vae.safetensors"
DIT_FILE = "anima-base-v1.0.safetensors"

ROLES = ("dit", "text_encoder", "vae")
ROLE_LABELS = {"dit": "DiT", "text_encoder": "text encoder", "vae": "VAE"}
MODEL_SUBDIRS = {"dit": ("diffusion_models",), "text_encoder": ("text_encoders",), "vae": ("vae",)}
COMFYUI_SUBDIRS = {
    "dit": ("diffusion_models", "unet"),
    "text_encoder": ("text_encoders", "clip"),
    "vae": ("vae",),
}


class ModelNotFoundError(AnimaEngineError, FileNotFoundError):
    """A weights file was not found; the message names the file and every place searched.

    Attributes:
        searched: True when the file was searched for, False when a path the user gave does not exist.
    """

    def __init__(self, message: str, *, searched: bool = False) -> None:
        super().__init__(message)
        self.searched = searched


@dataclass(frozen=True, slots=True)
class ModelFiles:
    """Paths of the three files a pipeline loads."""

    dit: Path
    text_encoder: Path
    vae: Path


def _natural_key(name: str) -> list[int | str]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name.lower())]


def _dit_rank(name: str, variant: str) -> int | None:
    """0 for the official base name, 1 for an `anima-<variant>*` file, 2 for other base-like `anima*`."""
    lower = name.lower()
    if not re.fullmatch(r"anima([-_.].*)?\.safetensors", lower):
        return None  # also keeps e.g. animagine-xl out
    if variant == "base" and lower == DIT_FILE:
        return 0
    if lower.startswith((f"anima-{variant}", f"anima_{variant}")):
        return 1
    other_variants = tuple(f"anima{sep}{v}" for v in VARIANTS if v != "base" for sep in "-_")
    if variant == "base" and not lower.startswith(other_variants):
        return 2
    return None


def _pick(folder: Path, role: str, variant: str) -> Path | None:
    if not folder.is_dir():
        return None
    files = [p for p in _candidates(folder) if p.is_file()]
    if role != "dit":
        wanted = TEXT_ENCODER_FILE if role == "text_encoder" else VAE_FILE
        return next((p for p in sorted(files) if p.name.lower() == wanted), None)
    ranked = [(rank, p) for p in files if (rank := _dit_rank(p.name, variant)) is not None]
    if not ranked:
        return None
    best = min(rank for rank, _ in ranked)
    # Among equals (e.g. anima-preview2 and anima-preview3) take the highest version.
    return max((p for rank, p in ranked if rank == best), key=lambda p: _natural_key(p.name))


def _candidates(folder: Path) -> Iterator[Path]:
    # The folder itself and one level of sub-folders (ComfyUI lists model sub-folders too).
    for entry in sorted(folder.iterdir()):
        if entry.is_dir():
            yield from sorted(entry.glob("*.safetensors"))
        elif entry.suffix == ".safetensors":
            yield entry


def _model_dir_folders(root: Path, role: str) -> list[Path]:
    folders = [root]
    for base in (root, root / "split_files"):
        folders += [base / sub for sub in MODEL_SUBDIRS[role]]
    return folders


def _comfyui_folders(root: Path, role: str) -> list[Path]:
    return [root / "models" / sub for sub in COMFYUI_SUBDIRS[role]]


def search_folders(
    role: str,
    *,
    model_dir: Path | None = None,
    comfyui: Path | None = None,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> list[tuple[Path, str]]:
    """The (folder, origin) pairs searched for `role`, in order; origin says where the folder came from."""
    env = os.environ if env is None else env
    places: list[tuple[Path, str]] = []
    if model_dir is not None or comfyui is not None:
        if model_dir is not None:
            places += [(f, "--model-dir") for f in _model_dir_folders(Path(model_dir), role)]
        if comfyui is not None:
            places += [(f, "--comfyui") for f in _comfyui_folders(Path(comfyui), role)]
        return places
    if env.get(MODEL_DIR_ENV):
        places += [(f, f"${MODEL_DIR_ENV}") for f in _model_dir_folders(Path(env[MODEL_DIR_ENV]), role)]
    if env.get(COMFYUI_ENV):
        places += [(f, f"${COMFYUI_ENV}") for f in _comfyui_folders(Path(env[COMFYUI_ENV]), role)]
    home = Path.home() if home is None else home
    for relative in DEFAULT_COMFYUI_DIRS:
        places += [(f, "default") for f in _comfyui_folders(home / relative, role)]
    return places


def _wanted_name(role: str, variant: str) -> str:
    if role == "dit":
        return DIT_FILE if variant == "base" else f"anima-{variant}*.safetensors"
    return TEXT_ENCODER_FILE if role == "text_encoder" else VAE_FILE


def locate_models(
    *,
    dit: Path | None = None,
    text_encoder: Path | None = None,
    vae: Path | None = None,
    model_dir: Path | None = None,
    comfyui: Path | None = None,
    variant: str = "base",
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> ModelFiles:
    """Find the DiT, text encoder and VAE files (see the module docstring for the search order).

    Args:
        dit, text_encoder, vae: explicit file paths; each must exist.
        model_dir: a folder holding the official files.
        comfyui: a ComfyUI installation folder.
        variant: which DiT to look for: "base", "aesthetic" or "turbo".
        env: environment variables (default `os.environ`), for `ANIMA_MODEL_DIR` and `COMFYUI_PATH`.
        home: the home directory for the default ComfyUI locations (default `Path.home()`).

    Raises:
        ModelNotFoundError: a file is missing; the one-line message lists every folder searched.
        ConfigError: an unknown variant.
    """
    if variant not in VARIANTS:
        raise ConfigError(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")
    explicit = {"dit": dit, "text_encoder": text_encoder, "vae": vae}
    found: dict[str, Path] = {}
    for role, given in explicit.items():  # a mistyped path is reported before any search
        if given is not None:
            path = Path(given).expanduser()
            if not path.is_file():
                flag = "--" + role.replace("_", "-")
                raise ModelNotFoundError(f"{ROLE_LABELS[role]} file not found: {path} (given by {flag})")
            found[role] = path
    for role in ROLES:
        if role in found:
            continue
        places = search_folders(role, model_dir=model_dir, comfyui=comfyui, env=env, home=home)
        for folder, origin in places:
            if (path := _pick(folder, role, variant)) is not None:
                logger.info("%s: %s (from %s)", ROLE_LABELS[role], path, origin)
                found[role] = path
                break
        else:
            looked = "; ".join(f"{folder} ({origin})" for folder, origin in places) or "nowhere"
            wanted = _wanted_name(role, variant)
            hint = "pass --model-dir, --comfyui or --" + role.replace("_", "-")
            raise ModelNotFoundError(
                f"{ROLE_LABELS[role]} file {wanted} not found; looked in: {looked}; {hint}", searched=True
            )
    return ModelFiles(**found)


def locate_tokenizers(
    tokenizer_dir: Path | None = None,
    *,
    model_dir: Path | None = None,
    comfyui: Path | None = None,
    env: Mapping[str, str] | None = None,
    data_dir: Path | None = None,
) -> Path:
    """The folder holding `qwen3/tokenizer.json` and `t5/tokenizer.json` (`anima_prompt.places`).

    Args:
        tokenizer_dir: an explicit folder (`--tokenizers`); it must hold both files.
        model_dir: the model folder; its `tokenizers/` sub-folder is searched.
        comfyui: a ComfyUI installation; its `models/tokenizers/` is searched (where
            `anima models download --model-dir <comfyui>/models` puts them).
        env: environment variables (default `os.environ`), for `ANIMA_TOKENIZERS` and `ANIMA_MODEL_DIR`.
        data_dir: the per-user data folder (default `places.user_data_dir()`).

    Raises:
        ModelNotFoundError: no folder holds both files; the one-line message lists the places searched.
    """
    found = find_tokenizers(tokenizer_dir, model_dir=model_dir, comfyui=comfyui, env=env, data_dir=data_dir)
    if found is not None:
        logger.info("tokenizers: %s", found)
        return found
    files = " and ".join(TOKENIZER_FILES.values())
    if tokenizer_dir is not None:
        folder = Path(tokenizer_dir).expanduser()
        raise ModelNotFoundError(f"tokenizer folder {folder} (given by --tokenizers) lacks {files}")
    places = tokenizer_places(model_dir=model_dir, comfyui=comfyui, env=env, data_dir=data_dir)
    looked = "; ".join(f"{place.folder} ({place.origin})" for place in places)
    raise ModelNotFoundError(
        f"tokenizer files {files} not found; looked in: {looked}; "
        "pass --tokenizers DIR or set ANIMA_TOKENIZERS",
        searched=True,
    )
