"""Parity of our 2-D VAE with diffusers' `AutoencoderKLQwenImage` (video VAE, T = 1) on the same weights.

Both models read one tiny file in the official Wan/ComfyUI layout: ours through `load_vae`, diffusers' after
renaming with the table of engine-spec §4.3 (`tests/support/reference.py`, independent of `vae_loading`).
The latent normalisation, which diffusers leaves to its pipeline, is applied on the diffusers side by hand.
"""

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from anima_engine._tiny import TINY_VAE, write_tiny_vae
from anima_engine.config import VAEParams
from anima_engine.vae import VAE
from anima_engine.vae_loading import load_vae
from tests.support.reference import diffusers_vae_key, reference_vae

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


def diffusers_vae(path: Path, params: VAEParams) -> torch.nn.Module:
    return reference_vae(params, load_file(str(path)))


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
    assert set(converted) == {diffusers_vae_key(key, params) for key in tensors}
    for key, value in tensors.items():
        assert converted[diffusers_vae_key(key, params)] is value
