"""Where the three networks live during a generation, and when the VAE decodes in tiles.

At bf16 the DiT holds about 4 GB, Qwen3-0.6B 1.2 GB and the VAE 0.25 GB; the largest activations are the
VAE decoder's at full image resolution. A `MemoryPlan` says which network leaves the accelerator between
stages and how the VAE decodes; `plan_memory` derives it from the image size, the free memory and the
user's `low_vram` choice, and is a pure function so the decisions are tested without a GPU. `place`
performs (and logs) one move.
"""

import logging
from dataclasses import dataclass

import torch
from torch import nn

logger = logging.getLogger(__name__)

GIB = 1 << 30
SHORT_MEMORY = 12 * GIB
"""Below this much free accelerator memory after loading, the text encoder is offloaded after encoding."""

TILE_LATENT = 64
"""Latent side of one VAE decode tile (512 pixels); see `VAE.decode`."""

TILE_ABOVE_PIXELS = 1536 * 1536
"""Images larger than this decode in tiles whatever the memory (≈ 2.4 MP: the untiled decode's
activations pass several GB in bf16)."""

LOW_VRAM_TILE_ABOVE_PIXELS = 512 * 512


@dataclass(frozen=True, slots=True)
class MemoryPlan:
    """Which networks leave the accelerator, and the VAE tile size (None: one pass).

    Attributes:
        offload_text_encoder: move the text encoder to the offload device after encoding.
        offload_dit: move the DiT (and adapter) to the offload device while the VAE decodes.
        vae_tile: latent tile side for `VAE.decode`, or None.
    """

    offload_text_encoder: bool = False
    offload_dit: bool = False
    vae_tile: int | None = None


def plan_memory(*, width: int, height: int, low_vram: bool, free_bytes: int | None) -> MemoryPlan:
    """The memory plan for one generation.

    Args:
        width, height: image size in pixels.
        low_vram: the user asked for the smallest footprint: text encoder and DiT offloaded between
            stages, tiled decode from 512² up.
        free_bytes: free accelerator memory, or None when the networks run on the CPU (nothing to save).
    """
    pixels = width * height
    if low_vram:
        tile = TILE_LATENT if pixels > LOW_VRAM_TILE_ABOVE_PIXELS else None
        return MemoryPlan(offload_text_encoder=True, offload_dit=True, vae_tile=tile)
    short = free_bytes is not None and free_bytes < SHORT_MEMORY
    return MemoryPlan(
        offload_text_encoder=short,
        offload_dit=False,
        vae_tile=TILE_LATENT if pixels > TILE_ABOVE_PIXELS else None,
    )


def free_memory(device: torch.device) -> int | None:
    """Free bytes on a CUDA device, None for the CPU and other devices."""
    if device.type != "cuda":
        return None
    free, _ = torch.cuda.mem_get_info(device)
    return int(free)


def place(module: nn.Module, device: torch.device, name: str) -> None:
    """Move `module` to `device` (in place) and log the move; nothing happens if it is already there."""
    current = next(module.parameters()).device
    logger.debug("%s: %s -> %s", name, current, device)
    if current != device:
        module.to(device)


MAX_IMAGES_PER_CALL = 4
"""Most images sampled in one call. One 1024² image with CFG already keeps an H200 busy (573 TFLOP/s at
DiT batch 2, docs/benchmarks.md), so larger batches mainly help smaller images."""

SAMPLING_BYTES_PER_TOKEN = 48 << 10
"""Accelerator memory per latent token and DiT batch row while sampling: the CUDA graph pool of one
1024² row (4,096 tokens) measured 0.19 GiB (docs/benchmarks.md)."""

DECODE_BYTES_PER_PIXEL = 800
"""Peak VAE-decode memory per output pixel without tiles (0.76 GiB at 1024², docs/benchmarks.md)."""

TOKEN_PIXELS = 16 * 16
"""Image pixels per DiT token: the VAE's ×8 and the 2×2 patches."""


def images_per_call(*, width: int, height: int, guided: bool, free_bytes: int | None) -> int:
    """How many images of this size one sampling call may hold (at least 1, at most `MAX_IMAGES_PER_CALL`).

    Args:
        width, height: image size in pixels.
        guided: CFG above 1 (each image takes two DiT rows).
        free_bytes: free accelerator memory with the networks loaded; None on the CPU (no limit but the cap).
    """
    if free_bytes is None:
        return MAX_IMAGES_PER_CALL
    rows = 2 if guided else 1
    per_image = width * height // TOKEN_PIXELS * SAMPLING_BYTES_PER_TOKEN * rows
    spare = free_bytes - width * height * DECODE_BYTES_PER_PIXEL
    return max(1, min(MAX_IMAGES_PER_CALL, spare // per_image))
