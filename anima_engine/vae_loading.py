"""Loading `qwen_image_vae.safetensors` (original Wan 2.1 / ComfyUI key names) into our 2-D `VAE`.

The file stores a causal video VAE: 3×3×3 kernels (O, I, 3, 3, 3), 1×1×1 kernels (O, I, 1, 1, 1) and
(C, 1, 1, 1) norm gains, plus the resamplers' temporal `time_conv`s. For images (see `anima_engine.vae`)
each 3-D kernel is replaced once, here, by its last temporal slice `w[:, :, -1]`, the 1-frame tensors lose
their temporal axis, and the `time_conv`s are dropped: they only mix frames of later chunks, which a single
image never has (engine-spec §4.1). Every file key is checked against the layout derived from `VAEParams`
before anything is converted, and problems are reported with the file's own key names.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from anima_engine.config import QWEN_IMAGE_VAE, WAN21_LATENTS_MEAN, WAN21_LATENTS_STD, VAEParams
from anima_engine.errors import CheckpointError, ConfigError
from anima_engine.vae import VAE, Downsample, FrameConv2d, RMSNorm, Upsample
from anima_engine.weights import assign_state_dict, check_keys, load_tensors, read_header

# Our module names -> checkpoint names, one path segment at a time. Each of our names occurs in one
# context only (`conv1`/`conv2` only inside residual blocks, `conv` only inside resamplers), and the
# renaming is applied once per segment, so `quant_conv` -> `conv1` and `conv1` -> `residual.2` never chain.
# Names not listed (encoder, decoder, downsamples, upsamples, middle, shortcut, norm, to_qkv, proj, gamma,
# weight, bias and list indices) are the same in both.
CHECKPOINT_NAMES = {
    "quant_conv": "conv1",
    "post_quant_conv": "conv2",
    "conv_in": "conv1",
    "norm_out": "head.0",
    "conv_out": "head.2",
    "norm1": "residual.0",
    "conv1": "residual.2",
    "norm2": "residual.3",
    "conv2": "residual.6",
    "conv": "resample.1",
}


@dataclass(frozen=True, slots=True)
class CheckpointTensor:
    """How one checkpoint tensor (`name`, file `shape`) becomes one of our parameters.

    A tensor with a `temporal_axis` keeps its last entry along that axis; one without is taken as it is.
    """

    name: str
    shape: tuple[int, ...]
    temporal_axis: int | None = None

    def to_ours(self, tensor: Tensor) -> Tensor:
        if self.temporal_axis is None:
            return tensor
        return tensor.select(self.temporal_axis, -1).contiguous()


@dataclass(frozen=True, slots=True)
class CheckpointLayout:
    """The official key layout of a VAE: the tensors we load (by our name) and the `time_conv`s we drop."""

    tensors: Mapping[str, CheckpointTensor]
    dropped: Mapping[str, tuple[int, ...]]

    def file_shapes(self) -> dict[str, tuple[int, ...]]:
        shapes = {entry.name: entry.shape for entry in self.tensors.values()}
        return shapes | dict(self.dropped)


def checkpoint_name(ours: str) -> str:
    """Our name -> the checkpoint's (`decoder.conv_in.weight` -> `decoder.conv1.weight`)."""
    return ".".join(CHECKPOINT_NAMES.get(segment, segment) for segment in ours.split("."))


def _with_frames(shape: tuple[int, ...], axis: int, frames: int) -> tuple[int, ...]:
    return (*shape[:axis], frames, *shape[axis:])


def checkpoint_layout(vae: VAE) -> CheckpointLayout:
    """The explicit table from the official file's keys and 3-D shapes to `vae`'s parameters."""
    tensors: dict[str, CheckpointTensor] = {}
    dropped: dict[str, tuple[int, ...]] = {}
    for prefix, module in vae.named_modules():
        for key, param in module.named_parameters(prefix=prefix, recurse=False):
            shape = tuple(param.shape)
            if isinstance(module, FrameConv2d) and key.endswith(".weight"):
                entry = CheckpointTensor(checkpoint_name(key), _with_frames(shape, 2, module.frames), 2)
            elif isinstance(module, RMSNorm) and module.video:
                entry = CheckpointTensor(checkpoint_name(key), _with_frames(shape, 1, 1), 1)
            else:
                entry = CheckpointTensor(checkpoint_name(key), shape)
            tensors[key] = entry
        if isinstance(module, Downsample | Upsample) and module.temporal:
            dim = module.conv.in_channels
            out_dim = dim if isinstance(module, Downsample) else 2 * dim
            name = checkpoint_name(prefix)
            dropped[f"{name}.time_conv.weight"] = (out_dim, dim, 3, 1, 1)
            dropped[f"{name}.time_conv.bias"] = (out_dim,)
    return CheckpointLayout(tensors, dropped)


def _check_kind(tensors: Mapping[str, object], path: Path) -> None:
    """Name the kind of file when it is clearly not a Wan-layout VAE (a DiT, a text encoder, ...)."""
    keys = tensors.keys()
    if "decoder.conv1.weight" in keys or "encoder.conv1.weight" in keys:
        return
    if any(k.startswith(("net.", "model.diffusion_model.")) or k.startswith("blocks.0.") for k in keys):
        raise CheckpointError(f"{path}: this is a diffusion-model (DiT) checkpoint, not the VAE")
    if any(k.startswith(("model.layers.", "model.embed_tokens.", "layers.0.")) for k in keys):
        raise CheckpointError(f"{path}: this is a text-encoder checkpoint, not the VAE")
    if "decoder.conv_in.weight" in keys:
        raise CheckpointError(
            f"{path}: a VAE with other key names (decoder.conv_in.weight: diffusers or Stable Diffusion "
            "layout); expected the Qwen-Image VAE in the original Wan/ComfyUI layout (decoder.conv1.weight)"
        )
    raise CheckpointError(
        f"{path}: no VAE tensors found (expected the Qwen-Image VAE layout, keys like decoder.conv1.weight)"
    )


def convert_checkpoint(
    tensors: Mapping[str, Tensor], layout: CheckpointLayout, *, path: str | Path
) -> dict[str, Tensor]:
    """Check official-layout `tensors` strictly, then return them under our names and 2-D shapes.

    The `time_conv` tensors are optional (they are dropped anyway), but if present must have their shapes.
    """
    expected = {
        key: shape
        for key, shape in layout.file_shapes().items()
        if key not in layout.dropped or key in tensors
    }
    check_keys(
        expected,
        tensors,
        path=path,
        what="the Qwen-Image VAE layout",
    )
    return {ours: entry.to_ours(tensors[entry.name]) for ours, entry in layout.tensors.items()}


def load_vae(
    path: str | Path,
    *,
    params: VAEParams = QWEN_IMAGE_VAE,
    device: str | torch.device = "cpu",
    dtype: torch.dtype | None = None,
) -> VAE:
    """Load `qwen_image_vae.safetensors` (or a file of the same layout and `params`) as an eval-mode `VAE`.

    Args:
        path: a safetensors file with the original Wan 2.1 / ComfyUI key names.
        params: the architecture; the default is the released VAE.
        device: where the weights go; on CUDA the convolution weights are stored channels-last.
        dtype: weight dtype; None means bf16 on CUDA and fp32 elsewhere.

    Raises:
        CheckpointError: the file is missing, pickle-based, truncated or corrupt, of another kind (a DiT,
            a text encoder, a VAE of another layout), or has missing, unexpected or mis-shaped keys.
    """
    path = Path(path)
    device = torch.device(device)
    if dtype is None:
        dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    if not dtype.is_floating_point:
        raise CheckpointError(f"{path}: the VAE needs a floating-point dtype, got {dtype}")
    tensors = load_tensors(path, device=device)
    _check_kind(tensors, path)
    with torch.device("meta"):
        vae = VAE(params)
    converted = convert_checkpoint(tensors, checkpoint_layout(vae), path=path)
    del tensors
    assign_state_dict(vae, converted, path=path, dtype=dtype)
    if device.type == "cuda":
        # cuDNN's fastest layout for these convolutions (docs/benchmarks.md); results are the same.
        # torch's stubs omit `Module.to`'s documented `memory_format` keyword.
        vae = vae.to(memory_format=torch.channels_last)  # pyright: ignore[reportCallIssue]
    return vae.eval()


def read_vae_params(path: str | Path) -> VAEParams:
    """The architecture of a Wan-layout VAE file, read from its tensor shapes (no tensor data is read).

    Widths, latent channels, stages and residual blocks come from the encoder's tensors: the flat
    `encoder.downsamples.N` list holds each stage's residual blocks followed by a resampler, and a resampler
    with a `time_conv` is a temporal one. The latent statistics are not stored in the file; a 16-channel
    latent gets Wan 2.1's, which the released VAE uses. `load_vae` then checks every key against the result.

    Raises:
        CheckpointError: the file is not a readable Wan-layout VAE, or its latent width has no known
            statistics.
    """
    path = Path(path)
    shapes = {name: list(info["shape"]) for name, info in read_header(path).items()}  # type: ignore[call-overload]
    _check_kind(shapes, path)
    try:
        conv_in, post_quant = shapes["encoder.conv1.weight"], shapes["conv2.weight"]
    except KeyError as missing:
        raise CheckpointError(f"{path}: VAE tensor {missing.args[0]} is missing") from None
    base_dim, z_dim = conv_in[0], post_quant[0]
    stage_widths: list[int] = []
    temporal: list[bool] = []
    blocks_per_stage: list[int] = []
    width, blocks = base_dim, 0
    index = 0
    while True:
        prefix = f"encoder.downsamples.{index}."
        if prefix + "resample.1.weight" in shapes:
            stage_widths.append(width)
            blocks_per_stage.append(blocks)
            temporal.append(prefix + "time_conv.weight" in shapes)
            blocks = 0
        elif prefix + "residual.2.weight" in shapes:
            width, blocks = shapes[prefix + "residual.2.weight"][0], blocks + 1
        else:
            break
        index += 1
    stage_widths.append(width)
    blocks_per_stage.append(blocks)
    if z_dim != len(WAN21_LATENTS_MEAN):
        raise CheckpointError(
            f"{path}: a VAE with {z_dim} latent channels has no known latent statistics "
            f"(the Qwen-Image VAE has {len(WAN21_LATENTS_MEAN)})"
        )
    if len(set(blocks_per_stage)) != 1 or any(w % base_dim for w in stage_widths):
        raise CheckpointError(f"{path}: the encoder's stages do not form a Wan 2.1 VAE")
    try:
        return VAEParams(
            base_dim=base_dim,
            z_dim=z_dim,
            dim_mult=tuple(w // base_dim for w in stage_widths),
            num_res_blocks=blocks_per_stage[0],
            temporal_downsample=tuple(temporal),
            image_channels=conv_in[1],
            latents_mean=WAN21_LATENTS_MEAN,
            latents_std=WAN21_LATENTS_STD,
        )
    except ConfigError as error:
        raise CheckpointError(f"{path}: tensor shapes do not form a valid VAE ({error})") from None


def count_checkpoint_parameters(params: VAEParams) -> int:
    """Number of values in the official file for `params` (3-D kernels and `time_conv`s included)."""
    with torch.device("meta"):
        layout = checkpoint_layout(VAE(params))
    return sum(math.prod(shape) for shape in layout.file_shapes().values())
