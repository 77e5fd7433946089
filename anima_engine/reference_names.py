"""Key names of the diffusers reference modules, for parity tests and the benchmark (engine-spec §3, §4.3).

Maps names of the official single files (which our modules use) to diffusers' `CosmosTransformer3DModel`
and `AutoencoderKLQwenImage` names. The adapter's names are the same in both (engine-spec §2.3).
"""

from anima_engine.config import VAEParams

# engine-spec §3, diffusers' COSMOS_2_0 renaming: checkpoint name -> diffusers name.
DIT_TOP_LEVEL = {
    "x_embedder.proj.1.weight": "patch_embed.proj.weight",
    "t_embedder.1.linear_1.weight": "time_embed.t_embedder.linear_1.weight",
    "t_embedder.1.linear_2.weight": "time_embed.t_embedder.linear_2.weight",
    "t_embedding_norm.weight": "time_embed.norm.weight",
    "final_layer.adaln_modulation.1.weight": "norm_out.linear_1.weight",
    "final_layer.adaln_modulation.2.weight": "norm_out.linear_2.weight",
    "final_layer.linear.weight": "proj_out.weight",
}
DIT_BLOCK = {
    "self_attn.q_proj": "attn1.to_q",
    "self_attn.k_proj": "attn1.to_k",
    "self_attn.v_proj": "attn1.to_v",
    "self_attn.output_proj": "attn1.to_out.0",
    "self_attn.q_norm": "attn1.norm_q",
    "self_attn.k_norm": "attn1.norm_k",
    "cross_attn.q_proj": "attn2.to_q",
    "cross_attn.k_proj": "attn2.to_k",
    "cross_attn.v_proj": "attn2.to_v",
    "cross_attn.output_proj": "attn2.to_out.0",
    "cross_attn.q_norm": "attn2.norm_q",
    "cross_attn.k_norm": "attn2.norm_k",
    "mlp.layer1": "ff.net.0.proj",
    "mlp.layer2": "ff.net.2",
    "adaln_modulation_self_attn.1": "norm1.linear_1",
    "adaln_modulation_self_attn.2": "norm1.linear_2",
    "adaln_modulation_cross_attn.1": "norm2.linear_1",
    "adaln_modulation_cross_attn.2": "norm2.linear_2",
    "adaln_modulation_mlp.1": "norm3.linear_1",
    "adaln_modulation_mlp.2": "norm3.linear_2",
}


def diffusers_dit_key(key: str) -> str:
    if key in DIT_TOP_LEVEL:
        return DIT_TOP_LEVEL[key]
    _, index, rest = key.split(".", 2)
    module, param = rest.rsplit(".", 1)
    return f"transformer_blocks.{index}.{DIT_BLOCK[module]}.{param}"


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
