"""Engine subcommands of the `anima` CLI; the group imports this module on first use."""

import dataclasses
import json
import platform
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import torch

from anima_engine.errors import AnimaEngineError
from anima_engine.images import save_png, toolkit_version
from anima_engine.locate import VARIANTS, ModelNotFoundError, locate_models, locate_tokenizers
from anima_engine.noise import DEFAULT_NOISE, NOISE_CONVENTIONS
from anima_engine.options import SamplingOptions, variant_options
from anima_engine.samplers import SAMPLERS, Step
from anima_engine.schedules import SCHEDULES
from anima_engine.testing import write_tiny_model

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
DEFAULT_SIZE = 1024
DEFAULT_IMG2IMG_STRENGTH = 0.75
"""Denoising strength of `--init-image` when `--strength` is not given (A1111's default)."""


@click.group()
def dev() -> None:
    """Developer tools for working on the engine."""


@dev.command("make-tiny")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random weights.")
def make_tiny(directory: Path, seed: int) -> None:
    """Write tiny random-weight checkpoints in the official layouts, and tokenizer files, into DIRECTORY.

    They load through the same loaders as the real files, so the engine runs end to end on a CPU in
    seconds (the images are noise).
    """
    files = write_tiny_model(directory, seed=seed)
    click.echo(f"dit: {files.dit}")
    click.echo(f"text encoder: {files.text_encoder}")
    click.echo(f"tokenizers: {files.tokenizer_dir}")
    click.echo(f"vae: {files.vae}")


def _open_index(db: Path | None) -> Any:
    """The tag index for linting and normalising: `--db`, else the default one if it was built."""
    from anima_prompt.tagindex import TagIndex, default_index_path

    path = db if db is not None else default_index_path()
    return TagIndex.open(path) if db is not None or path.is_file() else None


def _lint_gate(
    prompts: tuple[str, ...],
    negative: str,
    options: SamplingOptions,
    variant: str,
    index: Any,
    *,
    lora_values: tuple[str, ...] = (),
    lora_folders: tuple[Path, ...] = (),
) -> None:
    """Show every finding on stderr; stop with exit 1 when any is an error.

    The linter sees what `generate` will do: the `--lora` choices, the LoRA folders `<lora:name>` tags are
    looked up in, and `anima` as the front end (LoRA tags are loaded, not passed as text).
    """
    from anima_prompt.lint import LintConfig, LintSettings, Severity, Variant, lint
    from anima_prompt.lint.inputs import PromptRecord
    from anima_prompt.lint.output import LintResult, format_text
    from anima_prompt.loras import parse_lora_option

    settings = LintSettings(
        cfg=float(options.cfg),
        steps=options.steps,
        width=options.width,
        height=options.height,
        sampler=options.sampler,
        variant=Variant(variant),
        loras=tuple(parse_lora_option(value) for value in lora_values),
    )
    config = LintConfig(front_end="anima", lora_dirs=tuple(str(folder) for folder in lora_folders))
    errors = 0
    for number, prompt in enumerate(prompts, 1):
        findings = lint(prompt, negative=negative or None, settings=settings, index=index, config=config)
        if findings:
            source = "<prompt>" if len(prompts) == 1 else f"<prompt {number}>"
            record = PromptRecord(source=source, prompt=prompt, negative=negative or None)
            click.echo(format_text([LintResult(record, findings)]), err=True, nl=False)
        errors += sum(finding.severity >= Severity.ERROR for finding in findings)
    if errors:
        raise click.ClickException(
            f"the prompt has {errors} lint error{'s' if errors > 1 else ''}; fix it or pass --no-lint"
        )


def _normalized(text: str, index: Any) -> str:
    from anima_prompt import normalize, parse, render

    return render(normalize(parse(text), index)) if text else text


class _Progress:
    """A click progress bar on stderr, created at the first step (when the step count is known)."""

    def __init__(self, prompts: int) -> None:
        self.prompts = prompts
        self.bar: Any = None
        self.started = 0.0
        self.done = 0

    def __call__(self, step: Step) -> None:
        if self.bar is None:
            self.bar = click.progressbar(
                length=step.total * self.prompts,
                label="sampling",
                file=sys.stderr,
                show_pos=True,
                item_show_func=lambda rate: rate,
            )
            self.bar.__enter__()
            self.started = time.perf_counter()
        self.done += 1
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        self.bar.update(1, f"{self.done / elapsed:.2f} it/s")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@contextmanager
def _engine_errors() -> Iterator[None]:
    from anima_prompt.errors import AnimaPromptError

    try:
        yield
    except (AnimaEngineError, AnimaPromptError) as error:
        raise click.ClickException(str(error).split("\n", 1)[0]) from None


def _image_size(path: Path | None, width: int | None, height: int | None) -> tuple[int, int]:
    """The size from the options; missing sides come from the init image (rounded down to 16) or 1024."""
    if path is None or (width is not None and height is not None):
        return width or DEFAULT_SIZE, height or DEFAULT_SIZE
    from PIL import Image

    with Image.open(path) as image:
        size = image.size
    return width or max(16, size[0] // 16 * 16), height or max(16, size[1] // 16 * 16)


@click.command("generate")
@click.argument("prompts", metavar="PROMPT...", nargs=-1)
@click.option("-n", "--negative", default="", help="Negative prompt (unused at CFG 1).")
@click.option(
    "--from",
    "from_image",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Take prompt and settings from an image's metadata (ours, ComfyUI, A1111/Forge); options given win.",
)
@click.option("-W", "--width", type=click.IntRange(min=16), help="Image width, a multiple of 16 [1024].")
@click.option("-H", "--height", type=click.IntRange(min=16), help="Image height, a multiple of 16 [1024].")
@click.option("--steps", type=click.IntRange(min=1), help="Sampling steps [variant: 30, turbo 10].")
@click.option("--cfg", type=click.FloatRange(min=0), help="Guidance scale [variant: 4, turbo 1].")
@click.option("--sampler", type=click.Choice(list(SAMPLERS)), help="Sampler [er_sde].")
@click.option(
    "--scheduler",
    type=click.Choice(list(SCHEDULES)),
    default="simple",
    show_default=True,
    help="Sigma schedule.",
)
@click.option(
    "--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the first image."
)
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True, help="Images per prompt.")
@click.option(
    "--noise",
    type=click.Choice(NOISE_CONVENTIONS),
    default=DEFAULT_NOISE,
    show_default=True,
    help="How the seed becomes noise: as ComfyUI draws it, or anima (image k uses seed+k).",
)
@click.option(
    "--variant",
    type=click.Choice(VARIANTS),
    default="base",
    show_default=True,
    help="DiT variant to load; its model-card settings are the defaults.",
)
@click.option(
    "--model-dir", type=click.Path(file_okay=False, path_type=Path), help="Folder with the model files."
)
@click.option("--dit", type=click.Path(dir_okay=False, path_type=Path), help="DiT file.")
@click.option(
    "--text-encoder", type=click.Path(dir_okay=False, path_type=Path), help="Qwen3 text-encoder file."
)
@click.option("--vae", type=click.Path(dir_okay=False, path_type=Path), help="VAE file.")
@click.option("--comfyui", type=click.Path(file_okay=False, path_type=Path), help="A ComfyUI installation.")
@click.option(
    "--tokenizers",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder with qwen3/ and t5/ tokenizer.json [$ANIMA_TOKENIZERS].",
)
@click.option(
    "--db", type=click.Path(dir_okay=False, path_type=Path), help="Tag index for lint and normalise."
)
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("outputs"),
    show_default=True,
    help="Output folder; existing files are never overwritten.",
)
@click.option(
    "--init-image", type=click.Path(dir_okay=False, exists=True, path_type=Path), help="img2img input."
)
@click.option(
    "--strength", type=float, help="img2img strength in (0, 1], the last part of the schedule [0.75]."
)
@click.option(
    "--denoise", type=float, help="img2img denoise in (0, 1] as ComfyUI's KSampler (all steps are run)."
)
@click.option(
    "--lora",
    "lora_values",
    metavar="PATH[:STRENGTH]",
    multiple=True,
    help="Apply a LoRA (a file, or a name in the LoRA folders) at STRENGTH [1]; repeatable.",
)
@click.option(
    "--lora-dir",
    type=click.Path(file_okay=False, path_type=Path),
    multiple=True,
    help="Folder for <lora:name> and --lora names [$ANIMA_LORA_DIR, ComfyUI's models/loras]; repeatable.",
)
@click.option("--low-vram", is_flag=True, help="Offload between stages and decode in tiles.")
@click.option(
    "--compile/--no-compile",
    "compiled",
    default=True,
    show_default=True,
    help="On CUDA, compile the DiT and replay it as a CUDA graph (kernels are cached between runs).",
)
@click.option(
    "--fp8", is_flag=True, help="Run the DiT's large linears in fp8 (Hopper GPUs; faster, less exact)."
)
@click.option("--no-lint", is_flag=True, help="Generate even when the linter reports errors.")
@click.option("--device", help="torch device, e.g. cuda, cuda:1, cpu [cuda if available].")
@click.option(
    "--dtype", type=click.Choice(list(DTYPES)), help="Weight dtype [bfloat16 on CUDA, else float32]."
)
@click.pass_context
def generate(
    ctx: click.Context,
    prompts: tuple[str, ...],
    negative: str,
    from_image: Path | None,
    width: int | None,
    height: int | None,
    steps: int | None,
    cfg: float | None,
    sampler: str | None,
    scheduler: str,
    seed: int,
    batch: int,
    noise: str,
    variant: str,
    model_dir: Path | None,
    dit: Path | None,
    text_encoder: Path | None,
    vae: Path | None,
    comfyui: Path | None,
    tokenizers: Path | None,
    db: Path | None,
    out: Path,
    init_image: Path | None,
    strength: float | None,
    denoise: float | None,
    lora_values: tuple[str, ...],
    lora_dir: tuple[Path, ...],
    low_vram: bool,
    compiled: bool,
    fp8: bool,
    no_lint: bool,
    device: str | None,
    dtype: str | None,
) -> None:
    """Generate images from PROMPT (several prompts: several images).

    The prompt is linted first: errors stop generation (unless --no-lint), warnings are shown. It is then
    normalised and sampled, and each image is written as a PNG whose metadata holds everything needed to
    reproduce it. The paths written are printed on stdout.

    `<lora:name:0.8>` in a prompt applies that LoRA to the prompt (the tag is taken out of the text the
    model sees); names are looked up in --lora-dir, $ANIMA_LORA_DIR and ComfyUI's models/loras/. The
    PNG metadata lists each LoRA with its sha256 and strength.
    """
    from anima_engine.locate import locate_lora_folders
    from anima_engine.pipeline import load_pipeline
    from anima_engine.prompt_loras import generate_with_loras, option_loras, split_prompt

    with _engine_errors():
        preset = variant_options(variant)
        image_width, image_height = _image_size(init_image, width, height)
        default_strength = DEFAULT_IMG2IMG_STRENGTH if init_image is not None and denoise is None else 1.0
        options = SamplingOptions(
            width=image_width,
            height=image_height,
            steps=steps if steps is not None else preset.steps,
            cfg=cfg if cfg is not None else preset.cfg,
            sampler=sampler or preset.sampler,
            scheduler=scheduler,
            seed=seed,
            batch=batch,
            strength=strength if strength is not None else default_strength,
            denoise=denoise if denoise is not None else 1.0,
            noise=noise,
        )
        if from_image is not None:
            prompts, negative, options, lora_values = _from_image(
                ctx, from_image, prompts, negative, options, lora_values, init_image=init_image is not None
            )
        if not prompts:
            raise click.UsageError("give a PROMPT, or --from IMAGE")
        index = _open_index(db)
        folders = locate_lora_folders(lora_dir, comfyui=comfyui)
        if not no_lint:
            _lint_gate(
                prompts, negative, options, variant, index, lora_values=lora_values, lora_folders=folders
            )
        loras = option_loras(lora_values, folders)
        texts = [split_prompt(text, folders) for text in prompts]
        texts = [dataclasses.replace(text, text=_normalized(text.text, index)) for text in texts]
        negative = _normalized(negative, index)
        try:
            pipe = load_pipeline(
                dit=dit,
                text_encoder=text_encoder,
                vae=vae,
                model_dir=model_dir,
                comfyui=comfyui,
                tokenizer_dir=tokenizers,
                variant=variant,
                device=device,
                dtype=DTYPES[dtype] if dtype else None,
                low_vram=low_vram,
                speed=_speed_options(compiled=compiled, fp8=fp8, device=device),
            )
        except ModelNotFoundError as error:
            if not error.searched:
                raise
            raise click.ClickException(f"{error}; {_download_hint(model_dir)}") from None
        start = _read_image(init_image) if init_image is not None else None
        progress = _Progress(len(texts))
        try:
            results = generate_with_loras(
                pipe, texts, options, loras=loras, negative=negative, init_image=start, callback=progress
            )
        finally:
            progress.close()
        for result in results:
            click.echo(save_png(result.image, result.record, out))


def _from_image(
    ctx: click.Context,
    path: Path,
    prompts: tuple[str, ...],
    negative: str,
    options: SamplingOptions,
    lora_values: tuple[str, ...],
    *,
    init_image: bool,
) -> tuple[tuple[str, ...], str, SamplingOptions, tuple[str, ...]]:
    """Fill what the command line left open from the image's settings; say once what is not reproduced."""
    from anima_engine.from_image import reproduction
    from anima_prompt.imagemeta import settings_from_png

    found = reproduction(settings_from_png(path), init_image=init_image)

    def given(name: str) -> bool:
        return ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE

    overrides = {name: value for name, value in found.options.items() if not given(name)}
    if overrides.get("denoise", 1.0) < 1 and not given("strength"):
        overrides["strength"] = 1.0  # the image's ComfyUI denoise replaces the default img2img strength
    options = dataclasses.replace(options, **overrides)  # type: ignore[arg-type]
    if not prompts and found.prompt is not None:
        prompts = (found.prompt,)
    if not given("negative") and found.negative is not None:
        negative = found.negative
    if found.notes:
        click.echo(f"{path}: not reproduced: {'; '.join(found.notes)}", err=True)
    return prompts, negative, options, (*found.loras, *lora_values)


def _image_info(path: Path, *, as_json: bool) -> None:
    from anima_prompt.imagemeta import settings_from_png

    with _engine_errors():
        settings = settings_from_png(path)
    if as_json:
        found = settings.known()
        found["loras"] = [{"name": lora.name, "strength": lora.strength} for lora in settings.loras]
        click.echo(json.dumps(found, ensure_ascii=False, indent=2))
    else:
        click.echo("\n".join(settings.lines()))


def _speed_options(*, compiled: bool, fp8: bool, device: str | None) -> Any:
    """None (the pipeline's default for the device) unless the user changed how the DiT runs."""
    from anima_engine.loading import resolve_device
    from anima_engine.speed import PLAIN, default_options

    if compiled and not fp8:
        return None
    base = default_options(resolve_device(device, None)[0]) if compiled else PLAIN
    return dataclasses.replace(base, fp8=fp8)


def _download_hint(model_dir: Path | None) -> str:
    folder = model_dir if model_dir is not None else "DIR"
    return f"to download the official files: anima models download --model-dir {folder}"


def _read_image(path: Path) -> Any:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            return image.copy()
    except (OSError, UnidentifiedImageError) as error:
        raise click.ClickException(f"{path}: not a readable image ({error})") from None


@click.command("info")
@click.argument("image", required=False, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="With IMAGE: the settings as JSON.")
@click.option(
    "--model-dir", type=click.Path(file_okay=False, path_type=Path), help="Folder with the model files."
)
@click.option("--comfyui", type=click.Path(file_okay=False, path_type=Path), help="A ComfyUI installation.")
@click.option(
    "--variant", type=click.Choice(VARIANTS), default="base", show_default=True, help="DiT variant."
)
@click.option("--tokenizers", type=click.Path(file_okay=False, path_type=Path), help="Tokenizer folder.")
def info(
    image: Path | None,
    as_json: bool,
    model_dir: Path | None,
    comfyui: Path | None,
    variant: str,
    tokenizers: Path | None,
) -> None:
    """Show versions, the compute device, and where the model files, tokenizers and tag index were found.

    With IMAGE, show instead the generation settings stored in that PNG (written by this toolkit, ComfyUI
    or A1111/Forge), and what in them could not be mapped to this engine's settings.
    """
    if image is not None:
        _image_info(image, as_json=as_json)
        return
    import transformers

    from anima_prompt.tagindex import default_index_path

    click.echo(f"anima-toolkit {toolkit_version()}")
    versions = f"torch {torch.__version__}, transformers {transformers.__version__}"
    click.echo(f"python {platform.python_version()}, {versions}")
    if torch.cuda.is_available():
        click.echo(f"device: cuda ({torch.cuda.get_device_name()})")
    else:
        click.echo("device: cpu (no CUDA device)")
    try:
        files = locate_models(model_dir=model_dir, comfyui=comfyui, variant=variant)
        click.echo(f"dit: {files.dit}\ntext encoder: {files.text_encoder}\nvae: {files.vae}")
    except AnimaEngineError as error:
        click.echo(f"models: {error}")
    try:
        click.echo(f"tokenizers: {locate_tokenizers(tokenizers, model_dir=model_dir)}")
    except AnimaEngineError as error:
        click.echo(f"tokenizers: {error}")
    index = default_index_path()
    click.echo(f"tag index: {index}" + ("" if index.is_file() else " (not built: anima index build)"))
