"""DiT building blocks on toy sizes: shapes, orderings and the identities the architecture implies."""

import math

import torch
import torch.nn.functional as F

from anima_engine._tiny import randomize
from anima_engine.attention import rope_3d
from anima_engine.config import DiTParams
from anima_engine.layers import Block, FinalLayer, PatchEmbed, Timesteps, modulate

PARAMS = DiTParams(
    in_channels=4, out_channels=4, model_channels=48, num_blocks=1, num_heads=2, mlp_channels=96,
    context_channels=16, adaln_lora_dim=8,
)  # fmt: skip


def test_timesteps_are_cos_then_sin_of_raw_sigma() -> None:
    sinusoid = Timesteps(8, 10000.0)(torch.tensor([0.0, 0.5]))
    assert sinusoid.dtype == torch.float32 and sinusoid.shape == (2, 8)
    assert torch.equal(sinusoid[0], torch.tensor([1.0] * 4 + [0.0] * 4))
    freqs = torch.tensor([math.exp(-math.log(10000.0) * k / 4) for k in range(4)])
    torch.testing.assert_close(sinusoid[1], torch.cat([(0.5 * freqs).cos(), (0.5 * freqs).sin()]))


def test_timesteps_use_float32_sigma() -> None:
    sigma = torch.tensor([0.98864])
    assert torch.equal(Timesteps(16, 10000.0)(sigma.double()), Timesteps(16, 10000.0)(sigma))


def test_patch_vectors_are_channel_major() -> None:
    embed = PatchEmbed(PARAMS)
    x = torch.arange(1 * 5 * 1 * 4 * 6, dtype=torch.float32).reshape(1, 5, 1, 4, 6)
    patches = embed.proj[0](x)  # (B, N, (c r m n))
    assert patches.shape == (1, 2 * 3, 5 * 4)
    token = 1 * 3 + 2  # row 1, column 2 of the 2×3 token grid
    expected = [x[0, c, 0, 2 + m, 4 + n].item() for c in range(5) for m in range(2) for n in range(2)]
    assert patches[0, token].tolist() == expected


def test_modulate_is_layer_norm_scaled_and_shifted() -> None:
    x, shift, scale = torch.randn(2, 5, 8), torch.randn(2, 1, 8), torch.randn(2, 1, 8)
    expected = F.layer_norm(x, (8,), eps=1e-6) * (1 + scale) + shift
    torch.testing.assert_close(modulate(x, shift, scale, 1e-6), expected)


def _block_inputs() -> tuple[torch.Tensor, ...]:
    x = torch.randn(2, 6, 48)
    emb, adaln_lora = torch.randn(2, 1, 48), torch.randn(2, 1, 144)
    context = torch.randn(2, 9, 16)
    return x, emb, adaln_lora, context, rope_3d((1, 2, 3), PARAMS.rope_dims, (1e4, 4e4, 4e4), x.device)


def test_block_shapes_and_determinism() -> None:
    block = randomize(Block(PARAMS), seed=0)
    inputs = _block_inputs()
    out = block(*inputs)
    assert out.shape == inputs[0].shape and torch.isfinite(out).all()
    assert torch.equal(out, randomize(Block(PARAMS), seed=0)(*inputs))


def test_block_with_zero_gates_is_the_identity() -> None:
    block = randomize(Block(PARAMS), seed=0)
    for branch in (
        block.adaln_modulation_self_attn,
        block.adaln_modulation_cross_attn,
        block.adaln_modulation_mlp,
    ):
        torch.nn.init.zeros_(branch[2].weight)
    x, emb, _, context, rope = _block_inputs()
    assert torch.equal(block(x, emb, torch.zeros(2, 1, 144), context, rope), x)


def test_block_gates_scale_the_residual_updates() -> None:
    block = randomize(Block(PARAMS), seed=0)
    x, emb, adaln_lora, context, rope = _block_inputs()
    assert not torch.allclose(block(x, emb, adaln_lora, context, rope), x)


def test_final_layer_uses_the_first_two_thirds_of_adaln_lora() -> None:
    layer = randomize(FinalLayer(PARAMS), seed=0)
    x, emb, adaln_lora, _, _ = _block_inputs()
    out = layer(x, emb, adaln_lora)
    assert out.shape == (2, 6, 1 * 2 * 2 * 4)
    changed_tail = adaln_lora.clone()
    changed_tail[..., 96:] = 0
    assert torch.equal(layer(x, emb, changed_tail), out)
