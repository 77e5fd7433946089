"""Reading LoRA files: keys -> layers of ours, tensors -> checked weight updates.

A key is a layer name (a "stem", see `names`) followed by what the tensor is: `.lora_A.weight` /
`.lora_down.weight` (down, (r, in)), `.lora_B.weight` / `.lora_up.weight` (up, (out, r)), `.alpha`,
`.dora_scale`, or LyCORIS LoKr's `.lokr_w1`, `.lokr_w1_a`, `.lokr_w1_b`, `.lokr_w2`, `.lokr_w2_a`,
`.lokr_w2_b`. Every key must name one of our Linear layers; otherwise the file is refused with a
one-line `LoraError` that names the other model family when the keys show one, or else the keys.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from anima_engine.errors import LoraError
from anima_engine.lora.families import foreign_family
from anima_engine.lora.names import COMPONENTS, TEXT_ENCODER, NameTable, Target, linear_layers
from anima_engine.lora.updates import LoKr, LowRank, Update
from anima_engine.weights import load_tensors

# Tensor suffix -> the field it fills.
SUFFIXES = {
    ".lora_A.weight": "down",
    ".lora_down.weight": "down",
    ".lora_B.weight": "up",
    ".lora_up.weight": "up",
    ".alpha": "alpha",
    ".dora_scale": "dora_scale",
    ".lokr_w1": "w1",
    ".lokr_w1_a": "w1_a",
    ".lokr_w1_b": "w1_b",
    ".lokr_w2": "w2",
    ".lokr_w2_a": "w2_a",
    ".lokr_w2_b": "w2_b",
}
LOW_RANK_FIELDS = frozenset({"down", "up"})
LOKR_FIELDS = frozenset({"w1", "w1_a", "w1_b", "w2", "w2_a", "w2_b"})
_LISTED_KEYS = 5


@dataclass(frozen=True, slots=True)
class LoraTargets:
    """The networks a LoRA may patch: the DiT, and optionally the LLM adapter and the Qwen3 model."""

    dit: nn.Module
    adapter: nn.Module | None = None
    text_encoder: nn.Module | None = None

    def components(self) -> dict[str, nn.Module]:
        """`component name -> network` for the networks given."""
        found = {"dit": self.dit, "adapter": self.adapter, "text_encoder": self.text_encoder}
        return {name: found[name] for name in COMPONENTS if found[name] is not None}  # type: ignore[misc]

    def linear(self, target: Target) -> nn.Linear:
        """The layer `target` names.

        Raises:
            LoraError: the network is not among these targets, or has no such Linear layer.
        """
        network = self.components().get(target.component)
        try:
            module = network.get_submodule(target.module) if network is not None else None
        except AttributeError:
            module = None
        if not isinstance(module, nn.Linear):
            raise LoraError(f"no Linear layer {target} in the model the LoRA is applied to")
        return module


@dataclass(frozen=True, slots=True, eq=False)
class Patch:
    """The update a LoRA makes to one layer; `key` is the layer's name in the file."""

    key: str
    target: Target
    update: Update
    dora_scale: Tensor | None = None  # DoRA magnitude, (1, in) or (out, 1)


@dataclass(frozen=True, slots=True, eq=False)
class Lora:
    """A parsed LoRA file: one patch per layer it changes."""

    name: str
    source: str
    patches: tuple[Patch, ...]

    @property
    def components(self) -> frozenset[str]:
        """The networks it changes (`dit`, `adapter`, `text_encoder`)."""
        return frozenset(patch.target.component for patch in self.patches)


def _listing(keys: list[str]) -> str:
    shown = ", ".join(keys[:_LISTED_KEYS])
    return f"{shown} (+{len(keys) - _LISTED_KEYS} more)" if len(keys) > _LISTED_KEYS else shown


def _split(key: str) -> tuple[str, str] | None:
    for suffix, field in SUFFIXES.items():
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)], field
    return None


def _group(
    tensors: Mapping[str, Tensor], table: NameTable
) -> tuple[dict[tuple[str, Target], dict[str, Tensor]], list[str]]:
    """(stem, target) -> field -> tensor for every key that names a layer; and the keys that do not."""
    groups: dict[tuple[str, Target], dict[str, Tensor]] = {}
    unmapped = []
    for key in sorted(tensors):
        split = _split(key)
        target = table.resolve(split[0]) if split is not None else None
        if split is None or target is None:
            unmapped.append(key)
        else:
            groups.setdefault((split[0], target), {})[split[1]] = tensors[key]
    return groups, unmapped


def _refuse_unmapped(unmapped: list[str], table: NameTable, targets: LoraTargets, source: str) -> None:
    family = foreign_family(unmapped)
    if family is not None:
        raise LoraError(
            f"{source}: this is a LoRA for {family[0]}, not Anima (key {family[1]!r})", unexpected=unmapped
        )
    encoder_keys = [key for key in unmapped if table.namespace_of(key) == TEXT_ENCODER]
    if targets.text_encoder is None and encoder_keys:
        raise LoraError(
            f"{source}: {len(encoder_keys)} text-encoder keys but no text encoder to apply them to: "
            f"{_listing(encoder_keys)}",
            unexpected=unmapped,
        )
    raise LoraError(
        f"{source}: {len(unmapped)} keys name no layer of the Anima model: {_listing(unmapped)}",
        unexpected=unmapped,
    )


def _alpha(fields: dict[str, Tensor], stem: str, source: str) -> float | None:
    alpha = fields.get("alpha")
    if alpha is None:
        return None
    if alpha.numel() != 1:
        raise LoraError(f"{source}: {stem}.alpha should be one number, got shape {list(alpha.shape)}")
    return float(alpha.float().item())


def _matrix(fields: dict[str, Tensor], field: str, stem: str, source: str) -> Tensor | None:
    tensor = fields.get(field)
    if tensor is not None and tensor.ndim != 2:
        raise LoraError(f"{source}: {stem} {field} should be a matrix, got shape {list(tensor.shape)}")
    return tensor


def _low_rank(fields: dict[str, Tensor], stem: str, source: str) -> LowRank:
    down, up = _matrix(fields, "down", stem, source), _matrix(fields, "up", stem, source)
    if down is None or up is None:
        have, lacks = ("up", "down") if down is None else ("down", "up")
        raise LoraError(f"{source}: {stem} has a LoRA {have} tensor but no {lacks} tensor")
    if up.shape[1] != down.shape[0]:
        raise LoraError(
            f"{source}: {stem} has mismatched ranks: up {list(up.shape)} has rank {up.shape[1]}, "
            f"down {list(down.shape)} has rank {down.shape[0]}"
        )
    return LowRank(down=down, up=up, alpha=_alpha(fields, stem, source))


def _lokr(fields: dict[str, Tensor], stem: str, source: str) -> LoKr:
    parts = {name: _matrix(fields, name, stem, source) for name in sorted(LOKR_FIELDS)}
    for side in ("w1", "w2"):
        full, left, right = parts[side], parts[f"{side}_a"], parts[f"{side}_b"]
        if (full is None) == (left is None or right is None) or (left is None) != (right is None):
            raise LoraError(
                f"{source}: {stem} needs lokr_{side}, or both lokr_{side}_a and lokr_{side}_b "
                f"(found: {', '.join(f'lokr_{name}' for name, t in parts.items() if t is not None)})"
            )
        if left is not None and right is not None and left.shape[1] != right.shape[0]:
            raise LoraError(
                f"{source}: {stem} has mismatched ranks: lokr_{side}_a {list(left.shape)}, "
                f"lokr_{side}_b {list(right.shape)}"
            )
    if (
        parts["w1_b"] is not None
        and parts["w2_b"] is not None
        and parts["w1_b"].shape[0] != parts["w2_b"].shape[0]
    ):
        raise LoraError(
            f"{source}: {stem} has mismatched ranks: lokr_w1_b {list(parts['w1_b'].shape)}, "
            f"lokr_w2_b {list(parts['w2_b'].shape)}"
        )
    return LoKr(**parts, alpha=_alpha(fields, stem, source))


def _patch(stem: str, target: Target, fields: dict[str, Tensor], layer: nn.Linear, source: str) -> Patch:
    kinds = set(fields) & (LOW_RANK_FIELDS | LOKR_FIELDS)
    if not kinds:
        raise LoraError(f"{source}: {stem} has only {', '.join(sorted(fields))}, no weight update")
    if kinds & LOW_RANK_FIELDS and kinds & LOKR_FIELDS:
        raise LoraError(f"{source}: {stem} mixes LoRA and LoKr tensors")
    update = _low_rank(fields, stem, source) if kinds & LOW_RANK_FIELDS else _lokr(fields, stem, source)
    expected = tuple(layer.weight.shape)
    if update.shape != expected:
        raise LoraError(
            f"{source}: {stem} makes an update of shape {list(update.shape)}, "
            f"but {target} has weight shape {list(expected)}"
        )
    dora_scale = fields.get("dora_scale")
    if dora_scale is not None and tuple(dora_scale.shape) not in ((1, expected[1]), (expected[0], 1)):
        raise LoraError(
            f"{source}: {stem}.dora_scale has shape {list(dora_scale.shape)}, expected "
            f"{[1, expected[1]]} or {[expected[0], 1]} for {target}"
        )
    return Patch(key=stem, target=target, update=update, dora_scale=dora_scale)


def parse_lora(tensors: Mapping[str, Tensor], targets: LoraTargets, *, name: str, source: str) -> Lora:
    """Map a LoRA state dict onto `targets`' layers and check every tensor's shape.

    Args:
        tensors: the file's tensors.
        targets: the model the LoRA is meant for (the key table and the shapes come from it).
        name: a short name for the LoRA (file stem).
        source: where the tensors came from, for messages (the path).

    Raises:
        LoraError: a key names no layer of ours (the other model family is named when recognised),
            a tensor has the wrong rank or shape, or the file has no LoRA tensors.
    """
    if not tensors:
        raise LoraError(f"{source}: the file holds no tensors")
    table = NameTable.build(linear_layers(targets.components()))
    groups, unmapped = _group(tensors, table)
    if unmapped:
        _refuse_unmapped(unmapped, table, targets, source)
    patches = tuple(
        _patch(stem, target, fields, targets.linear(target), source)
        for (stem, target), fields in groups.items()
    )
    seen: dict[Target, str] = {}
    for patch in patches:
        if patch.target in seen:
            raise LoraError(f"{source}: {seen[patch.target]} and {patch.key} both name {patch.target}")
        seen[patch.target] = patch.key
    return Lora(name=name, source=source, patches=patches)


def load_lora(path: str | Path, targets: LoraTargets, *, device: str | torch.device = "cpu") -> Lora:
    """Read a `.safetensors` LoRA (pickle files are refused) and map it onto `targets`; see `parse_lora`.

    Raises:
        CheckpointError: the file is missing, pickle-based or corrupt.
        LoraError: see `parse_lora`.
    """
    path = Path(path)
    return parse_lora(load_tensors(path, device=device), targets, name=path.stem, source=str(path))
