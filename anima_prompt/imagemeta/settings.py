"""The generation settings read back from an image, whatever wrote them."""

from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class LoraSetting:
    """A LoRA an image was made with: its name (a file name or stem, as written) and strength."""

    name: str
    strength: float = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageSettings:
    """Settings found in an image's metadata; None where the metadata did not say.

    Sampler and scheduler use ComfyUI's names (`euler_ancestral`, `karras`), whatever the source wrote.

    Attributes:
        source: what wrote them: `anima` (this toolkit's record), `comfyui-prompt`, `comfyui-workflow`
            or `a1111` (A1111, Forge and others writing a `parameters` text).
        prompt, negative: the texts, without `<lora:…>` tags (those are in `loras`).
        seed, steps, cfg, sampler, scheduler, width, height: the sampling settings.
        batch, batch_index: the batch the image was drawn in and its place in it.
        denoise: ComfyUI KSampler img2img denoise (1.0 for text-to-image).
        strength: A1111/diffusers img2img strength ("Denoising strength").
        noise: the noise convention, `comfyui` or `anima`, when the source implies one.
        model: the checkpoint or diffusion-model file name.
        init_image: the img2img input image's name, when the source names one.
        loras: the LoRAs applied to the model, in order.
        unmapped: what was in the metadata but cannot be expressed as these settings, one phrase each
            (unknown nodes, ControlNets, upscalers, a second sampler pass…).
    """

    source: str
    prompt: str | None = None
    negative: str | None = None
    seed: int | None = None
    steps: int | None = None
    cfg: float | None = None
    sampler: str | None = None
    scheduler: str | None = None
    width: int | None = None
    height: int | None = None
    batch: int | None = None
    batch_index: int | None = None
    denoise: float | None = None
    strength: float | None = None
    noise: str | None = None
    model: str | None = None
    init_image: str | None = None
    loras: tuple[LoraSetting, ...] = ()
    unmapped: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        """`name: value` lines of the settings found, then one `not mapped:` line if anything was not."""
        out: list[str] = []
        for name, value in self.known().items():
            if name == "loras":
                value = ", ".join(f"{lora.name}:{lora.strength:g}" for lora in self.loras)
            elif name == "unmapped":
                continue
            out.append(f"{name}: {value}")
        if self.unmapped:
            out.append(f"not mapped: {'; '.join(self.unmapped)}")
        return out

    def known(self) -> dict[str, object]:
        """The settings that were found (not None, not empty), in field order, `source` first."""
        found: dict[str, object] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value is not None and value != ():
                found[item.name] = value
        return found
