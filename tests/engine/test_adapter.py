"""The LLM adapter on toy sizes: output length, weighted rows, exactly-zero padding, positions."""

import dataclasses

import pytest
import torch

from anima_engine._tiny import TINY_ADAPTER, randomize
from anima_engine.adapter import LLMAdapter, adapt
from anima_engine.text_encoder import TextFeatures


@pytest.fixture(scope="module")
def adapter() -> LLMAdapter:
    return randomize(LLMAdapter(TINY_ADAPTER), seed=0).eval()


def run(
    adapter: LLMAdapter, states: torch.Tensor, ids: torch.Tensor, weights: torch.Tensor | None = None
) -> torch.Tensor:
    with torch.no_grad():
        return adapter(states, ids, weights)


def _inputs(batch: int = 2, target: int = 7, source: int = 11) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    states = torch.randn(batch, source, TINY_ADAPTER.source_dim, generator=generator)
    ids = torch.randint(0, TINY_ADAPTER.vocab_size, (batch, target), generator=generator)
    return states, ids


def test_output_is_zero_padded_to_the_minimum_length(adapter: LLMAdapter) -> None:
    states, ids = _inputs()
    out = run(adapter, states, ids)
    assert out.shape == (2, 512, TINY_ADAPTER.target_dim)
    assert torch.isfinite(out).all()
    assert torch.equal(out[:, 7:], torch.zeros(2, 505, TINY_ADAPTER.target_dim))
    assert (out[:, :7].abs().sum(-1) > 0).all()


def test_longer_prompts_are_not_truncated(adapter: LLMAdapter) -> None:
    small = dataclasses.replace(TINY_ADAPTER, min_length=4)
    states, ids = _inputs(target=9)
    model = randomize(LLMAdapter(small), seed=0).eval()
    assert run(model, states, ids).shape == (2, 9, TINY_ADAPTER.target_dim)


def test_weights_scale_rows(adapter: LLMAdapter) -> None:
    states, ids = _inputs()
    weights = torch.tensor([[1.0, 1.2, 1.2, 0.5, 1.0, 1.0, 1.0]] * 2)
    plain = run(adapter, states, ids)
    weighted = run(adapter, states, ids, weights)
    torch.testing.assert_close(weighted[:, :7], plain[:, :7] * weights[..., None])
    torch.testing.assert_close(run(adapter, states, ids, torch.ones(2, 7)), plain)


def test_same_seed_same_output(adapter: LLMAdapter) -> None:
    states, ids = _inputs()
    again = randomize(LLMAdapter(TINY_ADAPTER), seed=0).eval()
    assert torch.equal(run(adapter, states, ids), run(again, states, ids))


def test_token_order_matters(adapter: LLMAdapter) -> None:
    """RoPE over the T5 positions: swapping two tokens changes more than the order of the rows."""
    states, ids = _inputs(batch=1)
    swapped = ids[:, [1, 0, 2, 3, 4, 5, 6]]
    out, out_swapped = run(adapter, states, ids), run(adapter, states, swapped)
    assert not torch.allclose(out[:, [1, 0]], out_swapped[:, :2], atol=1e-5)


@pytest.mark.parametrize(
    ("states_shape", "ids_shape", "weights_shape", "message"),
    [
        ((2, 11, 32), (2, 7), (2, 6), r"got weights of shape \(2, 6\), expected the ids' shape \(2, 7\)"),
        ((1, 11, 32), (2, 7), None, r"got states \(1, 11, 32\) and ids \(2, 7\)"),
        ((2, 11, 32), (7,), None, r"expected \(B, Ls, Ds\) and \(B, Lt\)"),
    ],
)
def test_bad_shapes_are_refused(
    adapter: LLMAdapter,
    states_shape: tuple[int, ...],
    ids_shape: tuple[int, ...],
    weights_shape: tuple[int, ...] | None,
    message: str,
) -> None:
    weights = None if weights_shape is None else torch.ones(weights_shape)
    with pytest.raises(ValueError, match=message):
        adapter(torch.zeros(states_shape), torch.zeros(ids_shape, dtype=torch.long), weights)


def test_adapt_takes_text_features(adapter: LLMAdapter) -> None:
    states, ids = _inputs(batch=1)
    weights = torch.linspace(0.5, 1.5, 7)[None]
    features = TextFeatures(qwen_states=states, t5_ids=ids, t5_weights=weights)
    context = adapt(adapter, features)
    assert not context.requires_grad
    assert torch.equal(context, run(adapter, states, ids, weights))
