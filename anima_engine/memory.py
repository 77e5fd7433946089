"""Where the networks live during a generation, and when the VAE decodes in tiles.

At bf16 the DiT holds about 4 GB, Qwen3-0.6B 1.2 GB and the VAE 0.25 GB; the largest activations are the
VAE decoder's at full image resolution. A `MemoryPlan` says whether the text encoder lives off the
accelerator between encodes and how the VAE decodes; `plan_memory` derives it from the image size, the
free memory and the user's `low_vram` choice, and is a pure function so the decisions are tested without
a GPU. `place` moves a network for good; `visiting` lends it to the accelerator for one stage.

The DiT stays on the accelerator: moving its 4 GB off for the decode and back costs seconds, and a tiled
decode needs less memory than sampling did. A 512-pixel tile with its halo (90 latent pixels a side,
0.5 MP) needs about 0.4 GiB at `DECODE_BYTES_PER_PIXEL`, while the measured peak of a `low_vram`
generation at 1024², 4.56 GiB with the DiT moved off for the decode, is the DiT, adapter and VAE weights
(about 4.1 GiB) plus the sampling activations (docs/benchmarks.md).
"""

import contextlib
import logging
from collections.abc import Iterator
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
    """Where the text encoder waits, and the VAE tile size (None: one pass).

    Attributes:
        offload_text_encoder: the text encoder lives on the offload device after encoding; later encodes
            lend it to the accelerator (`visiting`).
        vae_tile: latent tile side for `VAE.decode`, or None.
    """

    offload_text_encoder: bool = False
    vae_tile: int | None = None


def plan_memory(*, width: int, height: int, low_vram: bool, free_bytes: int | None) -> MemoryPlan:
    """The memory plan for one generation.

    Args:
        width, height: image size in pixels.
        low_vram: the user asked for the smallest footprint: text encoder off the accelerator except
            while it encodes, tiled decode from 512² up.
        free_bytes: free accelerator memory, or None when the networks run on the CPU (nothing to save).
    """
    pixels = width * height
    if low_vram:
        tile = TILE_LATENT if pixels > LOW_VRAM_TILE_ABOVE_PIXELS else None
        return MemoryPlan(offload_text_encoder=True, vae_tile=tile)
    short = free_bytes is not None and free_bytes < SHORT_MEMORY
    return MemoryPlan(
        offload_text_encoder=short, vae_tile=TILE_LATENT if pixels > TILE_ABOVE_PIXELS else None
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


@contextlib.contextmanager
def visiting(module: nn.Module, device: torch.device, name: str) -> Iterator[None]:
    """Run the block with `module` copied to `device`; afterwards it holds its own tensors again.

    Nothing is copied back and the copies are freed, so the block must not change the weights (merge
    LoRAs before it). Logs the visit; nothing moves if the module is on `device` already.
    """
    home = next(module.parameters()).device
    logger.debug("%s: %s -> %s while in use", name, home, device)
    if home == device:
        yield
        return
    parameters = {key: (value, value.data) for key, value in module.named_parameters()}
    buffers = dict(module.named_buffers())
    module.to(device)
    try:
        yield
    finally:
        for key, (parameter, data) in parameters.items():
            owner, attribute = _owner(module, key)
            parameter.data = data  # `Module.to` gave it the copy, or replaced it with a new parameter
            owner._parameters[attribute] = parameter
        for key, buffer in buffers.items():
            owner, attribute = _owner(module, key)
            owner._buffers[attribute] = buffer


def _owner(module: nn.Module, key: str) -> tuple[nn.Module, str]:
    path, _, attribute = key.rpartition(".")
    return module.get_submodule(path), attribute


MAX_IMAGES_PER_CALL = 4
"""Most images sampled in one call."""

SATURATING_TOKENS = 4096
"""DiT tokens per forward (batch rows × tokens per row) from which an H200 runs the DiT at its full rate:
at 1024², one row (4,096 tokens) ran at 586 TFLOP/s and two rows at 573 (docs/benchmarks.md). A call
holds just enough images to reach it, since more add no throughput while every new batch shape costs a
CUDA-graph capture and, compiled, a recompile: one 1024² image with CFG per call, four 512² ones."""

SAMPLING_BYTES_PER_TOKEN = 48 << 10
"""Accelerator memory per latent token and DiT batch row while sampling: the CUDA graph pool of one
1024² row (4,096 tokens) measured 0.19 GiB (docs/benchmarks.md)."""

DECODE_BYTES_PER_PIXEL = 800
"""Peak VAE-decode memory per output pixel without tiles (0.76 GiB at 1024², docs/benchmarks.md)."""

TOKEN_PIXELS = 16 * 16
"""Image pixels per DiT token: the VAE's ×8 and the 2×2 patches."""


def images_per_call(*, width: int, height: int, guided: bool, free_bytes: int | None) -> int:
    """How many images of this size one sampling call holds: enough to reach `SATURATING_TOKENS`, at
    most `MAX_IMAGES_PER_CALL` and at most what the free memory allows, at least 1.

    Args:
        width, height: image size in pixels.
        guided: CFG above 1 (each image takes two DiT rows).
        free_bytes: free accelerator memory with the networks loaded; None on the CPU (no memory limit).
    """
    rows = 2 if guided else 1
    tokens = width * height // TOKEN_PIXELS * rows
    wanted = min(MAX_IMAGES_PER_CALL, -(-SATURATING_TOKENS // max(tokens, 1)))
    if free_bytes is None:
        return max(1, wanted)
    per_image = tokens * SAMPLING_BYTES_PER_TOKEN
    spare = free_bytes - width * height * DECODE_BYTES_PER_PIXEL
    return max(1, min(wanted, spare // per_image))
