"""Reading safetensors checkpoints safely and assigning them to modules built on the meta device.

We never unpickle: `.ckpt`, `.pt`, `.pth` and `.bin` files are refused before they are opened as
tensors. A file is validated (header length, JSON header, data extent) before any tensor is read, so a
truncated or corrupt download gets a one-line `CheckpointError` naming the file and the problem.
"""

import json
import struct
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from anima_engine.errors import CheckpointError

PICKLE_SUFFIXES = frozenset({".ckpt", ".pt", ".pth", ".bin", ".pkl", ".pickle"})
_MAX_HEADER_BYTES = 100 * 1024 * 1024
_LISTED_KEYS = 8


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
        if not (isinstance(offsets, list) and len(offsets) == 2):
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
    read_header(path)
    try:
        return load_file(str(path), device=str(device))
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"{path}: unreadable safetensors file ({error})") from None


def strip_prefix(tensors: Mapping[str, Tensor], prefixes: Iterable[str]) -> dict[str, Tensor]:
    """Keep the tensors under the first of `prefixes` that any key starts with, with that prefix removed."""
    for prefix in prefixes:
        if any(key.startswith(prefix) for key in tensors):
            return {key[len(prefix) :]: value for key, value in tensors.items() if key.startswith(prefix)}
    return dict(tensors)


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


def assign_state_dict(
    module: nn.Module, tensors: Mapping[str, Tensor], *, path: str | Path, dtype: torch.dtype | None = None
) -> None:
    """Check `tensors` against `module`'s parameters and buffers, then assign them (no copies).

    Every missing, unexpected or mis-shaped key is named in one `CheckpointError`.
    """
    expected = {key: tuple(value.shape) for key, value in module.state_dict().items()}
    check_keys(expected, tensors, path=path, what=type(module).__name__)
    if dtype is not None:
        tensors = {
            key: value.to(dtype) if value.is_floating_point() else value for key, value in tensors.items()
        }
    module.load_state_dict(dict(tensors), strict=True, assign=True)
