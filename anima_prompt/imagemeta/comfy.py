"""ComfyUI graphs in a PNG: the API `prompt` (node id → class_type and inputs) and the UI `workflow`.

The sampler node is found (KSampler, KSamplerAdvanced, SamplerCustom, SamplerCustomAdvanced), then its
inputs are followed through the links: conditioning back to the CLIPTextEncode texts, the model back
through LoRA loaders to the checkpoint or diffusion model, the latent back to the empty latent (its size)
or a VAEEncode (img2img). Whatever lies on those paths and cannot be expressed as `ImageSettings`
(ControlNets, upscalers, a second sampler pass, unknown nodes) is listed in `unmapped`. A UI workflow is
first turned into the API form with the widget names of the nodes read here (`WIDGETS`).
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from anima_prompt.errors import ImageMetadataError
from anima_prompt.imagemeta.settings import ImageSettings, LoraSetting
from anima_prompt.shapes import items, table

SAMPLER_NODES = ("KSampler", "KSamplerAdvanced", "SamplerCustom", "SamplerCustomAdvanced")
EMPTY_LATENTS = frozenset({"EmptyLatentImage", "EmptySD3LatentImage", "EmptyHunyuanImageLatent"})
MODEL_LOADERS = {
    "CheckpointLoaderSimple": "ckpt_name",
    "UNETLoader": "unet_name",
    "UnetLoaderGGUF": "unet_name",
}
LORA_LOADERS = frozenset({"LoraLoader", "LoraLoaderModelOnly"})
MODEL_SAMPLING = frozenset({"ModelSamplingAuraFlow", "ModelSamplingSD3"})
ANIMA_SHIFT = 3.0
CONTROLNETS = frozenset({"ControlNetApply", "ControlNetApplyAdvanced", "ControlNetApplySD3"})
VALUE_KEYS = ("value", "seed", "noise_seed", "int", "float", "string", "text", "number")
"""Input names under which primitive and literal nodes hold their value."""

WIDGETS: dict[str, tuple[str, ...]] = {
    "KSampler": ("seed", "steps", "cfg", "sampler_name", "scheduler", "denoise"),
    "KSamplerAdvanced": ("add_noise", "noise_seed", "steps", "cfg", "sampler_name", "scheduler",
                         "start_at_step", "end_at_step", "return_with_leftover_noise"),
    "SamplerCustom": ("add_noise", "noise_seed", "cfg"),
    "RandomNoise": ("noise_seed",),
    "KSamplerSelect": ("sampler_name",),
    "BasicScheduler": ("scheduler", "steps", "denoise"),
    "CFGGuider": ("cfg",),
    "CLIPTextEncode": ("text",),
    "EmptyLatentImage": ("width", "height", "batch_size"),
    "EmptySD3LatentImage": ("width", "height", "batch_size"),
    "LoraLoader": ("lora_name", "strength_model", "strength_clip"),
    "LoraLoaderModelOnly": ("lora_name", "strength_model"),
    "CheckpointLoaderSimple": ("ckpt_name",),
    "UNETLoader": ("unet_name", "weight_dtype"),
    "LoadImage": ("image", "upload"),
    "ModelSamplingAuraFlow": ("shift",),
    "ModelSamplingSD3": ("shift",),
    "SamplerEulerAncestral": ("eta", "s_noise"),
    "SamplerDPMPP_2M_SDE": ("solver_type", "eta", "s_noise", "noise_device"),
    "SamplerER_SDE": ("solver_type", "max_stage", "eta", "s_noise"),
    "PrimitiveNode": ("value",),
}  # fmt: skip
"""Widget names, in `widgets_values` order, of the nodes whose settings are read from UI workflows."""

SEED_WIDGETS = frozenset({"seed", "noise_seed", "value"})
CONTROL_VALUES = frozenset({"fixed", "increment", "decrement", "randomize"})
"""`control_after_generate` values, which the UI stores right after a seed widget's value."""
SKIPPED_MODES = {2: "muted", 4: "bypassed"}
HOPS_PER_NODE = 16


@dataclass
class Node:
    """One node of an API graph."""

    id: str
    kind: str
    inputs: Mapping[str, Any]


def _link(value: object) -> tuple[str, int] | None:
    pair = items(value)
    if pair is not None and len(pair) == 2 and isinstance(pair[1], int) and not isinstance(pair[1], bool):
        return str(pair[0]), pair[1]
    return None


@dataclass
class _Reader:
    graph: Mapping[str, Node]
    unmapped: list[str] = field(default_factory=list[str])
    found: dict[str, Any] = field(default_factory=dict[str, Any])
    hops: int = 0

    def note(self, node: Node, what: str = "") -> None:
        text = f"{node.kind} (node {node.id}){': ' + what if what else ''}"
        if text not in self.unmapped:
            self.unmapped.append(text)

    def linked(self, node: Node, name: str) -> tuple[Node, int] | None:
        target = _link(node.inputs.get(name))
        if target is None:
            return None
        # Every path followed here visits a node at most once unless the links loop; a dozen paths are read.
        self.hops += 1
        if self.hops > HOPS_PER_NODE * (len(self.graph) + 1):
            raise ImageMetadataError(f"ComfyUI graph: the links through node {node.id} form a cycle")
        if target[0] not in self.graph:
            raise ImageMetadataError(f"ComfyUI graph: node {node.id} links to missing node {target[0]}")
        linked = self.graph[target[0]]
        if linked.kind == "Reroute":  # UI pass-through
            return self.linked(linked, "input")
        return linked, target[1]

    def value(self, node: Node, name: str) -> Any:
        """A literal input, or the value of the primitive node it is linked to (None if neither)."""
        raw = node.inputs.get(name)
        if _link(raw) is None:
            return raw
        source = self.linked(node, name)
        assert source is not None
        literal = next((source[0].inputs[k] for k in VALUE_KEYS if k in source[0].inputs), None)
        if literal is None or _link(literal) is not None:
            if _link(literal) is not None:
                return self.value(source[0], next(k for k in VALUE_KEYS if k in source[0].inputs))
            self.note(source[0], f"the value of {node.kind}.{name} comes from it")
        return literal

    # conditioning -> text
    def text(self, node: Node, name: str) -> str | None:
        source = self.linked(node, name)
        if source is None:
            return None
        cond, slot = source
        if cond.kind == "ConditioningZeroOut":
            self.note(cond, "zeroed conditioning read as an empty prompt")
            return ""
        if cond.kind in CONTROLNETS:
            self.note(cond, "ControlNet")
            return self.text(
                cond,
                "conditioning" if "conditioning" in cond.inputs else ("negative" if slot else "positive"),
            )
        if "text" in cond.inputs:
            text = self.value(cond, "text")
            self.clip_loras(cond)
            return text if isinstance(text, str) else None
        for name_in in ("conditioning", "conditioning_to", "conditioning_1"):
            if name_in in cond.inputs:
                self.note(cond)
                return self.text(cond, name_in)
        self.note(cond, "unknown conditioning node")
        return None

    def clip_loras(self, encoder: Node) -> None:
        source = self.linked(encoder, "clip")
        while source is not None:
            node = source[0]
            if node.kind == "LoraLoader":
                if node.inputs.get("strength_clip") != node.inputs.get("strength_model"):
                    self.note(node, "text-encoder strength differs from the model strength")
            elif node.kind not in MODEL_LOADERS and node.kind not in ("CLIPLoader", "CLIPSetLastLayer"):
                self.note(node)
            source = self.linked(node, "clip")

    # model -> checkpoint and LoRAs
    def model(self, node: Node, name: str) -> None:
        loras: list[LoraSetting] = []
        source = self.linked(node, name)
        while source is not None:
            step = source[0]
            if step.kind in MODEL_LOADERS:
                self.found["model"] = self.value(step, MODEL_LOADERS[step.kind])
                break
            if step.kind in LORA_LOADERS:
                strength = self.value(step, "strength_model")
                loras.append(
                    LoraSetting(
                        str(self.value(step, "lora_name")), float(strength if strength is not None else 1)
                    )
                )
            elif step.kind in MODEL_SAMPLING:
                if self.value(step, "shift") != ANIMA_SHIFT:
                    self.note(step, f"shift {self.value(step, 'shift')}")
            else:
                self.note(step)
            source = self.linked(step, "model")
        self.found["loras"] = tuple(reversed(loras))

    # latent -> size or init image
    def latent(self, node: Node, name: str) -> None:
        source = self.linked(node, name)
        while source is not None:
            step = source[0]
            if step.kind in EMPTY_LATENTS:
                for key, target in (("width", "width"), ("height", "height"), ("batch_size", "batch")):
                    self.found[target] = self.value(step, key)
                return
            if step.kind == "VAEEncode":
                image = self.linked(step, "pixels")
                if image is not None and image[0].kind == "LoadImage":
                    self.found["init_image"] = self.value(image[0], "image")
                elif image is not None:
                    self.note(image[0], "img2img input")
                return
            self.note(step)
            source = self.linked(step, "samples") or self.linked(step, "latent_image")

    # sampler nodes
    def sampler_choice(self, node: Node) -> None:
        source = self.linked(node, "sampler")
        if source is None:
            return
        chosen = source[0]
        if chosen.kind == "KSamplerSelect":
            self.found["sampler"] = self.value(chosen, "sampler_name")
        elif chosen.kind == "SamplerEulerAncestral":
            self.found["sampler"] = "euler_ancestral"
            self.defaults(chosen, eta=1.0, s_noise=1.0)
        elif chosen.kind == "SamplerDPMPP_2M_SDE":
            heun = "_heun" if self.value(chosen, "solver_type") == "heun" else ""
            gpu = "_gpu" if self.value(chosen, "noise_device") == "gpu" else ""
            self.found["sampler"] = f"dpmpp_2m_sde{heun}{gpu}"
            self.defaults(chosen, eta=1.0, s_noise=1.0)
        elif chosen.kind == "SamplerER_SDE" and self.value(chosen, "solver_type") == "ER-SDE":
            self.found["sampler"] = "er_sde"
            self.defaults(chosen, max_stage=3, s_noise=1.0)
        else:
            self.note(chosen, "sampler")

    def defaults(self, node: Node, **expected: float) -> None:
        for name, default in expected.items():
            value = self.value(node, name)
            if value is not None and value != default:
                self.note(node, f"{name} {value}")

    def schedule(self, node: Node) -> None:
        source = self.linked(node, "sigmas")
        if source is None:
            return
        sigmas = source[0]
        if sigmas.kind == "BasicScheduler":
            for key, target in (("scheduler", "scheduler"), ("steps", "steps"), ("denoise", "denoise")):
                self.found[target] = self.value(sigmas, key)
        else:
            self.note(sigmas, "sigmas")
            if "steps" in sigmas.inputs:
                self.found["steps"] = self.value(sigmas, "steps")

    def read_sampler(self, node: Node) -> None:
        if node.kind in ("KSampler", "KSamplerAdvanced"):
            seed_key = "seed" if node.kind == "KSampler" else "noise_seed"
            for key, target in ((seed_key, "seed"), ("steps", "steps"), ("cfg", "cfg"),
                                ("sampler_name", "sampler"), ("scheduler", "scheduler")):  # fmt: skip
                self.found[target] = self.value(node, key)
            if node.kind == "KSampler":
                self.found["denoise"] = self.value(node, "denoise")
            else:
                self.advanced(node)
            self.conditioning(node, "positive", "negative")
            self.model(node, "model")
        elif node.kind == "SamplerCustom":
            self.found["seed"], self.found["cfg"] = self.value(node, "noise_seed"), self.value(node, "cfg")
            if self.value(node, "add_noise") is False:
                self.note(node, "add_noise off")
            self.sampler_choice(node)
            self.schedule(node)
            self.conditioning(node, "positive", "negative")
            self.model(node, "model")
        else:
            self.custom_advanced(node)
        self.latent(node, "latent_image")

    def advanced(self, node: Node) -> None:
        start, end, steps = (self.value(node, k) for k in ("start_at_step", "end_at_step", "steps"))
        if self.value(node, "add_noise") == "disable":
            self.note(node, "add_noise disabled")
        if (start or 0) > 0 or (isinstance(end, int) and isinstance(steps, int) and end < steps):
            self.note(node, f"runs steps {start} to {end} only")

    def custom_advanced(self, node: Node) -> None:
        noise = self.linked(node, "noise")
        if noise is not None and noise[0].kind == "RandomNoise":
            self.found["seed"] = self.value(noise[0], "noise_seed")
        elif noise is not None:
            self.note(noise[0], "noise")
        guider = self.linked(node, "guider")
        if guider is not None and guider[0].kind == "CFGGuider":
            self.found["cfg"] = self.value(guider[0], "cfg")
            self.conditioning(guider[0], "positive", "negative")
            self.model(guider[0], "model")
        elif guider is not None and guider[0].kind == "BasicGuider":
            self.found["cfg"] = 1.0
            self.found["prompt"] = self.text(guider[0], "conditioning")
            self.model(guider[0], "model")
        elif guider is not None:
            self.note(guider[0], "guider")
        self.sampler_choice(node)
        self.schedule(node)

    def conditioning(self, node: Node, positive: str, negative: str) -> None:
        self.found["prompt"] = self.text(node, positive)
        self.found["negative"] = self.text(node, negative)


def _samplers(graph: Mapping[str, Node]) -> list[Node]:
    def order(node: Node) -> tuple[int, str]:
        return (int(node.id), "") if node.id.isdigit() else (1 << 62, node.id)

    return sorted((n for n in graph.values() if n.kind in SAMPLER_NODES), key=order)


def _reads_empty_latent(graph: Mapping[str, Node], node: Node) -> bool:
    target = _link(node.inputs.get("latent_image"))
    return target is not None and target[0] in graph and graph[target[0]].kind in EMPTY_LATENTS


def _typed(found: Mapping[str, Any]) -> dict[str, Any]:
    kinds = {
        "seed": int,
        "steps": int,
        "width": int,
        "height": int,
        "batch": int,
        "cfg": float,
        "denoise": float,
    }
    out: dict[str, Any] = {}
    for key, value in found.items():
        if key in kinds and value is not None:
            try:
                value = kinds[key](value)
            except (TypeError, ValueError):
                raise ImageMetadataError(f"ComfyUI graph: {key} {value!r} is not a number") from None
        elif key in ("prompt", "negative", "sampler", "scheduler", "model", "init_image"):
            value = value if isinstance(value, str) else None
        out[key] = value
    return out


def settings_from_graph(graph: Mapping[str, Node], *, source: str) -> ImageSettings:
    """Read the settings of an API-form graph (see `parse_prompt` and `parse_workflow`)."""
    samplers = _samplers(graph)
    if not samplers:
        raise ImageMetadataError("ComfyUI graph: no KSampler or SamplerCustom node")
    main = next((n for n in samplers if _reads_empty_latent(graph, n)), samplers[0])
    reader = _Reader(graph)
    reader.read_sampler(main)
    for other in samplers:
        if other is not main:
            reader.note(other, "another sampler pass")
    return ImageSettings(
        source=source, noise="comfyui", unmapped=tuple(reader.unmapped), **_typed(reader.found)
    )


def parse_prompt(data: object) -> dict[str, Node]:
    """The API `prompt` JSON (node id → {"class_type", "inputs"}) as nodes.

    Raises:
        ImageMetadataError: the JSON is not a ComfyUI API prompt.
    """
    nodes = table(data)
    if not nodes:
        raise ImageMetadataError("ComfyUI prompt: expected an object of nodes")
    graph: dict[str, Node] = {}
    for node_id, value in nodes.items():
        node = table(value)
        kind = node.get("class_type") if node is not None else None
        if node is None or not isinstance(kind, str):
            raise ImageMetadataError(f"ComfyUI prompt: node {node_id} has no class_type")
        graph[node_id] = Node(node_id, kind, table(node.get("inputs", {})) or {})
    return graph


def _ui_links(links: object) -> dict[int, tuple[str, int]]:
    """Link id -> (origin node id, origin slot), from the list or the object form; malformed links are left
    out (an input using one then reads as unlinked)."""
    out: dict[int, tuple[str, int]] = {}
    for link in items(links) or []:
        fields, entry = items(link), table(link)
        if fields is not None and len(fields) >= 5:
            link_id, origin, slot = fields[0], fields[1], fields[2]
        elif entry is not None:
            link_id, origin, slot = entry.get("id"), entry.get("origin_id"), entry.get("origin_slot")
        else:
            continue
        if isinstance(link_id, int) and isinstance(slot, int) and origin is not None:
            out[link_id] = (str(origin), slot)
    return out


def _widget_values(kind: str, values: object) -> Iterator[tuple[str, Any]]:
    named = table(values)
    if named is not None:
        yield from named.items()
        return
    names = iter(WIDGETS.get(kind, ()))
    widgets = iter(items(values) or [])
    for name in names:
        value = next(widgets, None)
        yield name, value
        if name in SEED_WIDGETS:
            following = next(widgets, None)
            if following not in CONTROL_VALUES:  # no control value stored: it was the next widget's
                next_name = next(names, None)
                if next_name is not None:
                    yield next_name, following


def parse_workflow(data: object) -> tuple[dict[str, Node], tuple[str, ...]]:
    """A UI `workflow` JSON as API-form nodes, and what could not be converted (muted nodes, subgraphs).

    Raises:
        ImageMetadataError: the JSON is not a ComfyUI UI workflow.
    """
    workflow = table(data)
    nodes = items(workflow.get("nodes")) if workflow is not None else None
    if workflow is None or nodes is None:
        raise ImageMetadataError("ComfyUI workflow: expected an object with a `nodes` list")
    links = _ui_links(workflow.get("links"))
    definitions = table(workflow.get("definitions")) or {}
    subgraphs = {
        definition.get("id")
        for definition in map(table, items(definitions.get("subgraphs")) or [])
        if definition is not None
    }
    graph: dict[str, Node] = {}
    skipped: list[str] = []
    for value in nodes:
        raw = table(value)
        if raw is None or "id" not in raw or not isinstance(raw.get("type"), str):
            raise ImageMetadataError("ComfyUI workflow: a node without an id or type")
        node_id, kind = str(raw["id"]), str(raw["type"])
        mode = raw.get("mode")
        if isinstance(mode, int) and mode in SKIPPED_MODES:
            skipped.append(f"{kind} (node {node_id}): {SKIPPED_MODES[mode]}")
            continue
        if kind in subgraphs:
            skipped.append(f"subgraph (node {node_id}): not read")
        inputs: dict[str, Any] = dict(_widget_values(kind, raw.get("widgets_values")))
        for entry in map(table, items(raw.get("inputs")) or []):
            link = entry.get("link") if entry is not None else None
            if entry is not None and isinstance(link, int) and link in links:
                name = entry.get("name")
                inputs[name if isinstance(name, str) and name else "input"] = list(links[link])
        graph[node_id] = Node(node_id, kind, inputs)
    return graph, tuple(skipped)
