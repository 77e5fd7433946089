"""Internal: tiny random-weight checkpoints in exactly the official layouts, for `anima dev make-tiny`.

Only that command imports this module at run time (the test suite uses it too). The files load through
the public loaders (`load_dit`, `load_text_encoder`), so the engine runs end to end on a CPU in seconds.
Layout of `write_tiny_model(directory)`, the one `--model-dir` reads (`locate.py`):

    diffusion_models/anima-tiny.safetensors       DiT under `net.`, adapter under `net.llm_adapter.`
    text_encoders/qwen_3_06b_base.safetensors     Qwen3 under `model.` (HF names)
    tokenizers/qwen3/tokenizer.json               byte-level BPE with `<|endoftext|>`
    tokenizers/t5/tokenizer.json                  Unigram with `<pad>`=0, `</s>`=1, `<unk>`=2
    vae/qwen_image_vae.safetensors                VAE with the official Wan 2.1 names and 3-D kernels
"""

import math
import string
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import torch
from torch import Tensor, nn

from anima_engine.adapter import LLMAdapter
from anima_engine.config import AdapterParams, DiTParams, TextEncoderParams, VAEParams
from anima_engine.dit import DiT
from anima_engine.locate import TEXT_ENCODER_FILE, VAE_FILE
from anima_engine.qwen3 import Qwen3
from anima_engine.text_encoder import QWEN_PAD_TOKEN, T5_EOS_TOKEN
from anima_engine.vae import VAE
from anima_engine.vae_loading import checkpoint_layout
from anima_prompt.places import TOKENIZER_FILES
from anima_prompt.safewrite import replacing

# Head dim 24, so the RoPE split (t, h, w) = (8, 8, 8) is non-trivial.
TINY_DIT = DiTParams(
    model_channels=48, num_blocks=2, num_heads=2, mlp_channels=96, context_channels=32, adaln_lora_dim=8
)
TINY_ADAPTER = AdapterParams(
    source_dim=32, target_dim=32, model_dim=32, num_blocks=2, num_heads=4, mlp_channels=64, vocab_size=128
)
TINY_TEXT_ENCODER = TextEncoderParams(
    vocab_size=272,
    hidden_size=32,
    intermediate_size=64,
    num_layers=2,
    num_heads=4,
    num_kv_heads=2,
    head_dim=8,
)


# engine-spec §6: the diffusers test VAE, with non-trivial latent statistics so that normalisation shows.
TINY_VAE = VAEParams(
    base_dim=24,
    z_dim=4,
    dim_mult=(1, 2, 4),
    num_res_blocks=1,
    temporal_downsample=(False, True),
    latents_mean=(0.3, -0.5, 0.1, 0.8),
    latents_std=(1.5, 0.7, 2.0, 1.1),
)


_IMAGE_HEAD_GAIN = 0.3
M = TypeVar("M", bound=nn.Module)


def _random_vae_tensor(name: str, shape: tuple[int, ...], generator: torch.Generator) -> Tensor:
    if name.endswith(".gamma"):
        return 1.0 + 0.1 * torch.randn(shape, generator=generator)
    if name.endswith(".bias"):
        return 0.05 * torch.randn(shape, generator=generator)
    # Kernels (O, I, [T,] k, k): scale by the 2-D fan-in so that activations stay of order one; the
    # image head is smaller still so that decoded pixels mostly fall inside the [-1, 1] clamp.
    fan_in = shape[1] * math.prod(shape[-2:])
    gain = _IMAGE_HEAD_GAIN if name == "decoder.head.2.weight" else 1.0
    return gain / math.sqrt(fan_in) * torch.randn(shape, generator=generator)


def write_tiny_vae(
    path: str | Path, params: VAEParams = TINY_VAE, seed: int = 0, *, dtype: torch.dtype = torch.float32
) -> Path:
    """Write a random-weight VAE with the official `qwen_image_vae.safetensors` keys and 3-D shapes.

    Every temporal kernel slice (also the ones images never use) and every `time_conv` is random, so a
    loader that picked the wrong slice or kept a dropped tensor would change the numbers.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.device("meta"):
        layout = checkpoint_layout(VAE(params))
    tensors = {
        name: _random_vae_tensor(name, shape, generator).to(dtype)
        for name, shape in sorted(layout.file_shapes().items())
    }
    return _save(tensors, Path(path), dtype)


# The VAE of `write_tiny_model`: 16 latent channels and the real ×8 spatial ratio, so it fits the tiny DiT.
TINY_PIPELINE_VAE = VAEParams(base_dim=8, z_dim=16, num_res_blocks=1)


@dataclass(frozen=True, slots=True)
class TinyFiles:
    """Paths written by `write_tiny_model`."""

    dit: Path
    text_encoder: Path
    tokenizer_dir: Path
    vae: Path


def randomize(module: M, seed: int) -> M:
    """Fill every parameter with seeded values of a sensible scale, norm weights around 1.

    Matrices get N(0, 1/fan_in), so activations keep their size through the layers.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in module.named_parameters():
            # Drawn on the CPU whatever the module's device, so a seed gives the same weights everywhere.
            noise = torch.randn(param.shape, generator=generator, dtype=torch.float32, device="cpu")
            if param.ndim >= 2:
                value = noise / math.sqrt(param.shape[-1])
            elif "norm" in name:
                value = 1 + 0.1 * noise
            else:
                value = 0.1 * noise
            param.copy_(value.to(param.dtype))
    return module


def _save(tensors: dict[str, Tensor], path: Path, dtype: torch.dtype) -> Path:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as temporary:
        save_file(
            {key: value.detach().to(dtype).contiguous() for key, value in tensors.items()}, str(temporary)
        )
    return path


def dit_state_dict(
    dit: DiT, adapter: LLMAdapter, *, prefix: str = "net.", dtype: torch.dtype = torch.float32
) -> dict[str, Tensor]:
    """The official DiT-file layout: DiT keys under `prefix`, adapter keys under `prefix + llm_adapter.`."""
    tensors = {prefix + key: value for key, value in dit.state_dict().items()}
    tensors |= {f"{prefix}llm_adapter.{key}": value for key, value in adapter.state_dict().items()}
    return {key: value.to(dtype) for key, value in tensors.items()}


def write_tiny_dit(
    path: str | Path,
    *,
    dit: DiTParams = TINY_DIT,
    adapter: AdapterParams = TINY_ADAPTER,
    seed: int = 0,
    prefix: str = "net.",
    dtype: torch.dtype = torch.float32,
) -> Path:
    """Write a random DiT + adapter file in the official layout (`prefix` may be `model.diffusion_model.`)."""
    modules = randomize(DiT(dit), seed), randomize(LLMAdapter(adapter), seed + 1)
    return _save(dit_state_dict(*modules, prefix=prefix, dtype=dtype), Path(path), dtype)


def write_tiny_text_encoder(
    path: str | Path,
    *,
    params: TextEncoderParams = TINY_TEXT_ENCODER,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> Path:
    """Write a random Qwen3 text-encoder file in the official layout (HF names under `model.`)."""
    model = randomize(Qwen3(params), seed)
    tensors = {f"model.{key}": value for key, value in model.state_dict().items()}
    return _save(tensors, Path(path), dtype)


def write_tiny_tokenizers(directory: str | Path) -> Path:
    """Write small Qwen3-like and T5-like `tokenizer.json` files under `directory`; returns `directory`.

    The Qwen side is byte-level BPE over the 256 byte symbols (ids 0–255) plus `<|endoftext|>` (256); the
    T5 side is a Unigram model over letters, digits and punctuation with `</s>` = 1 (98 pieces).
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    directory = Path(directory)
    byte_symbols = sorted(pre_tokenizers.ByteLevel.alphabet())
    qwen = Tokenizer(models.BPE(vocab={symbol: i for i, symbol in enumerate(byte_symbols)}, merges=[]))
    qwen.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    qwen.decoder = decoders.ByteLevel()
    qwen.add_special_tokens([AddedToken(QWEN_PAD_TOKEN, special=True)])

    pieces = [("<pad>", 0.0), (T5_EOS_TOKEN, 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    pieces += [("▁" + letter, -3.0) for letter in string.ascii_lowercase]
    pieces += [(symbol, -4.0) for symbol in string.ascii_letters + string.digits + ",.()"]
    t5 = Tokenizer(models.Unigram(pieces, unk_id=2))
    t5.pre_tokenizer = pre_tokenizers.Metaspace()
    t5.decoder = decoders.Metaspace()
    t5.add_special_tokens(["<pad>", T5_EOS_TOKEN, "<unk>"])

    for tokenizer, relative in ((qwen, TOKENIZER_FILES["qwen3"]), (t5, TOKENIZER_FILES["t5"])):
        (directory / relative).parent.mkdir(parents=True, exist_ok=True)
        with replacing(directory / relative) as temporary:
            tokenizer.save(str(temporary))
    return directory


def tiny_model_files(directory: str | Path) -> tuple[Path, ...]:
    """Every file `write_tiny_model(directory)` writes."""
    directory = Path(directory)
    return (
        directory / "diffusion_models" / "anima-tiny.safetensors",
        directory / "text_encoders" / TEXT_ENCODER_FILE,
        directory / "tokenizers" / TOKENIZER_FILES["qwen3"],
        directory / "tokenizers" / TOKENIZER_FILES["t5"],
        directory / "vae" / VAE_FILE,
    )


def write_tiny_model(directory: str | Path, *, seed: int = 0) -> TinyFiles:
    """Write a tiny DiT, text encoder, VAE and tokenizers under `directory` (see the module doc), where
    `load_pipeline(model_dir=directory)` finds them."""
    dit, text_encoder, _qwen, _t5, vae = tiny_model_files(directory)
    return TinyFiles(
        dit=write_tiny_dit(dit, seed=seed),
        text_encoder=write_tiny_text_encoder(text_encoder, seed=seed + 2),
        tokenizer_dir=write_tiny_tokenizers(Path(directory) / "tokenizers"),
        vae=write_tiny_vae(vae, TINY_PIPELINE_VAE, seed + 3),
    )
