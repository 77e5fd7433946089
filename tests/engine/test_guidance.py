"""CFG: one batched forward, skipped uncond at scale 1, contexts of different lengths batched exactly."""

import pytest
import torch
from torch import Tensor, nn

from anima_engine.errors import ConfigError
from anima_engine.guidance import cfg, joint_context


def cross_attention(query: Tensor, context: Tensor, weights: tuple[Tensor, Tensor, Tensor]) -> Tensor:
    """The DiT's cross-attention in miniature: bias-free projections, k-RMSNorm, no mask."""
    wq, wk, wv = weights
    k = nn.functional.rms_norm(context @ wk, (wk.shape[1],), eps=1e-6)
    return nn.functional.scaled_dot_product_attention(query @ wq, k, context @ wv)


class CountingModel:
    """A velocity model that cross-attends to its context; records the batch size of every call."""

    def __init__(self) -> None:
        self.batches: list[int] = []
        g = torch.Generator().manual_seed(0)
        self.weights = (
            torch.randn(4, 8, generator=g),
            torch.randn(8, 8, generator=g),
            torch.randn(8, 1, generator=g),
        )

    def __call__(self, x: Tensor, sigma: Tensor, context: Tensor) -> Tensor:
        self.batches.append(x.shape[0])
        tokens = x.flatten(2).transpose(1, 2)  # (B, N, 4)
        attended = (
            cross_attention(tokens, context, self.weights)
            .transpose(1, 2)
            .reshape(x.shape[0], 1, *x.shape[2:])
        )
        return torch.tanh(x) * sigma.reshape(-1, 1, 1, 1, 1) + attended


def latents(batch: int = 2) -> Tensor:
    return torch.randn(batch, 4, 1, 3, 3, generator=torch.Generator().manual_seed(1))


def contexts(batch: int = 2) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(2)
    return torch.randn(batch, 6, 8, generator=g), torch.randn(batch, 4, 8, generator=g)


def test_scale_one_runs_only_the_conditional_pass() -> None:
    model = CountingModel()
    cond, _ = contexts()
    x, sigma = latents(), torch.tensor([0.7, 0.7])
    out = cfg(model, cond, None, 1.0)(x, sigma)
    assert model.batches == [2]
    assert torch.allclose(out, x - 0.7 * model(x, sigma, cond))


def test_batched_cfg_equals_two_separate_passes() -> None:
    model = CountingModel()
    cond, uncond = contexts()
    x, sigma = latents(), torch.tensor([0.4, 0.4])
    out = cfg(model, cond, uncond, 4.5)(x, sigma)
    assert model.batches == [4]  # one forward with (cond, uncond) stacked
    x0_c = x - 0.4 * model(x, sigma, cond)
    x0_u = x - 0.4 * model(x, sigma, uncond)
    assert torch.allclose(out, x0_u + 4.5 * (x0_c - x0_u), atol=1e-6)
    # the same as guiding the velocity
    v = model(x, sigma, uncond) + 4.5 * (model(x, sigma, cond) - model(x, sigma, uncond))
    assert torch.allclose(out, x - 0.4 * v, atol=1e-5)


def test_single_context_is_shared_across_the_latent_batch() -> None:
    model = CountingModel()
    cond, uncond = contexts(1)
    out = cfg(model, cond, uncond, 2.0)(latents(3), torch.full((3,), 0.5))
    assert out.shape == (3, 4, 1, 3, 3) and model.batches == [6]


def test_joint_context_stacks_equal_lengths_and_repeats_small_multiples() -> None:
    cond, uncond = torch.randn(2, 512, 8), torch.randn(2, 512, 8)
    assert torch.equal(joint_context(cond, uncond), torch.cat([cond, uncond]))
    long = torch.randn(2, 1024, 8)
    joint = joint_context(long, uncond)
    assert joint is not None and joint.shape == (4, 1024, 8)
    assert torch.equal(joint[2:, :512], uncond) and torch.equal(joint[2:, 512:], uncond)
    assert joint_context(torch.randn(2, 600, 8), uncond) is None  # lcm 38400: two passes instead


def test_repeating_a_context_is_exact_and_zero_padding_is_not() -> None:
    g = torch.Generator().manual_seed(3)
    weights = (torch.randn(8, 8, generator=g), torch.randn(8, 8, generator=g), torch.randn(8, 8, generator=g))
    query = torch.randn(1, 5, 8, generator=g)
    # An adapter output: 20 text rows, zero-padded to 512.
    context = torch.cat([torch.randn(1, 20, 8, generator=g), torch.zeros(1, 492, 8)], dim=1)
    reference = cross_attention(query, context, weights)
    torch.testing.assert_close(cross_attention(query, context.repeat(1, 2, 1), weights), reference)
    # A zero key adds exp(0) to the softmax denominator: more zero rows dilute the attention.
    padded = torch.cat([context, torch.zeros(1, 88, 8)], dim=1)
    assert (cross_attention(query, padded, weights) - reference).abs().max() > 1e-4


def test_contexts_of_different_lengths_give_the_same_result_as_separate_passes() -> None:
    g = torch.Generator().manual_seed(4)
    x, sigma = latents(), torch.tensor([0.9, 0.9])
    for cond_length in (1024, 600):  # batched with a repeat, then two passes
        model = CountingModel()
        cond, uncond = torch.randn(2, cond_length, 8, generator=g), torch.randn(2, 512, 8, generator=g)
        out = cfg(model, cond, uncond, 3.0)(x, sigma)
        assert model.batches == ([4] if cond_length == 1024 else [2, 2])
        x0_c, x0_u = x - 0.9 * model(x, sigma, cond), x - 0.9 * model(x, sigma, uncond)
        torch.testing.assert_close(out, x0_u + 3.0 * (x0_c - x0_u))


@pytest.mark.parametrize(
    ("scale", "uncond", "message"),
    [
        (-1.0, torch.zeros(1, 4, 8), "CFG scale must be >= 0, got -1.0"),
        (4.0, None, "CFG scale 4.0 needs an unconditional context"),
        (
            4.0,
            torch.zeros(1, 4, 7),
            "cond and uncond contexts must be (B, L, D) with the same D, got (1, 6, 8) and (1, 4, 7)",
        ),
    ],
)
def test_bad_guidance_arguments(scale: float, uncond: Tensor | None, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        cfg(CountingModel(), torch.zeros(1, 6, 8), uncond, scale)
    assert str(info.value) == message


def test_mismatched_context_batch_is_reported() -> None:
    denoise = cfg(CountingModel(), torch.zeros(2, 6, 8), torch.zeros(2, 6, 8), 2.0)
    with pytest.raises(ConfigError, match="context batch 2 does not match latent batch 3"):
        denoise(latents(3), torch.full((3,), 0.5))
