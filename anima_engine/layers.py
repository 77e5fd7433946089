"""Building blocks of the Cosmos-Predict2 DiT (ComfyUI `comfy/ldm/cosmos/predict2.py`, engine-spec §1.3).

Attribute names follow the official checkpoint keys (`x_embedder.proj.1`, `adaln_modulation_self_attn.1`,
`mlp.layer1`, …), so a state dict loads without renaming. Every Linear in the DiT is bias-free.
Shapes: B batch, N image tokens, L context length, D model width.
"""

import math

import torch
import torch.nn.functional as F
from einops.layers.torch import Rearrange
from torch import Tensor, nn

from anima_engine.attention import apply_rope, attention
from anima_engine.config import DiTParams


class PatchEmbed(nn.Module):
    """Patchify (B, C+1, T, H, W) into (B, N, D): channel-major patch vectors `(c r m n)`, then a Linear.

    Tokens are flattened in (t, h, w) row-major order (engine-spec §1.3 step 2).
    """

    def __init__(self, params: DiTParams) -> None:
        super().__init__()
        p_t, p_h, p_w = params.patch_size
        self.proj = nn.Sequential(
            Rearrange("b c (t r) (h m) (w n) -> b (t h w) (c r m n)", r=p_t, m=p_h, n=p_w),
            nn.Linear(params.patch_channels, params.model_channels, bias=False),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x)


class Timesteps(nn.Module):
    """Sinusoid of σ, [cos, sin] halves, in float32 (ComfyUI `Timesteps`; σ in [0, 1], not ×1000).

    ComfyUI feeds σ in float32; diffusers' Anima pipeline quantises σ·1000 to bf16 first (engine-spec §6,
    item 2). We follow ComfyUI.
    """

    def __init__(self, dim: int, base: float) -> None:
        super().__init__()
        self.dim = dim
        self.base = base

    def forward(self, sigma: Tensor) -> Tensor:  # (B,) -> (B, dim)
        half = self.dim // 2
        exponent = torch.arange(half, dtype=torch.float32, device=sigma.device) / half
        freqs = torch.exp(-math.log(self.base) * exponent)
        angles = sigma.float()[:, None] * freqs[None, :]
        return torch.cat([angles.cos(), angles.sin()], dim=-1)


class TimestepMLP(nn.Module):
    """Sinusoid -> AdaLN-LoRA vector of 3·D (ComfyUI `TimestepEmbedding` with AdaLN-LoRA)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.linear_1 = nn.Linear(dim, dim, bias=False)
        self.linear_2 = nn.Linear(dim, 3 * dim, bias=False)

    def forward(self, sinusoid: Tensor) -> Tensor:
        return self.linear_2(F.silu(self.linear_1(sinusoid)))


def adaln_modulation(dim: int, lora_dim: int, chunks: int) -> nn.Sequential:
    """AdaLN-LoRA branch SiLU -> D·r -> r·(chunks·D); indices 1 and 2 match the checkpoint keys."""
    return nn.Sequential(
        nn.SiLU(),
        nn.Linear(dim, lora_dim, bias=False),
        nn.Linear(lora_dim, chunks * dim, bias=False),
    )


def modulate(x: Tensor, shift: Tensor, scale: Tensor, eps: float) -> Tensor:
    """LayerNorm without affine parameters, then x·(1 + scale) + shift (one multiply-add kernel)."""
    return torch.addcmul(shift, F.layer_norm(x, x.shape[-1:], eps=eps), 1 + scale)


def gated(x: Tensor, gate: Tensor, update: Tensor) -> Tensor:
    """The gated residual x + gate·update, as one multiply-add kernel."""
    return torch.addcmul(x, gate, update)


class Attention(nn.Module):
    """Multi-head attention of a DiT block, with per-head q/k RMSNorm (ComfyUI predict2 `Attention`).

    Self-attention passes `context=None` and a RoPE table; cross-attention passes the text context and no
    table. Cross-attention has no mask, in ComfyUI and in diffusers alike: the zero padding rows of the
    context are part of the numerics (engine-spec §1.3 step 5).
    """

    def __init__(self, dim: int, context_dim: int, num_heads: int, qk_norm_eps: float) -> None:
        super().__init__()
        head_dim = dim // num_heads
        self.num_heads = num_heads
        self.q_proj = nn.Linear(dim, dim, bias=False)
        self.k_proj = nn.Linear(context_dim, dim, bias=False)
        self.v_proj = nn.Linear(context_dim, dim, bias=False)
        self.output_proj = nn.Linear(dim, dim, bias=False)
        self.q_norm = nn.RMSNorm(head_dim, eps=qk_norm_eps)
        self.k_norm = nn.RMSNorm(head_dim, eps=qk_norm_eps)

    def forward(self, x: Tensor, context: Tensor | None = None, rope: Tensor | None = None) -> Tensor:
        source = x if context is None else context
        q = self.q_proj(x).unflatten(-1, (self.num_heads, -1))  # (B, N, Hd, Dh)
        k = self.k_proj(source).unflatten(-1, (self.num_heads, -1))  # (B, L, Hd, Dh)
        v = self.v_proj(source).unflatten(-1, (self.num_heads, -1))
        q, k = self.q_norm(q), self.k_norm(k)
        if rope is not None:
            q, k = apply_rope(q, rope), apply_rope(k, rope)
        return self.output_proj(attention(q, k, v))


class MLP(nn.Module):
    """D -> mlp_channels -> D with exact (erf) GELU, no biases (ComfyUI `GPT2FeedForward`)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.layer1 = nn.Linear(dim, hidden, bias=False)
        self.layer2 = nn.Linear(hidden, dim, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.layer2(F.gelu(self.layer1(x)))


class Block(nn.Module):
    """One DiT block: self-attention, cross-attention and MLP, each with its own AdaLN-LoRA modulation."""

    def __init__(self, params: DiTParams) -> None:
        super().__init__()
        dim, lora = params.model_channels, params.adaln_lora_dim
        self.eps = params.norm_eps
        self.self_attn = Attention(dim, dim, params.num_heads, params.qk_norm_eps)
        self.cross_attn = Attention(dim, params.context_channels, params.num_heads, params.qk_norm_eps)
        self.mlp = MLP(dim, params.mlp_channels)
        self.adaln_modulation_self_attn = adaln_modulation(dim, lora, 3)
        self.adaln_modulation_cross_attn = adaln_modulation(dim, lora, 3)
        self.adaln_modulation_mlp = adaln_modulation(dim, lora, 3)

    def forward(self, x: Tensor, emb: Tensor, adaln_lora: Tensor, context: Tensor, rope: Tensor) -> Tensor:
        """x (B, N, D); emb (B, 1, D); adaln_lora (B, 1, 3D); context (B, L, Dc); rope (2, N, 1, Dh)."""
        # 1. self-attention (RoPE on q and k)
        shift, scale, gate = (self.adaln_modulation_self_attn(emb) + adaln_lora).chunk(3, dim=-1)
        x = gated(x, gate, self.self_attn(modulate(x, shift, scale, self.eps), rope=rope))
        # 2. cross-attention to the text context (no RoPE, no mask)
        shift, scale, gate = (self.adaln_modulation_cross_attn(emb) + adaln_lora).chunk(3, dim=-1)
        x = gated(x, gate, self.cross_attn(modulate(x, shift, scale, self.eps), context=context))
        # 3. MLP
        shift, scale, gate = (self.adaln_modulation_mlp(emb) + adaln_lora).chunk(3, dim=-1)
        return gated(x, gate, self.mlp(modulate(x, shift, scale, self.eps)))


class FinalLayer(nn.Module):
    """Modulated LayerNorm and the projection to patch vectors ordered (p_h, p_w, p_t, C)."""

    def __init__(self, params: DiTParams) -> None:
        super().__init__()
        p_t, p_h, p_w = params.patch_size
        dim = params.model_channels
        self.eps = params.norm_eps
        self.adaln_modulation = adaln_modulation(dim, params.adaln_lora_dim, 2)
        self.linear = nn.Linear(dim, p_t * p_h * p_w * params.out_channels, bias=False)

    def forward(self, x: Tensor, emb: Tensor, adaln_lora: Tensor) -> Tensor:
        """x (B, N, D); emb (B, 1, D); adaln_lora (B, 1, 3D) -> (B, N, p_h·p_w·p_t·C)."""
        dim = x.shape[-1]
        shift, scale = (self.adaln_modulation(emb) + adaln_lora[..., : 2 * dim]).chunk(2, dim=-1)
        return self.linear(modulate(x, shift, scale, self.eps))
