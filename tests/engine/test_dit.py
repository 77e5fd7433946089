"""The DiT on toy sizes: shapes, dtypes, RoPE caching, mask-free padding, compile-friendliness, real size."""

import dataclasses

import pytest
import torch

from anima_engine._tiny import TINY_DIT, randomize
from anima_engine.adapter import LLMAdapter
from anima_engine.config import PRESETS, DiTParams
from anima_engine.dit import DiT


@pytest.fixture(scope="module")
def dit() -> DiT:
    return randomize(DiT(TINY_DIT), seed=0).eval()


def _inputs(batch: int = 2, h: int = 6, w: int = 10, length: int = 512) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(batch, TINY_DIT.in_channels, 1, h, w, generator=generator)
    sigma = torch.rand(batch, generator=generator)
    context = torch.randn(batch, length, TINY_DIT.context_channels, generator=generator)
    return x, sigma, context


def test_velocity_shape_dtype_and_determinism(dit: DiT) -> None:
    x, sigma, context = _inputs()
    with torch.no_grad():
        v = dit(x, sigma, context)
        again = randomize(DiT(TINY_DIT), seed=0).eval()(x, sigma, context)
    assert v.shape == x.shape and v.dtype == torch.float32
    assert torch.isfinite(v).all()
    assert torch.equal(v, again)


def test_batch_rows_are_independent(dit: DiT) -> None:
    x, sigma, context = _inputs(batch=3)
    with torch.no_grad():
        whole = dit(x, sigma, context)
        single = dit(x[1:2], sigma[1:2], context[1:2])
    torch.testing.assert_close(whole[1:2], single, rtol=1e-5, atol=1e-5)


def test_sigma_changes_the_prediction(dit: DiT) -> None:
    x, sigma, context = _inputs()
    with torch.no_grad():
        assert not torch.allclose(dit(x, sigma, context), dit(x, sigma * 0.5, context))


def test_zero_padding_rows_are_part_of_the_numerics(dit: DiT) -> None:
    """Cross-attention has no mask: extra zero rows add exp(0) to the softmax denominator."""
    x, sigma, context = _inputs()
    longer = torch.cat([context, torch.zeros(2, 8, TINY_DIT.context_channels)], dim=1)
    with torch.no_grad():
        assert not torch.allclose(dit(x, sigma, context), dit(x, sigma, longer), atol=1e-6)


def test_rope_tables_are_cached_per_grid(dit: DiT) -> None:
    cpu = torch.device("cpu")
    assert dit.rope((1, 3, 5), cpu) is dit.rope((1, 3, 5), cpu)
    assert dit.rope((1, 5, 3), cpu).shape == (2, 15, 1, TINY_DIT.head_dim)
    assert not torch.equal(dit.rope((1, 5, 3), cpu), dit.rope((1, 3, 5), cpu))


def test_rope_cache_built_under_inference_mode_serves_autograd(dit: DiT) -> None:
    fresh = randomize(DiT(TINY_DIT), seed=0)
    x, sigma, context = _inputs()
    with torch.inference_mode():
        fresh(x, sigma, context)
    fresh(x, sigma, context).sum().backward()
    assert fresh.x_embedder.proj[1].weight.grad is not None


@pytest.mark.parametrize("shape", [(2, 16, 1, 5, 10), (2, 4, 1, 6, 10), (2, 16, 1, 6, 7)])
def test_bad_latent_shapes_are_refused(dit: DiT, shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"DiT input: got latents of shape .* expected \(B, 16, T, H, W\)"):
        dit(torch.zeros(shape), torch.zeros(2), torch.zeros(2, 512, 32))


@pytest.mark.parametrize(
    ("sigma_shape", "context_shape", "message"),
    [
        ((), (2, 512, 32), r"got sigma of shape \(\), expected \(2,\)"),
        ((2,), (2, 512, 16), r"got context of shape \(2, 512, 16\), expected \(2, L, 32\)"),
        ((2,), (1, 512, 32), r"got context of shape \(1, 512, 32\)"),
    ],
)
def test_bad_sigma_and_context_are_refused(
    dit: DiT, sigma_shape: tuple[int, ...], context_shape: tuple[int, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        dit(torch.zeros(2, 16, 1, 4, 4), torch.zeros(sigma_shape), torch.zeros(context_shape))


def test_bfloat16_weights_keep_the_float32_interface(dit: DiT) -> None:
    x, sigma, context = _inputs()
    low = randomize(DiT(TINY_DIT), seed=0).eval().to(torch.bfloat16)
    with torch.no_grad():
        v = low(x, sigma, context)
        reference = dit(x, sigma, context)
    assert v.dtype == torch.float32
    assert ((v - reference).norm() / reference.norm()).item() < 3e-2


def test_forward_compiles_without_graph_breaks() -> None:
    one_block = randomize(DiT(dataclasses.replace(TINY_DIT, num_blocks=1)), seed=0).eval()
    x, sigma, context = _inputs()
    compiled = torch.compile(one_block, backend="eager", fullgraph=True)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x, sigma, context), one_block(x, sigma, context))


def test_real_size_parameter_counts() -> None:
    spec = PRESETS["anima"]
    with torch.device("meta"):
        dit, adapter = DiT(spec.dit), LLMAdapter(spec.adapter)
    assert sum(p.numel() for p in dit.parameters()) == 1_956_405_248
    assert sum(p.numel() for p in adapter.parameters()) == 134_663_680
    assert len(dit.state_dict()) + len(adapter.state_dict()) == 685  # tensors in the official file
    assert all(".bias" not in key for key in dit.state_dict())


def test_block_count_follows_params() -> None:
    with torch.device("meta"):
        dit = DiT(DiTParams(num_blocks=30))
    assert len(dit.blocks) == 30
