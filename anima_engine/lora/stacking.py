"""Several LoRAs on one model: their patches grouped per layer, and the combined weight of a layer.

LoRAs apply in the order given and, within a layer, one after the other: a DoRA patch renormalises the
weight as the patches before it left it (as ComfyUI applies its patch list). The order only matters
when DoRA is involved; plain updates add up.
"""

from collections.abc import Sequence

from torch import Tensor

from anima_engine.errors import LoraError
from anima_engine.lora.names import Target
from anima_engine.lora.reading import Lora, LoraTargets, Patch
from anima_engine.lora.updates import decompose

LoraStack = Sequence[tuple[Lora, float]]
"""LoRAs with their strengths, in the order they apply."""


def by_layer(targets: LoraTargets, loras: LoraStack) -> dict[Target, list[tuple[Patch, float]]]:
    """`layer -> [(patch, strength), ...]` in application order, checked against `targets`' shapes.

    Raises:
        LoraError: a LoRA names a layer `targets` lacks, or one of another shape (it was read for a
            different model).
    """
    layers: dict[Target, list[tuple[Patch, float]]] = {}
    for lora, strength in loras:
        for patch in lora.patches:
            try:
                shape = tuple(targets.linear(patch.target).weight.shape)
            except LoraError as error:
                raise LoraError(f"{lora.source}: {error}") from None
            if patch.update.shape != shape:
                raise LoraError(
                    f"{lora.source}: {patch.key} has shape {list(patch.update.shape)}, "
                    f"but {patch.target} here has {list(shape)}"
                )
            layers.setdefault(patch.target, []).append((patch, float(strength)))
    return layers


def patched_weight(weight: Tensor, patches: Sequence[tuple[Patch, float]]) -> Tensor:
    """The weight after applying `patches` in order, in float32 (`weight` is left unchanged)."""
    result = weight.float()
    for patch, strength in patches:
        delta = patch.update.delta().to(result.device)
        if patch.dora_scale is None:
            result = result + strength * delta
        else:
            result = decompose(result, delta, patch.dora_scale.to(result.device), strength)
    return result
