"""The layers a LoRA can patch, and every name a LoRA file may use for each of them.

A layer is a `Target`: one of our three networks (`dit`, `adapter`, `text_encoder`) and the dotted path
of an `nn.Linear` inside it; our paths equal the official checkpoint keys (engine-spec §2.3, §3). A LoRA
file names the layer in one of these spellings (engine-spec §7, "LoRA formats used for Anima"):

* dotted, as in the checkpoint, under a prefix that says which network: `diffusion_model.`, `transformer.`,
  `base_model.model.` (…) for the DiT file, where `llm_adapter.` selects the adapter;
  `text_conditioner.` for the adapter alone (diffusers); `text_encoder.` for Qwen3;
* dotted with diffusers' names for the DiT (`transformer_blocks.0.attn1.to_q`, the §3 renaming table);
* Kohya's underscored names: `lora_unet_blocks_0_self_attn_q_proj`, `lora_unet_llm_adapter_...`,
  `lora_te_layers_0_...`. Underscores are ambiguous in general, so they are never split: the name is
  looked up in a table of all our layer names with dots replaced by underscores, and a name that two
  layers would share is refused rather than guessed.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from torch import nn

from anima_engine.errors import LoraError

COMPONENTS = ("dit", "adapter", "text_encoder")
ADAPTER_PREFIX = "llm_adapter."
TEXT_ENCODER_PREFIX = "text_encoder."

# engine-spec §3, diffusers' COSMOS_2_0 renaming: our module path -> diffusers module path.
DIT_TOP_LEVEL = {
    "x_embedder.proj.1": "patch_embed.proj",
    "t_embedder.1.linear_1": "time_embed.t_embedder.linear_1",
    "t_embedder.1.linear_2": "time_embed.t_embedder.linear_2",
    "t_embedding_norm": "time_embed.norm",
    "final_layer.adaln_modulation.1": "norm_out.linear_1",
    "final_layer.adaln_modulation.2": "norm_out.linear_2",
    "final_layer.linear": "proj_out",
}
DIT_BLOCK = {
    "self_attn.q_proj": "attn1.to_q",
    "self_attn.k_proj": "attn1.to_k",
    "self_attn.v_proj": "attn1.to_v",
    "self_attn.output_proj": "attn1.to_out.0",
    "self_attn.q_norm": "attn1.norm_q",
    "self_attn.k_norm": "attn1.norm_k",
    "cross_attn.q_proj": "attn2.to_q",
    "cross_attn.k_proj": "attn2.to_k",
    "cross_attn.v_proj": "attn2.to_v",
    "cross_attn.output_proj": "attn2.to_out.0",
    "cross_attn.q_norm": "attn2.norm_q",
    "cross_attn.k_norm": "attn2.norm_k",
    "mlp.layer1": "ff.net.0.proj",
    "mlp.layer2": "ff.net.2",
    "adaln_modulation_self_attn.1": "norm1.linear_1",
    "adaln_modulation_self_attn.2": "norm1.linear_2",
    "adaln_modulation_cross_attn.1": "norm2.linear_1",
    "adaln_modulation_cross_attn.2": "norm2.linear_2",
    "adaln_modulation_mlp.1": "norm3.linear_1",
    "adaln_modulation_mlp.2": "norm3.linear_2",
}

# Namespaces of names: "unet" is everything in the DiT file (DiT and adapter, ours and diffusers' names).
UNET, ADAPTER, TEXT_ENCODER = "unet", "adapter", "text_encoder"

# Prefix of a dotted key -> namespace; the longest matching prefix wins, "" is the bare checkpoint name.
DOTTED_PREFIXES = {
    "base_model.model.transformer.": UNET,
    "base_model.model.": UNET,
    "model.diffusion_model.": UNET,
    "diffusion_model.": UNET,
    "transformer.": UNET,
    "net.": UNET,
    "text_conditioner.": ADAPTER,
    "text_encoder.model.": TEXT_ENCODER,
    "text_encoder.": TEXT_ENCODER,
    "": UNET,
}
# Prefix of a Kohya-style (underscored) key -> namespace.
UNDERSCORED_PREFIXES = {
    "lora_unet_": UNET,
    "lora_transformer_": UNET,
    "lycoris_": UNET,
    "lora_te_": TEXT_ENCODER,
}


@dataclass(frozen=True, slots=True, order=True)
class Target:
    """One Linear layer of ours: the network it belongs to and its dotted path inside that network."""

    component: str
    module: str

    def __str__(self) -> str:
        """The name in the DiT file's namespace (`llm_adapter.` for the adapter), or `text_encoder.…`."""
        prefix = {"dit": "", "adapter": ADAPTER_PREFIX, "text_encoder": TEXT_ENCODER_PREFIX}[self.component]
        return prefix + self.module


def diffusers_name(module: str) -> str | None:
    """diffusers' path of one of our DiT modules (`blocks.3.mlp.layer1`), or None if it has none."""
    if module in DIT_TOP_LEVEL:
        return DIT_TOP_LEVEL[module]
    head, _, tail = module.partition(".")
    index, _, rest = tail.partition(".")
    if head == "blocks" and index.isdigit() and rest in DIT_BLOCK:
        return f"transformer_blocks.{index}.{DIT_BLOCK[rest]}"
    return None


def linear_layers(components: Mapping[str, nn.Module]) -> dict[Target, nn.Linear]:
    """Every `nn.Linear` of the given networks (`component name -> module`), by target."""
    return {
        Target(component, name): module
        for component, network in components.items()
        for name, module in network.named_modules()
        if isinstance(module, nn.Linear)
    }


def _spellings(target: Target) -> Iterable[tuple[str, str]]:
    """(namespace, dotted name) pairs under which a file may name `target`."""
    if target.component == "dit":
        yield UNET, target.module
        if (renamed := diffusers_name(target.module)) is not None:
            yield UNET, renamed
    elif target.component == "adapter":
        yield UNET, ADAPTER_PREFIX + target.module
        yield ADAPTER, target.module
    else:
        yield TEXT_ENCODER, target.module


@dataclass(frozen=True, slots=True)
class NameTable:
    """Lookup of file names of layers: dotted and underscored, per namespace."""

    dotted: Mapping[tuple[str, str], Target]
    underscored: Mapping[tuple[str, str], tuple[Target, ...]]

    @classmethod
    def build(cls, targets: Iterable[Target]) -> "NameTable":
        dotted: dict[tuple[str, str], Target] = {}
        underscored: dict[tuple[str, str], set[Target]] = {}
        for target in targets:
            for namespace, name in _spellings(target):
                dotted[namespace, name] = target
                underscored.setdefault((namespace, name.replace(".", "_")), set()).add(target)
        return cls(dotted, {key: tuple(sorted(value)) for key, value in underscored.items()})

    def resolve(self, stem: str) -> Target | None:
        """The layer a key stem (the key without `.lora_A.weight`, `.alpha`, …) names, or None.

        Raises:
            LoraError: an underscored name that two of our layers share.
        """
        for prefix, namespace in UNDERSCORED_PREFIXES.items():
            if stem.startswith(prefix):
                found = self.underscored.get((namespace, stem[len(prefix) :]), ())
                if len(found) > 1:
                    names = ", ".join(str(target) for target in found)
                    raise LoraError(f"LoRA key {stem!r} is ambiguous: it could name {names}")
                return found[0] if found else None
        for prefix in sorted(DOTTED_PREFIXES, key=len, reverse=True):
            if stem.startswith(prefix):
                target = self.dotted.get((DOTTED_PREFIXES[prefix], stem[len(prefix) :]))
                if target is not None:
                    return target
        return None

    def namespace_of(self, stem: str) -> str:
        """The namespace a stem's prefix selects (for error messages)."""
        for prefix, namespace in UNDERSCORED_PREFIXES.items():
            if stem.startswith(prefix):
                return namespace
        prefix = max((p for p in DOTTED_PREFIXES if stem.startswith(p)), key=len)
        return DOTTED_PREFIXES[prefix]
