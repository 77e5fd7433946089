"""What to generate: `GenerationRequest`, and `prepare`, which turns one into the inputs of sampling.

A request is a plain frozen value (prompt, negative prompt, settings, LoRAs, init image, seed, variant,
lint and normalise switches), the same whether it comes from the Python API, the command line or a prompt
file. `prepare` does everything that needs no model, so a request can be checked before any weights load:

1. settings: fields left unset take the variant's model-card defaults (`options.variant_options`); the size
   comes from the init image (rounded down to 16) or is 1024²;
2. parse the prompt and the negative prompt once;
3. lint (optional gate): errors raise `PromptLintError` carrying the findings; the others are kept;
4. `<lora:name:strength>` tags: read from the parse tree, resolved in the LoRA folders and taken out of
   the tree, after the request's own `loras`;
5. normalise (optional) with the tag index;
6. the encoder's input: the tree as weighted segments, and its rendering, recorded in the PNG.
"""

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from anima_engine.errors import ConfigError, PromptLintError
from anima_engine.lora.choices import LoraChoice
from anima_engine.noise import DEFAULT_NOISE
from anima_engine.options import SIZE_MULTIPLE, SamplingOptions, variant_options
from anima_prompt.places import lora_folders
from anima_prompt.variants import VARIANTS

if TYPE_CHECKING:
    from anima_prompt import Prompt
    from anima_prompt.index.query import TagIndex
    from anima_prompt.lint import Finding, Linter
    from anima_prompt.loras import LoraTag

DEFAULT_SIZE = 1024
DEFAULT_IMG2IMG_STRENGTH = 0.75
"""Denoising strength with an init image when `strength` is not given (A1111's default)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerationRequest:
    """One generation: a prompt and everything that decides its images.

    Attributes:
        prompt: the prompt as written; `(tag:1.5)` weights apply to the tag's T5 tokens and
            `<lora:name:0.8>` tags choose LoRAs (they never reach the text encoder).
        negative: the negative prompt (unused at CFG 1); LoRA tags are refused here.
        width, height: image size, multiples of 16; None: the init image's size rounded down to 16, or 1024.
        steps, cfg, sampler: None takes the variant's model-card value (`options.variant_options`).
        scheduler: sigma schedule (`schedules.SCHEDULES`).
        seed: the seed; with `noise="anima"` image k of the batch uses `seed + k`.
        batch: images of this prompt.
        noise: how the seed becomes noise: `comfyui` (the batch drawn as ComfyUI draws it) or `anima`
            (`noise.NOISE_CONVENTIONS`).
        variant: the DiT variant the request is for (`base`, `aesthetic`, `turbo`); None: the pipeline's.
        init_image: img2img input, a file or an image; resized to width × height.
        strength: img2img strength in (0, 1], the last part of the schedule (diffusers); None: 0.75 with
            an init image (unless `denoise` is given), else 1.
        denoise: img2img denoise in (0, 1] as ComfyUI's KSampler (all steps of a longer schedule); None: 1.
        loras: `(file or name, strength)` applied to the whole prompt, before the prompt's LoRA tags.
        lora_dirs: folders LoRA names are looked up in, before `$ANIMA_LORA_DIR` and ComfyUI's `models/loras`.
        comfyui: a ComfyUI installation whose `models/loras` is searched (None: `$COMFYUI_PATH` and the
            usual install folders).
        lint: stop with `PromptLintError` when the linter finds errors.
        normalize: rewrite the prompts in Anima's canonical form before encoding (with `tag_index`).
        tag_index: the tag index file for lint and normalise; None lints and normalises without one.
    """

    prompt: str
    negative: str = ""
    width: int | None = None
    height: int | None = None
    steps: int | None = None
    cfg: float | None = None
    sampler: str | None = None
    scheduler: str = "simple"
    seed: int = 0
    batch: int = 1
    noise: str = DEFAULT_NOISE
    variant: str | None = None
    init_image: Path | Image.Image | None = None
    strength: float | None = None
    denoise: float | None = None
    loras: tuple[tuple[str | Path, float], ...] = ()
    lora_dirs: tuple[Path, ...] = ()
    comfyui: Path | None = None
    lint: bool = True
    normalize: bool = True
    tag_index: Path | None = None

    def __post_init__(self) -> None:
        for name in ("prompt", "negative"):
            if not isinstance(getattr(self, name), str):
                raise ConfigError(f"`{name}` must be a string, got {getattr(self, name)!r}")
        if self.variant is not None and self.variant not in VARIANTS:
            raise ConfigError(f"unknown variant {self.variant!r}; expected one of {', '.join(VARIANTS)}")
        if not isinstance(self.loras, tuple) or not all(_is_lora(pair) for pair in self.loras):
            raise ConfigError(
                f"`loras` must be a tuple of (file or name, strength) pairs, got {self.loras!r}"
            )
        if self.init_image is not None and not isinstance(self.init_image, Path | Image.Image):
            raise ConfigError(f"`init_image` must be a Path or a PIL image, got {self.init_image!r}")
        for name in ("lint", "normalize"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"`{name}` must be True or False, got {getattr(self, name)!r}")


def _is_lora(pair: object) -> bool:
    if not isinstance(pair, tuple) or len(pair) != 2:
        return False
    name, strength = pair
    return (
        isinstance(name, str | Path)
        and bool(str(name).strip())
        and isinstance(strength, int | float)
        and not isinstance(strength, bool)
        and math.isfinite(strength)
    )


@dataclass(frozen=True, slots=True)
class EncoderText:
    """A prompt as the text encoders read it.

    Attributes:
        written: the prompt as given.
        text: what is encoded, as text: LoRA tags taken out, normalised if asked (recorded in the PNG).
        segments: `(text, weight)` pieces of `text` with ComfyUI weights (`anima_prompt.weighted_segments`).
    """

    written: str
    text: str
    segments: tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True, eq=False)
class PreparedRequest:
    """A checked request: the sampling options, both prompts as encoded, the LoRA files and the init image.

    Attributes:
        request: the request it came from.
        variant: the DiT variant whose defaults were applied.
        options: the complete sampling options.
        prompt, negative: the encoder's inputs.
        loras: the LoRA files and strengths, `request.loras` first, then the prompt's tags in order.
        init_image: the decoded img2img input, or None.
        findings: the linter's findings that did not stop the request (empty without the lint gate).
    """

    request: GenerationRequest
    variant: str
    options: SamplingOptions
    prompt: EncoderText
    negative: EncoderText
    loras: tuple[LoraChoice, ...]
    init_image: Image.Image | None
    findings: "tuple[Finding, ...]" = ()


@dataclass(eq=False)
class PromptResources:
    """The tag indexes and linters that preparing requests uses, opened once and reused across requests.

    `generate` makes one per call when none is given; pass one to keep them across calls, and `close()` it
    (or use it as a context manager) when done. `tokenizers` is the folder the linter counts tokens with
    (None: where `anima_prompt.places.find_tokenizers` finds one).
    """

    tokenizers: Path | None = None
    indexes: "dict[Path, TagIndex]" = field(default_factory=dict)
    linters: "dict[tuple[Path | None, tuple[Path, ...]], Linter]" = field(default_factory=dict)

    def index(self, path: Path | None) -> "TagIndex | None":
        """The tag index at `path`, opened read-only on first use; None for None."""
        if path is None:
            return None
        if path not in self.indexes:
            from anima_prompt.index.query import TagIndex

            self.indexes[path] = TagIndex.open(path)
        return self.indexes[path]

    def linter(self, index_path: Path | None, folders: tuple[Path, ...]) -> "Linter":
        """A linter for `anima generate`'s front end (LoRA tags are loaded, not passed as text)."""
        key = (index_path, folders)
        if key not in self.linters:
            from anima_prompt.lint import LintConfig, Linter

            config = LintConfig(
                front_end="anima",
                lora_dirs=tuple(str(folder) for folder in folders),
                tokenizers=None if self.tokenizers is None else str(self.tokenizers),
            )
            self.linters[key] = Linter(config=config, index=self.index(index_path))
        return self.linters[key]

    def close(self) -> None:
        """Close the open tag indexes."""
        for index in self.indexes.values():
            index.close()
        self.indexes.clear()
        self.linters.clear()

    def __enter__(self) -> "PromptResources":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def resolve_options(
    request: GenerationRequest, variant: str, init_size: tuple[int, int] | None
) -> SamplingOptions:
    """The complete sampling options: the request's values, else the variant's, the init image's or 1024².

    Raises:
        ConfigError: a value out of range (named with the value received).
    """
    preset = variant_options(variant)
    width, height = request.width, request.height
    if init_size is not None:
        width = width or max(SIZE_MULTIPLE, init_size[0] // SIZE_MULTIPLE * SIZE_MULTIPLE)
        height = height or max(SIZE_MULTIPLE, init_size[1] // SIZE_MULTIPLE * SIZE_MULTIPLE)
    comfy_img2img = request.denoise is not None and request.denoise < 1
    default_strength = (
        DEFAULT_IMG2IMG_STRENGTH if request.init_image is not None and not comfy_img2img else 1.0
    )
    options = SamplingOptions(
        width=width or DEFAULT_SIZE,
        height=height or DEFAULT_SIZE,
        steps=request.steps if request.steps is not None else preset.steps,
        cfg=request.cfg if request.cfg is not None else preset.cfg,
        sampler=request.sampler or preset.sampler,
        scheduler=request.scheduler,
        seed=request.seed,
        batch=request.batch,
        strength=request.strength if request.strength is not None else default_strength,
        denoise=request.denoise if request.denoise is not None else 1.0,
        noise=request.noise,
    )
    for name in ("strength", "denoise"):
        if request.init_image is None and getattr(options, name) != 1.0:
            raise ConfigError(f"`{name}` {getattr(options, name)} needs an init image (img2img)")
    return options


def read_init_image(source: Path | Image.Image) -> Image.Image:
    """The img2img input, decoded (a file is read completely and closed).

    Raises:
        ConfigError: the file is missing or not a readable image.
    """
    if isinstance(source, Image.Image):
        return source
    try:
        with Image.open(source) as image:
            image.load()
            return image.copy()
    except FileNotFoundError:
        raise ConfigError(f"init image {source}: no such file") from None
    except (OSError, Image.DecompressionBombError) as error:
        raise ConfigError(f"init image {source}: not a readable image ({error})") from None


def prepare(
    request: GenerationRequest, *, variant: str | None = None, resources: PromptResources | None = None
) -> PreparedRequest:
    """Check a request and work out everything sampling needs, without any model.

    Args:
        request: what to generate.
        variant: the variant of the pipeline that will run it; `request.variant`, when set, must match.
        resources: tag indexes and linters to reuse; a temporary set otherwise.

    Raises:
        ConfigError: an invalid setting, a variant other than the pipeline's, an unreadable init image, a
            LoRA tag in the negative prompt.
        PromptLintError: the lint gate is on and the prompt has lint errors (the error holds the findings).
        LoraReferenceError: a LoRA tag is malformed or names no file (an `AnimaPromptError`).
    """
    if resources is None:
        with PromptResources() as temporary:
            return prepare(request, variant=variant, resources=temporary)
    chosen = _variant(request, variant)
    init_image = read_init_image(request.init_image) if request.init_image is not None else None
    options = resolve_options(request, chosen, init_image.size if init_image is not None else None)
    folders = lora_folders(request.lora_dirs, comfyui=request.comfyui)
    findings = _lint_gate(request, options, chosen, folders, resources) if request.lint else ()
    index = resources.index(request.tag_index) if request.normalize else None
    negative, negative_tags = _encoder_text(request.negative, index, normalize=request.normalize)
    if negative_tags:
        raise ConfigError("the negative prompt holds a LoRA tag; put LoRAs in the prompt or use --lora")
    prompt, tags = _encoder_text(request.prompt, index, normalize=request.normalize)
    tag_loras = tuple((tag.name, tag.strength) for tag in tags)
    return PreparedRequest(
        request=request,
        variant=chosen,
        options=options,
        prompt=prompt,
        negative=negative,
        loras=option_loras((*request.loras, *tag_loras), folders),
        init_image=init_image,
        findings=findings,
    )


def _variant(request: GenerationRequest, variant: str | None) -> str:
    if request.variant is not None and variant is not None and request.variant != variant:
        raise ConfigError(f"the request is for the {request.variant} variant, the pipeline holds {variant}")
    return request.variant or variant or "base"


def _lint_gate(
    request: GenerationRequest,
    options: SamplingOptions,
    variant: str,
    folders: tuple[Path, ...],
    resources: PromptResources,
) -> "tuple[Finding, ...]":
    """The findings for the prompt with its settings; raises `PromptLintError` if any is an error."""
    from anima_prompt.lint import LintSettings, Severity, Variant

    settings = LintSettings(
        cfg=float(options.cfg),
        steps=options.steps,
        width=options.width,
        height=options.height,
        sampler=options.sampler,
        variant=Variant(variant),
        loras=tuple((str(name), float(strength)) for name, strength in request.loras),
    )
    linter = resources.linter(request.tag_index, folders)
    findings = linter.lint(request.prompt, negative=request.negative or None, settings=settings)
    errors = sum(finding.severity >= Severity.ERROR for finding in findings)
    if errors:
        raise PromptLintError(f"the prompt has {errors} lint error{'s' if errors > 1 else ''}", findings)
    return findings


def _encoder_text(
    text: str, index: "TagIndex | None", *, normalize: bool
) -> "tuple[EncoderText, tuple[LoraTag, ...]]":
    """Parse once; take the LoRA tags and comments out of the tree; normalise; the segments and their
    text."""
    from anima_prompt import normalize as normalized
    from anima_prompt import parse, render, weighted_segments
    from anima_prompt.loras import lora_tags, without_loras
    from anima_prompt.prune import without_comments

    tree: Prompt = parse(text)
    tags = lora_tags(tree)
    if tags:
        tree = without_loras(tree)
    tree = without_comments(tree)
    if normalize:
        tree = normalized(tree, index)
    segments = tuple((segment.text, segment.weight) for segment in weighted_segments(tree))
    return EncoderText(written=text, text=render(tree), segments=segments), tags


def option_loras(
    values: tuple[tuple[str | Path, float], ...], folders: tuple[Path, ...]
) -> tuple[LoraChoice, ...]:
    """`(file or name, strength)` pairs as LoRA files: an existing path as given, else a name in `folders`.

    Raises:
        LoraReferenceError: no such file.
    """
    from anima_prompt.loras import require_lora

    return tuple(LoraChoice(require_lora(str(name), folders), float(strength)) for name, strength in values)
