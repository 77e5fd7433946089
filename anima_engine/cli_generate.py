"""What `anima generate` does between its arguments and the terminal: check everything, load once, render.

Order ("check before compute"): the device, the output folder, every prompt or record (settings, lint
gate, LoRA files, init image) and the model files are checked before any weights load. Prompts given as
arguments stop the command at the first bad one; records of a prompt file are reported one line each and
the others still run (exit 1 at the end). Images of a prompt file get names derived from their requests,
so a second run skips what the first one wrote.
"""

import sys
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import click
import torch

from anima_engine.errors import AnimaEngineError, ConfigError
from anima_engine.generation import GeneratedImage
from anima_engine.images import check_output_folder, png_bytes, save_numbered, write_new_file
from anima_engine.jobs import (
    Checked,
    Job,
    Planned,
    Problem,
    check_entries,
    generate_job,
    missing_images,
    plan_jobs,
    unfinished,
)
from anima_engine.loading import resolve_device
from anima_engine.locate import ModelNotFoundError, locate_models, locate_tokenizers
from anima_engine.memory import free_memory, images_per_call
from anima_engine.pipeline import Pipeline, load_pipeline
from anima_engine.prompt_files import STDIN, Entry, read_entries, read_text
from anima_engine.request import GenerationRequest, PreparedRequest, PromptResources
from anima_engine.samplers import Step
from anima_engine.speed import choose_speed, compiled_before
from anima_engine.timing import timed
from anima_prompt.errors import AnimaPromptError
from anima_prompt.places import find_tokenizers

PROGRESS_UNITS = 1000
"""Progress-bar units per image: images advance by fractions, one sampler step at a time."""


@dataclass(frozen=True, slots=True)
class ModelPaths:
    """Where the model files and tokenizers are, as the options give them."""

    dit: Path | None = None
    text_encoder: Path | None = None
    vae: Path | None = None
    model_dir: Path | None = None
    comfyui: Path | None = None
    tokenizers: Path | None = None


@dataclass(frozen=True, slots=True)
class RunSettings:
    """How the command runs, besides what each image is."""

    out: Path
    device: str | None = None
    dtype: torch.dtype | None = None
    low_vram: bool = False
    compile: str = "auto"
    fp8: bool = False


class Progress:
    """One progress bar on stderr over all images of the run, with the images done and an ETA; it appears
    with the first sampler step (so an error before sampling is the only line printed)."""

    def __init__(self, images: int) -> None:
        self.images = images
        self.done = 0.0
        self.shown = 0
        self.bar: Any = None

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)

    def step(self, step: Step) -> None:
        """Advance by the batch's share of one sampler step."""
        self.done += step.x.shape[0] / step.total
        self._show()

    def finished(self, images: int) -> None:
        """Count the images of the finished jobs fully (img2img runs fewer steps than its schedule)."""
        self.done = float(images)
        self._show()

    def _show(self) -> None:
        if self.bar is None:
            self.bar = click.progressbar(
                length=self.images * PROGRESS_UNITS,
                label="generating",
                file=sys.stderr,
                show_eta=True,
                show_percent=True,
                item_show_func=lambda _: f"{int(self.done)}/{self.images} images",
            )
            self.bar.__enter__()
        units = min(int(self.done * PROGRESS_UNITS), self.images * PROGRESS_UNITS)
        self.bar.update(units - self.shown, None)
        self.shown = units


def one_line(error: BaseException) -> str:
    return str(error).split("\n", 1)[0]


def run(
    base: GenerationRequest,
    *,
    prompts: tuple[str, ...],
    prompt_file: str | None,
    models: ModelPaths,
    settings: RunSettings,
) -> None:
    """Run `anima generate`; raises `click.UsageError` (exit 2) for a wrong option, `click.ClickException`
    (exit 1) for anything else that stops it."""
    started = time.perf_counter()
    device = _checked(lambda: resolve_device(settings.device, settings.dtype)[0])
    if settings.fp8 and device.type != "cuda":
        raise click.UsageError(f"--fp8 needs a CUDA GPU (Hopper or newer); the device is {device}")
    _checked(lambda: check_output_folder(settings.out))
    if prompt_file is None:
        entries = [
            Entry("<prompt>" if len(prompts) == 1 else f"<prompt {number}>", replace(base, prompt=text))
            for number, text in enumerate(prompts, 1)
        ]
        stem = "anima"
    else:
        stdin = sys.stdin.read() if prompt_file == STDIN else None
        name, text = _checked(lambda: read_text(prompt_file, stdin))
        entries = read_entries(name, text, base)
        stem = "stdin" if prompt_file == STDIN else Path(prompt_file).stem
    tokenizers = find_tokenizers(models.tokenizers, model_dir=models.model_dir, comfyui=models.comfyui)
    with PromptResources(tokenizers=tokenizers) as resources:
        checked = check_entries(entries, variant=base.variant or "base", stem=stem, resources=resources)
        work = list(checked.work)
        total = sum(len(planned.names) for planned, _ in work)
        if prompt_file is None:
            _report_prompts(checked)
            missing = total
        else:
            _report_records(checked)
            missing = missing_images(work, settings.out)
        written, rendering = 0, 0.0
        if missing:
            pipe = _load(models, settings, device, base.variant or "base", missing)
            loaded = time.perf_counter()
            written = _render(pipe, work, settings.out, numbered=prompt_file is None, resources=resources)
            rendering = time.perf_counter() - loaded
    if prompt_file is not None:
        elapsed = time.perf_counter() - started
        _summary(written, total - missing, checked.problems, elapsed, rendering)
    if checked.problems:
        sys.exit(1)


T = TypeVar("T")


def _checked(action: Callable[[], T]) -> T:
    """`action()`, its errors about the options as usage errors (exit 2), others as failures (exit 1)."""
    try:
        return action()
    except ConfigError as error:
        raise click.UsageError(one_line(error)) from None
    except (AnimaEngineError, AnimaPromptError) as error:
        raise click.ClickException(one_line(error)) from None


def _report_prompts(checked: Checked) -> None:
    """Arguments: every finding in full; the first bad prompt stops the command."""
    for planned, prepared in checked.work:
        _show_findings(planned.location, planned.request, prepared.findings)
    if checked.problems:
        problem = checked.problems[0]
        if problem.request is not None:
            _show_findings(problem.location, problem.request, problem.findings)
        if problem.setting:  # an option of the command line is wrong
            raise click.UsageError(_problem_text(problem, full=True))
        raise click.ClickException(_problem_text(problem, full=True))


def _report_records(checked: Checked) -> None:
    """A prompt file: one line per bad record; warnings are left to `anima lint --file`."""
    for problem in checked.problems:
        click.echo(f"{problem.location}: {_problem_text(problem, full=False)}", err=True)


def _problem_text(problem: Problem, *, full: bool) -> str:
    if not problem.findings:
        return problem.message
    from anima_prompt.lint import Severity

    if full:
        return f"{problem.message}; fix it or pass --no-lint"
    first = next(finding for finding in problem.findings if finding.severity >= Severity.ERROR)
    return f"{problem.message} ({first.code}: {first.message}); fix it or pass --no-lint"


def _show_findings(location: str, request: GenerationRequest, findings: tuple[object, ...]) -> None:
    if not findings:
        return
    from anima_prompt.lint.inputs import PromptRecord
    from anima_prompt.lint.output import LintResult, format_text

    record = PromptRecord(source=location, prompt=request.prompt, negative=request.negative or None)
    click.echo(format_text([LintResult(record, findings)]), err=True, nl=False)  # type: ignore[arg-type]


def _load(
    models: ModelPaths, settings: RunSettings, device: torch.device, variant: str, images: int
) -> Pipeline:
    """Find the files (a missing one: where it looked and how to download it), then load them once."""
    try:
        files = locate_models(
            dit=models.dit,
            text_encoder=models.text_encoder,
            vae=models.vae,
            model_dir=models.model_dir,
            comfyui=models.comfyui,
            variant=variant,
        )
        tokenizers = locate_tokenizers(models.tokenizers, model_dir=models.model_dir, comfyui=models.comfyui)
    except ModelNotFoundError as error:
        if not error.searched:
            raise click.ClickException(str(error)) from None
        raise click.ClickException(f"{error}; {download_hint(models.model_dir, variant)}") from None
    speed = _checked(
        lambda: choose_speed(
            settings.compile, device=device, images=images, fp8=settings.fp8, cache_warm=compiled_before()
        )
    )
    return _checked(
        lambda: load_pipeline(
            dit=files.dit,
            text_encoder=files.text_encoder,
            vae=files.vae,
            tokenizer_dir=tokenizers,
            variant=variant,
            device=device,
            dtype=settings.dtype,
            low_vram=settings.low_vram,
            speed=speed,
        )
    )


def download_hint(model_dir: Path | None, variant: str) -> str:
    """How to get the official files for `variant`, or where to fetch a DiT no download is known for."""
    from anima_engine.model_download import select_sources
    from anima_engine.model_manifest import load_model_manifest

    try:
        select_sources(load_model_manifest(), variant=variant, parts=("dit",))
    except ConfigError as error:
        return str(error)
    folder = model_dir if model_dir is not None else "DIR"
    variant_option = "" if variant == "base" else f" --variant {variant}"
    return f"to download the official files: anima models download --model-dir {folder}{variant_option}"


def _render(
    pipe: Pipeline,
    work: list[tuple[Planned, PreparedRequest]],
    out: Path,
    *,
    numbered: bool,
    resources: PromptResources,
) -> int:
    """Render every job, writing each image as soon as its job is done; returns the images written.

    PNG encoding (about 0.2 s for a 1024² image) and writing happen on one writer thread, in order, while
    the next job samples; the paths are printed in order as their files are written.
    """
    free = free_memory(pipe.device)

    def capacity(prepared: PreparedRequest) -> int:
        options = prepared.options
        return images_per_call(
            width=options.width, height=options.height, guided=options.cfg != 1, free_bytes=free
        )

    jobs = plan_jobs(work, capacity)
    if not numbered:
        jobs = unfinished(jobs, out)
    total = sum(job.images for job in jobs)
    done = written = 0
    writes: deque[Future[Path | None]] = deque()
    with Progress(total) as progress, ThreadPoolExecutor(1, thread_name_prefix="anima-png") as writer:
        for job in jobs:
            try:
                images = generate_job(pipe, job, callback=progress.step, resources=resources)
            except (AnimaEngineError, AnimaPromptError) as error:
                if numbered:
                    raise click.ClickException(one_line(error)) from None
                _job_failed(job, error)
                continue
            done += job.images
            progress.finished(done)
            for name, result in images:
                writes.append(writer.submit(_encode_and_write, result, out / name, numbered=numbered))
            written += _report_writes(writes, wait=False)
        return written + _report_writes(writes, wait=True)


def _report_writes(writes: "deque[Future[Path | None]]", *, wait: bool) -> int:
    """Print the paths of the finished writes at the front of `writes` (all of them with `wait`), in
    order; a failed write raises its error here. Returns how many files were written."""
    written = 0
    while writes and (wait or writes[0].done()):
        path = writes.popleft().result()
        if path is not None:
            click.echo(path)
            written += 1
    return written


def _encode_and_write(result: GeneratedImage, path: Path, *, numbered: bool) -> Path | None:
    with timed("PNG: encode and write"):
        return _write(png_bytes(result.image, result.record), result.record.seed, path, numbered=numbered)


def _job_failed(job: Job, error: BaseException) -> None:
    for item in job.items:
        click.echo(f"{item.location}: {one_line(error)}", err=True)


def _write(data: bytes, seed: int, path: Path, *, numbered: bool) -> Path | None:
    """Write one PNG (numbered after the folder's highest, or under its planned name); None if the name
    is taken already (another run wrote it meanwhile)."""
    try:
        if numbered:
            return save_numbered(data, seed, path.parent)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_new_file(path, data)
        return path
    except FileExistsError:
        return None
    except OSError as error:
        reason = error.strerror or str(error)
        raise click.ClickException(f"cannot write {path}: {reason}") from None


def _summary(
    written: int, existing: int, problems: tuple[Problem, ...], elapsed: float, rendering: float
) -> None:
    """The last line of a prompt-file run: images made, images/s (whole command, and once loaded)."""
    rate = f"{written / elapsed:.2f} images/s"
    if rendering > 0:
        rate += f"; {written / rendering:.2f} images/s after loading"
    parts = [f"{written} image{'s' if written != 1 else ''} in {elapsed:.1f} s ({rate})"]
    if existing:
        parts.append(f"{existing} already there")
    if problems:
        parts.append(f"{len(problems)} bad record{'s' if len(problems) != 1 else ''}")
    click.echo("; ".join(parts), err=True)
