"""CPU-seeded noise: reproducible, batch-independent, and the img2img starting point."""

import pytest
import torch

from anima_engine.errors import ConfigError
from anima_engine.noise import img2img_start, initial_noise, latent_shape, make_generators, randn
from anima_engine.schedules import make_sigmas


def test_same_seed_gives_bit_identical_noise() -> None:
    a = initial_noise(make_generators(123, 2), 64, 48)
    b = initial_noise(make_generators(123, 2), 64, 48)
    assert a.shape == (2, 16, 1, 6, 8) and a.dtype == torch.float32
    assert torch.equal(a, b)
    assert not torch.equal(a, initial_noise(make_generators(124, 2), 64, 48))


def test_noise_is_torch_randn_from_a_cpu_generator_seeded_with_the_seed() -> None:
    expected = torch.randn((1, 16, 1, 4, 4), generator=torch.Generator("cpu").manual_seed(7))
    assert torch.equal(initial_noise(make_generators(7), 32, 32), expected)


def test_batch_element_k_equals_a_single_run_with_seed_plus_k() -> None:
    batch = initial_noise(make_generators(1000, 4), 32, 32)
    for k in range(4):
        assert torch.equal(batch[k : k + 1], initial_noise(make_generators(1000 + k), 32, 32))


def test_generators_continue_into_sampler_noise_per_image() -> None:
    gens = make_generators(5, 2)
    initial_noise(gens, 32, 32)
    step = randn((2, 3), gens)
    single = make_generators(6)
    initial_noise(single, 32, 32)
    assert torch.equal(step[1:], randn((1, 3), single))


def test_noise_moves_to_the_requested_device() -> None:
    assert initial_noise(make_generators(0), 16, 16, device="meta").device.type == "meta"


@pytest.mark.parametrize(("width", "height"), [(1000, 1024), (1024, 8), (0, 16)])
def test_sizes_must_be_multiples_of_16(width: int, height: int) -> None:
    with pytest.raises(ConfigError, match=f"multiples of 16, got {width}x{height}"):
        latent_shape(1, width, height)


def test_generator_count_must_match_the_batch() -> None:
    with pytest.raises(ConfigError, match="got 2 generators for a batch of 3"):
        randn((3, 4), make_generators(0, 2))


@pytest.mark.parametrize(("seed", "batch"), [(-1, 1), (2**64 - 1, 2), (0, 0)])
def test_bad_seeds_and_batches(seed: int, batch: int) -> None:
    with pytest.raises(ConfigError):
        make_generators(seed, batch)


def test_img2img_starts_at_the_matching_sigma() -> None:
    sigmas = make_sigmas("simple", 30)
    x0 = torch.randn(1, 16, 1, 4, 4, generator=torch.Generator().manual_seed(3))
    x, truncated = img2img_start(x0, sigmas, 0.5, torch.Generator().manual_seed(9))
    assert torch.equal(truncated, sigmas[15:])  # the last 15 of 30 steps
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(9))
    sigma = sigmas[15]
    assert torch.allclose(x, (1 - sigma) * x0 + sigma * eps)


def test_img2img_strength_one_is_pure_noise_and_tiny_strength_keeps_one_step() -> None:
    sigmas = make_sigmas("normal", 10)
    x0 = torch.ones(1, 16, 1, 2, 2)
    x, truncated = img2img_start(x0, sigmas, 1.0, torch.Generator().manual_seed(0))
    assert torch.equal(truncated, sigmas)
    assert torch.equal(x, torch.randn(x0.shape, generator=torch.Generator().manual_seed(0)))
    _, truncated = img2img_start(x0, sigmas, 0.01, None)
    assert len(truncated) == 2


@pytest.mark.parametrize("strength", [0.0, 1.5, -0.2])
def test_img2img_strength_range(strength: float) -> None:
    with pytest.raises(ConfigError, match=r"`strength` must be in \(0, 1\]"):
        img2img_start(torch.zeros(1, 16, 1, 2, 2), make_sigmas("simple", 4), strength, None)
