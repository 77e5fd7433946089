"""diffusers' modules as the reference for parity tests and the benchmark, loaded with our weights.

diffusers is a test-time reference only (the `test` extra), imported inside the builders. Keys are renamed
from the official checkpoint names, which our modules use, to diffusers' names: engine-spec §3 for the DiT
(`CosmosTransformer3DModel`; the table is the runtime's, `anima_engine.lora.names`, since LoRA files use
diffusers' names too), §4.3 for the VAE (`AutoencoderKLQwenImage`, the table below, independent of
`vae_loading`); the adapter's names are the same in both (§2.3).
"""

from collections.abc import Mapping

import torch
from torch import Tensor, nn

from anima_engine.config import AdapterParams, DiTParams, VAEParams
from anima_engine.dit import VelocityFn
from anima_engine.lora.names import diffusers_name


def diffusers_dit_key(key: str) -> str:
    """diffusers' name of one of our DiT state-dict keys (`blocks.3.mlp.layer1.weight`)."""
    module, _, param = key.rpartition(".")
    renamed = diffusers_name(module)
    if renamed is None:
        raise KeyError(f"no diffusers name for DiT key {key!r}")
    return f"{renamed}.{param}"


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


def diffusers_vae_key(key: str, params: VAEParams) -> str:
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


def reference_dit(
    params: DiTParams, state: Mapping[str, Tensor], *, max_size: tuple[int, int, int] = (128, 240, 240)
) -> nn.Module:
    """diffusers' `CosmosTransformer3DModel` holding our DiT weights (`state`, our names), in eval mode.

    Built with `in_channels = C + 1, concat_padding_mask=False`: the caller appends the zero padding-mask
    channel (diffusers' own mask path resizes with torchvision, which the CPU test environment lacks; the
    numbers are the same). q/k RMSNorm eps is set to ours (ComfyUI's 1e-6; diffusers' default is 1e-5).
    """
    import diffusers

    with torch.device("meta"):
        model = diffusers.CosmosTransformer3DModel(
            in_channels=params.in_channels + 1,
            out_channels=params.out_channels,
            num_attention_heads=params.num_heads,
            attention_head_dim=params.head_dim,
            num_layers=params.num_blocks,
            mlp_ratio=params.mlp_channels / params.model_channels,
            text_embed_dim=params.context_channels,
            adaln_lora_dim=params.adaln_lora_dim,
            max_size=max_size,
            patch_size=params.patch_size,
            rope_scale=params.rope_extrapolation,
            concat_padding_mask=False,
            extra_pos_embed_type=None,
        )
    model.load_state_dict({diffusers_dit_key(k): v for k, v in state.items()}, strict=True, assign=True)
    for name, module in model.named_modules():
        if name.endswith(("norm_q", "norm_k")):
            module.eps = params.qk_norm_eps
    return model.eval().requires_grad_(False)


def reference_velocity(model: nn.Module) -> VelocityFn:
    """`(x, sigma, context) -> v` through a `reference_dit` model, appending the zero padding-mask channel."""

    def velocity(x: Tensor, sigma: Tensor, context: Tensor) -> Tensor:
        x = torch.cat([x, x.new_zeros(x.shape[0], 1, *x.shape[2:])], dim=1).to(context.dtype)
        return model(hidden_states=x, timestep=sigma, encoder_hidden_states=context, return_dict=False)[0]

    return velocity


def reference_adapter(params: AdapterParams, state: Mapping[str, Tensor]) -> nn.Module:
    """diffusers' `AnimaTextConditioner` holding our adapter weights (same key names), in eval mode."""
    import diffusers

    model = diffusers.AnimaTextConditioner(
        source_dim=params.source_dim,
        target_dim=params.target_dim,
        model_dim=params.model_dim,
        num_layers=params.num_blocks,
        num_attention_heads=params.num_heads,
        mlp_ratio=params.mlp_channels / params.model_dim,
        target_vocab_size=params.vocab_size,
        min_sequence_length=params.min_length,
    )
    model.load_state_dict(dict(state), strict=True)
    first = next(iter(state.values()))
    return model.to(device=first.device, dtype=first.dtype).eval().requires_grad_(False)


def reference_vae(params: VAEParams, tensors: Mapping[str, Tensor]) -> nn.Module:
    """diffusers' `AutoencoderKLQwenImage` holding a VAE file's tensors (official names), in eval mode."""
    import diffusers

    model = diffusers.AutoencoderKLQwenImage(
        base_dim=params.base_dim,
        z_dim=params.z_dim,
        dim_mult=list(params.dim_mult),
        num_res_blocks=params.num_res_blocks,
        temperal_downsample=list(params.temporal_downsample),
        latents_mean=list(params.latents_mean),
        latents_std=list(params.latents_std),
    )
    model.load_state_dict(
        {diffusers_vae_key(key, params): value for key, value in tensors.items()}, strict=True
    )
    return model.eval().requires_grad_(False)
