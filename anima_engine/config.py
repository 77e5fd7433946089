"""Frozen, self-validating architecture parameters of the networks Anima runs, with real-size presets."""

from dataclasses import dataclass

from anima_engine.errors import ConfigError

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
