"""Qwen3-0.6B, the text encoder: a causal decoder whose last hidden state (after the final norm) Anima reads.

Our own implementation of the architecture (engine-spec §2.1): token embedding, 28 pre-norm decoder layers
(GQA self-attention with per-head q/k RMSNorm before RoPE, causal mask; SwiGLU MLP), final RMSNorm. No
output head, no KV cache: a prompt is encoded once. Attribute names equal the checkpoint keys under
`model.` (`embed_tokens`, `layers.N.self_attn.q_proj`, `layers.N.mlp.gate_proj`, `norm`, …).

Numerics follow transformers' `Qwen3Model`, which the engine ran before and which diffusers uses: RMSNorm
normalises in float32 and scales in the input dtype; the RoPE cosines and sines are computed in float32 and
applied in the weights' dtype (ComfyUI's `llama.py` rotates the same rotate-half pairs). A parity test
compares the two (`tests/engine/test_qwen3.py`).
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from anima_engine.attention import rope_angles
from anima_engine.config import TextEncoderParams
from anima_engine.weights import Embedding


class RMSNorm(nn.Module):
    """Root-mean-square norm over the last axis: normalised in float32, scaled in the input dtype."""

    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        x32 = x.float()
        normed = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * normed.to(x.dtype)


def rope_cos_sin(
    length: int, head_dim: int, theta: float, dtype: torch.dtype, device: torch.device
) -> Tensor:
    """(2, 1, L, Dh) cosines and sines of positions 0…L−1, computed in float32, returned in `dtype`."""
    angles = rope_angles(length, head_dim, theta, device)  # (L, Dh/2)
    full = torch.cat([angles, angles], dim=-1)
    return torch.stack([full.cos(), full.sin()]).to(dtype)[:, None]


def rotate(x: Tensor, table: Tensor) -> Tensor:
    """Rotate-half RoPE of (B, Hd, L, Dh) queries or keys, in x's dtype (as transformers does)."""
    x1, x2 = x.chunk(2, dim=-1)
    return x * table[0] + torch.cat([-x2, x1], dim=-1) * table[1]


class Attention(nn.Module):
    """Causal grouped-query self-attention: `num_heads` query heads share `num_kv_heads` key/value heads."""

    def __init__(self, params: TextEncoderParams) -> None:
        super().__init__()
        width, head_dim = params.hidden_size, params.head_dim
        self.num_heads, self.num_kv_heads, self.head_dim = params.num_heads, params.num_kv_heads, head_dim
        self.q_proj = nn.Linear(width, params.num_heads * head_dim, bias=False)
        self.k_proj = nn.Linear(width, params.num_kv_heads * head_dim, bias=False)
        self.v_proj = nn.Linear(width, params.num_kv_heads * head_dim, bias=False)
        self.o_proj = nn.Linear(params.num_heads * head_dim, width, bias=False)
        self.q_norm = RMSNorm(head_dim, params.norm_eps)
        self.k_norm = RMSNorm(head_dim, params.norm_eps)

    def forward(self, x: Tensor, rope: Tensor) -> Tensor:
        """x (B, L, D), rope (2, 1, L, Dh) -> (B, L, D)."""
        b, length, _ = x.shape
        q = self.q_norm(self.q_proj(x).view(b, length, self.num_heads, self.head_dim)).transpose(1, 2)
        k = self.k_norm(self.k_proj(x).view(b, length, self.num_kv_heads, self.head_dim)).transpose(1, 2)
        v = self.v_proj(x).view(b, length, self.num_kv_heads, self.head_dim).transpose(1, 2)
        q, k = rotate(q, rope), rotate(k, rope)  # (B, Hd, L, Dh) and (B, Hkv, L, Dh)
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        return self.o_proj(out.transpose(1, 2).reshape(b, length, -1))


class MLP(nn.Module):
    """SwiGLU: down(silu(gate(x)) · up(x))."""

    def __init__(self, params: TextEncoderParams) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(params.hidden_size, params.intermediate_size, bias=False)
        self.up_proj = nn.Linear(params.hidden_size, params.intermediate_size, bias=False)
        self.down_proj = nn.Linear(params.intermediate_size, params.hidden_size, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    """Pre-norm decoder layer: x += attn(norm(x)); x += mlp(norm(x))."""

    def __init__(self, params: TextEncoderParams) -> None:
        super().__init__()
        self.self_attn = Attention(params)
        self.mlp = MLP(params)
        self.input_layernorm = RMSNorm(params.hidden_size, params.norm_eps)
        self.post_attention_layernorm = RMSNorm(params.hidden_size, params.norm_eps)

    def forward(self, x: Tensor, rope: Tensor) -> Tensor:
        # 1. causal self-attention
        x = x + self.self_attn(self.input_layernorm(x), rope)
        # 2. MLP
        return x + self.mlp(self.post_attention_layernorm(x))


class Qwen3(nn.Module):
    """Qwen3 decoder without an output head: token ids (B, L) -> last hidden states (B, L, D)."""

    def __init__(self, params: TextEncoderParams) -> None:
        super().__init__()
        self.params = params
        self.embed_tokens = Embedding(params.vocab_size, params.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(params) for _ in range(params.num_layers))
        self.norm = RMSNorm(params.hidden_size, params.norm_eps)

    def forward(self, ids: Tensor) -> Tensor:
        """ids (B, L) int64 -> (B, L, D) hidden states after the final norm, in the weights' dtype."""
        if ids.ndim != 2:
            raise ValueError(f"Qwen3: got ids of shape {tuple(ids.shape)}, expected (B, L)")
        x = self.embed_tokens(ids)
        rope = rope_cos_sin(ids.shape[1], self.params.head_dim, self.params.rope_theta, x.dtype, x.device)
        for layer in self.layers:
            x = layer(x, rope)
        return self.norm(x)
