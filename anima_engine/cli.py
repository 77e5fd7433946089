"""Engine subcommands of the `anima` CLI; the group imports this module on first use."""

import atexit
import dataclasses
import functools
import gc
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import torch

from anima_engine.errors import AnimaEngineError
from anima_engine.locate import locate_models, locate_tokenizers
from anima_engine.noise import DEFAULT_NOISE, NOISE_CONVENTIONS
from anima_engine.options import variant_options
from anima_engine.outputs import is_url
from anima_engine.prompt_files import STDIN
from anima_engine.samplers import SAMPLERS
from anima_engine.schedules import SCHEDULES
from anima_engine.speed import COMPILE_CHOICES
from anima_prompt.commands.cluster import ray_option
from anima_prompt.variants import VARIANTS

if TYPE_CHECKING:
    from anima_engine.ray_batch import RayOptions
    from anima_engine.render_worker import ModelPaths, RunSettings
    from anima_engine.request import GenerationRequest

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@click.group()
def dev() -> None:
    """Developer tools for working on the engine."""


@dev.command("make-tiny")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random weights.")
@click.option("--force", is_flag=True, help="Replace files of the same names already in DIRECTORY.")
def make_tiny(directory: Path, seed: int, force: bool) -> None:
    """Write tiny random-weight checkpoints in the official layouts, and tokenizer files, into DIRECTORY.

    They load through the same loaders as the real files, so the engine runs end to end on a CPU in
    seconds (the images are noise): `anima generate --model-dir DIRECTORY` finds them. Files already there
    are not replaced unless --force.
    """
    from anima_engine._tiny import tiny_model_files, write_tiny_model

    existing = [path for path in tiny_model_files(directory) if path.exists()]
    if existing and not force:
        raise click.UsageError(
            f"{existing[0]} already exists; pass --force to replace it with a tiny random-weight file"
        )
    files = write_tiny_model(directory, seed=seed)
    click.echo(f"dit: {files.dit}")
    click.echo(f"text encoder: {files.text_encoder}")
    click.echo(f"tokenizers: {files.tokenizer_dir}")
    click.echo(f"vae: {files.vae}")


def _tag_index(db: Path | None) -> Path | None:
    """The tag index for linting and normalising: `--db`, else the default one if it was built."""
    from anima_prompt.index.query import default_index_path

    if db is not None:
        return db
    path = default_index_path()
    return path if path.is_file() else None


def _lora_pairs(values: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
    from anima_prompt.errors import AnimaPromptError
    from anima_prompt.loras import parse_lora_option

    try:
        return tuple(parse_lora_option(value) for value in values)
    except AnimaPromptError as error:
        raise click.BadParameter(str(error), param_hint="--lora") from None


def _by_variant(setting: str) -> str:
    """The default of `setting` per variant for the help text, e.g. `base 30, aesthetic 30, turbo 10`."""
    values = [getattr(variant_options(variant), setting) for variant in VARIANTS]
    return ", ".join(
        f"{variant} {value:g}" if isinstance(value, float) else f"{variant} {value}"
        for variant, value in zip(VARIANTS, values, strict=True)
    )


def ray_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options that send a batch to a Ray cluster (`anima generate --file`, `anima grid`)."""
    command = click.option(
        "--workers",
        type=click.IntRange(min=1),
        help="With --ray: render actors [one per GPU, two per GPU with --low-vram; one without GPUs].",
    )(command)
    return ray_option(command)


def ray_choice(address: str | None, workers: int | None, *, low_vram: bool) -> "RayOptions | None":
    """The Ray options of a command, or None when it runs in this process."""
    if address is None:
        if workers is not None:
            raise click.UsageError("--workers needs --ray")
        return None
    from anima_engine.ray_batch import RayOptions

    return RayOptions(address=address or None, workers=workers, per_gpu=2 if low_vram else 1)


SHARED_OPTIONS = (
    click.option("-n", "--negative", default="", help="Negative prompt (unused at CFG 1)."),
    click.option("-W", "--width", type=click.IntRange(min=16), help="Image width, a multiple of 16 [1024]."),
    click.option(
        "-H", "--height", type=click.IntRange(min=16), help="Image height, a multiple of 16 [1024]."
    ),
    click.option("--steps", type=click.IntRange(min=1), help=f"Sampling steps [{_by_variant('steps')}]."),
    click.option("--cfg", type=click.FloatRange(min=0), help=f"Guidance scale [{_by_variant('cfg')}]."),
    click.option("--sampler", type=click.Choice(list(SAMPLERS)), help=f"Sampler [{_by_variant('sampler')}]."),
    click.option(
        "--scheduler",
        type=click.Choice(list(SCHEDULES)),
        default="simple",
        show_default=True,
        help="Sigma schedule.",
    ),
    click.option(
        "--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the first image."
    ),
    click.option(
        "--noise",
        type=click.Choice(NOISE_CONVENTIONS),
        default=DEFAULT_NOISE,
        show_default=True,
        help="How the seed becomes noise: as ComfyUI draws it, or anima (image k uses seed+k).",
    ),
    click.option(
        "--variant",
        type=click.Choice(VARIANTS),
        default="base",
        show_default=True,
        help="DiT variant to load; its model-card settings are the defaults.",
    ),
    click.option(
        "--model-dir", type=click.Path(file_okay=False, path_type=Path), help="Folder with the model files."
    ),
    click.option("--dit", type=click.Path(dir_okay=False, path_type=Path), help="DiT file."),
    click.option(
        "--text-encoder", type=click.Path(dir_okay=False, path_type=Path), help="Qwen3 text-encoder file."
    ),
    click.option("--vae", type=click.Path(dir_okay=False, path_type=Path), help="VAE file."),
    click.option(
        "--comfyui", type=click.Path(file_okay=False, path_type=Path), help="A ComfyUI installation."
    ),
    click.option(
        "--tokenizers",
        type=click.Path(file_okay=False, path_type=Path),
        help="Folder with qwen3/ and t5/ tokenizer.json [$ANIMA_TOKENIZERS].",
    ),
    click.option(
        "--db", type=click.Path(dir_okay=False, path_type=Path), help="Tag index for lint and normalise."
    ),
    click.option(
        "-o",
        "--out",
        default="outputs",
        show_default=True,
        help="Output folder, or with --file any URL pyarrow or fsspec reaches (s3://bucket/images); existing "
        "files are never overwritten.",
    ),
    click.option(
        "--lora",
        "lora_values",
        metavar="PATH[:STRENGTH]",
        multiple=True,
        help="Apply a LoRA (a file, or a name in the LoRA folders) at STRENGTH [1]; repeatable.",
    ),
    click.option(
        "--lora-dir",
        type=click.Path(file_okay=False, path_type=Path),
        multiple=True,
        help="Folder for <lora:name> and --lora names [$ANIMA_LORA_DIR, ComfyUI's models/loras]; repeatable.",
    ),
    click.option("--low-vram", is_flag=True, help="Offload between stages and decode in tiles."),
    click.option(
        "--compile",
        "compile_choice",
        type=click.Choice(COMPILE_CHOICES),
        default="auto",
        show_default=True,
        help="Compile the DiT on CUDA (kernels cached between runs): auto does when the run makes enough "
        "images for it to pay.",
    ),
    click.option("--no-compile", is_flag=True, help="Same as --compile never."),
    click.option(
        "--fp8", is_flag=True, help="Run the DiT's large linears in fp8 (Hopper GPUs; faster, less exact)."
    ),
    click.option("--no-lint", is_flag=True, help="Generate even when the linter reports errors."),
    click.option(
        "--no-normalize", is_flag=True, help="Encode the prompt as written (LoRA tags are still taken out)."
    ),
    click.option("--device", help="torch device, e.g. cuda, cuda:1, cpu [cuda if available]."),
    click.option(
        "--dtype", type=click.Choice(list(DTYPES)), help="Weight dtype [bfloat16 on CUDA, else float32]."
    ),
)
"""Options of every command that generates (`generate`, `grid`): what the images are, the model files,
how the pipeline runs, and where the images go."""


@dataclass(frozen=True, slots=True)
class SharedOptions:
    """What the shared options say, as the values the engine takes.

    Attributes:
        request: the request every prompt starts from (its `prompt` is empty).
        models: where the model files are.
        settings: how the pipeline runs.
        ray: where a batch runs on Ray, or None for this process.
        out: the output folder or URL.
    """

    request: "GenerationRequest"
    models: "ModelPaths"
    settings: "RunSettings"
    ray: "RayOptions | None"
    out: str


def shared_options(command: Callable[..., None]) -> Callable[..., None]:
    """Add `SHARED_OPTIONS` and the Ray options to a command, which gets their values as one
    `SharedOptions` argument named `options`."""

    @functools.wraps(command)
    def collected(*args: object, **values: Any) -> None:
        given = {name: values.pop(name) for name in SHARED_NAMES}
        return command(*args, options=_shared(given), **values)

    wrapped: Callable[..., None] = collected
    for option in reversed(SHARED_OPTIONS):
        wrapped = option(wrapped)
    return ray_options(wrapped)


SHARED_NAMES = (
    *("negative", "width", "height", "steps", "cfg", "sampler", "scheduler", "seed", "noise", "variant"),
    *("model_dir", "dit", "text_encoder", "vae", "comfyui", "tokenizers", "db", "out", "lora_values"),
    *("lora_dir", "low_vram", "compile_choice", "no_compile", "fp8", "no_lint", "no_normalize", "device"),
    *("dtype", "ray_address", "workers"),
)
"""The parameter names of `SHARED_OPTIONS` and the Ray options (a test checks they agree)."""


def _shared(values: Mapping[str, Any]) -> SharedOptions:
    from anima_engine.render_worker import ModelPaths, RunSettings
    from anima_engine.request import GenerationRequest

    request = GenerationRequest(
        prompt="",
        negative=values["negative"],
        width=values["width"],
        height=values["height"],
        steps=values["steps"],
        cfg=values["cfg"],
        sampler=values["sampler"],
        scheduler=values["scheduler"],
        seed=values["seed"],
        noise=values["noise"],
        variant=values["variant"],
        loras=_lora_pairs(values["lora_values"]),
        lora_dirs=values["lora_dir"],
        comfyui=values["comfyui"],
        lint=not values["no_lint"],
        normalize=not values["no_normalize"],
        tag_index=_tag_index(values["db"]),
    )
    models = ModelPaths(
        values["dit"],
        values["text_encoder"],
        values["vae"],
        values["model_dir"],
        values["comfyui"],
        values["tokenizers"],
    )
    settings = RunSettings(
        device=values["device"],
        dtype=DTYPES[values["dtype"]] if values["dtype"] else None,
        low_vram=values["low_vram"],
        compile="never" if values["no_compile"] else values["compile_choice"],
        fp8=values["fp8"],
    )
    ray = ray_choice(values["ray_address"], values["workers"], low_vram=values["low_vram"])
    return SharedOptions(request, models, settings, ray, values["out"])


@click.command("generate")
@click.argument("prompts", metavar="[PROMPT]...", nargs=-1)
@click.option(
    "-f",
    "--file",
    "prompt_file",
    metavar="FILE",
    help="Prompts from FILE: JSONL records or one prompt per line; - reads standard input.",
)
@click.option(
    "--whole",
    is_flag=True,
    help="Read standard input (-) or a text --file as one prompt (default: one prompt per line).",
)
@click.option(
    "--from",
    "from_image",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Take prompt and settings from an image's metadata (ours, ComfyUI, A1111/Forge); options given win.",
)
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True, help="Images per prompt.")
@click.option(
    "--init-image", type=click.Path(dir_okay=False, exists=True, path_type=Path), help="img2img input."
)
@click.option(
    "--strength", type=float, help="img2img strength in (0, 1], the last part of the schedule [0.75]."
)
@click.option(
    "--denoise", type=float, help="img2img denoise in (0, 1] as ComfyUI's KSampler (all steps are run)."
)
@shared_options
@click.pass_context
def generate(
    ctx: click.Context,
    prompts: tuple[str, ...],
    prompt_file: str | None,
    whole: bool,
    from_image: Path | None,
    batch: int,
    init_image: Path | None,
    strength: float | None,
    denoise: float | None,
    options: SharedOptions,
) -> None:
    """Generate images from PROMPT (several prompts: several images), or from the prompts of --file.

    PROMPT `-` reads standard input as --file - does: one prompt (or JSONL record) per line, or the
    whole text as one prompt with --whole.

    Each prompt is linted first: errors stop it (unless --no-lint), warnings are shown. It is then
    normalised (unless --no-normalize) and sampled, and each image is written as a PNG whose metadata
    holds the prompt as written, the text encoded and everything else needed to reproduce it. The paths
    written are printed on stdout. Everything is checked before any weights load.

    `<lora:name:0.8>` in a prompt applies that LoRA to the prompt (the tag is taken out of the text the
    model sees); names are looked up in --lora-dir, $ANIMA_LORA_DIR and ComfyUI's models/loras/.

    With --file, the models load once; a record with a problem is reported (file:line) and skipped, and
    the command exits 1 at the end. Images are named after their records (or a record's "out"), and
    images already in the output folder are not made again, so an interrupted run resumes.

    With --file and --ray, records are checked on the CPU workers of a Ray cluster and rendered by
    actors holding one pipeline each (one per GPU, two with --low-vram); the images are the same.
    """
    from anima_engine.cli_generate import run

    # The process ends with this command: spare the interpreter's shutdown its garbage collections, which
    # walk every object torch created (`gc.freeze` took the exit after a tiny-model generate on a 2-core
    # CPU from 1.2-2.0 s to about 0.4 s; docs/benchmarks.md). Objects are still released by refcount.
    atexit.register(gc.freeze)

    if STDIN in prompts:
        if len(prompts) > 1 or prompt_file is not None:
            raise click.UsageError("- (standard input) is the only PROMPT when given, without --file")
        prompts, prompt_file = (), STDIN
    if prompt_file is not None and (prompts or from_image is not None):
        raise click.UsageError("give prompts (or --from IMAGE) or --file, not both")
    if prompt_file not in (None, STDIN) and not is_url(prompt_file) and not Path(prompt_file).exists():
        raise click.UsageError(f"--file: no such file: {prompt_file}")
    if whole:
        prompts, prompt_file = _whole_prompt(prompt_file), None
    if prompt_file is None and options.ray is not None:
        raise click.UsageError("--ray runs the records of --file FILE")
    request = dataclasses.replace(
        options.request, batch=batch, init_image=init_image, strength=strength, denoise=denoise
    )
    if from_image is not None:
        prompts, request = _from_image(ctx, from_image, prompts, request)
    if not prompts and prompt_file is None:
        raise click.UsageError("give a PROMPT, or --from IMAGE, or --file FILE")
    run(
        request,
        prompts=prompts,
        prompt_file=prompt_file,
        models=options.models,
        settings=options.settings,
        out=options.out,
        ray=options.ray,
    )


def _whole_prompt(prompt_file: str | None) -> tuple[str]:
    """The text of standard input or of a text prompt file, as one prompt (--whole)."""
    from anima_engine.prompt_files import PromptFileError, read_whole

    if prompt_file is None:
        raise click.UsageError("--whole reads - (standard input) or --file FILE")
    if prompt_file.lower().endswith(".jsonl"):
        raise click.UsageError(f"--whole reads text, not JSONL records: {prompt_file}")
    try:
        return (read_whole(prompt_file, sys.stdin.read() if prompt_file == STDIN else None),)
    except PromptFileError as error:
        raise click.ClickException(str(error)) from None


def _from_image(
    ctx: click.Context, path: Path, prompts: tuple[str, ...], request: "GenerationRequest"
) -> "tuple[tuple[str, ...], GenerationRequest]":
    """Fill what the command line left open from the image's settings; say once what is not reproduced."""
    from anima_engine.from_image import OPTION_FIELDS, request_from_png
    from anima_prompt.errors import AnimaPromptError

    given = {
        name
        for name in (*OPTION_FIELDS, "negative")
        if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE
    }
    try:
        found = request_from_png(path, request, keep=given)
    except AnimaPromptError as error:
        raise click.ClickException(str(error)) from None
    if found.notes:
        click.echo(f"{path}: not reproduced: {'; '.join(found.notes)}", err=True)
    if not prompts and found.request.prompt:
        prompts = (found.request.prompt,)
    return prompts, dataclasses.replace(found.request, prompt="")


def engine_report(
    *, model_dir: Path | None, comfyui: Path | None, variant: str, tokenizers: Path | None
) -> list[str]:
    """The engine's lines of `anima info`: versions, the compute device, the model files and tokenizers."""
    import safetensors

    lines = [f"torch {torch.__version__}, safetensors {safetensors.__version__}"]
    if torch.cuda.is_available():
        lines.append(f"device: cuda ({torch.cuda.get_device_name()})")
    else:
        lines.append("device: cpu (no CUDA device)")
    try:
        files = locate_models(model_dir=model_dir, comfyui=comfyui, variant=variant)
        lines += [f"dit: {files.dit}", f"text encoder: {files.text_encoder}", f"vae: {files.vae}"]
    except AnimaEngineError as error:
        lines.append(f"models: {error}")
    try:
        lines.append(f"tokenizers: {locate_tokenizers(tokenizers, model_dir=model_dir, comfyui=comfyui)}")
    except AnimaEngineError as error:
        lines.append(f"tokenizers: {error}")
    return lines
