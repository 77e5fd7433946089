"""Attention and rotary position embeddings as pure functions (the DiT's 3-D RoPE, the adapter's 1-D RoPE).

Shapes: queries, keys and values are (B, L, Hd, Dh); a RoPE table is (2, L, 1, Dh) in float32, holding the
cosines and sines of the "rotate-half" layout (angle j applies to channels j and j + Dh/2).
"""

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor


def attention(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """Unmasked scaled dot-product attention, scale 1/√Dh.

    Args:
        q: (B, Lq, Hd, Dh) queries.
        k: (B, Lk, Hd, Dh) keys.
        v: (B, Lk, Hd, Dh) values.

    Returns:
        (B, Lq, Hd·Dh), heads concatenated.
    """
    out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
    return rearrange(out, "b h l d -> b l (h d)")


def ntk_theta(theta: float, extrapolation: float, dim: int) -> float:
    """NTK-scaled RoPE base for `dim` rotated channels: θ·r^(d/(d−2)) (engine-spec §1.3 step 4)."""
    return theta * extrapolation ** (dim / (dim - 2))


def rope_angles(length: int, dim: int, theta: float, device: torch.device) -> Tensor:
    """Angles of integer positions 0…length−1 for `dim` rotated channels, (length, dim/2) in float32."""
    freqs = 1.0 / theta ** (torch.arange(0, dim, 2, dtype=torch.float32, device=device) / dim)
    positions = torch.arange(length, dtype=torch.float32, device=device)
    return torch.outer(positions, freqs)


def rope_table(angles: Tensor) -> Tensor:
    """Cosines and sines for the rotate-half layout: (L, Dh/2) angles -> (2, L, 1, Dh) float32."""
    full = torch.cat([angles, angles], dim=-1)
    return torch.stack([full.cos(), full.sin()])[:, :, None, :]


def rope_1d(length: int, dim: int, theta: float, device: torch.device) -> Tensor:
    """RoPE table over the whole head for positions 0…length−1 (the LLM adapter)."""
    return rope_table(rope_angles(length, dim, theta, device))


def rope_3d(
    grid: tuple[int, int, int],
    dims: tuple[int, int, int],
    thetas: tuple[float, float, float],
    device: torch.device,
) -> Tensor:
    """RoPE table for tokens on a (t, h, w) grid, flattened row-major (the DiT's self-attention).

    Each token's angle vector is concat[t-angles, h-angles, w-angles] from its integer grid coordinates,
    with `dims` channels and base `thetas` per axis.

    Returns:
        (2, t·h·w, 1, sum(dims)) float32.
    """
    (t, h, w), (d_t, d_h, d_w), (theta_t, theta_h, theta_w) = grid, dims, thetas
    angles_t = rope_angles(t, d_t, theta_t, device)[:, None, None, :].expand(t, h, w, d_t // 2)
    angles_h = rope_angles(h, d_h, theta_h, device)[None, :, None, :].expand(t, h, w, d_h // 2)
    angles_w = rope_angles(w, d_w, theta_w, device)[None, None, :, :].expand(t, h, w, d_w // 2)
    angles = torch.cat([angles_t, angles_h, angles_w], dim=-1)
    return rope_table(rearrange(angles, "t h w d -> (t h w) d"))


def apply_rope(x: Tensor, table: Tensor) -> Tensor:
    """Rotate (B, L, Hd, Dh) queries or keys by a (2, L, 1, Dh) table, in float32, returning x's dtype.

    Rotate-half pairing: out₁ = x₁·cos − x₂·sin, out₂ = x₂·cos + x₁·sin, with x₁, x₂ the two halves of the
    head. ComfyUI rotates in float32 with explicit 2×2 matrices; diffusers uses the same convention.

    Four kernels: the cosine product (x times the float32 table promotes to float32), a multiply-add into
    each half, and the cast back. Eagerly this moves about half the bytes of upcasting x, concatenating
    the rotated halves and adding the products (docs/benchmarks.md); compiled, it fuses into one kernel.
    """
    half = x.shape[-1] // 2
    cos, sin = table[0], table[1]
    out = x * cos  # float32
    out[..., :half].addcmul_(x[..., half:], sin[..., :half], value=-1)
    out[..., half:].addcmul_(x[..., :half], sin[..., half:])
    return out.to(x.dtype)
