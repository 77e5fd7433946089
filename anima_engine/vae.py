"""The Qwen-Image VAE (a fine-tuned Wan 2.1 video VAE) for single images, as 2-D convolutions.

The checkpoint holds a causal video VAE (engine-spec §4.1): its 3×3×3 convolutions pad two zero frames in
front of the clip and none behind. For the first (and, for an image, only) frame the first two temporal
taps therefore always multiply zeros, so each 3-D convolution equals a 2-D convolution with the last
temporal slice of its kernel, `weight[:, :, -1]`. The resamplers' `time_conv`s only run from the second
chunk of frames on (ComfyUI and diffusers fill their caches on the first chunk), so images never use them.
This module is therefore purely 2-D; `vae_loading` turns the 3-D checkpoint tensors into these shapes once,
at load time. Numerics follow ComfyUI `comfy/ldm/wan/vae.py`; diffusers `AutoencoderKLQwenImage` gives the
same numbers for T = 1 and serves as the test reference.
"""

import itertools
import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from anima_engine.config import VAEParams
from anima_engine.errors import ConfigError


class FrameConv2d(nn.Conv2d):
    """A 2-D convolution that the checkpoint stores as a causal 3-D one with `frames` temporal taps.

    Images use only the last tap (module docstring); `vae_loading` slices it out of the 5-D kernel.
    """

    def __init__(self, in_dim: int, out_dim: int, kernel_size: int, *, frames: int) -> None:
        super().__init__(in_dim, out_dim, kernel_size, padding=kernel_size // 2)
        self.frames = frames


class RMSNorm(nn.Module):
    """Wan `RMS_norm`: L2-normalise over channels (F.normalize, eps 1e-12), times √C and a gain `gamma`.

    `video` marks norms whose checkpoint gain has an extra temporal axis, (C, 1, 1, 1) instead of (C, 1, 1).
    """

    def __init__(self, dim: int, *, video: bool) -> None:
        super().__init__()
        self.scale = math.sqrt(dim)
        self.video = video
        self.gamma = nn.Parameter(torch.ones(dim, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        # In the activation dtype, as ComfyUI does; torch accumulates half-precision norms in fp32.
        return F.normalize(x, dim=1) * self.scale * self.gamma


class ResBlock(nn.Module):
    """RMSNorm → SiLU → conv3 → RMSNorm → SiLU → conv3, plus a 1×1 shortcut when the width changes.

    Dropout is omitted: it is 0 in the released model and inference never applies it.
    """

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.norm1 = RMSNorm(in_dim, video=True)
        self.conv1 = FrameConv2d(in_dim, out_dim, 3, frames=3)
        self.norm2 = RMSNorm(out_dim, video=True)
        self.conv2 = FrameConv2d(out_dim, out_dim, 3, frames=3)
        self.shortcut = FrameConv2d(in_dim, out_dim, 1, frames=1) if in_dim != out_dim else None

    def forward(self, x: Tensor) -> Tensor:
        skip = x if self.shortcut is None else self.shortcut(x)
        x = self.conv1(F.silu(self.norm1(x)))
        x = self.conv2(F.silu(self.norm2(x)))
        return x + skip


class MidAttention(nn.Module):
    """Single-head self-attention over the H·W positions of each image (head dim = C), with a residual."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = RMSNorm(dim, video=False)
        self.to_qkv = nn.Conv2d(dim, 3 * dim, 1)
        self.proj = nn.Conv2d(dim, dim, 1)

    def forward(self, x: Tensor) -> Tensor:
        _, _, height, width = x.shape
        qkv = self.to_qkv(self.norm(x))  # (B, 3C, H, W), channels ordered q | k | v
        q, k, v = rearrange(qkv, "b (n c) h w -> n b 1 (h w) c", n=3)
        out = F.scaled_dot_product_attention(q, k, v)  # (B, 1, H·W, C)
        out = rearrange(out, "b 1 (h w) c -> b c h w", h=height, w=width)
        return x + self.proj(out)


class Downsample(nn.Module):
    """Zero-pad right and bottom by one, then a stride-2 3×3 convolution (the exact Wan padding)."""

    def __init__(self, dim: int, *, temporal: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(dim, dim, 3, stride=2)
        self.temporal = temporal

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample(nn.Module):
    """Nearest ×2 then a 3×3 convolution to half the channels.

    Wan uses `nearest-exact` in fp32; at an integer factor of 2 both modes copy each pixel into a 2×2 block,
    so the result is exact in any dtype and no cast is needed.
    """

    def __init__(self, dim: int, *, temporal: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(dim, dim // 2, 3, padding=1)
        self.temporal = temporal

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


def _middle(dim: int) -> nn.ModuleList:
    return nn.ModuleList([ResBlock(dim, dim), MidAttention(dim), ResBlock(dim, dim)])


class Encoder(nn.Module):
    """Image (B, 3, H, W) → moments (B, 2·z_dim, H/r, W/r) before the quant conv; r = `spatial_ratio`."""

    def __init__(self, params: VAEParams) -> None:
        super().__init__()
        dims = [params.base_dim] + [params.base_dim * m for m in params.dim_mult]
        self.conv_in = FrameConv2d(params.image_channels, dims[0], 3, frames=3)
        # One flat list, indexed like the checkpoint's `encoder.downsamples.N`.
        self.downsamples = nn.ModuleList()
        for i, (in_dim, out_dim) in enumerate(itertools.pairwise(dims)):
            for r in range(params.num_res_blocks):
                self.downsamples.append(ResBlock(in_dim if r == 0 else out_dim, out_dim))
            if i < len(params.temporal_downsample):
                self.downsamples.append(Downsample(out_dim, temporal=params.temporal_downsample[i]))
        self.middle = _middle(dims[-1])
        self.norm_out = RMSNorm(dims[-1], video=True)
        self.conv_out = FrameConv2d(dims[-1], 2 * params.z_dim, 3, frames=3)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv_in(x)
        for layer in self.downsamples:
            x = layer(x)
        for layer in self.middle:
            x = layer(x)
        return self.conv_out(F.silu(self.norm_out(x)))


class Decoder(nn.Module):
    """Latent (B, z_dim, h, w) after the post-quant conv → image (B, 3, h·r, w·r), not yet clamped.

    Runs in two parts: `trunk` (input conv and middle block, with global attention) at latent resolution,
    then `upsample` (purely local convolutions), which `VAE.decode` may run tile by tile.
    """

    def __init__(self, params: VAEParams) -> None:
        super().__init__()
        top = params.base_dim * params.dim_mult[-1]
        dims = [top] + [params.base_dim * m for m in reversed(params.dim_mult)]
        temporal = tuple(reversed(params.temporal_downsample))
        self.conv_in = FrameConv2d(params.z_dim, top, 3, frames=3)
        self.middle = _middle(top)
        # One flat list, indexed like the checkpoint's `decoder.upsamples.N`.
        self.upsamples = nn.ModuleList()
        for i, (in_dim, out_dim) in enumerate(itertools.pairwise(dims)):
            # Every stage after the first receives the halved output of the previous stage's upsampler.
            in_dim = in_dim if i == 0 else in_dim // 2
            for r in range(params.num_res_blocks + 1):
                self.upsamples.append(ResBlock(in_dim if r == 0 else out_dim, out_dim))
            if i < len(temporal):
                self.upsamples.append(Upsample(out_dim, temporal=temporal[i]))
        self.norm_out = RMSNorm(dims[-1], video=True)
        self.conv_out = FrameConv2d(dims[-1], params.image_channels, 3, frames=3)
        self.halo = math.ceil(self._receptive_radius())

    def _receptive_radius(self) -> float:
        """How far, in latent pixels, a zero-padded tile edge can reach into `upsample`'s output."""
        scale, radius = 1, 0.0
        for layer in self.upsamples:
            if isinstance(layer, Upsample):
                scale *= 2
                radius += 1 / scale
            else:
                radius += 2 / scale
        return radius + 1 / scale

    def trunk(self, z: Tensor) -> Tensor:
        x = self.conv_in(z)
        for layer in self.middle:
            x = layer(x)
        return x

    def upsample(self, x: Tensor) -> Tensor:
        for layer in self.upsamples:
            x = layer(x)
        return self.conv_out(F.silu(self.norm_out(x)))

    def forward(self, z: Tensor) -> Tensor:
        return self.upsample(self.trunk(z))


class VAE(nn.Module):
    """Qwen-Image VAE for images: `encode` to and `decode` from normalised model-space latents.

    Attribute names follow the checkpoint where they can; `vae_loading` holds the explicit table for the rest.
    """

    def __init__(self, params: VAEParams) -> None:
        super().__init__()
        self.params = params
        self.encoder = Encoder(params)
        self.quant_conv = FrameConv2d(2 * params.z_dim, 2 * params.z_dim, 1, frames=1)
        self.post_quant_conv = FrameConv2d(params.z_dim, params.z_dim, 1, frames=1)
        self.decoder = Decoder(params)

    def _latent_stats(self, like: Tensor) -> tuple[Tensor, Tensor]:
        shape = (1, self.params.z_dim, 1, 1)
        mean = torch.tensor(self.params.latents_mean, dtype=torch.float32, device=like.device).view(shape)
        std = torch.tensor(self.params.latents_std, dtype=torch.float32, device=like.device).view(shape)
        return mean, std

    @torch.inference_mode()
    def decode(self, z: Tensor, *, tile: int | None = None) -> Tensor:
        """Model-space latents (B, z_dim, 1, h, w) or (B, z_dim, h, w) → images (B, 3, h·r, w·r) in [-1, 1].

        Applies z·std + mean in fp32 (engine-spec §4.2), decodes in the weights' dtype and clamps.

        Args:
            z: latents; a 5-D tensor must hold exactly one frame.
            tile: latent tile side for a tiled decode of large images, or None for one pass. The middle
                block (with its global attention) always sees the whole latent; only the local up-sampling
                convolutions are tiled, each tile with a halo covering their receptive field (`decoder.halo`:
                13 latent pixels for the real VAE, 8 for the tiny test VAE), so the tiles need no blending and
                the result equals the untiled decode up to float rounding (measured max difference ≤ 4e-7
                in fp32), without seams. Tiles of 64 (512 pixels) compute about twice the up-sampling work
                of one pass but hold far less activation memory at large sizes.
        """
        if z.ndim == 5:
            if z.shape[2] != 1:
                raise ConfigError(f"VAE.decode takes single-frame latents, got shape {tuple(z.shape)}")
            z = z[:, :, 0]
        if z.ndim != 4 or z.shape[1] != self.params.z_dim:
            raise ConfigError(
                f"VAE.decode expects latents (B, {self.params.z_dim}, 1, h, w) or "
                f"(B, {self.params.z_dim}, h, w), got shape {tuple(z.shape)}"
            )
        if tile is not None and tile < 1:
            raise ConfigError(f"VAE.decode: tile must be a positive number of latent pixels, got {tile}")
        mean, std = self._latent_stats(z)
        weight = self.post_quant_conv.weight
        x = self.post_quant_conv((z.float() * std + mean).to(weight.dtype))
        x = self.decoder.trunk(x)
        if tile is None or (tile >= x.shape[2] and tile >= x.shape[3]):
            images = self.decoder.upsample(x)
        else:
            images = self._upsample_tiled(x, tile)
        return images.clamp_(-1.0, 1.0)

    def _upsample_tiled(self, x: Tensor, tile: int) -> Tensor:
        ratio, halo = self.params.spatial_ratio, self.decoder.halo
        batch, _, height, width = x.shape
        images = x.new_empty(batch, self.params.image_channels, height * ratio, width * ratio)
        for top in range(0, height, tile):
            for left in range(0, width, tile):
                bottom, right = min(top + tile, height), min(left + tile, width)
                y0, x0 = max(top - halo, 0), max(left - halo, 0)
                piece = self.decoder.upsample(x[:, :, y0 : bottom + halo, x0 : right + halo])
                images[:, :, top * ratio : bottom * ratio, left * ratio : right * ratio] = piece[
                    :,
                    :,
                    (top - y0) * ratio : (bottom - y0) * ratio,
                    (left - x0) * ratio : (right - x0) * ratio,
                ]
        return images

    @torch.inference_mode()
    def encode(self, images: Tensor) -> Tensor:
        """Images (B, 3, H, W) in [-1, 1] → model-space latents (B, z_dim, 1, H/r, W/r), fp32.

        Uses the posterior mean (the first z_dim channels of the moments), as ComfyUI does, then
        (mu − mean)/std (engine-spec §4.2). H and W must be multiples of `spatial_ratio` (8).
        """
        ratio = self.params.spatial_ratio
        if images.ndim != 4 or images.shape[1] != self.params.image_channels:
            raise ConfigError(
                f"VAE.encode expects images (B, {self.params.image_channels}, H, W), "
                f"got shape {tuple(images.shape)}"
            )
        if images.shape[2] % ratio or images.shape[3] % ratio:
            raise ConfigError(
                f"VAE.encode: image size {images.shape[3]}x{images.shape[2]} is not a multiple of {ratio}"
            )
        weight = self.quant_conv.weight
        moments = self.quant_conv(self.encoder(images.to(weight.dtype)))
        mean, std = self._latent_stats(moments)
        mu = moments[:, : self.params.z_dim].float()
        return ((mu - mean) / std).unsqueeze(2)
