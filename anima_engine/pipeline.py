"""The loaded model and `generate`: prompt → weighted segments → encode → adapt → noise → σ → sample → decode.

`load_pipeline` finds the three official files (and the tokenizers), loads them and checks that they fit
together. `generate` composes the stage modules; each stage lives in its own module (`text_encoder`,
`adapter`, `noise`, `schedules`, `guidance`, `samplers`, `vae`, `images`), so this one only wires them.
"""

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image
from torch import Tensor

from anima_engine.adapter import LLMAdapter, adapt
from anima_engine.config import ModelSpec, VAEParams
from anima_engine.dit import DiT
from anima_engine.errors import CheckpointError, ConfigError
from anima_engine.guidance import cfg as guided
from anima_engine.images import GenerationRecord, ModelFile, from_pil, to_pil
from anima_engine.loading import AnimaDiT, load_dit, load_text_encoder, resolve_device
from anima_engine.locate import file_sha256, locate_models, locate_tokenizers
from anima_engine.lora import LoadedLora, LoraTargets, merged
from anima_engine.memory import MemoryPlan, free_memory, place, plan_memory
from anima_engine.noise import DEFAULT_NOISE, latent_shape, make_noise, noised
from anima_engine.options import SamplingOptions
from anima_engine.samplers import DISCARD_PENULTIMATE_SIGMA, SAMPLERS, StepCallback
from anima_engine.schedules import denoise_sigmas, make_sigmas, strength_sigmas
from anima_engine.speed import SpeedOptions, VelocityFn, accelerate, default_options
from anima_engine.text_encoder import TextEncoder, TextFeatures
from anima_engine.vae import VAE
from anima_engine.vae_loading import load_vae, read_vae_params

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
        low_vram: offload the text encoder and DiT between stages and decode in tiles (`memory`).
        offload_device: where offloaded networks wait.
        velocity: the DiT's forward as sampling runs it (`speed.accelerate`); None runs `dit` plainly.
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

    def generate(
        self,
        prompt: str | Sequence[str],
        options: SamplingOptions | None = None,
        *,
        negative: str = "",
        init_image: Image.Image | None = None,
        callback: StepCallback | None = None,
    ) -> list["GeneratedImage"]:
        """`generate_images` with this pipeline; `options` defaults to `SamplingOptions()`."""
        return generate_images(
            self,
            prompt,
            options or SamplingOptions(),
            negative=negative,
            init_image=init_image,
            callback=callback,
        )


@dataclass(frozen=True, slots=True, eq=False)
class GeneratedImage:
    """One image and every setting needed to reproduce it."""

    image: Image.Image
    record: GenerationRecord


def _check_fit(
    text_encoder: TextEncoder, model: AnimaDiT, vae_params: VAEParams, paths: Sequence[Path]
) -> None:
    names = ", ".join(str(p) for p in paths)
    try:
        ModelSpec(dit=model.dit.params, adapter=model.adapter.params, text_encoder=text_encoder.params)
    except ConfigError as error:
        raise CheckpointError(f"the model files do not fit together ({names}): {error}") from None
    if vae_params.z_dim != model.dit.params.in_channels:
        raise CheckpointError(
            f"the model files do not fit together ({names}): the VAE has {vae_params.z_dim} latent channels, "
            f"the DiT expects {model.dit.params.in_channels}"
        )


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
        low_vram: keep the text encoder on the CPU except while it encodes, offload the DiT during the
            VAE decode, and decode in tiles.
        hash_files: record each file's sha256 (cached per file) in the image metadata.
        speed: how the DiT runs (`speed.SpeedOptions`); default on CUDA: cuDNN attention, compiled blocks
            and a CUDA graph (not with `low_vram`, whose offloading moves the weights the graph reads);
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
    tokenizers = locate_tokenizers(_path(tokenizer_dir), model_dir=_path(model_dir))
    device, dtype = resolve_device(device, dtype)
    offload = CPU
    encoder = load_text_encoder(
        files.text_encoder, tokenizer_dir=tokenizers, device=offload if low_vram else device, dtype=dtype
    )
    model = load_dit(files.dit, device=device, dtype=dtype)
    vae_params = read_vae_params(files.vae)
    _check_fit(encoder, model, vae_params, (files.dit, files.text_encoder, files.vae))
    decoder = load_vae(files.vae, params=vae_params, device=device, dtype=dtype)
    roles = (("dit", files.dit), ("text_encoder", files.text_encoder), ("vae", files.vae))
    models = tuple(
        ModelFile(role=role, name=path.name, sha256=file_sha256(path) if hash_files else None)
        for role, path in roles
    )
    if speed is None:
        speed = default_options(device)
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
    )


def _path(value: str | Path | None) -> Path | None:
    return None if value is None else Path(value)


def prompt_segments(text: str) -> list[tuple[str, float]]:
    """The prompt as `(text, weight)` pieces with ComfyUI weights: `(red:2)` gives `("red", 2.0)`."""
    from anima_prompt import parse, weighted_segments

    return [(segment.text, segment.weight) for segment in weighted_segments(parse(text))]


def encode_texts(pipe: Pipeline, texts: Sequence[str], plan: MemoryPlan) -> list[TextFeatures]:
    """Qwen3 features of each text, T5 weights from its prompt weights; the encoder may leave afterwards."""
    place(pipe.text_encoder.model, pipe.device, "text encoder")
    features = [pipe.text_encoder.encode(prompt_segments(text)) for text in texts]
    if plan.offload_text_encoder:
        place(pipe.text_encoder.model, pipe.offload_device, "text encoder")
    return features


def sampling_sigmas(options: SamplingOptions, *, img2img: bool) -> Tensor:
    """The σ schedule the sampler runs: the full one, or its img2img part (`strength` or `denoise`)."""
    drop = options.sampler in DISCARD_PENULTIMATE_SIGMA
    if img2img and options.denoise < 1:
        return denoise_sigmas(options.scheduler, options.steps, options.denoise, drop_penultimate=drop)
    sigmas = make_sigmas(options.scheduler, options.steps, drop_penultimate=drop)
    return strength_sigmas(sigmas, options.strength) if img2img else sigmas


def sample_latents(
    pipe: Pipeline,
    cond: Tensor,
    uncond: Tensor | None,
    options: SamplingOptions,
    init: Tensor | None,
    callback: StepCallback | None,
) -> Tensor:
    """Denoised latents (B, 16, 1, H/8, W/8) for one prompt's context, noise as `options.noise` says."""
    noise = make_noise(options.noise, options.seed, options.batch)
    sigmas = sampling_sigmas(options, img2img=init is not None)
    eps = noise.initial(latent_shape(options.batch, options.width, options.height)).to(pipe.device)
    x0 = None if init is None else init.expand(options.batch, -1, -1, -1, -1)
    x = noised(x0, eps, sigmas[0])
    denoise = guided(pipe.velocity or pipe.dit, cond, uncond, options.cfg)
    return SAMPLERS[options.sampler](denoise, x, sigmas, noise=noise, callback=callback)


def generate_images(
    pipe: Pipeline,
    prompt: str | Sequence[str],
    options: SamplingOptions,
    *,
    negative: str = "",
    init_image: Image.Image | None = None,
    callback: StepCallback | None = None,
    loras: Sequence[LoadedLora] = (),
) -> list[GeneratedImage]:
    """`options.batch` images for each prompt, in prompt order; every prompt uses the same seed (and noise).

    The texts are used as given (normalise them first if wanted). With `options.cfg == 1` the negative
    prompt is not encoded and no unconditional pass runs. `loras` (from `lora.load_choices` for
    `lora_targets(pipe)`) are merged into the weights for the run and taken out afterwards.
    """
    prompts = [prompt] if isinstance(prompt, str) else list(prompt)
    if not prompts or not all(isinstance(text, str) for text in prompts):
        raise ConfigError("`prompt` must be a string or a non-empty list of strings")
    for name in ("strength", "denoise"):
        if init_image is None and getattr(options, name) != 1.0:
            raise ConfigError(f"`{name}` {getattr(options, name)} needs an init image (img2img)")
    plan = plan_memory(
        width=options.width,
        height=options.height,
        low_vram=pipe.low_vram,
        free_bytes=free_memory(pipe.device),
    )
    guide = options.cfg != 1.0
    with merged(lora_targets(pipe), loras), torch.inference_mode():
        # 1. texts -> Qwen3 features (weights on the T5 tokens), then the text encoder may leave
        features = encode_texts(pipe, [*prompts, negative] if guide else prompts, plan)
        place(pipe.dit, pipe.device, "DiT")
        place(pipe.adapter, pipe.device, "adapter")
        # 2. features -> contexts (B = 1 each; sampling expands them to the batch)
        contexts = [adapt(pipe.adapter, f) for f in features]
        uncond = contexts.pop() if guide else None
        # 3. optional init image -> latents
        init = None
        if init_image is not None:
            init = pipe.vae.encode(from_pil(init_image, options.width, options.height).to(pipe.device))
        # 4. noise, schedule, sampler with CFG, per prompt
        latents = [sample_latents(pipe, cond, uncond, options, init, callback) for cond in contexts]
        # 5. decode, the DiT out of the way when memory is short
        if plan.offload_dit:
            place(pipe.dit, pipe.offload_device, "DiT")
            place(pipe.adapter, pipe.offload_device, "adapter")
        images = [image for z in latents for image in to_pil(pipe.vae.decode(z, tile=plan.vae_tile))]
    lora_files = tuple(loaded.file for loaded in loras)
    records = [
        _record(pipe, text, negative, options, index, lora_files)
        for text in prompts
        for index in range(options.batch)
    ]
    return [GeneratedImage(image, record) for image, record in zip(images, records, strict=True)]


def lora_targets(pipe: Pipeline) -> LoraTargets:
    """The networks of `pipe` a LoRA may patch: DiT, LLM adapter and Qwen3."""
    return LoraTargets(dit=pipe.dit, adapter=pipe.adapter, text_encoder=pipe.text_encoder.model)


def _record(
    pipe: Pipeline,
    prompt: str,
    negative: str,
    options: SamplingOptions,
    index: int,
    loras: tuple[ModelFile, ...],
) -> GenerationRecord:
    # anima noise: image k is a one-image run with seed + k. comfyui noise: image k of the batch draw.
    per_image = options.noise == "anima"
    return GenerationRecord(
        prompt=prompt,
        negative=negative,
        seed=options.seed + index if per_image else options.seed,
        batch=1 if per_image else options.batch,
        batch_index=0 if per_image else index,
        noise=options.noise,
        sampler=options.sampler,
        scheduler=options.scheduler,
        steps=options.steps,
        cfg=float(options.cfg),
        width=options.width,
        height=options.height,
        variant=pipe.variant,
        strength=float(options.strength),
        denoise=float(options.denoise),
        models=pipe.models,
        loras=loras,
    )


def generate(
    pipe: Pipeline,
    prompt: str | Sequence[str],
    *,
    negative: str = "",
    width: int = 1024,
    height: int = 1024,
    steps: int = 30,
    cfg: float = 4.0,
    sampler: str = "er_sde",
    scheduler: str = "simple",
    seed: int = 0,
    batch: int = 1,
    init_image: Image.Image | None = None,
    strength: float = 1.0,
    denoise: float = 1.0,
    noise: str = DEFAULT_NOISE,
    callback: StepCallback | None = None,
) -> list[GeneratedImage]:
    """Generate images from one prompt or several; the Python entry point.

    Args:
        pipe: from `load_pipeline`.
        prompt: a prompt, or a list of them; `(tag:1.5)` weights apply to the tag's T5 tokens.
        negative: the negative prompt (unused at `cfg == 1`).
        width, height: multiples of 16, checked before anything is allocated.
        steps, cfg, sampler, scheduler: see `SamplingOptions`; `variant_options` has the model card's.
        seed: the seed. With `noise="comfyui"` the batch is drawn as ComfyUI draws it from this seed;
            with `noise="anima"` image k uses `seed + k`, so it equals a one-image run with that seed.
        batch: images per prompt.
        init_image: img2img input, resized to width × height; `strength` (diffusers: the last part of
            the schedule) or `denoise` (ComfyUI: all steps of a longer schedule), in (0, 1], says how
            much of it is redrawn.
        noise: `comfyui` or `anima` (`noise.NOISE_CONVENTIONS`).
        callback: called after each model evaluation with the sampler's `Step`.

    Returns:
        One `GeneratedImage` (PIL image + `GenerationRecord`) per prompt and seed.

    Raises:
        ConfigError: an invalid setting, named with the value received.
    """
    options = SamplingOptions(
        width=width,
        height=height,
        steps=steps,
        cfg=cfg,
        sampler=sampler,
        scheduler=scheduler,
        seed=seed,
        batch=batch,
        strength=strength,
        denoise=denoise,
        noise=noise,
    )
    return generate_images(pipe, prompt, options, negative=negative, init_image=init_image, callback=callback)
