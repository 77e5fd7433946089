"""Recognising LoRAs made for other model families, so that they are refused by name.

Each family is known by module names that no Anima layer has (checked with dots read as underscores, so
Kohya and dotted spellings match alike). Order matters: SDXL is told from other UNets by its second text
encoder, HunyuanVideo from Flux by its token refiner (their block names are the same).
"""

from collections.abc import Iterable

FOREIGN_FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("SDXL", ("lora_te2_", "text_encoder_2_", "conditioner_embedders_1_")),
    (
        "Stable Diffusion 1.x/2.x",
        ("down_blocks_", "up_blocks_", "mid_block_", "input_blocks_", "output_blocks_", "middle_block_"),
    ),
    ("Stable Diffusion (CLIP text encoder)", ("text_model_encoder_layers_", "lora_te1_")),
    ("HunyuanVideo", ("individual_token_refiner",)),
    ("Flux (or HunyuanVideo)", ("double_blocks_", "single_blocks_", "single_transformer_blocks_")),
    ("SD3", ("joint_blocks_", "context_block_", "x_block_")),
    ("AuraFlow", ("joint_transformer_blocks_",)),
    ("HiDream", ("double_stream_blocks_", "single_stream_blocks_")),
    ("Qwen-Image", ("img_mlp_", "txt_mlp_", "img_mod_", "txt_mod_")),
    ("Wan", ("_ffn_0_", "_ffn_2_", "_k_img_", "_v_img_")),
    ("Lumina 2 / Z-Image", ("noise_refiner_", "context_refiner_", "_attention_qkv_")),
    ("PixArt", ("adaln_single_", "caption_projection_")),
)


def foreign_family(keys: Iterable[str]) -> tuple[str, str] | None:
    """(family, an example key) if any of `keys` looks like another model family's layer, else None."""
    flattened = [(key, key.lower().replace(".", "_")) for key in keys]
    for family, markers in FOREIGN_FAMILIES:
        for key, flat in flattened:
            if any(marker in flat for marker in markers):
                return family, key
    return None
