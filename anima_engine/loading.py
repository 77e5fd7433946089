"""Build the DiT, the LLM adapter and the text encoder from the official single files (engine-spec §3).

Modules are built on the meta device and the file's tensors are assigned to them (no second copy). The
sizes a file fixes (widths, head counts, numbers of blocks) are read from its tensor shapes, starting from
the "anima" preset, so community variants with more blocks and tiny test files load through the same
code. Default precision: bfloat16 on CUDA, float32 on CPU.
"""

import dataclasses
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import nn

from anima_engine.adapter import LLMAdapter
from anima_engine.config import PRESETS, AdapterParams, DiTParams, TextEncoderParams
from anima_engine.dit import DiT
from anima_engine.errors import CheckpointError, ConfigError
from anima_engine.qwen3 import Qwen3
from anima_engine.text_encoder import TextEncoder, Tokenizers, load_tokenizers
from anima_engine.timing import timed
from anima_engine.weights import (
    DIT_PREFIXES,
    assign_state_dicts,
    load_tensors,
    read_header,
    require_kind,
    strip_found_prefix,
)

ADAPTER_PREFIX = "llm_adapter."
TEXT_ENCODER_PREFIX = "model."
# Bookkeeping entries some trainers leave in DiT files; diffusers' converter drops them too (engine-spec §3).
_IGNORED_DIT_PREFIXES = ("accum_", "pos_embedder.")
_IGNORED_DIT_SUFFIXES = ("._extra_state",)
# A full Qwen3ForCausalLM file carries an output head that text encoding never uses.
_IGNORED_TEXT_ENCODER_KEYS = frozenset({"lm_head.weight"})

Shapes = Mapping[str, Sequence[int]]


class AnimaDiT(NamedTuple):
    """The two networks stored in an Anima DiT file."""

    dit: DiT
    adapter: LLMAdapter


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def default_dtype(device: torch.device) -> torch.dtype:
    return torch.bfloat16 if device.type == "cuda" else torch.float32


def resolve_device(
    device: str | torch.device | None, dtype: torch.dtype | None
) -> tuple[torch.device, torch.dtype]:
    """The device (default: CUDA when available) and dtype (default: `default_dtype`), checked.

    Raises:
        ConfigError: `device` names no torch device, or one this machine does not have.
    """
    resolved = check_device(device) if device is not None else default_device()
    return resolved, dtype if dtype is not None else default_dtype(resolved)


def check_device(device: str | torch.device) -> torch.device:
    """`device` as a torch device that exists on this machine; checked without initialising CUDA.

    Raises:
        ConfigError: not a device name, no CUDA (or MPS) on this machine, or a CUDA index out of range.
    """
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"device {device!r} is not a torch device; expected cpu, cuda or cuda:N") from None
    if resolved.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ConfigError(
                f"device {str(device)!r}: CUDA is not available on this machine; use --device cpu"
            )
        if resolved.index is not None and resolved.index >= count:
            plural = "s" if count > 1 else ""
            raise ConfigError(f"device {str(device)!r}: this machine has {count} CUDA device{plural}")
    elif resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"device {str(device)!r}: MPS is not available on this machine")
    elif resolved.type not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"device {str(device)!r}: only cpu, cuda and mps devices are supported")
    return resolved


def _count(shapes: Shapes, prefix: str) -> int | None:
    """Number of numbered sub-modules `prefix{N}.`: the highest index plus one (gaps show up as missing)."""
    numbers = [key[len(prefix) :].split(".", 1)[0] for key in shapes if key.startswith(prefix)]
    indices = [int(number) for number in numbers if number.isdigit()]
    return max(indices) + 1 if indices else None


def _dim(shapes: Shapes, key: str, axis: int) -> int | None:
    """Size of `key` along `axis`; in a key with `{N}`, the lowest-numbered block that has it."""
    if "{N}" in key:
        head, tail = key.split("{N}")
        numbers = sorted(
            int(name[len(head) : -len(tail)])
            for name in shapes
            if name.startswith(head) and name.endswith(tail) and name[len(head) : -len(tail)].isdigit()
        )
        key = f"{head}{numbers[0]}{tail}" if numbers else key
    shape = shapes.get(key)
    return int(shape[axis]) if shape is not None and len(shape) > axis else None


def _ratio(total: int | None, part: int | None) -> int | None:
    return total // part if total is not None and part and total % part == 0 else None


def _with_sizes(base: Any, path: Path, sizes: dict[str, int | None]) -> Any:
    """`base` with every size found in the file replaced; a size the file lacks keeps the preset's value."""
    found = {name: value for name, value in sizes.items() if value is not None}
    try:
        return dataclasses.replace(base, **found)
    except ConfigError as error:
        raise CheckpointError(f"{path}: tensor shapes do not form a valid model ({error})") from None


def dit_params(shapes: Shapes, base: DiTParams, path: Path) -> DiTParams:
    """DiT sizes read from the (unprefixed) shapes of a DiT file."""
    p_t, p_h, p_w = base.patch_size
    volume = p_t * p_h * p_w
    width = _dim(shapes, "x_embedder.proj.1.weight", 0)
    patch_channels = _ratio(_dim(shapes, "x_embedder.proj.1.weight", 1), volume)
    return _with_sizes(
        base,
        path,
        {
            "model_channels": width,
            "in_channels": patch_channels - 1 if patch_channels and patch_channels > 1 else None,
            "out_channels": _ratio(_dim(shapes, "final_layer.linear.weight", 0), volume),
            "num_blocks": _count(shapes, "blocks."),
            "num_heads": _ratio(width, _dim(shapes, "blocks.{N}.self_attn.q_norm.weight", 0)),
            "mlp_channels": _dim(shapes, "blocks.{N}.mlp.layer1.weight", 0),
            "context_channels": _dim(shapes, "blocks.{N}.cross_attn.k_proj.weight", 1),
            "adaln_lora_dim": _dim(shapes, "blocks.{N}.adaln_modulation_self_attn.1.weight", 0),
        },
    )


def adapter_params(shapes: Shapes, base: AdapterParams, path: Path) -> AdapterParams:
    """Adapter sizes read from the shapes under `llm_adapter.` (prefix removed)."""
    width = _dim(shapes, "embed.weight", 1)
    return _with_sizes(
        base,
        path,
        {
            "vocab_size": _dim(shapes, "embed.weight", 0),
            "target_dim": width,
            "model_dim": width,
            "source_dim": _dim(shapes, "blocks.{N}.cross_attn.k_proj.weight", 1),
            "num_blocks": _count(shapes, "blocks."),
            "num_heads": _ratio(width, _dim(shapes, "blocks.{N}.self_attn.q_norm.weight", 0)),
            "mlp_channels": _dim(shapes, "blocks.{N}.mlp.0.weight", 0),
        },
    )


def text_encoder_params(shapes: Shapes, base: TextEncoderParams, path: Path) -> TextEncoderParams:
    """Qwen3 sizes read from the shapes under `model.` (prefix removed)."""
    head_dim = _dim(shapes, "layers.{N}.self_attn.q_norm.weight", 0)
    return _with_sizes(
        base,
        path,
        {
            "vocab_size": _dim(shapes, "embed_tokens.weight", 0),
            "hidden_size": _dim(shapes, "embed_tokens.weight", 1),
            "intermediate_size": _dim(shapes, "layers.{N}.mlp.gate_proj.weight", 0),
            "num_layers": _count(shapes, "layers."),
            "head_dim": head_dim,
            "num_heads": _ratio(_dim(shapes, "layers.{N}.self_attn.q_proj.weight", 0), head_dim),
            "num_kv_heads": _ratio(_dim(shapes, "layers.{N}.self_attn.k_proj.weight", 0), head_dim),
        },
    )


def _header_shapes(path: Path) -> dict[str, list[int]]:
    # read_header has checked that every entry's shape is a list of sizes
    return {name: list(info["shape"]) for name, info in read_header(path).items()}  # type: ignore[call-overload]


def _outside(entries: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """Entries not under the file's prefix: reported as unexpected, under their full names."""
    return {key: value for key, value in entries.items() if not key.startswith(prefix)}


def _split_dit_file(entries: Mapping[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(prefix found, DiT entries, adapter entries), prefixes removed and bookkeeping entries dropped."""
    prefix, entries = strip_found_prefix(entries, DIT_PREFIXES)
    kept = {
        key: value
        for key, value in entries.items()
        if not key.startswith(_IGNORED_DIT_PREFIXES) and not key.endswith(_IGNORED_DIT_SUFFIXES)
    }
    dit = {key: value for key, value in kept.items() if not key.startswith(ADAPTER_PREFIX)}
    adapter = {
        key[len(ADAPTER_PREFIX) :]: value for key, value in kept.items() if key.startswith(ADAPTER_PREFIX)
    }
    return prefix, dit, adapter


def load_dit(
    path: str | Path, *, device: str | torch.device | None = None, dtype: torch.dtype | None = None
) -> AnimaDiT:
    """Load the DiT and the LLM adapter from one Anima DiT file (under `net.` or `model.diffusion_model.`).

    Raises:
        CheckpointError: the file is missing, pickle-based, truncated, corrupt or of another kind, or any key
            is missing, unexpected or mis-shaped (all named in one message).
    """
    path = Path(path)
    device, dtype = resolve_device(device, dtype)
    shapes = _header_shapes(path)
    require_kind(path, shapes, "dit")
    preset = PRESETS["anima"]
    prefix, dit_shapes, adapter_shapes = _split_dit_file(shapes)
    params = dit_params(dit_shapes, preset.dit, path)
    a_params = adapter_params(adapter_shapes, preset.adapter, path)

    tensors = load_tensors(path, device=device)
    _, dit_tensors, adapter_tensors = _split_dit_file(tensors)
    with torch.device("meta"):
        dit, adapter = DiT(params), LLMAdapter(a_params)
    parts = [
        (prefix, dit, dit_tensors),
        (prefix + ADAPTER_PREFIX, adapter, adapter_tensors),
        ("", nn.Module(), _outside(tensors, prefix)),
    ]
    assign_state_dicts(parts, path=path, what="the Anima DiT layout", dtype=dtype)
    return AnimaDiT(dit.eval().requires_grad_(False), adapter.eval().requires_grad_(False))


def load_text_encoder(
    path: str | Path,
    *,
    tokenizer_dir: str | Path,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
) -> TextEncoder:
    """Load Qwen3-0.6B from its single file (HF names under `model.`) and the tokenizers from `tokenizer_dir`.

    `tokenizer_dir` holds `qwen3/tokenizer.json` and `t5/tokenizer.json`.

    Raises:
        CheckpointError: as `load_dit`, for the weights or the tokenizer files.
    """
    path = Path(path)
    device, dtype = resolve_device(device, dtype)
    shapes = _header_shapes(path)
    require_kind(path, shapes, "text_encoder")
    prefix, shapes = strip_found_prefix(shapes, (TEXT_ENCODER_PREFIX,))
    params = text_encoder_params(shapes, PRESETS["anima"].text_encoder, path)
    # The tokenizers (0.4 s for Qwen's) are read while the weights stream in.
    with ThreadPoolExecutor(1, thread_name_prefix="anima-tokenizers") as pool:
        reading = pool.submit(_timed_tokenizers, tokenizer_dir)
        tensors = load_tensors(path, device=device)
        tokenizers = reading.result()
    vocab_needed = tokenizers.qwen.get_vocab_size(with_added_tokens=True)
    if vocab_needed > params.vocab_size:
        raise CheckpointError(
            f"{path}: embedding table has {params.vocab_size} rows, "
            f"the Qwen tokenizer in {tokenizer_dir} needs {vocab_needed}"
        )
    tensors = {key: value for key, value in tensors.items() if key not in _IGNORED_TEXT_ENCODER_KEYS}
    outside = _outside(tensors, prefix)
    _, tensors = strip_found_prefix(tensors, (TEXT_ENCODER_PREFIX,))
    with torch.device("meta"):
        model = Qwen3(params)
    parts = [(prefix, model, tensors), ("", nn.Module(), outside)]
    assign_state_dicts(parts, path=path, what="the Qwen3 text encoder layout", dtype=dtype)
    return TextEncoder(model=model.eval().requires_grad_(False), tokenizers=tokenizers, params=params)


def _timed_tokenizers(directory: str | Path) -> Tokenizers:
    with timed("tokenizers"):
        return load_tokenizers(directory)
