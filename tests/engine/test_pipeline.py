"""`load_pipeline` and `generate` end to end on the tiny official-layout files, on the CPU."""

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from anima_engine import (
    ConfigError,
    GeneratedImage,
    GenerationRequest,
    ModelNotFoundError,
    SamplingOptions,
    generate,
    load_pipeline,
)
from anima_engine._tiny import TinyFiles
from anima_engine.adapter import adapt
from anima_engine.images import from_pil, to_pil
from anima_engine.locate import locate_tokenizers
from anima_engine.memory import TILE_LATENT, MemoryPlan, plan_memory, visiting
from anima_engine.options import variant_options
from anima_engine.pipeline import Pipeline
from anima_engine.samplers import SAMPLERS, Step
from anima_engine.schedules import SCHEDULES
from anima_engine.text_encoder import EncodedTexts, TextFeatures, tokenize
from anima_prompt import parse, weighted_segments

SMALL = {"width": 64, "height": 48, "steps": 2}


def run(
    pipe: Pipeline, prompt: str, *, callback: Callable[[Step], None] | None = None, **settings: object
) -> list[GeneratedImage]:
    """`generate` for one prompt used as written: no lint gate, no normalisation."""
    return generate(pipe, request(prompt, **settings), callback=callback)


def request(prompt: str, **settings: object) -> GenerationRequest:
    return GenerationRequest(prompt=prompt, lint=False, normalize=False, **settings)  # type: ignore[arg-type]


def load_tiny(tiny_files: TinyFiles) -> Pipeline:
    return load_pipeline(
        dit=tiny_files.dit,
        text_encoder=tiny_files.text_encoder,
        vae=tiny_files.vae,
        tokenizer_dir=tiny_files.tokenizer_dir,
        hash_files=False,
    )


@pytest.fixture(scope="module")
def pipe(tiny_files: TinyFiles) -> Pipeline:
    return load_tiny(tiny_files)


def pixels(result: GeneratedImage) -> np.ndarray:
    return np.asarray(result.image, dtype=np.int16)


def test_generate_returns_images_with_their_settings(pipe: Pipeline) -> None:
    results = run(pipe, "safe, 1girl", negative="worst quality", seed=7, cfg=3.5, **SMALL)
    assert len(results) == 1
    image, record = results[0].image, results[0].record
    assert image.size == (64, 48) and image.mode == "RGB"
    assert pixels(results[0]).std() > 0  # not a constant image
    assert (record.prompt, record.negative, record.seed, record.cfg) == (
        "safe, 1girl",
        "worst quality",
        7,
        3.5,
    )
    assert (record.width, record.height, record.steps) == (64, 48, 2)
    assert (record.sampler, record.scheduler, record.variant) == ("er_sde", "simple", "base")
    assert [m.role for m in record.models] == ["dit", "text_encoder", "vae"]
    assert record.models[0].name == "anima-tiny.safetensors"


def test_same_seed_gives_identical_images_and_another_seed_does_not(pipe: Pipeline) -> None:
    first = run(pipe, "safe, cat", seed=3, **SMALL)[0]
    again = run(pipe, "safe, cat", seed=3, **SMALL)[0]
    other = run(pipe, "safe, cat", seed=4, **SMALL)[0]
    assert first.image.tobytes() == again.image.tobytes()
    assert first.image.tobytes() != other.image.tobytes()


@pytest.mark.parametrize("sampler", list(SAMPLERS))
@pytest.mark.parametrize("scheduler", list(SCHEDULES))
def test_every_sampler_and_schedule_runs(pipe: Pipeline, sampler: str, scheduler: str) -> None:
    steps: list[Step] = []
    [result] = run(
        pipe, "safe, dog", sampler=sampler, scheduler=scheduler, seed=1, callback=steps.append, **SMALL
    )
    assert result.image.size == (64, 48)
    assert [s.index for s in steps] == [0, 1]
    assert all(torch.isfinite(s.denoised).all() for s in steps)
    assert (result.record.sampler, result.record.scheduler) == (sampler, scheduler)


@pytest.mark.parametrize("sampler", ["euler", "er_sde"])
def test_anima_noise_batch_element_k_equals_a_single_run_with_seed_plus_k(
    pipe: Pipeline, sampler: str
) -> None:
    batch = run(pipe, "safe, tree", seed=10, batch=3, sampler=sampler, noise="anima", **SMALL)
    assert [(r.record.seed, r.record.batch, r.record.noise) for r in batch] == [
        (10 + k, 1, "anima") for k in range(3)
    ]
    for k, result in enumerate(batch):
        [single] = run(pipe, "safe, tree", seed=10 + k, sampler=sampler, noise="anima", **SMALL)
        assert np.abs(pixels(result) - pixels(single)).max() <= 1  # batched matmuls may round differently
    assert batch[0].image.tobytes() != batch[1].image.tobytes()


@pytest.mark.parametrize("sampler", ["euler", "er_sde"])
def test_comfyui_noise_batch_images_come_from_one_batch_draw(pipe: Pipeline, sampler: str) -> None:
    batch = run(pipe, "safe, tree", seed=10, batch=3, sampler=sampler, **SMALL)
    records = [(r.record.seed, r.record.batch, r.record.batch_index, r.record.noise) for r in batch]
    assert records == [(10, 3, k, "comfyui") for k in range(3)]
    [second] = run(pipe, "safe, tree", seed=11, sampler=sampler, **SMALL)
    assert np.abs(pixels(batch[1]) - pixels(second)).max() > 1  # not a run with seed + 1
    if sampler == "euler":  # deterministic: image 0's noise is a one-image draw's noise
        [first] = run(pipe, "safe, tree", seed=10, sampler=sampler, **SMALL)
        assert np.abs(pixels(batch[0]) - pixels(first)).max() <= 1


def test_several_prompts_each_get_the_batch_seeds(pipe: Pipeline) -> None:
    results = generate(
        pipe, [request(text, seed=5, batch=2, noise="anima", **SMALL) for text in ("safe, cat", "safe, dog")]
    )
    assert [(r.record.prompt, r.record.seed) for r in results] == [
        ("safe, cat", 5),
        ("safe, cat", 6),
        ("safe, dog", 5),
        ("safe, dog", 6),
    ]
    [dog] = run(pipe, "safe, dog", seed=6, noise="anima", **SMALL)
    assert np.abs(pixels(results[3]) - pixels(dog)).max() <= 1


def test_prompt_weight_lands_on_exactly_the_t5_tokens_of_the_tag(pipe: Pipeline) -> None:
    tokenizers = pipe.text_encoder.tokenizers
    segments = [(piece.text, piece.weight) for piece in weighted_segments(parse("(red:2), cat"))]
    assert segments == [("red", 2.0), (", cat", 1.0)]
    tokens = tokenize(tokenizers, segments)
    red = tokenizers.t5.encode("red", add_special_tokens=False).ids
    rest = tokenizers.t5.encode(", cat", add_special_tokens=False).ids
    assert tokens.t5_ids == (*red, *rest, tokenizers.t5_eos_id)
    assert tokens.t5_weights == (2.0,) * len(red) + (1.0,) * (len(rest) + 1)
    # Qwen3 reads the text without weight syntax, all at weight 1
    qwen_plain = tokenizers.qwen.encode("red", add_special_tokens=False).ids
    qwen_plain += tokenizers.qwen.encode(", cat", add_special_tokens=False).ids
    assert tokens.qwen_ids == tuple(qwen_plain)

    # the adapter rows of "red" are doubled, the others untouched
    features = pipe.text_encoder.encode(segments)
    unweighted = TextFeatures(features.qwen_states, features.t5_ids, torch.ones_like(features.t5_weights))
    weighted, plain = adapt(pipe.adapter, features)[0], adapt(pipe.adapter, unweighted)[0]
    n = len(red)
    torch.testing.assert_close(weighted[:n], 2 * plain[:n], rtol=0, atol=1e-6)
    torch.testing.assert_close(weighted[n:], plain[n:], rtol=0, atol=0)


def test_weights_change_the_image(pipe: Pipeline) -> None:
    plain = run(pipe, "safe, red hair", seed=2, **SMALL)[0]
    weighted = run(pipe, "safe, (red hair:1.5)", seed=2, **SMALL)[0]
    assert plain.image.tobytes() != weighted.image.tobytes()


def test_cfg_one_runs_one_pass_and_ignores_the_negative(pipe: Pipeline) -> None:
    batches: list[int] = []
    hook = pipe.dit.register_forward_hook(lambda module, args, out: batches.append(args[0].shape[0]))
    try:
        a = run(pipe, "safe, cat", negative="blurry", cfg=1.0, **SMALL)[0]
        b = run(pipe, "safe, cat", negative="something else", cfg=1.0, **SMALL)[0]
        assert batches == [1, 1, 1, 1]
        batches.clear()
        run(pipe, "safe, cat", negative="blurry", cfg=4.0, **SMALL)
        assert batches == [2, 2]  # cond and uncond in one forward
    finally:
        hook.remove()
    assert a.image.tobytes() == b.image.tobytes()


def test_img2img_runs_the_tail_of_the_schedule(pipe: Pipeline) -> None:
    start = Image.fromarray(np.tile(np.arange(64, dtype=np.uint8)[None, :, None] * 4, (48, 1, 3)))
    steps: list[Step] = []
    [result] = run(
        pipe, "safe, cat", init_image=start, strength=0.5, callback=steps.append, width=64, height=48, steps=4
    )
    assert result.image.size == (64, 48) and result.record.strength == 0.5
    assert len(steps) == 2 and steps[0].sigma < 1.0
    # at strength 1 the image's content is ignored: the same as text-to-image
    [full] = run(pipe, "safe, cat", init_image=start, strength=1.0, seed=3, **SMALL)
    [txt2img] = run(pipe, "safe, cat", seed=3, **SMALL)
    assert full.image.tobytes() == txt2img.image.tobytes()


@pytest.mark.parametrize("strength", [0.0, -0.5, 1.5])
def test_img2img_strength_is_validated(pipe: Pipeline, strength: float) -> None:
    start = Image.new("RGB", (64, 48), "gray")
    with pytest.raises(ConfigError, match=r"`strength` must be in \(0, 1\]"):
        run(pipe, "safe, cat", init_image=start, strength=strength, **SMALL)


def test_strength_without_an_init_image_is_an_error(pipe: Pipeline) -> None:
    with pytest.raises(ConfigError, match="needs an init image"):
        run(pipe, "safe, cat", strength=0.5, **SMALL)


def test_from_pil_resizes_and_scales_to_minus_one_one() -> None:
    image = Image.new("RGBA", (10, 10), (0, 0, 0, 0))  # transparent -> white
    tensor = from_pil(image, 16, 32)
    assert tensor.shape == (1, 3, 32, 16)
    assert torch.equal(tensor, torch.ones_like(tensor))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"width": 100}, "`width` must be a multiple of 16, got 100"),
        ({"height": 8}, r"`height` must be an integer in \[16, 8192\], got 8"),
        ({"steps": 0}, "`steps` must be an integer"),
        ({"cfg": -1.0}, "`cfg` must be >= 0"),
        ({"sampler": "dpm"}, "unknown sampler 'dpm'"),
        ({"scheduler": "cosine"}, "unknown scheduler 'cosine'"),
        ({"seed": -1}, "`seed` must be an integer"),
        ({"batch": 0}, "`batch` must be an integer"),
    ],
)
def test_options_are_checked_before_anything_runs(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SamplingOptions(**changes)  # type: ignore[arg-type]


def test_bad_size_is_reported_before_allocating(pipe: Pipeline) -> None:
    batches: list[int] = []
    hook = pipe.dit.register_forward_hook(lambda module, args, out: batches.append(1))
    try:
        with pytest.raises(ConfigError, match="`width` must be a multiple of 16"):
            run(pipe, "safe, cat", width=1000, height=1024)
    finally:
        hook.remove()
    assert batches == []


def test_variant_presets_follow_the_model_card() -> None:
    assert variant_options("turbo") == SamplingOptions(steps=10, cfg=1.0, sampler="er_sde")
    for variant in ("base", "aesthetic"):
        options = variant_options(variant)
        assert options.steps == 30 and 4 <= options.cfg <= 5 and options.sampler == "er_sde"
    with pytest.raises(ConfigError, match="unknown variant 'lightning'"):
        variant_options("lightning")


def test_options_vary_with_replace() -> None:
    options = dataclasses.replace(variant_options("base"), seed=9, width=832, height=1216)
    assert (options.seed, options.width, options.steps) == (9, 832, 30)


# memory plans


@pytest.mark.parametrize(
    ("size", "low_vram", "free", "expected"),
    [
        ((1024, 1024), False, None, MemoryPlan()),
        ((1024, 1024), False, 40 << 30, MemoryPlan()),
        ((1024, 1024), False, 6 << 30, MemoryPlan(offload_text_encoder=True)),
        ((2048, 2048), False, None, MemoryPlan(vae_tile=TILE_LATENT)),
        ((1024, 1024), True, 40 << 30, MemoryPlan(offload_text_encoder=True, vae_tile=TILE_LATENT)),
        ((512, 512), True, None, MemoryPlan(offload_text_encoder=True)),
    ],
)
def test_memory_plan(size: tuple[int, int], low_vram: bool, free: int | None, expected: MemoryPlan) -> None:
    assert plan_memory(width=size[0], height=size[1], low_vram=low_vram, free_bytes=free) == expected


def test_low_vram_offloads_the_text_encoder_and_decodes_in_tiles(
    pipe: Pipeline, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    low = dataclasses.replace(pipe, low_vram=True, encoded=EncodedTexts())  # nothing encoded yet
    monkeypatch.setattr("anima_engine.memory.LOW_VRAM_TILE_ABOVE_PIXELS", 0)
    monkeypatch.setattr("anima_engine.memory.TILE_LATENT", 4)  # the 8x6 latent decodes in 4 tiles
    decodes: list[int | None] = []
    original = type(pipe.vae).decode

    def spy(self: object, z: torch.Tensor, *, tile: int | None = None) -> torch.Tensor:
        decodes.append(tile)
        return original(self, z, tile=tile)  # type: ignore[arg-type]

    monkeypatch.setattr(type(pipe.vae), "decode", spy)
    with caplog.at_level(logging.DEBUG, logger="anima_engine.memory"):
        [tiled] = run(low, "safe, cat", seed=4, **SMALL)
    moves = [r.getMessage() for r in caplog.records if r.name == "anima_engine.memory"]
    assert moves == [
        "text encoder: cpu -> cpu while in use",  # lent to the device for encoding
        "text encoder: cpu -> cpu",  # then kept on the offload device; the DiT never moves
    ]
    assert decodes == [4]
    [whole] = run(pipe, "safe, cat", seed=4, **SMALL)
    assert decodes == [4, None]
    assert np.abs(pixels(tiled) - pixels(whole)).max() <= 1  # tiles with halos: no seams


def test_a_visit_lends_the_weights_and_copies_nothing_back() -> None:
    module = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    before = {key: value.clone() for key, value in module.state_dict().items()}
    storage = {key: value.data_ptr() for key, value in module.state_dict().items()}
    weight = module[0].weight
    with visiting(module, torch.device("meta"), "test"):
        assert all(value.is_meta for value in module.state_dict().values())
    assert module[0].weight is weight  # the same parameters, holding their own tensors again
    assert {key: value.data_ptr() for key, value in module.state_dict().items()} == storage
    for key, value in module.state_dict().items():
        assert torch.equal(value, before[key])


# finding the files


def test_missing_model_file_names_the_file_and_where_it_looked(tmp_path: Path, tiny_files: TinyFiles) -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        load_pipeline(model_dir=tmp_path, tokenizer_dir=tiny_files.tokenizer_dir)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("DiT file anima-base-v1.0.safetensors not found; looked in: ")
    assert f"{tmp_path}/diffusion_models (--model-dir)" in message


def test_tokenizers_are_found_in_order(tmp_path: Path, tiny_files: TinyFiles) -> None:
    tokenizers = tiny_files.tokenizer_dir
    model_dir = tokenizers.parent  # write_tiny_model puts them in <dir>/tokenizers
    empty = tmp_path / "none"
    assert locate_tokenizers(tokenizers, env={}, data_dir=empty) == tokenizers
    assert locate_tokenizers(env={"ANIMA_TOKENIZERS": str(tokenizers)}, data_dir=empty) == tokenizers
    assert locate_tokenizers(model_dir=model_dir, env={}, data_dir=empty) == model_dir / "tokenizers"
    assert locate_tokenizers(env={"ANIMA_MODEL_DIR": str(model_dir)}, data_dir=empty) == tokenizers
    assert locate_tokenizers(env={}, data_dir=model_dir) == tokenizers
    with pytest.raises(ModelNotFoundError, match=r"given by --tokenizers\) lacks qwen3/tokenizer.json"):
        locate_tokenizers(empty, env={}, data_dir=empty)
    with pytest.raises(ModelNotFoundError) as caught:
        locate_tokenizers(env={}, data_dir=empty)
    assert str(caught.value) == (
        "tokenizer files qwen3/tokenizer.json and t5/tokenizer.json not found; looked in: "
        f"{empty}/tokenizers (user data); pass --tokenizers DIR or set ANIMA_TOKENIZERS"
    )


def test_files_that_do_not_fit_together_are_refused(tiny_files: TinyFiles, tmp_path: Path) -> None:
    from anima_engine._tiny import TINY_VAE, write_tiny_vae
    from anima_engine.errors import CheckpointError

    vae = write_tiny_vae(tmp_path / "vae.safetensors", TINY_VAE)  # 4 latent channels
    with pytest.raises(CheckpointError, match="4 latent channels has no known latent statistics"):
        load_pipeline(
            dit=tiny_files.dit,
            text_encoder=tiny_files.text_encoder,
            vae=vae,
            tokenizer_dir=tiny_files.tokenizer_dir,
            hash_files=False,
        )


def test_model_hashes_are_recorded(
    tiny_files: TinyFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    hashed = load_pipeline(
        dit=tiny_files.dit,
        text_encoder=tiny_files.text_encoder,
        vae=tiny_files.vae,
        tokenizer_dir=tiny_files.tokenizer_dir,
    )
    expected = hashlib.sha256(tiny_files.vae.read_bytes()).hexdigest()
    assert {m.role: m.sha256 for m in hashed.models}["vae"] == expected
    [result] = run(hashed, "safe, cat", **SMALL)
    assert result.record.models == hashed.models


@pytest.mark.parametrize("noise", ["comfyui", "anima"])
def test_requests_with_the_same_settings_share_one_sampling_call(pipe: Pipeline, noise: str) -> None:
    batches: list[int] = []
    hook = pipe.dit.register_forward_hook(lambda module, args, out: batches.append(args[0].shape[0]))
    settings = {"cfg": 1.0, "noise": noise, "sampler": "euler_ancestral"}  # step noise too
    requests = [
        request("safe, cat", seed=1, **settings, **SMALL),
        request("safe, dog", negative="blurry", seed=9, batch=2, **settings, **SMALL),
        request("safe, cat", seed=1, width=32, height=32, steps=2, **settings),  # another size: its own call
    ]
    try:
        results = generate(pipe, requests)
    finally:
        hook.remove()
    assert batches == [3, 3, 1, 1]  # 2 steps of 3 images, then 2 steps of 1
    assert [r.record.prompt for r in results] == ["safe, cat", "safe, dog", "safe, dog", "safe, cat"]
    # each request keeps the noise it has alone
    alone = run(pipe, "safe, dog", negative="blurry", seed=9, batch=2, **settings, **SMALL)
    assert [r.record for r in alone] == [r.record for r in results[1:3]]
    for together, single in zip(results[1:3], alone, strict=True):
        assert np.abs(pixels(together) - pixels(single)).max() <= 1


def test_an_empty_request_list_is_refused(pipe: Pipeline) -> None:
    with pytest.raises(ConfigError, match="non-empty sequence"):
        generate(pipe, [])


# the whole pipeline against a reference loop built on diffusers' scheduler


def test_euler_cfg_pipeline_matches_a_diffusers_scheduler_loop(
    pipe: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Our `generate` (Euler, diffusers' "linear" schedule, CFG 4) against `FlowMatchEulerDiscreteScheduler`
    driving the same loaded tiny modules, in float32: texts encoded one by one, cond and uncond in two
    separate DiT passes, noise from `torch.randn` with the seed, and the final latents decoded."""
    diffusers = pytest.importorskip("diffusers")
    steps, scale, seed = 4, 4.0, 11
    prompt, negative = "safe, a cat on a mat", "blurry"

    decoded: list[torch.Tensor] = []
    original = type(pipe.vae).decode

    def spy(self: object, z: torch.Tensor, *, tile: int | None = None) -> torch.Tensor:
        decoded.append(z.clone())
        return original(self, z, tile=tile)  # type: ignore[arg-type]

    monkeypatch.setattr(type(pipe.vae), "decode", spy)
    states: list[torch.Tensor] = []
    [ours] = run(
        pipe,
        prompt,
        negative=negative,
        width=64,
        height=48,
        steps=steps,
        cfg=scale,
        sampler="euler",
        scheduler="linear",
        seed=seed,
        callback=lambda step: states.append(step.x.clone()),
    )

    with torch.no_grad():
        cond = adapt(pipe.adapter, pipe.text_encoder.encode(prompt))
        uncond = adapt(pipe.adapter, pipe.text_encoder.encode(negative))
        x = torch.randn((1, 16, 1, 6, 8), generator=torch.Generator().manual_seed(seed))
        scheduler = diffusers.FlowMatchEulerDiscreteScheduler(shift=3.0)
        scheduler.set_timesteps(sigmas=np.linspace(1.0, 1 / steps, steps))
        reference = []
        for i, t in enumerate(scheduler.timesteps):
            reference.append(x)
            sigma = scheduler.sigmas[i].reshape(1).float()
            v_cond, v_uncond = pipe.dit(x, sigma, cond), pipe.dit(x, sigma, uncond)
            x = scheduler.step(v_uncond + scale * (v_cond - v_uncond), t, x).prev_sample
        image = original(pipe.vae, x)

    assert len(states) == steps
    trajectory, expected = torch.stack([*states, decoded[0]]), torch.stack([*reference, x])
    relative = ((trajectory - expected).norm() / expected.norm()).item()
    assert relative < 1e-5, relative
    assert (x - reference[0]).abs().mean() > 0.1  # the latents actually moved
    expected_pixels = np.asarray(to_pil(image)[0], dtype=np.int16)
    assert np.abs(pixels(ours) - expected_pixels).max() <= 1


def test_a_shared_negative_prompt_is_encoded_once(tiny_files: TinyFiles) -> None:
    pipe = load_tiny(tiny_files)
    negative = "worst quality, blurry"
    [first] = generate(pipe, request("1girl, smile", negative=negative, seed=3, **SMALL))
    assert len(pipe.encoded) == 2  # the prompt and the negative
    [second] = generate(pipe, request("1boy, rain", negative=negative, seed=3, **SMALL))
    assert len(pipe.encoded) == 3  # the negative came from the first call
    [alone] = generate(load_tiny(tiny_files), request("1boy, rain", negative=negative, seed=3, **SMALL))
    assert second.image.tobytes() == alone.image.tobytes() != first.image.tobytes()
