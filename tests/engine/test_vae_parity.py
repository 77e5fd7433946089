"""Parity of our 2-D VAE with diffusers' `AutoencoderKLQwenImage` (video VAE, T = 1) on the same weights.

Both models read one tiny file in the official Wan/ComfyUI layout: ours through `load_vae`, diffusers' after
renaming with the table of engine-spec §4.3 (written out below, independently of `vae_loading`). The latent
normalisation, which diffusers leaves to its pipeline, is applied on the diffusers side by hand.
"""

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from anima_engine.config import VAEParams
from anima_engine.testing import TINY_VAE, write_tiny_vae
from anima_engine.vae import VAE
from anima_engine.vae_loading import load_vae

diffusers = pytest.importorskip("diffusers")

CONFIGS = {
    # engine-spec §6 (the diffusers test VAE).
    "tiny-z4": TINY_VAE,
    # The real layout (4 stages, 2 residual blocks, 16 latent channels, real statistics), narrow.
    "narrow-z16": VAEParams(base_dim=8),
    # Three stages with temporal flags the other way round, odd widths where allowed.
    "z16-3stage": VAEParams(
        base_dim=12,
        z_dim=16,
        dim_mult=(1, 3, 2),
        num_res_blocks=1,
        temporal_downsample=(True, False),
    ),
}

_RESIDUAL = {"residual.0": "norm1", "residual.2": "conv1", "residual.3": "norm2", "residual.6": "conv2"}
_MIDDLE = {"0": "resnets.0", "1": "attentions.0", "2": "resnets.1"}


def _inner(rest: str) -> str:
    """Names inside one block: residual layers, shortcut, head, resampler and attention keys."""
    for old, new in _RESIDUAL.items():
        if rest.startswith(old + "."):
            return new + rest[len(old) :]
    if rest.startswith("shortcut."):
        return "conv_shortcut." + rest[len("shortcut.") :]
    return rest


def to_diffusers_name(key: str, params: VAEParams) -> str:
    """engine-spec §4.3: ComfyUI/Wan key -> diffusers `AutoencoderKLQwenImage` key."""
    top = {"conv1.": "quant_conv.", "conv2.": "post_quant_conv."}
    for old, new in top.items():
        if key.startswith(old):
            return new + key[len(old) :]
    part, rest = key.split(".", 1)  # encoder / decoder
    if rest.startswith("conv1."):
        return f"{part}.conv_in.{rest[len('conv1.') :]}"
    if rest.startswith("head.0."):
        return f"{part}.norm_out.{rest[len('head.0.') :]}"
    if rest.startswith("head.2."):
        return f"{part}.conv_out.{rest[len('head.2.') :]}"
    if rest.startswith("middle."):
        _, index, inner = rest.split(".", 2)
        return f"{part}.mid_block.{_MIDDLE[index]}.{_inner(inner)}"
    if rest.startswith("downsamples."):
        _, index, inner = rest.split(".", 2)
        return f"{part}.down_blocks.{index}.{_inner(inner)}"
    _, index, inner = rest.split(".", 2)  # decoder.upsamples.N
    per_stage = params.num_res_blocks + 2
    stage, slot = divmod(int(index), per_stage)
    if slot == per_stage - 1:
        return f"{part}.up_blocks.{stage}.upsamplers.0.{inner}"
    return f"{part}.up_blocks.{stage}.resnets.{slot}.{_inner(inner)}"


def diffusers_vae(path: Path, params: VAEParams) -> torch.nn.Module:
    model = diffusers.AutoencoderKLQwenImage(
        base_dim=params.base_dim,
        z_dim=params.z_dim,
        dim_mult=list(params.dim_mult),
        num_res_blocks=params.num_res_blocks,
        temperal_downsample=list(params.temporal_downsample),
        latents_mean=list(params.latents_mean),
        latents_std=list(params.latents_std),
    )
    tensors = {to_diffusers_name(key, params): value for key, value in load_file(str(path)).items()}
    model.load_state_dict(tensors, strict=True)
    return model.eval()


def _stats(params: VAEParams) -> tuple[torch.Tensor, torch.Tensor]:
    shape = (1, params.z_dim, 1, 1, 1)
    return torch.tensor(params.latents_mean).view(shape), torch.tensor(params.latents_std).view(shape)


def _relative_error(ours: torch.Tensor, reference: torch.Tensor) -> float:
    return ((ours - reference).abs().max() / reference.abs().max()).item()


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def models(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    params = CONFIGS[request.param]
    path = write_tiny_vae(tmp_path_factory.mktemp("vae") / "vae.safetensors", params, seed=7)
    return params, load_vae(path, params=params), diffusers_vae(path, params)


def test_decode_matches_diffusers(models: tuple[VAEParams, VAE, torch.nn.Module]) -> None:
    params, ours, reference = models
    z = torch.randn(2, params.z_dim, 1, 5, 7, generator=torch.Generator().manual_seed(1))
    mean, std = _stats(params)
    with torch.no_grad():
        expected = reference.decode(z * std + mean).sample[:, :, 0]
    got = ours.decode(z)
    assert got.shape == expected.shape == (2, 3, 5 * params.spatial_ratio, 7 * params.spatial_ratio)
    # The comparison means something only if the clamp leaves most pixels alone.
    assert (expected.abs() < 1).float().mean() > 0.9
    assert _relative_error(got, expected) < 1e-5


def test_encode_matches_diffusers_mode(models: tuple[VAEParams, VAE, torch.nn.Module]) -> None:
    params, ours, reference = models
    ratio = params.spatial_ratio
    images = torch.rand(2, 3, 6 * ratio, 3 * ratio, generator=torch.Generator().manual_seed(2)) * 2 - 1
    mean, std = _stats(params)
    with torch.no_grad():
        mode = reference.encode(images.unsqueeze(2)).latent_dist.mode()
    expected = (mode - mean) / std
    got = ours.encode(images)
    assert got.shape == expected.shape == (2, params.z_dim, 1, 6, 3)
    assert _relative_error(got, expected) < 1e-5


def test_section_4_3_table_agrees_with_diffusers_converter(tmp_path: Path) -> None:
    """For the real layout, diffusers' own Wan VAE converter gives the same names as our §4.3 table."""
    from diffusers.loaders.single_file_utils import convert_wan_vae_to_diffusers

    params = CONFIGS["narrow-z16"]
    tensors = load_file(str(write_tiny_vae(tmp_path / "vae.safetensors", params)))
    converted = convert_wan_vae_to_diffusers(tensors)
    assert set(converted) == {to_diffusers_name(key, params) for key in tensors}
    for key, value in tensors.items():
        assert converted[to_diffusers_name(key, params)] is value
