"""The engine behind `anima serve`'s Generate button: every engine call the web playground makes.

`EngineRenderer` implements `anima_prompt.serve.jobs.Renderer` on top of `generate(pipe, request)`. Model
files and LoRA folders are fixed when it is made; the pipeline of the variant last asked for stays loaded
between requests (another variant replaces it). Requests name LoRAs, never paths.
"""

import dataclasses
import io
import threading
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from anima_engine.generation import generate
from anima_engine.images import GenerationRecord, png_info
from anima_engine.locate import locate_models
from anima_engine.options import variant_options
from anima_engine.pipeline import Pipeline, load_pipeline
from anima_engine.request import GenerationRequest, PromptResources
from anima_engine.samplers import SAMPLERS, Step
from anima_engine.schedules import SCHEDULES
from anima_prompt.loras import LORA_SUFFIX, find_lora
from anima_prompt.places import lora_folders
from anima_prompt.serve.jobs import EngineInfo, RenderedImage, RenderRequest, StepReport
from anima_prompt.variants import VARIANTS


class EngineRenderer:
    """Loads the Anima pipeline on first use and renders playground requests with it.

    Args:
        dit, text_encoder, vae: explicit model files; the others are searched as `anima generate` does.
        model_dir, comfyui, tokenizer_dir: where the model files and tokenizers are (None searches the
            usual places).
        lora_dirs: folders of LoRA files besides `$ANIMA_LORA_DIR` and ComfyUI's `models/loras`.
        device: torch device name; None picks CUDA when available.
        index_path: the tag index prompts are normalised with, or None.

    Raises:
        ModelNotFoundError: the base model files are not found (checked now, loaded later).
    """

    def __init__(
        self,
        *,
        dit: Path | None = None,
        text_encoder: Path | None = None,
        vae: Path | None = None,
        model_dir: Path | None = None,
        comfyui: Path | None = None,
        tokenizer_dir: Path | None = None,
        lora_dirs: Sequence[Path] = (),
        device: str | None = None,
        index_path: Path | None = None,
    ) -> None:
        self.dit, self.text_encoder, self.vae = dit, text_encoder, vae
        self.model_dir = model_dir
        self.comfyui = comfyui
        self.tokenizer_dir = tokenizer_dir
        self.device = device
        self.index_path = index_path
        self.files = locate_models(
            dit=dit, text_encoder=text_encoder, vae=vae, model_dir=model_dir, comfyui=comfyui, variant="base"
        )
        self.lora_dirs = tuple(lora_dirs)
        self.lora_folders = lora_folders(lora_dirs, comfyui=comfyui)
        self.resources = PromptResources(tokenizers=tokenizer_dir)
        self._pipeline: Pipeline | None = None
        self._lock = threading.Lock()

    def describe(self) -> EngineInfo:
        """Samplers, schedulers, variants with the model card's defaults, and the LoRA names found."""
        defaults: dict[str, dict[str, object]] = {}
        for variant in VARIANTS:
            preset = variant_options(variant)
            defaults[variant] = {"steps": preset.steps, "cfg": preset.cfg, "sampler": preset.sampler}
        return EngineInfo(
            samplers=tuple(SAMPLERS),
            schedulers=tuple(SCHEDULES),
            variants=tuple(VARIANTS),
            defaults=defaults,
            loras=self.lora_names(),
        )

    def lora_names(self) -> tuple[str, ...]:
        """The LoRA files in the LoRA folders, by name (file name without `.safetensors`), sorted."""
        names = {
            path.name[: -len(LORA_SUFFIX)]
            for folder in self.lora_folders
            if folder.is_dir()
            for path in folder.rglob(f"*{LORA_SUFFIX}")
            if path.is_file()
        }
        return tuple(sorted(names))

    def render(self, request: RenderRequest, report: StepReport) -> list[RenderedImage]:
        """The images of `request`, as PNG bytes with their metadata; `report` is called after each step.

        The page shows the lint findings as the prompt is written, so generation does not stop on them.
        """
        generation = GenerationRequest(
            prompt=request.prompt,
            negative=request.negative,
            width=request.width,
            height=request.height,
            steps=request.steps,
            cfg=request.cfg,
            sampler=request.sampler,
            scheduler=request.scheduler,
            seed=request.seed,
            variant=request.variant,
            loras=tuple((self._lora(name), strength) for name, strength in request.loras),
            lora_dirs=self.lora_dirs,
            comfyui=self.comfyui,
            lint=False,
            tag_index=self.index_path,
        )

        def step(progress: Step) -> None:
            report(progress.index + 1, progress.total)

        pipe = self._load(request.variant)
        results = generate(pipe, generation, callback=step, resources=self.resources)
        return [
            RenderedImage(_png(result.image, result.record), _settings(result.record)) for result in results
        ]

    def _lora(self, name: str) -> Path:
        found = find_lora(name, self.lora_folders)
        if found is None:
            raise FileNotFoundError(f"LoRA {name!r} is not in the LoRA folders")
        return found

    def _load(self, variant: str) -> Pipeline:
        with self._lock:
            if self._pipeline is None or self._pipeline.variant != variant:
                self._pipeline = None  # free the old weights before loading the new ones
                self._pipeline = load_pipeline(
                    dit=self.dit,
                    text_encoder=self.text_encoder,
                    vae=self.vae,
                    model_dir=self.model_dir,
                    comfyui=self.comfyui,
                    tokenizer_dir=self.tokenizer_dir,
                    variant=variant,
                    device=self.device,
                )
            return self._pipeline


def _png(image: Image.Image, record: GenerationRecord) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=png_info(record))
    return buffer.getvalue()


def _settings(record: GenerationRecord) -> dict[str, object]:
    """The settings shown in the gallery and reused by the page: the record without the file hashes."""
    values = dataclasses.asdict(record)
    values["models"] = [{"role": m.role, "name": m.name} for m in record.models]
    values["loras"] = [{"name": Path(m.name).stem, "strength": m.weight} for m in record.loras]
    return values
