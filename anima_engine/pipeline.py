"""The loaded networks: `load_pipeline` finds the three official files (and the tokenizers), loads them and
checks that they fit together. `generation.generate` runs them.
"""

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch

from anima_engine.adapter import LLMAdapter
from anima_engine.config import ModelSpec, VAEParams
from anima_engine.dit import DiT, VelocityFn
from anima_engine.errors import CheckpointError, ConfigError
from anima_engine.images import ModelFile
from anima_engine.loading import AnimaDiT, load_dit, load_text_encoder, resolve_device
from anima_engine.locate import locate_models, locate_tokenizers
from anima_engine.lora import LoraTargets
from anima_engine.speed import SpeedOptions, accelerate, default_options, import_compiler, warm_up_kernels
from anima_engine.text_encoder import EncodedTexts, TextEncoder
from anima_engine.timing import timed
from anima_engine.vae import VAE
from anima_engine.vae_loading import load_vae, read_vae_params
from anima_prompt.hashing import cached_file_sha256

logger = logging.getLogger(__name__)

CPU = torch.device("cpu")


@dataclass(frozen=True, slots=True, eq=False)
class Pipeline:
    """The loaded networks, where they run, and the files they came from.

    Attributes:
        text_encoder: Qwen3-0.6B with both tokenizers.
        dit: the diffusion transformer; `adapter` is the LLM adapter stored in the same file.
        vae: the Qwen-Image VAE.
        device: where sampling runs; `dtype` is the networks' weight dtype.
        models: the files loaded, with their sha256 (for the image metadata).
        variant: the DiT variant (`base`, `aesthetic`, `turbo`), recorded in the metadata.
        low_vram: keep the text encoder off the device except while it encodes, and decode in tiles
            (`memory`).
        offload_device: where offloaded networks wait.
        velocity: the DiT's forward as sampling runs it (`speed.accelerate`); None runs `dit` plainly.
        hash_files: record the sha256 of model and LoRA files in the image metadata.
        encoded: the features of recently encoded prompts (`text_encoder.EncodedTexts`).
    """

    text_encoder: TextEncoder
    dit: DiT
    adapter: LLMAdapter
    vae: VAE
    device: torch.device
    dtype: torch.dtype
    models: tuple[ModelFile, ...] = ()
    variant: str = "base"
    low_vram: bool = False
    offload_device: torch.device = field(default=CPU)
    velocity: VelocityFn | None = None
    hash_files: bool = True
    encoded: EncodedTexts = field(default_factory=EncodedTexts)

    @property
    def spec(self) -> ModelSpec:
        """The parameters of the loaded networks."""
        return ModelSpec(
            dit=self.dit.params,
            adapter=self.adapter.params,
            text_encoder=self.text_encoder.params,
            vae=self.vae.params,
        )


def _check_fit(
    text_encoder: TextEncoder, model: AnimaDiT, vae_params: VAEParams, paths: Sequence[Path]
) -> None:
    names = ", ".join(str(p) for p in paths)
    try:
        ModelSpec(
            dit=model.dit.params,
            adapter=model.adapter.params,
            text_encoder=text_encoder.params,
            vae=vae_params,
        )
    except ConfigError as error:
        raise CheckpointError(f"the model files do not fit together ({names}): {error}") from None


def load_pipeline(
    *,
    dit: str | Path | None = None,
    text_encoder: str | Path | None = None,
    vae: str | Path | None = None,
    model_dir: str | Path | None = None,
    comfyui: str | Path | None = None,
    tokenizer_dir: str | Path | None = None,
    variant: str = "base",
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    low_vram: bool = False,
    hash_files: bool = True,
    speed: SpeedOptions | None = None,
) -> Pipeline:
    """Find, load and check the DiT, text encoder, VAE and tokenizers.

    Args:
        dit, text_encoder, vae: explicit file paths; the others are searched (`locate.locate_models`).
        model_dir: a folder with the official files (and optionally a `tokenizers/` folder).
        comfyui: a ComfyUI installation whose `models/` folders hold the files.
        tokenizer_dir: a folder with `qwen3/tokenizer.json` and `t5/tokenizer.json`; else `$ANIMA_TOKENIZERS`,
            `<model_dir>/tokenizers` or the per-user data folder.
        variant: which DiT to look for and whose defaults apply: `base`, `aesthetic` or `turbo`.
        device: default CUDA when available, else CPU.
        dtype: weight dtype; default bf16 on CUDA, fp32 on CPU.
        low_vram: keep the text encoder on the CPU except while it encodes, and decode in tiles.
        hash_files: record each file's sha256 (cached per file) in the image metadata.
        speed: how the DiT runs (`speed.SpeedOptions`); default on CUDA: cuDNN attention, compiled blocks
            and a CUDA graph (not with `low_vram`: the graph's memory pool stays reserved after sampling);
            on the CPU: plain.

    Raises:
        ModelNotFoundError: a file or the tokenizers were not found (the message says where it looked).
        CheckpointError: a file is unreadable, of the wrong kind, or the files do not fit together.
    """
    files = locate_models(
        dit=_path(dit),
        text_encoder=_path(text_encoder),
        vae=_path(vae),
        model_dir=_path(model_dir),
        comfyui=_path(comfyui),
        variant=variant,
    )
    tokenizers = locate_tokenizers(_path(tokenizer_dir), model_dir=_path(model_dir), comfyui=_path(comfyui))
    device, dtype = resolve_device(device, dtype)
    if speed is not None and speed.fp8 and device.type != "cuda":
        raise ConfigError(f"fp8 needs a CUDA GPU (Hopper or newer); the device is {device}")
    offload = CPU
    vae_params = read_vae_params(files.vae)
    loaders = {
        "dit": lambda: load_dit(files.dit, device=device, dtype=dtype),
        "text_encoder": lambda: load_text_encoder(
            files.text_encoder, tokenizer_dir=tokenizers, device=offload if low_vram else device, dtype=dtype
        ),
        "vae": lambda: load_vae(files.vae, params=vae_params, device=device, dtype=dtype),
    }
    paths = {"dit": files.dit, "text_encoder": files.text_encoder, "vae": files.vae}
    if speed is None:
        speed = default_options(device)
    with timed("load the three files in parallel", device):
        loaded = _in_parallel(
            {role: partial(_timed_load, role, paths[role], device, load) for role, load in loaders.items()},
            meanwhile=partial(warm_up_kernels, device, dtype, attention=speed.attention),
        )
    model, encoder, decoder = loaded["dit"], loaded["text_encoder"], loaded["vae"]
    _check_fit(encoder, model, vae_params, (files.dit, files.text_encoder, files.vae))
    with timed("sha256 of the files (cached per file)"):
        hashes = (
            _in_parallel({role: partial(cached_file_sha256, path) for role, path in paths.items()})
            if hash_files
            else {}
        )
    if speed.compile != "none":
        # after the loads, not beside them: the import holds the GIL, and on an H200 host the loads beside
        # it took 8-10 s instead of 1.6 s (docs/benchmarks.md, issue 13)
        with timed("import the compiler"):
            import_compiler()
    models = tuple(
        ModelFile(role=role, name=path.name, sha256=hashes.get(role)) for role, path in paths.items()
    )
    if low_vram and speed.cuda_graph:
        speed = dataclasses.replace(speed, cuda_graph=False)
    return Pipeline(
        text_encoder=encoder,
        dit=model.dit,
        adapter=model.adapter,
        vae=decoder,
        device=device,
        dtype=dtype,
        models=models,
        variant=variant,
        low_vram=low_vram,
        offload_device=offload,
        velocity=accelerate(model.dit, speed),
        hash_files=hash_files,
    )


LOAD_THREADS = 3
"""Files loaded at the same time: reading and device copies release the GIL, and while one loader waits
for CUDA to initialise the others parse tokenizers and headers."""


def _timed_load(role: str, path: Path, device: torch.device, load: Callable[[], Any]) -> Any:
    with timed(f"{role} file", device, size=path.stat().st_size):
        return load()


def _in_parallel(
    tasks: Mapping[str, Callable[[], Any]], *, meanwhile: Callable[[], None] | None = None
) -> dict[str, Any]:
    """Run the tasks on `LOAD_THREADS` threads, and `meanwhile` on this one; the first failure in the
    mapping's order is raised."""
    with ThreadPoolExecutor(max_workers=LOAD_THREADS, thread_name_prefix="anima-load") as pool:
        futures = {name: pool.submit(task) for name, task in tasks.items()}
        if meanwhile is not None:
            meanwhile()
        return {name: future.result() for name, future in futures.items()}


def _path(value: str | Path | None) -> Path | None:
    return None if value is None else Path(value)


def lora_targets(pipe: Pipeline) -> LoraTargets:
    """The networks of `pipe` a LoRA may patch: DiT, LLM adapter and Qwen3."""
    return LoraTargets(dit=pipe.dit, adapter=pipe.adapter, text_encoder=pipe.text_encoder.model)
