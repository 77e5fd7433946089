"""The Qwen-Image VAE for images: parameters, checkpoint layout, loading, decode/encode and tiled decode."""

import dataclasses
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from anima_engine._tiny import TINY_VAE, write_tiny_vae
from anima_engine.config import QWEN_IMAGE_VAE, WAN21_LATENTS_MEAN, VAEParams
from anima_engine.errors import CheckpointError, ConfigError
from anima_engine.vae import VAE
from anima_engine.vae_loading import checkpoint_layout, count_checkpoint_parameters, load_vae

RATIO = TINY_VAE.spatial_ratio


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_vae(tmp_path_factory.mktemp("vae") / "qwen_image_vae.safetensors", TINY_VAE, seed=3)


@pytest.fixture(scope="module")
def vae(tiny_file: Path) -> VAE:
    return load_vae(tiny_file, params=TINY_VAE)


def _latents(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _images(batch: int, height: int, width: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(batch, 3, height, width, generator=torch.Generator().manual_seed(seed)) * 2 - 1


# --- parameters and the official layout ---------------------------------------------------------------


def test_real_size_matches_the_spec() -> None:
    """engine-spec §4.1: 126,892,531 values in the file; encoder 53.6 M, decoder 73.3 M."""
    assert QWEN_IMAGE_VAE.spatial_ratio == 8
    assert QWEN_IMAGE_VAE.latents_mean == WAN21_LATENTS_MEAN
    assert count_checkpoint_parameters(QWEN_IMAGE_VAE) == 126_892_531
    with torch.device("meta"):
        shapes = checkpoint_layout(VAE(QWEN_IMAGE_VAE)).file_shapes()
    encoder = sum(math.prod(s) for k, s in shapes.items() if k.startswith("encoder."))
    decoder = sum(math.prod(s) for k, s in shapes.items() if k.startswith("decoder."))
    assert round(encoder / 1e6, 1) == 53.6
    assert round(decoder / 1e6, 1) == 73.3


def test_real_layout_key_names() -> None:
    """engine-spec §4.3: resamplers at encoder 2, 5, 8 and decoder 3, 7, 11; 3-D kernels; time_convs."""
    with torch.device("meta"):
        shapes = checkpoint_layout(VAE(QWEN_IMAGE_VAE)).file_shapes()
    resamplers = {k.split(".")[2] for k in shapes if ".resample.1." in k and k.startswith("encoder.")}
    assert resamplers == {"2", "5", "8"}
    resamplers = {k.split(".")[2] for k in shapes if ".resample.1." in k and k.startswith("decoder.")}
    assert resamplers == {"3", "7", "11"}
    time_convs = {k.rsplit(".", 2)[0] for k in shapes if ".time_conv." in k}
    assert time_convs == {
        "encoder.downsamples.5",
        "encoder.downsamples.8",
        "decoder.upsamples.3",
        "decoder.upsamples.7",
    }
    assert shapes["encoder.conv1.weight"] == (96, 3, 3, 3, 3)
    assert shapes["conv1.weight"] == (32, 32, 1, 1, 1)
    assert shapes["conv2.weight"] == (16, 16, 1, 1, 1)
    assert shapes["decoder.conv1.weight"] == (384, 16, 3, 3, 3)
    assert shapes["decoder.middle.1.to_qkv.weight"] == (1152, 384, 1, 1)
    assert shapes["decoder.middle.1.norm.gamma"] == (384, 1, 1)
    assert shapes["decoder.middle.0.residual.0.gamma"] == (384, 1, 1, 1)
    assert shapes["decoder.upsamples.4.shortcut.weight"] == (384, 192, 1, 1, 1)
    assert shapes["decoder.upsamples.3.time_conv.weight"] == (768, 384, 3, 1, 1)
    assert shapes["encoder.downsamples.5.time_conv.weight"] == (192, 192, 3, 1, 1)
    assert shapes["decoder.head.2.weight"] == (3, 96, 3, 3, 3)
    assert len(shapes) == 186 + 8  # tensors that images use, plus the four time_convs' weights and biases


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"base_dim": 0}, "base_dim must be a positive integer"),
        ({"dim_mult": ()}, "dim_mult must be positive integers"),
        ({"temporal_downsample": (False,)}, "temporal_downsample has 1 entries, expected 3"),
        ({"latents_std": (1.0,) * 15}, "latents_std has 15 entries, expected z_dim=16"),
        ({"latents_std": (1.0,) * 15 + (0.0,)}, "latents_std must be positive"),
        ({"base_dim": 3, "dim_mult": (1, 1), "temporal_downsample": (False,)}, "must be even"),
    ],
)
def test_params_validate(change: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        dataclasses.replace(QWEN_IMAGE_VAE, **change)


# --- loading ------------------------------------------------------------------------------------------


def test_tiny_file_has_the_official_layout(tiny_file: Path) -> None:
    tensors = load_file(str(tiny_file))
    with torch.device("meta"):
        shapes = checkpoint_layout(VAE(TINY_VAE)).file_shapes()
    assert {k: tuple(v.shape) for k, v in tensors.items()} == shapes
    assert tensors["decoder.conv1.weight"].shape == (96, 4, 3, 3, 3)


def test_loader_takes_the_last_temporal_slice(tiny_file: Path, vae: VAE) -> None:
    tensors = load_file(str(tiny_file))
    assert not vae.training
    assert torch.equal(vae.decoder.conv_in.weight, tensors["decoder.conv1.weight"][:, :, -1])
    assert torch.equal(vae.quant_conv.weight, tensors["conv1.weight"][:, :, 0])
    assert torch.equal(vae.encoder.norm_out.gamma, tensors["encoder.head.0.gamma"][:, 0])
    assert torch.equal(vae.decoder.upsamples[2].conv.weight, tensors["decoder.upsamples.2.resample.1.weight"])
    for name, param in vae.named_parameters():
        assert param.dtype == torch.float32 and param.is_contiguous(), name


def test_unused_slices_and_time_convs_do_not_matter(tiny_file: Path, vae: VAE, tmp_path: Path) -> None:
    tensors = load_file(str(tiny_file))
    for key, value in tensors.items():
        if ".time_conv." in key:
            value.normal_()
        elif value.ndim == 5 and value.shape[2] == 3:
            value[:, :, :2].normal_()
    changed = tmp_path / "changed.safetensors"
    save_file(tensors, str(changed))
    z = _latents(1, 4, 1, 3, 4)
    assert torch.equal(load_vae(changed, params=TINY_VAE).decode(z), vae.decode(z))
    tensors["decoder.conv1.weight"][:, :, 2].normal_()
    save_file(tensors, str(changed))
    assert not torch.allclose(load_vae(changed, params=TINY_VAE).decode(z), vae.decode(z))


def test_time_convs_are_optional(tiny_file: Path, vae: VAE, tmp_path: Path) -> None:
    tensors = {k: v for k, v in load_file(str(tiny_file)).items() if ".time_conv." not in k}
    save_file(tensors, str(tmp_path / "vae.safetensors"))
    z = _latents(1, 4, 1, 2, 2)
    assert torch.equal(load_vae(tmp_path / "vae.safetensors", params=TINY_VAE).decode(z), vae.decode(z))


def test_bf16_weights(tiny_file: Path, vae: VAE) -> None:
    half = load_vae(tiny_file, params=TINY_VAE, dtype=torch.bfloat16)
    assert all(p.dtype == torch.bfloat16 for p in half.parameters())
    z = _latents(1, 4, 1, 3, 3)
    images = half.decode(z)
    assert images.dtype == torch.bfloat16
    assert (images.float() - vae.decode(z)).abs().max() < 0.05
    latents = half.encode(_images(1, 16, 16))
    assert latents.dtype == torch.float32
    assert (latents - vae.encode(_images(1, 16, 16))).abs().max() < 0.1


def _one_line_error(path: Path, params: VAEParams = TINY_VAE) -> str:
    with pytest.raises(CheckpointError) as caught:
        load_vae(path, params=params)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    return message


def _save(path: Path, tensors: dict[str, torch.Tensor]) -> Path:
    save_file(tensors, str(path))
    return path


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (["net.blocks.0.mlp.layer1.weight"], "a diffusion-model (DiT) checkpoint, not the VAE"),
        (["model.diffusion_model.x_embedder.proj.1.weight"], "a diffusion-model (DiT) checkpoint"),
        (["model.layers.0.self_attn.q_proj.weight", "model.norm.weight"], "a text-encoder checkpoint"),
        (["decoder.conv_in.weight", "encoder.conv_in.weight"], "a VAE with other key names"),
        (["first_stage_model.something"], "no VAE tensors found"),
    ],
)
def test_wrong_kind_of_file(tmp_path: Path, keys: list[str], message: str) -> None:
    path = _save(tmp_path / "file.safetensors", {key: torch.zeros(2, 2) for key in keys})
    assert message in _one_line_error(path)


def test_truncated_file(tiny_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "cut.safetensors"
    path.write_bytes(tiny_file.read_bytes()[:-1000])
    assert "truncated" in _one_line_error(path)


def test_pickle_file_refused(tmp_path: Path) -> None:
    path = tmp_path / "vae.pt"
    path.write_bytes(b"\x80\x04junk")
    assert "pickle-based checkpoints are not loaded" in _one_line_error(path)


def test_missing_unexpected_and_misshaped_keys_are_named(tiny_file: Path, tmp_path: Path) -> None:
    tensors = load_file(str(tiny_file))
    del tensors["decoder.middle.1.proj.bias"]
    tensors["decoder.middle.3.gamma"] = torch.ones(96, 1, 1, 1)
    tensors["encoder.conv1.weight"] = tensors["encoder.conv1.weight"][:, :, -1].contiguous()  # a 2-D kernel
    path = _save(tmp_path / "broken.safetensors", tensors)
    with pytest.raises(CheckpointError) as caught:
        load_vae(path, params=TINY_VAE)
    error = caught.value
    assert error.missing == ("decoder.middle.1.proj.bias",)
    assert error.unexpected == ("decoder.middle.3.gamma",)
    assert error.misshaped == ("encoder.conv1.weight (file [24, 3, 3, 3], model [24, 3, 3, 3, 3])",)
    message = str(error)
    assert "\n" not in message
    assert "1 missing keys: decoder.middle.1.proj.bias" in message
    assert "1 unexpected keys: decoder.middle.3.gamma" in message
    assert "1 mis-shaped keys: encoder.conv1.weight" in message


def test_other_architecture_is_reported(tiny_file: Path) -> None:
    message = _one_line_error(tiny_file, QWEN_IMAGE_VAE)
    assert "mis-shaped keys: conv1.bias (file [8], model [32])" in message
    assert "missing keys" in message


# --- decode and encode --------------------------------------------------------------------------------


@pytest.mark.parametrize("five_d", [True, False])
def test_decode_shapes_and_range(vae: VAE, five_d: bool) -> None:
    z = _latents(2, 4, 1, 3, 5)
    images = vae.decode(z if five_d else z[:, :, 0])
    assert images.shape == (2, 3, 3 * RATIO, 5 * RATIO)
    assert images.dtype == torch.float32
    assert torch.isfinite(images).all()
    assert images.abs().max() <= 1.0
    assert images.std() > 0.05


def test_decode_is_deterministic(tiny_file: Path, vae: VAE, tmp_path: Path) -> None:
    z = _latents(1, 4, 1, 4, 4)
    again = load_vae(write_tiny_vae(tmp_path / "again.safetensors", TINY_VAE, seed=3), params=TINY_VAE)
    assert torch.equal(vae.decode(z), vae.decode(z))
    assert torch.equal(again.decode(z), vae.decode(z))
    other = load_vae(write_tiny_vae(tmp_path / "other.safetensors", TINY_VAE, seed=4), params=TINY_VAE)
    assert not torch.allclose(other.decode(z), vae.decode(z))


def test_batch_items_are_independent(vae: VAE) -> None:
    z = _latents(3, 4, 1, 4, 3)
    together = vae.decode(z)
    for i in range(3):
        assert torch.allclose(vae.decode(z[i : i + 1]), together[i : i + 1], atol=1e-6)


def test_decode_denormalises_then_clamps(vae: VAE) -> None:
    """decode(z) runs the raw decoder on z·std + mean, so raw latents m decode from (m − mean)/std."""
    raw = _latents(1, 4, 1, 3, 3) * 2
    mean = torch.tensor(TINY_VAE.latents_mean).view(1, 4, 1, 1, 1)
    std = torch.tensor(TINY_VAE.latents_std).view(1, 4, 1, 1, 1)
    with torch.inference_mode():
        expected = vae.decoder(vae.post_quant_conv(raw[:, :, 0])).clamp(-1, 1)
    assert torch.allclose(vae.decode((raw - mean) / std), expected, atol=1e-6)


def test_encode_normalises_the_mean(vae: VAE) -> None:
    images = _images(2, 24, 16)
    latents = vae.encode(images)
    assert latents.shape == (2, 4, 1, 24 // RATIO, 16 // RATIO)
    assert latents.dtype == torch.float32
    mean = torch.tensor(TINY_VAE.latents_mean).view(1, 4, 1, 1)
    std = torch.tensor(TINY_VAE.latents_std).view(1, 4, 1, 1)
    with torch.inference_mode():
        moments = vae.quant_conv(vae.encoder(images))
    assert moments.shape == (2, 8, 24 // RATIO, 16 // RATIO)
    assert torch.allclose(latents[:, :, 0] * std + mean, moments[:, :4], atol=1e-5)


def test_round_trip_shapes(vae: VAE) -> None:
    images = _images(2, 32, 24)
    latents = vae.encode(images)
    again = vae.decode(latents)
    assert again.shape == images.shape
    assert torch.isfinite(again).all() and again.abs().max() <= 1
    assert vae.encode(again).shape == latents.shape
    assert torch.isfinite(vae.encode(again)).all()


def test_channels_last(tiny_file: Path, vae: VAE) -> None:
    fast = load_vae(tiny_file, params=TINY_VAE).to(memory_format=torch.channels_last)
    z = _latents(2, 4, 4, 5)
    images = _images(2, 24, 32)
    assert torch.allclose(
        fast.decode(z.contiguous(memory_format=torch.channels_last)), vae.decode(z), atol=1e-5
    )
    got = fast.encode(images.contiguous(memory_format=torch.channels_last))
    assert torch.allclose(got, vae.encode(images), atol=1e-5)


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ((1, 3, 1, 4, 4), "expects latents \\(B, 4, 1, h, w\\)"),
        ((1, 4, 2, 4, 4), "single-frame latents"),
        ((4, 4, 4), "expects latents"),
    ],
)
def test_decode_rejects_bad_latents(vae: VAE, shape: tuple[int, ...], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        vae.decode(torch.zeros(shape))


def test_encode_rejects_bad_images(vae: VAE) -> None:
    with pytest.raises(ConfigError, match="image size 18x16 is not a multiple of 4"):
        vae.encode(torch.zeros(1, 3, 16, 18))
    with pytest.raises(ConfigError, match="expects images \\(B, 3, H, W\\)"):
        vae.encode(torch.zeros(1, 4, 16, 16))


# --- tiled decode -------------------------------------------------------------------------------------


def test_tiled_decode_matches_untiled(vae: VAE) -> None:
    """Tiles overlap by a halo wider than the up-sampling path's receptive field: no seams, no blending.

    Measured on this tiny model: max |tiled − untiled| = 0 to 4e-7 (float rounding of different conv
    shapes), with a latent larger than two halos (8) and tiles that do not divide it.
    """
    z = _latents(2, 4, 1, 19, 13, seed=5)
    assert vae.decoder.halo == 8
    difference = (vae.decode(z, tile=10) - vae.decode(z)).abs().max()
    assert difference < 1e-5


def test_tiling_halo_is_needed(tiny_file: Path) -> None:
    """With a halo one latent pixel short of the receptive field, tile edges show."""
    vae = load_vae(tiny_file, params=TINY_VAE)
    z = _latents(1, 4, 1, 19, 13, seed=5)
    untiled = vae.decode(z)
    vae.decoder.halo -= 1
    assert (vae.decode(z, tile=10) - untiled).abs().max() > 1e-6


def test_tile_must_be_positive(vae: VAE) -> None:
    with pytest.raises(ConfigError, match="tile must be a positive number"):
        vae.decode(_latents(1, 4, 2, 2), tile=0)


def _header_only_file(path: Path, shapes: dict[str, tuple[int, ...]]) -> Path:
    """A safetensors file with these fp16 shapes and a sparse, all-zero data area (no tensors written)."""
    import json
    import struct

    header, offset = {}, 0
    for name, shape in sorted(shapes.items()):
        size = 2 * math.prod(shape)
        header[name] = {"dtype": "F16", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    encoded = json.dumps(header).encode()
    with path.open("wb") as handle:
        handle.write(struct.pack("<Q", len(encoded)) + encoded)
        handle.truncate(8 + len(encoded) + offset)
    return path


@pytest.mark.parametrize(
    "params",
    [
        QWEN_IMAGE_VAE,
        VAEParams(base_dim=8, num_res_blocks=1),
        VAEParams(base_dim=8, dim_mult=(1, 2, 2), num_res_blocks=3, temporal_downsample=(True, False)),
    ],
)
def test_vae_params_are_read_from_the_file_shapes(tmp_path: Path, params: VAEParams) -> None:
    from anima_engine.vae_loading import read_vae_params

    with torch.device("meta"):
        shapes = checkpoint_layout(VAE(params)).file_shapes()
    assert read_vae_params(_header_only_file(tmp_path / "vae.safetensors", shapes)) == params


def test_vae_params_need_known_latent_statistics(tiny_file: Path) -> None:
    from anima_engine.vae_loading import read_vae_params

    with pytest.raises(CheckpointError, match="4 latent channels has no known latent statistics"):
        read_vae_params(tiny_file)
