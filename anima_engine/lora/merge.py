"""Merging LoRAs into the weights, for sampling at full speed, and unmerging them.

Unmerging restores the original weights bit for bit: `merge` keeps a copy of every weight it changes
(on `backup_device`, the CPU by default, so GPU memory is not doubled) and `unmerge` copies them back.
Subtracting the same ΔW again would only restore them within rounding, and not at all after a DoRA
patch. The merged weight is computed in float32 and rounded once to the layer's dtype.
"""

from types import TracebackType

import torch
from torch import Tensor

from anima_engine.errors import AnimaEngineError
from anima_engine.lora.names import Target
from anima_engine.lora.reading import LoraTargets
from anima_engine.lora.stacking import LoraStack, by_layer, patched_weight


class MergedLoras:
    """LoRAs merged into a model; `unmerge()` (or leaving the `with` block) puts the weights back."""

    def __init__(self, targets: LoraTargets, originals: dict[Target, Tensor]) -> None:
        self.targets = targets
        self._originals = originals

    @property
    def layers(self) -> tuple[Target, ...]:
        """The layers whose weights are changed (empty after `unmerge`)."""
        return tuple(self._originals)

    def unmerge(self) -> None:
        """Copy the original weights back; calling it again does nothing."""
        with torch.no_grad():
            for target, original in self._originals.items():
                weight = self.targets.linear(target).weight
                weight.copy_(original.to(weight.device))
        self._originals = {}

    def __enter__(self) -> "MergedLoras":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.unmerge()


def merge(
    targets: LoraTargets, loras: LoraStack, *, backup_device: str | torch.device | None = "cpu"
) -> MergedLoras:
    """Add each LoRA's update, times its strength, to the weights of `targets` (in place).

    Args:
        targets: the model.
        loras: `(lora, strength)` pairs, applied in order.
        backup_device: where the original weights are kept for `unmerge`; None keeps them on the
            weights' own device.

    Raises:
        LoraError: a LoRA does not fit `targets` (nothing is changed then).
    """
    layers = by_layer(targets, loras)
    originals: dict[Target, Tensor] = {}
    try:
        with torch.no_grad():
            for target, patches in layers.items():
                weight = targets.linear(target).weight
                merged = patched_weight(weight, patches).to(weight.dtype)
                originals[target] = weight.detach().to(backup_device or weight.device, copy=True)
                weight.copy_(merged)
    except (RuntimeError, AnimaEngineError):
        MergedLoras(targets, originals).unmerge()
        raise
    return MergedLoras(targets, originals)
