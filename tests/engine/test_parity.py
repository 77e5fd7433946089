"""Parity with diffusers (the test-time reference): the same random weights in both, float32 on CPU.

The documented ComfyUI/diffusers differences (engine-spec §6) are set explicitly so the comparison is
exact: diffusers' q/k RMSNorm eps is set to ComfyUI's 1e-6, σ is given to both in float32, and diffusers'
DiT is built with `in_channels=17, concat_padding_mask=False` and gets the zero mask channel from us
(its own mask path needs torchvision).
"""

import dataclasses

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from anima_engine._tiny import TinyFiles, randomize
from anima_engine.adapter import LLMAdapter, adapt
from anima_engine.config import AdapterParams, DiTParams, TextEncoderParams
from anima_engine.dit import DiT
from anima_engine.loading import load_dit, load_text_encoder
from anima_engine.qwen3 import Qwen3
from tests.support.reference import reference_adapter, reference_dit

diffusers = pytest.importorskip("diffusers")


def relative_error(ours: Tensor, reference: Tensor) -> float:
    return ((ours - reference).norm() / reference.norm()).item()


DIT_CASES = {
    # head dim 24: RoPE split (t, h, w) = (8, 8, 8); non-square latents; context longer than 512
    "hd24": (DiTParams(in_channels=16, model_channels=48, num_blocks=2, num_heads=2, mlp_channels=96,
                       context_channels=16, adaln_lora_dim=8), (2, 10, 6), 520),
    # head dim 36: split (12, 12, 12); three heads; batch 3; 4-channel latents
    "hd36": (DiTParams(in_channels=4, out_channels=4, model_channels=108, num_blocks=3, num_heads=3,
                       mlp_channels=216, context_channels=24, adaln_lora_dim=12), (3, 6, 14), 600),
    # head dim 30: uneven split (t, h, w) = (10, 10, 10) with 5 frequencies each; short context
    "hd30": (DiTParams(in_channels=16, model_channels=60, num_blocks=1, num_heads=2, mlp_channels=120,
                       context_channels=16, adaln_lora_dim=4), (2, 8, 8), 512),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(DIT_CASES))
def test_dit_matches_diffusers(case: str) -> None:
    params, (batch, h, w), context_len = DIT_CASES[case]
    ours = randomize(DiT(params), seed=1).eval()
    reference = reference_dit(params, ours.state_dict())
    generator = torch.Generator().manual_seed(2)
    x = torch.randn(batch, params.in_channels, 1, h, w, generator=generator)
    sigma = torch.rand(batch, generator=generator)
    context = torch.randn(batch, context_len, params.context_channels, generator=generator)
    context[:, context_len - 40 :] = 0  # zero padding rows, unmasked in both
    with torch.no_grad():
        expected = reference(
            hidden_states=torch.cat([x, torch.zeros(batch, 1, 1, h, w)], dim=1),
            timestep=sigma,
            encoder_hidden_states=context,
            return_dict=False,
        )[0]
        got = ours(x, sigma, context)
    assert got.shape == expected.shape == (batch, params.out_channels, 1, h, w)
    assert relative_error(got, expected) < 1e-5


def test_dit_parity_is_sensitive() -> None:
    """The comparison detects a wrong RoPE base: the h/w extrapolation ratio changes the output."""
    params, (batch, h, w), context_len = DIT_CASES["hd24"]
    ours = randomize(DiT(params), seed=1).eval()
    reference = reference_dit(
        dataclasses.replace(params, rope_extrapolation=(1.0, 1.0, 1.0)), ours.state_dict()
    )
    x = torch.randn(batch, params.in_channels, 1, h, w)
    sigma, context = torch.rand(batch), torch.randn(batch, context_len, params.context_channels)
    with torch.no_grad():
        expected = reference(torch.cat([x, torch.zeros(batch, 1, 1, h, w)], dim=1), sigma, context)[0]
        assert relative_error(ours(x, sigma, context), expected) > 1e-4


TINY_ADAPTER = AdapterParams(
    source_dim=24, target_dim=32, model_dim=32, num_blocks=2, num_heads=4, mlp_channels=64, vocab_size=128
)


@pytest.mark.parametrize(
    ("batch", "target_len", "source_len", "min_length"),
    [(1, 5, 9, 8), (2, 12, 3, 8), (3, 7, 7, 512)],
)
def test_adapter_matches_diffusers(batch: int, target_len: int, source_len: int, min_length: int) -> None:
    params = dataclasses.replace(TINY_ADAPTER, min_length=min_length)
    ours = randomize(LLMAdapter(params), seed=3).eval()
    reference = reference_adapter(params, ours.state_dict())
    generator = torch.Generator().manual_seed(4)
    states = torch.randn(batch, source_len, params.source_dim, generator=generator)
    ids = torch.randint(0, params.vocab_size, (batch, target_len), generator=generator)
    weights = 0.5 + torch.rand(batch, target_len, generator=generator)
    with torch.no_grad():
        expected = reference(states, ids)
        got = ours(states, ids)
        weighted = ours(states, ids, weights)
    assert got.shape == expected.shape == (batch, max(target_len, min_length), params.target_dim)
    assert relative_error(got, expected) < 1e-5
    # ComfyUI multiplies the adapter's rows by the T5 weights before zero-padding.
    assert relative_error(weighted[:, :target_len], expected[:, :target_len] * weights[..., None]) < 1e-5
    assert torch.equal(weighted[:, target_len:], torch.zeros_like(weighted[:, target_len:]))


def test_text_conditioning_path_matches_diffusers() -> None:
    """Qwen3 last hidden states -> adapter: ours and diffusers' conditioner give the same context."""
    encoder_params = TextEncoderParams(
        vocab_size=300,
        hidden_size=24,
        intermediate_size=48,
        num_layers=2,
        num_heads=4,
        num_kv_heads=2,
        head_dim=6,
    )
    encoder = randomize(Qwen3(encoder_params), seed=5).eval()
    ours = randomize(LLMAdapter(TINY_ADAPTER), seed=6).eval()
    reference = reference_adapter(TINY_ADAPTER, ours.state_dict())
    qwen_ids = torch.tensor([[17, 250, 3, 99, 141, 8]])
    t5_ids = torch.tensor([[5, 77, 12, 1]])
    with torch.no_grad():
        states = encoder(qwen_ids)
        expected = reference(states, t5_ids)
        got = ours(states, t5_ids, torch.ones(1, 4))
    assert got.shape == (1, 512, TINY_ADAPTER.target_dim)
    assert relative_error(got, expected) < 1e-5


def test_prompt_to_context_through_the_loaders_matches_diffusers(tiny_files: TinyFiles) -> None:
    """Tiny files -> tokenizers -> Qwen3 -> our adapter, against diffusers' conditioner on the same states."""
    encoder = load_text_encoder(tiny_files.text_encoder, tokenizer_dir=tiny_files.tokenizer_dir)
    adapter = load_dit(tiny_files.dit).adapter
    reference = reference_adapter(adapter.params, adapter.state_dict())
    features = encoder.encode([("a cat, ", 1.0), ("sitting", 1.3)])
    context = adapt(adapter, features)
    padding = adapter.params.min_length - features.t5_ids.shape[1]
    with torch.no_grad():
        expected = reference(features.qwen_states, features.t5_ids)
    expected = expected * F.pad(features.t5_weights, (0, padding))[..., None]  # ComfyUI's T5 weights
    assert 1.3 in features.t5_weights
    assert relative_error(context, expected) < 1e-5
