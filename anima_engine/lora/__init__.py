"""LoRA, LoKr and DoRA files for Anima: reading every common key layout, merging and on-the-fly use.

Example:
    >>> targets = LoraTargets(dit=model.dit, adapter=model.adapter, text_encoder=encoder.model)
    >>> style = load_lora("style.safetensors", targets)
    >>> with merge(targets, [(style, 0.8)]):
    ...     ...  # sample
"""

from anima_engine.lora.choices import LoadedLora, LoraChoice, load_choices, merged
from anima_engine.lora.hooks import LoraHooks, attach
from anima_engine.lora.merge import MergedLoras, merge
from anima_engine.lora.names import Target
from anima_engine.lora.reading import Lora, LoraTargets, Patch, load_lora, parse_lora
from anima_engine.lora.stacking import LoraStack, patched_weight
from anima_engine.lora.updates import LoKr, LowRank, decompose

__all__ = [
    "LoKr",
    "LoadedLora",
    "Lora",
    "LoraChoice",
    "LoraHooks",
    "LoraStack",
    "LoraTargets",
    "LowRank",
    "MergedLoras",
    "Patch",
    "Target",
    "attach",
    "decompose",
    "load_choices",
    "load_lora",
    "merge",
    "merged",
    "parse_lora",
    "patched_weight",
]
