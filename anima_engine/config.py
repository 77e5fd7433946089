"""Architecture parameters of every Anima network, as frozen, self-validating dataclasses, and `PRESETS`.

The sizes of the official files are in engine-spec §1.1 (DiT), §2.3 (LLM adapter) and §2.1 (Qwen3-0.6B).
Loaders start from a preset and read the sizes that a checkpoint fixes (widths, block counts) from its
keys, so community variants with more blocks load too.
"""

import math
from dataclasses import dataclass, fields

from anima_engine.errors import ConfigError


def _check_positive(params: object, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(params, name)
        if not value > 0:
            raise ConfigError(f"{type(params).__name__}.{name}: got {value!r}, expected a positive value")


def _check_divisible(params: object, total: str, parts: str) -> None:
    a, b = getattr(params, total), getattr(params, parts)
    if a % b:
        raise ConfigError(
            f"{type(params).__name__}: {total}={a} is not divisible by {parts}={b}, expected a multiple"
        )


@dataclass(frozen=True, slots=True)
class DiTParams:
    """The Cosmos-Predict2 "MiniTrainDIT" velocity model (engine-spec §1.1).

    `in_channels` counts latent channels only; the zero padding-mask channel is added by the model.
    `patch_size` and `rope_extrapolation` are ordered (t, h, w).
    """

    in_channels: int = 16
    out_channels: int = 16
    model_channels: int = 2048
    num_blocks: int = 28
    num_heads: int = 16
    mlp_channels: int = 8192
    context_channels: int = 1024
    adaln_lora_dim: int = 256
    patch_size: tuple[int, int, int] = (1, 2, 2)
    rope_extrapolation: tuple[float, float, float] = (1.0, 4.0, 4.0)
    rope_theta: float = 10000.0
    timestep_base: float = 10000.0
    norm_eps: float = 1e-6
    # q/k RMSNorm eps 1e-6 as in ComfyUI and the original Cosmos; diffusers uses 1e-5.
    qk_norm_eps: float = 1e-6

    def __post_init__(self) -> None:
        _check_positive(
            self,
            (
                "in_channels",
                "out_channels",
                "model_channels",
                "num_blocks",
                "num_heads",
                "mlp_channels",
                "context_channels",
                "adaln_lora_dim",
                "rope_theta",
                "timestep_base",
                "norm_eps",
                "qk_norm_eps",
            ),
        )
        _check_divisible(self, "model_channels", "num_heads")
        if self.model_channels % 2:
            raise ConfigError(f"DiTParams.model_channels: got {self.model_channels}, expected an even width")
        if len(self.patch_size) != 3 or min(self.patch_size) < 1:
            raise ConfigError(f"DiTParams.patch_size: got {self.patch_size}, expected three positive ints")
        if len(self.rope_extrapolation) != 3 or min(self.rope_extrapolation) <= 0:
            raise ConfigError(
                f"DiTParams.rope_extrapolation: got {self.rope_extrapolation}, expected three positive ratios"
            )
        # The head is split into t/h/w parts of (d - 2·(d//6·2), d//6·2, d//6·2) channels, each even and
        # above 2 so that the NTK exponent d/(d-2) is defined.
        if self.head_dim % 2 or self.head_dim < 12:
            raise ConfigError(
                f"DiTParams: head dim (model_channels/num_heads) = {self.head_dim}, expected even and >= 12"
            )

    @property
    def head_dim(self) -> int:
        return self.model_channels // self.num_heads

    @property
    def patch_channels(self) -> int:
        """Length of one input patch vector: latent channels plus the padding mask, times the patch volume."""
        p_t, p_h, p_w = self.patch_size
        return (self.in_channels + 1) * p_t * p_h * p_w

    @property
    def rope_dims(self) -> tuple[int, int, int]:
        """Head channels rotated by the (t, h, w) positions (44, 42, 42 for head dim 128)."""
        spatial = self.head_dim // 6 * 2
        return self.head_dim - 2 * spatial, spatial, spatial


@dataclass(frozen=True, slots=True)
class AdapterParams:
    """The LLM adapter from Qwen3 states and T5 ids to the DiT context (engine-spec §2.3).

    `model_dim` equals `target_dim`: the official adapter has no input projection.
    """

    source_dim: int = 1024
    target_dim: int = 1024
    model_dim: int = 1024
    num_blocks: int = 6
    num_heads: int = 16
    mlp_channels: int = 4096
    vocab_size: int = 32128
    rope_theta: float = 10000.0
    norm_eps: float = 1e-6
    min_length: int = 512

    def __post_init__(self) -> None:
        _check_positive(self, tuple(f.name for f in fields(self)))
        _check_divisible(self, "model_dim", "num_heads")
        if self.model_dim != self.target_dim:
            raise ConfigError(
                f"AdapterParams: model_dim={self.model_dim} differs from target_dim={self.target_dim}; "
                "expected them equal (the adapter has no input projection)"
            )
        if self.head_dim % 2:
            raise ConfigError(
                f"AdapterParams: head dim {self.head_dim} is odd, expected an even value for RoPE"
            )

    @property
    def head_dim(self) -> int:
        return self.model_dim // self.num_heads


@dataclass(frozen=True, slots=True)
class TextEncoderParams:
    """Qwen3-0.6B-Base, the text encoder (`qwen3.Qwen3`; engine-spec §2.1)."""

    vocab_size: int = 151936
    hidden_size: int = 1024
    intermediate_size: int = 3072
    num_layers: int = 28
    num_heads: int = 16
    num_kv_heads: int = 8
    head_dim: int = 128
    rope_theta: float = 1_000_000.0
    norm_eps: float = 1e-6
    max_positions: int = 32768

    def __post_init__(self) -> None:
        _check_positive(self, tuple(f.name for f in fields(self)))
        _check_divisible(self, "num_heads", "num_kv_heads")
        if self.head_dim % 2:
            raise ConfigError(f"TextEncoderParams.head_dim: got {self.head_dim}, expected an even value")


# Per-channel statistics of the Qwen-Image (Wan 2.1) latent space (engine-spec §4.2; ComfyUI
# `latent_formats.Wan21`, diffusers `AutoencoderKLQwenImage` defaults).
WAN21_LATENTS_MEAN = (
    -0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508,
    0.4134, -0.0715, 0.5517, -0.3632, -0.1922, -0.9497, 0.2503, -0.2921,
)  # fmt: skip
WAN21_LATENTS_STD = (
    2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743,
    3.2687, 2.1526, 2.8652, 1.5579, 1.6382, 1.1253, 2.8251, 1.9160,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class VAEParams:
    """The Qwen-Image VAE (a fine-tuned Wan 2.1 VAE), engine-spec §4.1; defaults are the real sizes.

    Attributes:
        base_dim: channels of the first encoder stage (and of the last decoder stage).
        z_dim: latent channels (the encoder head produces `2 * z_dim`: mean and log-variance).
        dim_mult: channel multiplier of each stage; there are `len(dim_mult) - 1` spatial ×2 resamplings.
        num_res_blocks: residual blocks per encoder stage (the decoder has one more per stage).
        temporal_downsample: per resampling, whether the checkpoint's resampler also has a `time_conv`
            (video frames). Images never run it; the flags only say which checkpoint keys to expect.
        image_channels: channels of the pixel images.
        latents_mean, latents_std: per-channel statistics; model space = (mu - mean) / std.
    """

    base_dim: int = 96
    z_dim: int = 16
    dim_mult: tuple[int, ...] = (1, 2, 4, 4)
    num_res_blocks: int = 2
    temporal_downsample: tuple[bool, ...] = (False, True, True)
    image_channels: int = 3
    latents_mean: tuple[float, ...] = WAN21_LATENTS_MEAN
    latents_std: tuple[float, ...] = WAN21_LATENTS_STD

    def __post_init__(self) -> None:
        for name in ("base_dim", "z_dim", "num_res_blocks", "image_channels"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"VAEParams.{name} must be a positive integer, got {value!r}")
        if not self.dim_mult or any(not isinstance(m, int) or m < 1 for m in self.dim_mult):
            raise ConfigError(f"VAEParams.dim_mult must be positive integers, got {self.dim_mult!r}")
        if len(self.temporal_downsample) != len(self.dim_mult) - 1:
            raise ConfigError(
                f"VAEParams.temporal_downsample has {len(self.temporal_downsample)} entries, "
                f"expected {len(self.dim_mult) - 1} (one per resampling of dim_mult {self.dim_mult})"
            )
        for name in ("latents_mean", "latents_std"):
            if len(getattr(self, name)) != self.z_dim:
                raise ConfigError(
                    f"VAEParams.{name} has {len(getattr(self, name))} entries, expected z_dim={self.z_dim}"
                )
        if any(not s > 0 for s in self.latents_std):
            raise ConfigError(f"VAEParams.latents_std must be positive, got {self.latents_std!r}")
        widths = [self.base_dim * m for m in self.dim_mult]
        if any(w % 2 for w in widths[1:]):
            raise ConfigError(
                f"VAEParams: the decoder halves the channels at each up-sampling, so base_dim * dim_mult[1:] "
                f"must be even, got {widths[1:]}"
            )

    @property
    def spatial_ratio(self) -> int:
        """Pixels per latent pixel along each side (8 for the real VAE)."""
        return 2 ** (len(self.dim_mult) - 1)


QWEN_IMAGE_VAE = VAEParams()


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """The networks of one Anima model, checked to fit together."""

    dit: DiTParams
    adapter: AdapterParams
    text_encoder: TextEncoderParams
    vae: VAEParams = QWEN_IMAGE_VAE

    def __post_init__(self) -> None:
        if self.adapter.target_dim != self.dit.context_channels:
            raise ConfigError(
                f"ModelSpec: adapter target_dim={self.adapter.target_dim}, "
                f"expected the DiT's context_channels={self.dit.context_channels}"
            )
        if self.adapter.source_dim != self.text_encoder.hidden_size:
            raise ConfigError(
                f"ModelSpec: adapter source_dim={self.adapter.source_dim}, "
                f"expected the text encoder's hidden_size={self.text_encoder.hidden_size}"
            )
        if self.vae.z_dim != self.dit.in_channels:
            raise ConfigError(
                f"ModelSpec: VAE z_dim={self.vae.z_dim}, "
                f"expected the DiT's in_channels={self.dit.in_channels}"
            )

    @property
    def size_multiple(self) -> int:
        """Image sides are multiples of this: the VAE's spatial ratio times the DiT's patch (8 × 2 = 16)."""
        _, patch_h, patch_w = self.dit.patch_size
        return self.vae.spatial_ratio * math.lcm(patch_h, patch_w)


PRESETS: dict[str, ModelSpec] = {
    "anima": ModelSpec(
        dit=DiTParams(), adapter=AdapterParams(), text_encoder=TextEncoderParams(), vae=QWEN_IMAGE_VAE
    ),
}
