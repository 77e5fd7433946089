"""The Anima velocity model: Cosmos-Predict2 "MiniTrainDIT" (ComfyUI `MiniTrainDIT._forward`, engine-spec §1).

`DiT(x, sigma, context) -> v` with x (B, C, 1, H, W) latents, sigma (B,) in [0, 1] and context (B, L, Dc),
the LLM adapter's output (L ≥ 512 rows, zero-padded).
"""

from collections.abc import Callable

import torch
from einops import rearrange
from torch import Tensor, nn

from anima_engine.attention import ntk_theta, rope_3d
from anima_engine.config import DiTParams
from anima_engine.layers import Block, FinalLayer, PatchEmbed, TimestepMLP, Timesteps

VelocityFn = Callable[[Tensor, Tensor, Tensor], Tensor]
"""`(x (B, C, T, H, W), sigma (B,), context (B, L, D)) -> v`: `DiT.forward`, or what stands in for it (the
accelerated forward of `speed.accelerate`, a reference model in tests)."""


class DiT(nn.Module):
    """Rectified-flow velocity predictor over VAE latents.

    Computation runs in the dtype of the weights; the sinusoid and the RoPE tables are computed in
    float32 (engine-spec §1.4). The output has the dtype of `x`, so a float32 sampler state stays float32.
    """

    def __init__(self, params: DiTParams) -> None:
        super().__init__()
        self.params = params
        dim = params.model_channels
        self.x_embedder = PatchEmbed(params)
        # Index 0 is the parameter-free sinusoid and index 1 its MLP, matching the keys `t_embedder.1.*`.
        self.t_embedder = nn.Sequential(Timesteps(dim, params.timestep_base), TimestepMLP(dim))
        self.t_embedding_norm = nn.RMSNorm(dim, eps=params.norm_eps)
        self.blocks = nn.ModuleList(Block(params) for _ in range(params.num_blocks))
        self.final_layer = FinalLayer(params)
        self._rope_cache: dict[tuple[tuple[int, int, int], torch.device], Tensor] = {}

    def rope(self, grid: tuple[int, int, int], device: torch.device) -> Tensor:
        """The self-attention RoPE table for a (t, h, w) token grid, cached per grid and device."""
        if torch.compiler.is_compiling():
            return self._make_rope(grid, device)
        key = (grid, device)
        table = self._rope_cache.get(key)
        if table is None:
            # A normal tensor even under inference_mode, so later autograd use of the cache works.
            with torch.inference_mode(False), torch.no_grad():
                table = self._make_rope(grid, device)
            self._rope_cache[key] = table
        return table

    def _make_rope(self, grid: tuple[int, int, int], device: torch.device) -> Tensor:
        dims = self.params.rope_dims
        thetas = tuple(
            ntk_theta(self.params.rope_theta, ratio, dim)
            for ratio, dim in zip(self.params.rope_extrapolation, dims, strict=True)
        )
        return rope_3d(grid, dims, (thetas[0], thetas[1], thetas[2]), device)

    def forward(self, x: Tensor, sigma: Tensor, context: Tensor) -> Tensor:
        """Predict the velocity.

        Args:
            x: (B, C, T, H, W) latents; T, H and W multiples of the patch size.
            sigma: (B,) noise levels in [0, 1], used in float32.
            context: (B, L, Dc) text context.

        Returns:
            (B, C_out, T, H, W) velocity, in x's dtype.
        """
        b, c, t, h, w = x.shape
        p_t, p_h, p_w = self.params.patch_size
        if c != self.params.in_channels or t % p_t or h % p_h or w % p_w:
            raise ValueError(
                f"DiT input: got latents of shape {tuple(x.shape)}, expected (B, {self.params.in_channels}, "
                f"T, H, W) with T, H, W multiples of {self.params.patch_size}"
            )
        if sigma.shape != (b,):
            raise ValueError(f"DiT input: got sigma of shape {tuple(sigma.shape)}, expected ({b},)")
        if context.ndim != 3 or context.shape[0] != b or context.shape[2] != self.params.context_channels:
            raise ValueError(
                f"DiT input: got context of shape {tuple(context.shape)}, "
                f"expected ({b}, L, {self.params.context_channels})"
            )
        dtype = self.t_embedding_norm.weight.dtype
        grid = (t // p_t, h // p_h, w // p_w)

        # 1. patchify with the zero padding-mask channel appended (ComfyUI builds zeros when no mask is given)
        x_in = torch.cat([x, x.new_zeros(b, 1, t, h, w)], dim=1).to(dtype)
        tokens = self.x_embedder(x_in)  # (B, N, D)

        # 2. timestep: the MLP gives the AdaLN-LoRA vector, the RMS-normed sinusoid the block embedding
        sinusoid = self.t_embedder[0](sigma).to(dtype)[:, None, :]  # (B, 1, D)
        adaln_lora = self.t_embedder[1](sinusoid)  # (B, 1, 3D)
        emb = self.t_embedding_norm(sinusoid)  # (B, 1, D)

        # 3. blocks
        rope = self.rope(grid, x.device)
        context = context.to(dtype)
        for block in self.blocks:
            tokens = block(tokens, emb, adaln_lora, context, rope)

        # 4. final layer, then unpatchify: the patch vector is channel-minor, (p_h, p_w, p_t, C)
        out = self.final_layer(tokens, emb, adaln_lora)
        out = rearrange(
            out,
            "b (t h w) (m n r c) -> b c (t r) (h m) (w n)",
            t=grid[0],
            h=grid[1],
            w=grid[2],
            r=p_t,
            m=p_h,
            n=p_w,
        )
        return out.to(x.dtype)
