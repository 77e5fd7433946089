"""`generate(pipe, request)`: the one entry point from requests to images with their records.

Each request is prepared (`request.prepare`: presets, lint gate, LoRA tags, normalisation), then
consecutive requests that can share a sampling call (same settings, LoRAs and init image; seeds, prompts
and negative prompts may differ) run as one batch: encode → adapt → noise → σ → sample → decode. Each
request keeps its own noise (`noise.StackedNoise`), so its images equal those of a call of its own up to
the rounding of batched matrix products.
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
from anima_engine.memory import MemoryPlan, free_memory, place, plan_memory, visiting
from anima_engine.noise import NoiseSource, StackedNoise, latent_shape, make_noise, noised
from anima_engine.options import SamplingOptions
from anima_engine.pipeline import Pipeline, lora_targets
from anima_engine.request import EncoderText, GenerationRequest, PreparedRequest, PromptResources, prepare
from anima_engine.samplers import DISCARD_PENULTIMATE_SIGMA, SAMPLERS, StepCallback
from anima_engine.schedules import denoise_sigmas, make_sigmas, strength_sigmas
from anima_engine.text_encoder import TextFeatures
from anima_engine.timing import timed


@dataclass(frozen=True, slots=True, eq=False)
class GeneratedImage:
    """One image and every setting needed to reproduce it."""

    image: Image.Image
    record: GenerationRecord


@dataclass(frozen=True, slots=True, eq=False)
class _Unit:
    """A request in a sampling call: its images share its two contexts (1, L, D) and its noise source."""

    prepared: PreparedRequest
    cond: Tensor
    uncond: Tensor | None

    @property
    def images(self) -> int:
        return self.prepared.options.batch


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
        with timed("encode (Qwen3)", pipe.device):
            remember = not any("text_encoder" in item.lora.components for item in loaded)
            features = encode_texts(pipe, texts, plan, remember=remember)
        # 2. features -> contexts (1, L, D) per prompt, shared by its images
        with timed("adapter", pipe.device):
            contexts = {key: adapt(pipe.adapter, value) for key, value in features.items()}
        units = [
            _Unit(p, contexts[p.prompt.segments], contexts[p.negative.segments] if guide else None)
            for p in group
        ]
        # 3. optional init image -> latents (1, 16, 1, h, w)
        init = None
        if first.init_image is not None:
            init = pipe.vae.encode(from_pil(first.init_image, options.width, options.height).to(pipe.device))
        # 4. noise, schedule, sampler with CFG, one batch per context shape (zero padding is not exact)
        with timed(f"sample {sum(unit.images for unit in units)} image(s)", pipe.device):
            latents = sample_batches(pipe, units, options, init, callback)
        # 5. decode image by image (in tiles when memory is short)
        with timed(f"decode {len(latents)} image(s) and convert to PIL", pipe.device):
            pictures = [to_pil(pipe.vae.decode(z[None], tile=plan.vae_tile))[0] for z in latents]
    records = [_record(pipe, unit.prepared, index, loaded) for unit in units for index in range(unit.images)]
    return [GeneratedImage(picture, record) for picture, record in zip(pictures, records, strict=True)]


def encode_texts(
    pipe: Pipeline, texts: Sequence[EncoderText], plan: MemoryPlan, *, remember: bool = True
) -> dict[tuple[tuple[str, float], ...], TextFeatures]:
    """Qwen3 features of each distinct text (by segments), from the pipeline's recent encodes where it has
    them (`remember`: no LoRA patches the text encoder now; then new encodes are kept too). The encoder
    runs on the device; when the plan says so it then lives on the offload device, and visits the device
    for later encodes."""
    model = pipe.text_encoder.model
    features = {}
    for text in texts:
        known = pipe.encoded.get(text.segments) if remember else None
        if known is not None:
            features[text.segments] = known
    missing = [text.segments for text in texts if text.segments not in features]
    if missing:
        with visiting(model, pipe.device, "text encoder"):
            for segments in dict.fromkeys(missing):
                features[segments] = pipe.text_encoder.encode(segments)
                if remember:
                    pipe.encoded.put(segments, features[segments])
        if plan.offload_text_encoder:
            place(model, pipe.offload_device, "text encoder")
    return features


def sample_batches(
    pipe: Pipeline,
    units: Sequence[_Unit],
    options: SamplingOptions,
    init: Tensor | None,
    callback: StepCallback | None,
) -> list[Tensor]:
    """Denoised latents (16, 1, H/8, W/8) of every image, request by request; requests whose contexts have
    the same shapes are sampled together, each with its own noise."""
    latents: dict[int, Tensor] = {}
    for batch in _same_shapes(units):
        cond = _stacked([unit.cond for _, unit in batch for _ in range(unit.images)])
        uncond = None
        if batch[0][1].uncond is not None:
            uncond = _stacked([unit.uncond for _, unit in batch for _ in range(unit.images)])  # type: ignore[misc]
        sources = [
            (make_noise(options.noise, unit.prepared.options.seed, unit.images), unit.images)
            for _, unit in batch
        ]
        noise = sources[0][0] if len(sources) == 1 else StackedNoise(tuple(sources))
        z = sample_latents(pipe, cond, uncond, noise, options, init, callback)
        row = 0
        for position, unit in batch:
            latents[position] = z[row : row + unit.images]
            row += unit.images
    return [image for position in range(len(units)) for image in latents[position]]


def _stacked(contexts: list[Tensor]) -> Tensor:
    """(B, L, D) from B contexts (1, L, D); one shared context is expanded, not copied."""
    if all(context is contexts[0] for context in contexts):
        return contexts[0].expand(len(contexts), -1, -1)
    return torch.cat(contexts)


def _same_shapes(units: Sequence[_Unit]) -> Iterator[list[tuple[int, _Unit]]]:
    shapes: dict[tuple[int, int], list[tuple[int, _Unit]]] = {}
    for position, unit in enumerate(units):
        key = (unit.cond.shape[1], unit.uncond.shape[1] if unit.uncond is not None else 0)
        shapes.setdefault(key, []).append((position, unit))
    yield from shapes.values()


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
    noise: NoiseSource,
    options: SamplingOptions,
    init: Tensor | None,
    callback: StepCallback | None,
) -> Tensor:
    """Denoised latents (B, 16, 1, H/8, W/8) for contexts (B, L, D), drawing from `noise`."""
    batch = cond.shape[0]
    sigmas = sampling_sigmas(options, img2img=init is not None)
    shape = latent_shape(batch, options.width, options.height, spec=pipe.spec)
    eps = noise.initial(shape).to(pipe.device)
    x0 = None if init is None else init.expand(batch, -1, -1, -1, -1)
    x = noised(x0, eps, sigmas[0])
    denoise = guided(pipe.velocity or pipe.dit, cond, uncond, options.cfg)
    return SAMPLERS[options.sampler](denoise, x, sigmas, noise=noise, callback=callback)


def _record(
    pipe: Pipeline, prepared: PreparedRequest, index: int, loras: Sequence[LoadedLora]
) -> GenerationRecord:
    """The record of image `index` of a request. anima noise: a one-image run with seed + index; comfyui
    noise: element `index` of the batch drawn from the seed."""
    options = prepared.options
    per_image = options.noise == "anima"
    return GenerationRecord(
        prompt=prepared.prompt.written,
        negative=prepared.negative.written,
        encoded=prepared.prompt.text,
        encoded_negative=prepared.negative.text,
        normalized=prepared.request.normalize,
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
        variant=prepared.variant,
        strength=float(options.strength),
        denoise=float(options.denoise),
        models=pipe.models,
        loras=tuple(loaded.file for loaded in loras),
    )
