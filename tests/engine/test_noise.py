"""Seeded noise in both conventions: reproducible, batch draws, per-step noise, the start latents."""

import pytest
import torch

from anima_engine.errors import ConfigError
from anima_engine.noise import (
    ComfyNoise,
    GeneratorNoise,
    latent_shape,
    make_generators,
    make_noise,
    noised,
    randn,
)

SHAPE = latent_shape(3, 32, 48)  # (3, 16, 1, 6, 4)


@pytest.mark.parametrize("convention", ["comfyui", "anima"])
def test_same_seed_gives_bit_identical_noise(convention: str) -> None:
    a = make_noise(convention, 123, 3).initial(SHAPE)
    b = make_noise(convention, 123, 3).initial(SHAPE)
    assert a.shape == SHAPE and a.dtype == torch.float32 and a.device.type == "cpu"
    assert torch.equal(a, b)
    assert not torch.equal(a, make_noise(convention, 124, 3).initial(SHAPE))


def test_anima_noise_is_randn_from_a_cpu_generator_per_image_seeded_seed_plus_k() -> None:
    batch = make_noise("anima", 1000, 3).initial(SHAPE)
    for k in range(3):
        expected = torch.randn((1, *SHAPE[1:]), generator=torch.Generator().manual_seed(1000 + k))
        assert torch.equal(batch[k : k + 1], expected)


def test_comfyui_noise_is_one_randn_call_for_the_whole_batch() -> None:
    expected = torch.randn(SHAPE, generator=torch.Generator().manual_seed(7))
    batch = make_noise("comfyui", 7, 3).initial(SHAPE)
    assert torch.equal(batch, expected)
    # The first image equals a one-image draw; the others do not equal a one-image run with seed + k.
    assert torch.equal(batch[:1], make_noise("comfyui", 7, 1).initial((1, *SHAPE[1:])))
    assert not torch.equal(batch[1:2], make_noise("comfyui", 8, 1).initial((1, *SHAPE[1:])))


def test_comfyui_draw_order_is_that_of_a_4d_latent() -> None:
    # ComfyUI's empty latent is (B, 16, H, W) before it gains the time axis; T = 1 keeps the order.
    four_d = torch.randn((3, 16, 6, 4), generator=torch.Generator().manual_seed(5))
    assert torch.equal(ComfyNoise(5).initial(SHAPE), four_d.unsqueeze(2))


def test_anima_generators_continue_into_step_noise_per_image() -> None:
    noise = make_noise("anima", 5, 2)
    noise.initial(latent_shape(2, 16, 16))
    x = torch.zeros(2, 3)
    step = noise.step_noise(x, torch.tensor([1.0, 0.0]), tree="cpu")(torch.tensor(1.0), torch.tensor(0.5))
    single = make_noise("anima", 6, 1)
    single.initial(latent_shape(1, 16, 16))
    expected = single.step_noise(x[:1], torch.tensor([1.0, 0.0]), tree=None)(
        torch.tensor(1.0), torch.tensor(0.5)
    )
    assert torch.equal(step[1:], expected)


def test_comfyui_step_noise_on_the_cpu_uses_seed_plus_one() -> None:
    x = torch.zeros(2, 16, 1, 2, 2)
    draw = ComfyNoise(41).step_noise(x, torch.tensor([1.0, 0.5, 0.0]), tree=None)
    generator = torch.Generator().manual_seed(42)
    first, second = torch.randn(x.shape, generator=generator), torch.randn(x.shape, generator=generator)
    assert torch.equal(draw(torch.tensor(1.0), torch.tensor(0.5)), first)
    assert torch.equal(draw(torch.tensor(0.5), torch.tensor(0.0)), second)


def test_brownian_step_noise_is_standard_normal_and_depends_only_on_the_interval() -> None:
    x = torch.zeros(4, 16, 1, 16, 16)
    sigmas = torch.tensor([1.0, 0.75, 0.5, 0.25, 0.0])
    a = ComfyNoise(3).step_noise(x, sigmas, tree="cpu")
    b = ComfyNoise(3).step_noise(x, sigmas, tree="cpu")
    late = b(sigmas[2], sigmas[3])  # queried out of order
    early = b(sigmas[0], sigmas[1])
    assert torch.equal(a(sigmas[0], sigmas[1]), early) and torch.equal(a(sigmas[2], sigmas[3]), late)
    assert abs(early.mean().item()) < 0.05 and early.std().item() == pytest.approx(1, abs=0.05)
    assert abs(torch.corrcoef(torch.stack([early.flatten(), late.flatten()]))[0, 1].item()) < 0.05
    assert not torch.equal(early, ComfyNoise(4).step_noise(x, sigmas, tree="cpu")(sigmas[0], sigmas[1]))


def test_noised_is_the_flow_forward_process() -> None:
    x0, eps = torch.full((1, 2), 2.0), torch.full((1, 2), -1.0)
    assert torch.equal(noised(x0, eps, torch.tensor(0.25)), torch.full((1, 2), 0.25 * -1 + 0.75 * 2))
    assert torch.equal(noised(None, eps, torch.tensor(1.0)), eps)  # txt2img at σ = 1 is the noise itself
    assert torch.equal(noised(None, eps, torch.tensor(0.5)), 0.5 * eps)


@pytest.mark.parametrize(("width", "height"), [(1000, 1024), (1024, 8), (0, 16)])
def test_sizes_must_be_multiples_of_16(width: int, height: int) -> None:
    with pytest.raises(ConfigError, match=f"multiples of 16, got {width}x{height}"):
        latent_shape(1, width, height)


def test_generator_count_must_match_the_batch() -> None:
    with pytest.raises(ConfigError, match="got 2 generators for a batch of 3"):
        randn((3, 4), make_generators(0, 2))


@pytest.mark.parametrize(("seed", "batch"), [(-1, 1), (2**64 - 1, 2), (0, 0)])
@pytest.mark.parametrize("convention", ["comfyui", "anima"])
def test_bad_seeds_and_batches(seed: int, batch: int, convention: str) -> None:
    with pytest.raises(ConfigError):
        make_noise(convention, seed, batch)


def test_unknown_convention() -> None:
    with pytest.raises(ConfigError, match="unknown noise convention 'a1111'; expected one of comfyui, anima"):
        make_noise("a1111", 0, 1)


def test_global_rng_source_draws_from_torch_global_generator() -> None:
    torch.manual_seed(9)
    drawn = GeneratorNoise().initial((2, 3))
    torch.manual_seed(9)
    assert torch.equal(drawn, torch.randn(2, 3))
