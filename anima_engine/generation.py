"""`generate(pipe, request)`: the one entry point from requests to images with their records.

Each request is prepared (`request.prepare`: presets, lint gate, LoRA tags, normalisation), then
consecutive requests that can share a sampling call (same settings, LoRAs and init image; seeds, prompts
and negative prompts may differ) run as one batch: encode → adapt → noise → σ → sample → decode. Image k
of a request uses seed + k, and equals a one-image run with that seed up to the rounding of batched
matrix products.
"""

from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import groupby

import torch
from PIL import Image
from torch import Tensor

from anima_engine.adapter import adapt
from anima_engine.errors import ConfigError
from anima_engine.guidance import cfg as guided
from anima_engine.images import GenerationRecord, from_pil, to_pil
from anima_engine.lora import LoadedLora, load_choices, merged
from anima_engine.memory import MemoryPlan, free_memory, place, plan_memory
from anima_engine.noise import img2img_start, initial_noise, make_generators
from anima_engine.options import SamplingOptions
from anima_engine.pipeline import Pipeline, lora_targets
from anima_engine.request import EncoderText, GenerationRequest, PreparedRequest, PromptResources, prepare
from anima_engine.samplers import SAMPLERS, StepCallback
from anima_engine.schedules import make_sigmas
from anima_engine.text_encoder import TextFeatures


@dataclass(frozen=True, slots=True, eq=False)
class GeneratedImage:
    """One image and every setting needed to reproduce it."""

    image: Image.Image
    record: GenerationRecord


@dataclass(frozen=True, slots=True, eq=False)
class _Image:
    """One image of a sampling call: its request, its seed and its two contexts (1, L, D)."""

    prepared: PreparedRequest
    seed: int
    cond: Tensor
    uncond: Tensor | None


def generate(
    pipe: Pipeline,
    request: GenerationRequest | Sequence[GenerationRequest],
    *,
    callback: StepCallback | None = None,
    resources: PromptResources | None = None,
) -> list[GeneratedImage]:
    """Generate the images of one request, or of several (consecutive compatible ones share a batch).

    Args:
        pipe: from `load_pipeline`.
        request: a `GenerationRequest`, or a sequence of them.
        callback: called after each model evaluation with the sampler's `Step` (its `x` holds the batch).
        resources: tag indexes and linters to reuse across calls (`request.PromptResources`).

    Returns:
        One `GeneratedImage` (PIL image + `GenerationRecord`) per image: request by request, seed by seed.

    Raises:
        ConfigError: an invalid setting, named with the value received (before anything is allocated).
        PromptLintError: a request with the lint gate on has lint errors; the error holds the findings.
        LoraReferenceError, CheckpointError: a LoRA is not found, unreadable or does not fit the model.

    Example:
        >>> pipe = load_pipeline(model_dir="models/anima")
        >>> [result] = generate(pipe, GenerationRequest(prompt="safe, 1girl, <lora:ink:0.8>", seed=7))
        >>> result.image.save("out.png")
    """
    requests = [request] if isinstance(request, GenerationRequest) else list(request)
    if not requests or not all(isinstance(item, GenerationRequest) for item in requests):
        raise ConfigError("`request` must be a GenerationRequest or a non-empty sequence of them")
    with PromptResources() as temporary:
        shared = resources if resources is not None else temporary
        prepared = [prepare(item, variant=pipe.variant, resources=shared) for item in requests]
    results: list[GeneratedImage] = []
    for _, group in groupby(prepared, key=sharing_key):
        results += _generate_group(pipe, list(group), callback)
    return results


def sharing_key(prepared: PreparedRequest) -> Hashable:
    """Requests with equal keys can be sampled in one batch: same settings but the seed, same LoRAs and
    init image."""
    init = prepared.request.init_image
    init_key = id(init) if isinstance(init, Image.Image) else init  # a file by its path, an image by identity
    return (replace(prepared.options, seed=0, batch=1), prepared.loras, init_key)


def _generate_group(
    pipe: Pipeline, group: list[PreparedRequest], callback: StepCallback | None
) -> list[GeneratedImage]:
    first = group[0]
    options = first.options
    plan = plan_memory(
        width=options.width,
        height=options.height,
        low_vram=pipe.low_vram,
        free_bytes=free_memory(pipe.device),
    )
    guide = options.cfg != 1.0
    loaded = load_choices(first.loras, lora_targets(pipe), hash_files=pipe.hash_files)
    with merged(lora_targets(pipe), loaded), torch.inference_mode():
        # 1. texts -> Qwen3 features (weights on the T5 tokens), each distinct text once
        texts = [p.prompt for p in group] + ([p.negative for p in group] if guide else [])
        features = encode_texts(pipe, texts, plan)
        place(pipe.dit, pipe.device, "DiT")
        place(pipe.adapter, pipe.device, "adapter")
        # 2. features -> contexts (1, L, D) per prompt, shared by its images
        contexts = {key: adapt(pipe.adapter, value) for key, value in features.items()}
        images = [
            _Image(
                p,
                p.options.seed + k,
                contexts[p.prompt.segments],
                contexts[p.negative.segments] if guide else None,
            )
            for p in group
            for k in range(p.options.batch)
        ]
        # 3. optional init image -> latents (1, 16, 1, h, w)
        init = None
        if first.init_image is not None:
            init = pipe.vae.encode(from_pil(first.init_image, options.width, options.height).to(pipe.device))
        # 4. noise, schedule, sampler with CFG, one batch per context shape (zero padding is not exact)
        latents = sample_batches(pipe, images, options, init, callback)
        # 5. decode image by image, the DiT out of the way when memory is short
        if plan.offload_dit:
            place(pipe.dit, pipe.offload_device, "DiT")
            place(pipe.adapter, pipe.offload_device, "adapter")
        pictures = [to_pil(pipe.vae.decode(z[None], tile=plan.vae_tile))[0] for z in latents]
    return [
        GeneratedImage(picture, _record(pipe, image.prepared, image.seed, loaded))
        for picture, image in zip(pictures, images, strict=True)
    ]


def encode_texts(
    pipe: Pipeline, texts: Sequence[EncoderText], plan: MemoryPlan
) -> dict[tuple[tuple[str, float], ...], TextFeatures]:
    """Qwen3 features of each distinct text (by segments); the encoder may leave the device afterwards."""
    place(pipe.text_encoder.model, pipe.device, "text encoder")
    features = {}
    for text in texts:
        if text.segments not in features:
            features[text.segments] = pipe.text_encoder.encode(text.segments)
    if plan.offload_text_encoder:
        place(pipe.text_encoder.model, pipe.offload_device, "text encoder")
    return features


def sample_batches(
    pipe: Pipeline,
    images: Sequence[_Image],
    options: SamplingOptions,
    init: Tensor | None,
    callback: StepCallback | None,
) -> list[Tensor]:
    """Denoised latents (16, 1, H/8, W/8) of each image, in order; images whose contexts have the same
    shapes are sampled together."""
    latents: dict[int, Tensor] = {}
    for batch in _same_shapes(images):
        seeds = [image.seed for _, image in batch]
        cond = _stacked([image.cond for _, image in batch])
        uncond = None if batch[0][1].uncond is None else _stacked([image.uncond for _, image in batch])  # type: ignore[misc]
        z = sample_latents(pipe, cond, uncond, seeds, options, init, callback)
        latents |= {position: z[row] for row, (position, _) in enumerate(batch)}
    return [latents[position] for position in range(len(images))]


def _stacked(contexts: list[Tensor]) -> Tensor:
    """(B, L, D) from B contexts (1, L, D); one shared context is expanded, not copied (as a batch of one
    prompt always was, so its images keep their bytes)."""
    if all(context is contexts[0] for context in contexts):
        return contexts[0].expand(len(contexts), -1, -1)
    return torch.cat(contexts)


def _same_shapes(images: Sequence[_Image]) -> Iterator[list[tuple[int, _Image]]]:
    shapes: dict[tuple[int, int], list[tuple[int, _Image]]] = {}
    for position, image in enumerate(images):
        key = (image.cond.shape[1], image.uncond.shape[1] if image.uncond is not None else 0)
        shapes.setdefault(key, []).append((position, image))
    yield from shapes.values()


def sample_latents(
    pipe: Pipeline,
    cond: Tensor,
    uncond: Tensor | None,
    seeds: Sequence[int],
    options: SamplingOptions,
    init: Tensor | None,
    callback: StepCallback | None,
) -> Tensor:
    """Denoised latents (B, 16, 1, H/8, W/8) for contexts (B, L, D); image b is seeded `seeds[b]`."""
    generators = [generator for seed in seeds for generator in make_generators(seed, 1)]
    sigmas = make_sigmas(options.scheduler, options.steps)
    if init is None:
        x = initial_noise(generators, options.width, options.height, device=pipe.device)
    else:
        x, sigmas = img2img_start(
            init.expand(len(seeds), -1, -1, -1, -1), sigmas, options.strength, generators
        )
    denoise = guided(pipe.velocity or pipe.dit, cond, uncond, options.cfg)
    return SAMPLERS[options.sampler](denoise, x, sigmas, generator=generators, callback=callback)


def _record(
    pipe: Pipeline, prepared: PreparedRequest, seed: int, loras: Sequence[LoadedLora]
) -> GenerationRecord:
    options = prepared.options
    return GenerationRecord(
        prompt=prepared.prompt.written,
        negative=prepared.negative.written,
        encoded=prepared.prompt.text,
        encoded_negative=prepared.negative.text,
        normalized=prepared.request.normalize,
        seed=seed,
        sampler=options.sampler,
        scheduler=options.scheduler,
        steps=options.steps,
        cfg=float(options.cfg),
        width=options.width,
        height=options.height,
        variant=prepared.variant,
        strength=float(options.strength),
        models=pipe.models,
        loras=tuple(loaded.file for loaded in loras),
    )
