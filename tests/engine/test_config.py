"""Architecture parameters: the real sizes, and every invalid configuration refused with got vs expected."""

import dataclasses

import pytest

from anima_engine.config import PRESETS, AdapterParams, DiTParams, ModelSpec, TextEncoderParams
from anima_engine.errors import ConfigError


def test_anima_preset_has_the_spec_sizes() -> None:
    spec = PRESETS["anima"]
    assert (spec.dit.model_channels, spec.dit.num_blocks, spec.dit.num_heads) == (2048, 28, 16)
    assert spec.dit.patch_channels == 68
    assert spec.dit.rope_dims == (44, 42, 42)
    assert spec.dit.qk_norm_eps == 1e-6
    assert (spec.adapter.num_blocks, spec.adapter.head_dim, spec.adapter.min_length) == (6, 64, 512)
    assert (spec.text_encoder.num_layers, spec.text_encoder.num_kv_heads) == (28, 8)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: DiTParams(num_heads=3), r"model_channels=2048 is not divisible by num_heads=3"),
        (lambda: DiTParams(model_channels=40, num_heads=4), r"head dim .* = 10, expected even and >= 12"),
        (lambda: DiTParams(num_blocks=0), r"DiTParams.num_blocks: got 0, expected a positive value"),
        (lambda: DiTParams(patch_size=(1, 2)), r"patch_size: got \(1, 2\)"),  # type: ignore[arg-type]
        (lambda: DiTParams(rope_extrapolation=(1.0, 0.0, 4.0)), r"rope_extrapolation: got"),
        (lambda: AdapterParams(model_dim=512), r"model_dim=512 differs from target_dim=1024"),
        (lambda: AdapterParams(num_heads=5), r"model_dim=1024 is not divisible by num_heads=5"),
        (lambda: TextEncoderParams(num_kv_heads=3), r"num_heads=16 is not divisible by num_kv_heads=3"),
    ],
)
def test_invalid_params_are_refused(make: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make()  # type: ignore[operator]


def test_config_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        DiTParams(in_channels=-1)


def test_model_spec_checks_the_networks_fit() -> None:
    spec = PRESETS["anima"]
    with pytest.raises(ConfigError, match=r"target_dim=1024, expected the DiT's context_channels=512"):
        dataclasses.replace(spec, dit=dataclasses.replace(spec.dit, context_channels=512))
    small_encoder = dataclasses.replace(spec.text_encoder, hidden_size=512)
    with pytest.raises(ConfigError, match=r"source_dim=1024, expected the text encoder's hidden_size=512"):
        ModelSpec(dit=spec.dit, adapter=spec.adapter, text_encoder=small_encoder)
    with pytest.raises(ConfigError, match=r"VAE z_dim=4, expected the DiT's in_channels=16"):
        dataclasses.replace(
            spec, vae=dataclasses.replace(spec.vae, z_dim=4, latents_mean=(0,) * 4, latents_std=(1,) * 4)
        )


def test_the_image_size_multiple_comes_from_the_params() -> None:
    spec = PRESETS["anima"]
    assert spec.size_multiple == 16  # the VAE's x8 and the DiT's 2x2 patches
    coarse = dataclasses.replace(spec.dit, patch_size=(1, 4, 4))
    assert dataclasses.replace(spec, dit=coarse).size_multiple == 32


def test_params_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        PRESETS["anima"].dit.num_blocks = 3  # type: ignore[misc]
