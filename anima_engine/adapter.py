"""The LLM adapter: T5 ids attend to Qwen3 states and become the DiT's context (engine-spec §2.3).

ComfyUI `LLMAdapter` + `Anima.preprocess_text_embeds`; diffusers `AnimaTextConditioner`. Attribute names
follow the checkpoint keys under `net.llm_adapter.`.
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from anima_engine.attention import apply_rope, attention, rope_1d
from anima_engine.config import AdapterParams
from anima_engine.text_encoder import TextFeatures
from anima_engine.weights import Embedding


class AdapterAttention(nn.Module):
    """Attention with per-head q/k RMSNorm applied before RoPE; queries and keys have their own tables."""

    def __init__(self, dim: int, context_dim: int, num_heads: int, eps: float) -> None:
        super().__init__()
        head_dim = dim // num_heads
        self.num_heads = num_heads
        self.q_proj = nn.Linear(dim, dim, bias=False)
        self.k_proj = nn.Linear(context_dim, dim, bias=False)
        self.v_proj = nn.Linear(context_dim, dim, bias=False)
        self.o_proj = nn.Linear(dim, dim, bias=False)
        self.q_norm = nn.RMSNorm(head_dim, eps=eps)
        self.k_norm = nn.RMSNorm(head_dim, eps=eps)

    def forward(self, x: Tensor, context: Tensor, q_rope: Tensor, k_rope: Tensor) -> Tensor:
        """x (B, Lt, D); context (B, Ls, Dc); tables (2, Lt, 1, Dh) and (2, Ls, 1, Dh)."""
        q = self.q_norm(self.q_proj(x).unflatten(-1, (self.num_heads, -1)))
        k = self.k_norm(self.k_proj(context).unflatten(-1, (self.num_heads, -1)))
        v = self.v_proj(context).unflatten(-1, (self.num_heads, -1))
        return self.o_proj(attention(apply_rope(q, q_rope), apply_rope(k, k_rope), v))


class AdapterBlock(nn.Module):
    """Pre-norm block: self-attention over T5 tokens, cross-attention to Qwen3 states, GELU MLP."""

    def __init__(self, params: AdapterParams) -> None:
        super().__init__()
        dim, eps = params.model_dim, params.norm_eps
        self.norm_self_attn = nn.RMSNorm(dim, eps=eps)
        self.self_attn = AdapterAttention(dim, dim, params.num_heads, eps)
        self.norm_cross_attn = nn.RMSNorm(dim, eps=eps)
        self.cross_attn = AdapterAttention(dim, params.source_dim, params.num_heads, eps)
        self.norm_mlp = nn.RMSNorm(dim, eps=eps)
        self.mlp = nn.Sequential(
            nn.Linear(dim, params.mlp_channels), nn.GELU(), nn.Linear(params.mlp_channels, dim)
        )

    def forward(self, x: Tensor, source: Tensor, target_rope: Tensor, source_rope: Tensor) -> Tensor:
        # 1. self-attention, target positions for queries and keys
        h = self.norm_self_attn(x)
        x = x + self.self_attn(h, h, target_rope, target_rope)
        # 2. cross-attention: queries at target positions, keys at source positions. No mask, as in ComfyUI,
        #    which encodes each prompt on its own; diffusers masks the padding of batched prompts.
        x = x + self.cross_attn(self.norm_cross_attn(x), source, target_rope, source_rope)
        # 3. MLP
        return x + self.mlp(self.norm_mlp(x))


class LLMAdapter(nn.Module):
    """T5 ids + Qwen3 states + per-T5-token weights -> DiT context (B, max(Lt, min_length), D)."""

    def __init__(self, params: AdapterParams) -> None:
        super().__init__()
        self.params = params
        self.embed = Embedding(params.vocab_size, params.target_dim)
        self.blocks = nn.ModuleList(AdapterBlock(params) for _ in range(params.num_blocks))
        self.out_proj = nn.Linear(params.model_dim, params.target_dim)
        self.norm = nn.RMSNorm(params.target_dim, eps=params.norm_eps)

    def forward(self, source: Tensor, t5_ids: Tensor, t5_weights: Tensor | None = None) -> Tensor:
        """Run the adapter once per prompt.

        Args:
            source: (B, Ls, Ds) Qwen3 last hidden states.
            t5_ids: (B, Lt) T5 token ids, EOS included.
            t5_weights: (B, Lt) prompt weights per T5 token; None means all 1.

        Returns:
            (B, max(Lt, min_length), D): rows scaled by the weights, then exactly-zero padding rows.
        """
        if t5_ids.ndim != 2 or source.ndim != 3 or source.shape[0] != t5_ids.shape[0]:
            raise ValueError(
                f"LLMAdapter: got states {tuple(source.shape)} and ids {tuple(t5_ids.shape)}, "
                "expected (B, Ls, Ds) and (B, Lt)"
            )
        if t5_weights is not None and t5_weights.shape != t5_ids.shape:
            raise ValueError(
                f"LLMAdapter: got weights of shape {tuple(t5_weights.shape)}, "
                f"expected the ids' shape {tuple(t5_ids.shape)}"
            )
        x = self.embed(t5_ids)  # (B, Lt, D)
        source = source.to(x.dtype)
        head_dim = self.params.head_dim
        target_rope = rope_1d(t5_ids.shape[1], head_dim, self.params.rope_theta, x.device)
        source_rope = rope_1d(source.shape[1], head_dim, self.params.rope_theta, x.device)
        for block in self.blocks:
            x = block(x, source, target_rope, source_rope)
        out = self.norm(self.out_proj(x))
        if t5_weights is not None:
            out = out * t5_weights.to(out.dtype)[..., None]
        pad = max(self.params.min_length - out.shape[1], 0)
        return F.pad(out, (0, 0, 0, pad))


def adapt(adapter: LLMAdapter, features: TextFeatures) -> Tensor:
    """The DiT context (1, max(Lt, min_length), D) for one prompt's features, computed without autograd."""
    with torch.no_grad():
        return adapter(features.qwen_states, features.t5_ids, features.t5_weights)
