"""Tiny random-weight checkpoints in exactly the official key layouts, for tests that run the real loaders."""

import math
from pathlib import Path

import torch
from torch import Tensor

from anima_engine.config import VAEParams
from anima_engine.vae import VAE
from anima_engine.vae_loading import checkpoint_layout

# engine-spec §6: the diffusers test VAE, with non-trivial latent statistics so that normalisation shows.
TINY_VAE = VAEParams(
    base_dim=24,
    z_dim=4,
    dim_mult=(1, 2, 4),
    num_res_blocks=1,
    temporal_downsample=(False, True),
    latents_mean=(0.3, -0.5, 0.1, 0.8),
    latents_std=(1.5, 0.7, 2.0, 1.1),
)


_IMAGE_HEAD_GAIN = 0.3


def _random_vae_tensor(name: str, shape: tuple[int, ...], generator: torch.Generator) -> Tensor:
    if name.endswith(".gamma"):
        return 1.0 + 0.1 * torch.randn(shape, generator=generator)
    if name.endswith(".bias"):
        return 0.05 * torch.randn(shape, generator=generator)
    # Kernels (O, I, [T,] k, k): scale by the 2-D fan-in so that activations stay of order one; the
    # image head is smaller still so that decoded pixels mostly fall inside the [-1, 1] clamp.
    fan_in = shape[1] * math.prod(shape[-2:])
    gain = _IMAGE_HEAD_GAIN if name == "decoder.head.2.weight" else 1.0
    return gain / math.sqrt(fan_in) * torch.randn(shape, generator=generator)


def write_tiny_vae(
    path: str | Path, params: VAEParams = TINY_VAE, seed: int = 0, *, dtype: torch.dtype = torch.float32
) -> Path:
    """Write a random-weight VAE with the official `qwen_image_vae.safetensors` keys and 3-D shapes.

    Every temporal kernel slice (also the ones images never use) and every `time_conv` is random, so a
    loader that picked the wrong slice or kept a dropped tensor would change the numbers.
    """
    from safetensors.torch import save_file

    path = Path(path)
    generator = torch.Generator().manual_seed(seed)
    with torch.device("meta"):
        layout = checkpoint_layout(VAE(params))
    tensors = {
        name: _random_vae_tensor(name, shape, generator).to(dtype)
        for name, shape in sorted(layout.file_shapes().items())
    }
    save_file(tensors, str(path))
    return path
