"""Reading safetensors checkpoints safely and assigning them to modules built on the meta device.

We never unpickle: `.ckpt`, `.pt`, `.pth` and `.bin` files are refused before they are opened as
tensors. A file is validated (header length, JSON header, data extent) before any tensor is read, so a
truncated or corrupt download gets a one-line `CheckpointError` naming the file and the problem.
"""

import bisect
import contextlib
import itertools
import json
import os
import struct
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TypeVar

import torch
from torch import Tensor, nn

from anima_engine.errors import CheckpointError

PICKLE_SUFFIXES = frozenset({".ckpt", ".pt", ".pth", ".bin", ".pkl", ".pickle"})
_MAX_HEADER_BYTES = 100 * 1024 * 1024
_LISTED_KEYS = 8

V = TypeVar("V")


def _pickle_like(path: Path) -> bool:
    if path.suffix.lower() in PICKLE_SUFFIXES:
        return True
    with path.open("rb") as file:
        start = file.read(4)
    return start.startswith(b"PK\x03\x04") or start[:1] == b"\x80"


def read_header(path: str | Path) -> dict[str, dict[str, object]]:
    """Validate a safetensors file and return its tensor table (name -> dtype, shape, offsets).

    Raises:
        CheckpointError: the file is missing, pickle-based, truncated or not a safetensors file.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: file not found")
    if _pickle_like(path):
        raise CheckpointError(
            f"{path}: pickle-based checkpoints are not loaded (they can run code); use a .safetensors file"
        )
    size = path.stat().st_size
    with path.open("rb") as file:
        prefix = file.read(8)
        if len(prefix) < 8:
            raise CheckpointError(f"{path}: not a safetensors file (only {size} bytes)")
        (header_len,) = struct.unpack("<Q", prefix)
        if header_len > min(_MAX_HEADER_BYTES, size - 8):
            raise CheckpointError(
                f"{path}: not a safetensors file, or truncated (header of {header_len} bytes)"
            )
        try:
            header = json.loads(file.read(header_len))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise CheckpointError(f"{path}: corrupt safetensors header") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: corrupt safetensors header")
    header.pop("__metadata__", None)
    data_len = size - 8 - header_len
    end = 0
    for name, info in header.items():
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        shape = info.get("shape") if isinstance(info, dict) else None
        if not (
            isinstance(offsets, list)
            and len(offsets) == 2
            and isinstance(shape, list)
            and all(isinstance(size, int) and size >= 0 for size in shape)
        ):
            raise CheckpointError(f"{path}: corrupt safetensors header entry {name!r}")
        end = max(end, int(offsets[1]))
    if end > data_len:
        raise CheckpointError(
            f"{path}: truncated: the header lists {end} bytes of tensors, the file has {data_len}"
        )
    return header


def load_tensors(path: str | Path, *, device: str | torch.device = "cpu") -> dict[str, Tensor]:
    """Load every tensor of a validated safetensors file.

    Raises:
        CheckpointError: see `read_header`; also when safetensors itself rejects the data.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    header = read_header(path)
    device = torch.device(device)
    try:
        if device.type == "cpu":  # memory-mapped: pages are read when used
            return load_file(str(path), device="cpu")
        return read_to_device(path, header, device)
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"{path}: unreadable safetensors file ({error})") from None


STAGING_BYTES = 32 << 20
"""Size of each of the two pinned host buffers a reader streams its part of a file through to a GPU."""

PART_BYTES = 512 << 20
"""A file's data is split into parts of about this size, read by separate threads (at most
`MAX_READERS`): one thread copies from the page cache at about 5 GB/s (the 4 GB DiT took 0.8 s on an
H200 host, docs/benchmarks.md), well below what host memory and the GPU's copy engines sustain."""

MAX_READERS = 4
"""Most threads reading one file; the three model files load at the same time (`pipeline`)."""

SAFETENSORS_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
    "F8_E4M3": torch.float8_e4m3fn,
    "F8_E5M2": torch.float8_e5m2,
}

Target = tuple[int, int, Tensor]
"""`(start, end, byte view)`: where a tensor's bytes lie in the data section, and the tensor's bytes."""


def read_to_device(
    path: Path, header: Mapping[str, Mapping[str, object]], device: torch.device
) -> dict[str, Tensor]:
    """Every tensor of a validated safetensors file, read straight onto `device` in its stored dtype.

    The data section is split into parts (`PART_BYTES`, at most `MAX_READERS`, at most one per CPU), each
    read by its own thread in `STAGING_BYTES` chunks into two alternating pinned buffers (plain ones off
    CUDA); while one chunk is read, the previous one is copied asynchronously, on the thread's own stream,
    into the tensors it overlaps. Each tensor gets its own storage, so replacing a module later frees its
    memory. Returns once every copy has finished.

    Raises:
        CheckpointError: an unknown dtype or a file shorter than its header says.
    """
    tensors: dict[str, Tensor] = {}
    targets: list[Target] = []
    for name, info in header.items():
        dtype = SAFETENSORS_DTYPES.get(str(info["dtype"]))
        if dtype is None:
            raise CheckpointError(f"{path}: tensor {name!r} has the unsupported dtype {info['dtype']}")
        start, end = (int(offset) for offset in info["data_offsets"])  # type: ignore[attr-defined]
        tensors[name] = torch.empty(tuple(info["shape"]), dtype=dtype, device=device)  # type: ignore[arg-type]
        if end - start != tensors[name].numel() * dtype.itemsize:
            raise CheckpointError(
                f"{path}: tensor {name!r} has {end - start} bytes, its shape needs more or less"
            )
        if end > start:
            targets.append((start, end, _bytes_of(tensors[name])))
    targets.sort(key=lambda target: target[0])
    total = targets[-1][1] if targets else 0
    with path.open("rb") as file:
        (header_len,) = struct.unpack("<Q", file.read(8))
    parts = _parts(total, min(MAX_READERS, os.cpu_count() or 1))
    read = partial(_stream_part, path, 8 + header_len, targets)
    if len(parts) == 1:
        read(*parts[0])
    else:
        with ThreadPoolExecutor(len(parts), thread_name_prefix="anima-read") as pool:
            for done in [pool.submit(read, low, high) for low, high in parts]:
                done.result()
    return tensors


def _bytes_of(tensor: Tensor) -> Tensor:
    return tensor.reshape(-1).view(torch.uint8)


def _parts(total: int, readers: int) -> list[tuple[int, int]]:
    """[low, high) byte ranges covering [0, total): about `PART_BYTES` each, at most `readers` of them."""
    count = max(1, min(readers, -(-total // PART_BYTES)))
    bounds = [total * k // count for k in range(count + 1)]
    return list(itertools.pairwise(bounds))


def _stream_part(path: Path, data_start: int, targets: Sequence[Target], low: int, high: int) -> None:
    """Fill the bytes in [low, high) of the data section of `path` into the `targets` overlapping it."""
    if high <= low:
        return
    cuda = targets[0][2].is_cuda
    size = min(STAGING_BYTES, high - low)
    staging = [torch.empty(size, dtype=torch.uint8, pin_memory=cuda) for _ in range(2)]
    stream = torch.cuda.Stream(targets[0][2].device) if cuda else None
    done: list[torch.cuda.Event | None] = [None, None]
    first = bisect.bisect_right([end for _, end, _ in targets], low)  # the first target ending after low
    with path.open("rb", buffering=0) as file:
        file.seek(data_start + low)
        for chunk, offset in enumerate(range(low, high, size)):
            slot = chunk % 2
            if done[slot] is not None:
                done[slot].synchronize()  # type: ignore[union-attr]
            length = min(size, high - offset)
            buffer = staging[slot][:length]
            if file.readinto(buffer.numpy().data) != length:
                raise CheckpointError(f"{path}: truncated while reading")
            with torch.cuda.stream(stream) if stream is not None else contextlib.nullcontext():
                first = _copy_chunk(buffer, offset, targets, first, non_blocking=cuda)
                if stream is not None:
                    done[slot] = torch.cuda.Event()
                    done[slot].record(stream)  # type: ignore[union-attr]
    if stream is not None:
        stream.synchronize()


def _copy_chunk(
    buffer: Tensor, offset: int, targets: Sequence[Target], first: int, *, non_blocking: bool
) -> int:
    """Copy the chunk holding data bytes [offset, offset + len(buffer)) into the targets it overlaps,
    starting at target `first`; returns the first target that still needs later bytes."""
    end_of_chunk = offset + len(buffer)
    index = first
    while index < len(targets) and targets[index][0] < end_of_chunk:
        start, end, target = targets[index]
        low, high = max(start, offset), min(end, end_of_chunk)
        if low < high:
            target[low - start : high - start].copy_(
                buffer[low - offset : high - offset], non_blocking=non_blocking
            )
        if end <= end_of_chunk and index == first:
            first += 1
        index += 1
    return first


class Embedding(nn.Embedding):
    """`nn.Embedding` that leaves its weight uninitialised on the meta device, where there are no values.

    Loading builds every network on the meta device and assigns the file's tensors. There `nn.Embedding`'s
    random initialisation runs torch's meta `normal_`, whose first call imports `torch._dynamo`: 3.5 s,
    which were most of the text encoder's 4 s load on an H200 host (issue 13). Off the meta device it
    initialises as `nn.Embedding` does.
    """

    def reset_parameters(self) -> None:
        if not self.weight.is_meta:
            super().reset_parameters()


def strip_prefix(tensors: Mapping[str, V], prefixes: Iterable[str]) -> dict[str, V]:
    """Keep the entries under the first of `prefixes` that any key starts with, with that prefix removed."""
    return strip_found_prefix(tensors, prefixes)[1]


def strip_found_prefix(tensors: Mapping[str, V], prefixes: Iterable[str]) -> tuple[str, dict[str, V]]:
    """Like `strip_prefix`, also returning the prefix that was removed ("" when none matched)."""
    for prefix in prefixes:
        if any(key.startswith(prefix) for key in tensors):
            return prefix, {
                key[len(prefix) :]: value for key, value in tensors.items() if key.startswith(prefix)
            }
    return "", dict(tensors)


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:_LISTED_KEYS])
    more = len(names) - _LISTED_KEYS
    return f"{shown} (+{more} more)" if more > 0 else shown


def check_keys(
    expected: Mapping[str, Sequence[int]], tensors: Mapping[str, Tensor], *, path: str | Path, what: str
) -> None:
    """Compare `tensors` with the `expected` key -> shape table of a model called `what`.

    Raises:
        CheckpointError: one line naming every missing, unexpected and mis-shaped key (the first few of
            each, with counts), with the full lists in its `missing`, `unexpected` and `misshaped` fields.
    """
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    misshaped = sorted(
        f"{key} (file {list(tensors[key].shape)}, model {list(expected[key])})"
        for key in set(expected) & set(tensors)
        if tuple(tensors[key].shape) != tuple(expected[key])
    )
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing keys: {_listing(missing)}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected keys: {_listing(unexpected)}")
    if misshaped:
        problems.append(f"{len(misshaped)} mis-shaped keys: {_listing(misshaped)}")
    if problems:
        message = f"{path}: does not match {what}: " + "; ".join(problems)
        raise CheckpointError(message, missing=missing, unexpected=unexpected, misshaped=misshaped)


def assign_state_dicts(
    parts: Sequence[tuple[str, nn.Module, Mapping[str, Tensor]]],
    *,
    path: str | Path,
    what: str,
    dtype: torch.dtype | None = None,
) -> None:
    """Check several `(key prefix, module, tensors)` parts of one file, then assign them (no copies).

    Every missing, unexpected or mis-shaped key of every part is named, with its prefix, in one
    `CheckpointError` ("{path}: does not match {what}: ..."); nothing is assigned unless all parts match.
    """
    expected = {
        prefix + key: tuple(value.shape)
        for prefix, module, _ in parts
        for key, value in module.state_dict().items()
    }
    found = {prefix + key: value for prefix, _, tensors in parts for key, value in tensors.items()}
    check_keys(expected, found, path=path, what=what)
    for _, module, tensors in parts:
        if dtype is not None:
            tensors = {
                key: value.to(dtype) if value.is_floating_point() else value for key, value in tensors.items()
            }
        module.load_state_dict(dict(tensors), strict=True, assign=True)


def assign_state_dict(
    module: nn.Module, tensors: Mapping[str, Tensor], *, path: str | Path, dtype: torch.dtype | None = None
) -> None:
    """Check `tensors` against `module`'s parameters and buffers, then assign them (no copies).

    Every missing, unexpected or mis-shaped key is named in one `CheckpointError`.
    """
    assign_state_dicts([("", module, tensors)], path=path, what=type(module).__name__, dtype=dtype)


# What a file holds, judged from its key names (ComfyUI's model detection uses the same marker keys).
KIND_NAMES = {
    "dit": "an Anima DiT",
    "cosmos_dit": "a Cosmos-Predict2 DiT without the Anima LLM adapter",
    "diffusers_dit": "a diffusers-format Cosmos transformer",
    "text_encoder": "a Qwen3 text encoder",
    "qwen2_text_encoder": "a Qwen2/Qwen2.5 text encoder (Anima uses Qwen3-0.6B)",
    "t5_encoder": "a T5 text encoder (Anima uses Qwen3-0.6B)",
    "vae": "a Qwen-Image VAE",
    "unknown": "no known model",
}
DIT_PREFIXES = ("net.", "model.diffusion_model.")


def checkpoint_kind(keys: Iterable[str]) -> str:
    """Classify a checkpoint by its keys; returns a key of `KIND_NAMES`."""
    names = set(keys)
    for prefix in ("", *DIT_PREFIXES):
        if any(name.startswith(f"{prefix}blocks.") and ".mlp.layer1." in name for name in names):
            adapter = any(name.startswith(f"{prefix}llm_adapter.blocks.") for name in names)
            return "dit" if adapter else "cosmos_dit"
    if any(name.startswith("transformer_blocks.") for name in names):
        return "diffusers_dit"
    if any(name.startswith(("model.layers.", "layers.")) and "self_attn" in name for name in names):
        has_qk_norm = any(name.endswith("self_attn.q_norm.weight") for name in names)
        return "text_encoder" if has_qk_norm else "qwen2_text_encoder"
    if "shared.weight" in names or any(name.startswith("encoder.block.") for name in names):
        return "t5_encoder"
    if any(name.startswith(("decoder.", "encoder.")) for name in names):
        return "vae"
    return "unknown"


def require_kind(path: str | Path, keys: Iterable[str], expected: str) -> None:
    """Raise a one-line `CheckpointError` unless the file's keys look like `expected` (a `KIND_NAMES` key)."""
    kind = checkpoint_kind(keys)
    if kind != expected:
        raise CheckpointError(f"{path}: looks like {KIND_NAMES[kind]}, not {KIND_NAMES[expected]}")
