"""Attention and RoPE functions: against direct formulas and the properties the DiT relies on."""

import math

import pytest
import torch

from anima_engine.attention import apply_rope, attention, ntk_theta, rope_1d, rope_3d, rope_angles


def test_attention_is_softmax_attention() -> None:
    q, k, v = torch.randn(2, 5, 3, 8), torch.randn(2, 7, 3, 8), torch.randn(2, 7, 3, 8)
    weights = torch.softmax(torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(8), dim=-1)
    expected = torch.einsum("bhqk,bkhd->bqhd", weights, v).reshape(2, 5, 24)
    torch.testing.assert_close(attention(q, k, v), expected)


def test_ntk_theta_for_the_anima_head() -> None:
    # engine-spec §1.3 step 4: θ_h = θ_w = 10000·4^(42/40) = 42,870.94; θ_t = 10000
    assert ntk_theta(10000.0, 4.0, 42) == pytest.approx(42870.94, abs=0.01)
    assert ntk_theta(10000.0, 1.0, 44) == 10000.0


def test_rope_angles_formula() -> None:
    angles = rope_angles(4, 8, 100.0, torch.device("cpu"))
    freqs = torch.tensor([100.0 ** (-j / 8) for j in (0, 2, 4, 6)])
    torch.testing.assert_close(angles, torch.arange(4.0)[:, None] * freqs[None, :])


def test_rope_3d_layout() -> None:
    dims, thetas = (8, 6, 6), (10.0, 20.0, 30.0)
    table = rope_3d((1, 3, 4), dims, thetas, torch.device("cpu"))
    assert table.shape == (2, 12, 1, 20) and table.dtype == torch.float32
    angles = torch.atan2(table[1, :, 0], table[0, :, 0])  # (N, 20): [t 4, h 3, w 3] twice
    torch.testing.assert_close(angles[:, :10], angles[:, 10:])
    assert torch.equal(angles[:, :4], torch.zeros(12, 4))  # single frame: t = 0
    grid = angles[:, 4:10].reshape(3, 4, 6)
    h_angles = rope_angles(3, 6, 20.0, torch.device("cpu"))
    w_angles = rope_angles(4, 6, 30.0, torch.device("cpu"))
    torch.testing.assert_close(grid[:, :, :3], h_angles[:, None, :].expand(3, 4, 3))  # rows
    torch.testing.assert_close(grid[:, :, 3:], w_angles[None, :, :].expand(3, 4, 3))  # columns


def test_apply_rope_rotates_half_pairs() -> None:
    x = torch.randn(2, 6, 3, 8)
    table = rope_1d(6, 8, 10000.0, torch.device("cpu"))
    out = apply_rope(x, table)
    torch.testing.assert_close(out[:, 0], x[:, 0])  # position 0 is the identity
    pair_norm = x[..., :4] ** 2 + x[..., 4:] ** 2
    torch.testing.assert_close(out[..., :4] ** 2 + out[..., 4:] ** 2, pair_norm)
    angle = rope_angles(6, 8, 10000.0, torch.device("cpu"))[2, 1]
    expected = x[:, 2, :, 1] * torch.cos(angle) - x[:, 2, :, 5] * torch.sin(angle)
    torch.testing.assert_close(out[:, 2, :, 1], expected)


def test_rope_scores_depend_on_relative_position() -> None:
    q, k = torch.randn(1, 1, 1, 16), torch.randn(1, 1, 1, 16)
    table = rope_1d(10, 16, 10000.0, torch.device("cpu"))

    def score(i: int, j: int) -> torch.Tensor:
        return (apply_rope(q, table[:, i : i + 1]) * apply_rope(k, table[:, j : j + 1])).sum()

    torch.testing.assert_close(score(2, 5), score(6, 9))
    assert not torch.allclose(score(2, 5), score(2, 6))


def test_apply_rope_keeps_dtype_and_rotates_in_float32() -> None:
    x = torch.randn(1, 4, 2, 8)
    table = rope_1d(4, 8, 10000.0, torch.device("cpu"))
    out = apply_rope(x.bfloat16(), table)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), apply_rope(x.bfloat16().float(), table).bfloat16().float())
