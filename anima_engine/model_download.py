"""Downloading the official model files and tokenizers into a model folder.

The folder gets the layout `--model-dir` reads (`locate.py`): `diffusion_models/`, `text_encoders/`, `vae/`
and `tokenizers/{qwen3,t5}/`. Hub files are fetched through `huggingface_hub` (`hub.py`), pinned URLs by
`anima_prompt.transfer.download`; neither leaves a file half-written under its final name. Each must pass,
before it takes its name, every check that is possible: the pinned or hub-advertised sha256 and size, and
a look at its content: a safetensors file must hold the expected model (a VAE served in place of the DiT
is refused), a tokenizer file the expected tokenizer model.
"""

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from anima_engine.errors import CheckpointError, ConfigError, ModelDownloadError
from anima_engine.hub import fetch_hub_file
from anima_engine.model_manifest import PARTS, ModelSource, load_model_manifest
from anima_engine.weights import KIND_NAMES, checkpoint_kind, read_header
from anima_prompt.errors import DownloadError
from anima_prompt.transfer import Downloaded, Expected, Progress, download, kept
from anima_prompt.variants import VARIANTS

TOKENIZER_MODELS = {"qwen3_tokenizer": "BPE", "t5_tokenizer": "Unigram"}
"""The `model.type` a tokenizer.json of each kind declares."""

SourceProgress = Callable[[ModelSource, int, int | None], None]
"""Called with (file, bytes so far, total bytes or None) as data arrives."""


def check_content(path: Path, kind: str) -> str | None:
    """What is wrong with `path` as a file of `kind` (a `model_manifest.CONTENT_KINDS` entry), or None.

    A safetensors file is validated (header, data extent) and classified by its tensor names; a tokenizer
    file must be JSON declaring the right tokenizer model.
    """
    if kind in TOKENIZER_MODELS:
        return _tokenizer_problem(path, TOKENIZER_MODELS[kind])
    try:
        header = read_header(path)
    except CheckpointError as error:
        return str(error).removeprefix(f"{path}: ")
    found = checkpoint_kind(header)
    return None if found == kind else f"it holds {KIND_NAMES[found]}, not {KIND_NAMES[kind]}"


def _tokenizer_problem(path: Path, model_type: str) -> str | None:
    try:
        spec = json.loads(path.read_bytes())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return "not a tokenizer.json file (not JSON)"
    declared = spec.get("model", {}).get("type") if isinstance(spec, dict) else None
    if not isinstance(declared, str):
        return "not a tokenizer.json file (no tokenizer model)"
    return None if declared == model_type else f"a {declared} tokenizer, not the expected {model_type} one"


def select_sources(
    manifest: Sequence[ModelSource], *, variant: str = "base", parts: Sequence[str] = PARTS
) -> tuple[ModelSource, ...]:
    """The manifest entries for `parts` and the DiT `variant`, in `PARTS` order.

    Raises:
        ConfigError: an unknown part or variant, or no file is known for a requested part.
    """
    if variant not in VARIANTS:
        raise ConfigError(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")
    unknown = [part for part in parts if part not in PARTS]
    if unknown:
        raise ConfigError(f"unknown part {unknown[0]!r}; expected some of {', '.join(PARTS)}")
    chosen = tuple(
        source
        for part in PARTS
        if part in parts
        for source in manifest
        if source.part == part and source.variant in (None, variant)
    )
    missing = [part for part in parts if not any(source.part == part for source in chosen)]
    if "dit" in missing and variant != "base":
        raise ConfigError(
            f"no download is known for the {variant} DiT; fetch it from "
            "https://huggingface.co/circlestone-labs/Anima and pass --dit"
        )
    if missing:
        raise ConfigError(f"the model manifest lists no file for {missing[0]}")
    return chosen


def download_source(
    source: ModelSource,
    model_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    timeout: float = 30.0,
) -> Downloaded:
    """Fetch one file into `model_dir` (resuming, verified); a file already there that passes the local
    checks is kept, one that fails them is left alone and reported.

    Args:
        source: the manifest entry.
        model_dir: the model folder.
        env: environment variables (default `os.environ`) for `HF_ENDPOINT` and `HF_TOKEN`.
        progress: called with (bytes so far, total) as data arrives.
        timeout: seconds to wait for the server on each read.

    Raises:
        ModelDownloadError: a one-line message naming the URL and the problem.
    """
    target = Path(model_dir) / source.target
    expected = Expected(source.sha256, source.size, lambda path: check_content(path, source.kind))
    try:
        found = kept(target, expected)
        if found is not None:
            return found
        if source.on_hub:
            return fetch_hub_file(
                source.repo,
                source.path,
                source.revision,
                target,
                expected,
                env=env,
                progress=progress,
                timeout=timeout,
            )
        assert source.sha256 is not None  # ModelSource pins every plain URL
        return download(
            source.url,
            target,
            sha256=source.sha256,
            size=source.size,
            check=expected.check,
            progress=progress,
            timeout=timeout,
        )
    except DownloadError as error:
        raise ModelDownloadError(str(error)) from None


def download_models(
    model_dir: Path,
    *,
    variant: str = "base",
    parts: Sequence[str] = PARTS,
    manifest: Sequence[ModelSource] | None = None,
    env: Mapping[str, str] | None = None,
    progress: SourceProgress | None = None,
    timeout: float = 30.0,
) -> tuple[Downloaded, ...]:
    """Download the official files of `parts` for the DiT `variant` into `model_dir`.

    Afterwards `load_pipeline(model_dir=model_dir, variant=variant)` finds the model files and tokenizers.

    Example:
        >>> download_models(Path("~/models/anima").expanduser())  # doctest: +SKIP

    Raises:
        ConfigError: an unknown part or variant.
        ModelDownloadError: a file could not be fetched or failed a check.
    """
    listed = load_model_manifest() if manifest is None else manifest
    sources = select_sources(listed, variant=variant, parts=parts)
    results = []
    for source in sources:
        report = None if progress is None else _bind(progress, source)
        results.append(download_source(source, model_dir, env=env, progress=report, timeout=timeout))
    return tuple(results)


def _bind(progress: SourceProgress, source: ModelSource) -> Progress:
    return lambda done, total: progress(source, done, total)
