"""LoRAs applied on the fly: forward hooks add each LoRA's output to its layer's, weights untouched.

`attach` returns a handle; `detach()` removes the hooks, so switching LoRAs or strengths needs no
reload: detach, then attach the new list (parsed LoRAs stay in memory). Low-rank updates are applied as
strength · scale · up(down(x)) and LoKr as strength · scale · kron(w1, w2) x without forming ΔW. A layer
with a DoRA patch needs the whole updated weight: its combined ΔW is computed once, when attaching,
from the weight at that time, and added as ΔW x.
"""

from types import TracebackType

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from anima_engine.lora.reading import LoraTargets, Patch
from anima_engine.lora.stacking import LoraStack, by_layer, patched_weight
from anima_engine.lora.updates import Update


class LoraHooks:
    """Forward hooks that apply LoRAs on the fly; `detach()` (or leaving the `with` block) removes them."""

    def __init__(self, handles: list[RemovableHandle]) -> None:
        self._handles = handles

    @property
    def attached(self) -> int:
        """Number of layers with a hook."""
        return len(self._handles)

    def detach(self) -> None:
        """Remove every hook; calling it again does nothing."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __enter__(self) -> "LoraHooks":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.detach()


class _Factored:
    """Hook adding Σ strength · update(x); the factors are kept in the layer's device and dtype."""

    def __init__(self, updates: list[tuple[Update, float]]) -> None:
        self.updates = updates

    def __call__(self, module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> Tensor:
        x = inputs[0]
        for update, strength in self.updates:
            output = output + strength * update.apply(x)
        return output


class _Dense:
    """Hook adding ΔW x for a precomputed combined ΔW (layers with a DoRA patch)."""

    def __init__(self, delta: Tensor) -> None:
        self.delta = delta

    def __call__(self, module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> Tensor:
        return output + F.linear(inputs[0], self.delta)


def _hook(weight: Tensor, patches: list[tuple[Patch, float]]) -> _Factored | _Dense:
    if any(patch.dora_scale is not None for patch, _ in patches):
        with torch.no_grad():
            delta = patched_weight(weight, patches) - weight.float()
        return _Dense(delta.to(weight.dtype))
    return _Factored(
        [(patch.update.to(weight.device, weight.dtype), strength) for patch, strength in patches]
    )


def attach(targets: LoraTargets, loras: LoraStack) -> LoraHooks:
    """Apply `(lora, strength)` pairs to `targets` on the fly, without changing any weight.

    Raises:
        LoraError: a LoRA does not fit `targets` (no hook is added then).
    """
    hooks = [
        (targets.linear(target), _hook(targets.linear(target).weight, patches))
        for target, patches in by_layer(targets, loras).items()
    ]
    return LoraHooks([layer.register_forward_hook(hook) for layer, hook in hooks])
