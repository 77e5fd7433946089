"""What `anima generate` does between its arguments and the terminal: check everything, load once, render.

Order ("check before compute"): the device, the output, every prompt or record (settings, lint gate, LoRA
files, init image) and the model files are checked before any weights load. Prompts given as arguments
stop the command at the first bad one and get numbered names. A prompt file runs as a batch
(`batch.run_batch`, in this process or with `--ray` on a cluster): bad records are reported one line
each and the others still run (exit 1 at the end); images get names derived from their requests, so a
second run skips what the first one wrote.
"""

import sys
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
import torch

from anima_engine.batch import BatchPlan, BatchSummary, CheckSettings, Executor, InProcess, Record, run_batch
from anima_engine.errors import AnimaEngineError, ConfigError
from anima_engine.generation import GeneratedImage
from anima_engine.images import check_output_folder, png_bytes, save_numbered
from anima_engine.jobs import Checked, Planned, Problem, check_entries, generate_job, plan_jobs
from anima_engine.loading import resolve_device
from anima_engine.locate import ModelNotFoundError
from anima_engine.memory import free_memory, images_per_call
from anima_engine.outputs import is_url, open_output
from anima_engine.pipeline import Pipeline
from anima_engine.prompt_files import STDIN, Entry, RecordLine, is_jsonl, record_lines
from anima_engine.render_worker import (
    ModelPaths,
    Outcome,
    RunSettings,
    WorkerSpec,
    lint_tokenizers,
    load_run_pipeline,
    model_hint,
    one_line,
)
from anima_engine.request import GenerationRequest, PreparedRequest, PromptResources
from anima_engine.samplers import Step
from anima_engine.timing import timed
from anima_prompt.errors import AnimaPromptError

if TYPE_CHECKING:
    from anima_engine.ray_batch import RayOptions

T = TypeVar("T")

PROGRESS_UNITS = 1000
"""Progress-bar units per image: images advance by fractions, one sampler step at a time."""


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


def run(
    base: GenerationRequest,
    *,
    prompts: tuple[str, ...],
    prompt_file: str | None,
    models: ModelPaths,
    settings: RunSettings,
    out: str,
    ray: "RayOptions | None" = None,
) -> None:
    """Run `anima generate`; raises `click.UsageError` (exit 2) for a wrong option, `click.ClickException`
    (exit 1) for anything else that stops it."""
    device = _checked(lambda: resolve_device(settings.device, settings.dtype)[0])
    if settings.fp8 and device.type != "cuda" and ray is None:
        raise click.UsageError(f"--fp8 needs a CUDA GPU (Hopper or newer); the device is {device}")
    if prompt_file is None:
        if is_url(out):
            raise click.ClickException(f"an output URL needs --file (numbered names need a folder): {out}")
        _run_prompts(base, prompts, models, settings, device, Path(out))
    else:
        _run_file(base, prompt_file, models, settings, out, ray)


def _run_file(
    base: GenerationRequest,
    prompt_file: str,
    models: ModelPaths,
    settings: RunSettings,
    out: str,
    ray: "RayOptions | None",
) -> None:
    """A prompt file as a batch: in this process, or on Ray with `ray`."""
    records: str | list[RecordLine]
    if prompt_file == STDIN:
        text = sys.stdin.read().replace("\r\n", "\n").replace("\r", "\n")
        records, jsonl, stem = record_lines("<stdin>", text), is_jsonl("<stdin>", text), "stdin"
    else:
        records, jsonl, stem = prompt_file, prompt_file.lower().endswith(".jsonl"), Path(prompt_file).stem
    variant = base.variant or "base"
    summary = run_records(
        records,
        check=CheckSettings(base, jsonl, variant, stem, lint_tokenizers(models)),
        spec=WorkerSpec(models, settings, variant, images=0),
        out=out,
        ray=ray,
    )
    if not summary.ok:
        sys.exit(1)


def run_records(
    records: "str | Sequence[Record]",
    *,
    check: CheckSettings,
    spec: WorkerSpec,
    out: str,
    ray: "RayOptions | None",
) -> BatchSummary:
    """Run a batch with the command line's reporting (paths on stdout, problems, progress and the
    summary on stderr), turning the errors that stop it into one line."""
    output, executor = open_output(out), executor_for(ray)
    with LineReporter(paths=True) as reporter:
        summary = batch_errors(
            lambda: run_batch(
                records, check=check, spec=spec, output=output, executor=executor, reporter=reporter
            ),
            spec,
        )
    show_summary(summary)
    return summary


def executor_for(ray: "RayOptions | None") -> Executor:
    """This process, or the Ray cluster of `ray`."""
    if ray is None:
        return InProcess()
    from anima_engine.ray_batch import OnRay

    return OnRay(ray)


def batch_errors(action: Callable[[], T], spec: WorkerSpec) -> T:
    """`action()`, with what stops a batch as one line (a missing model file: how to download it); a wrong
    option (the output folder) is a usage error."""
    try:
        return action()
    except ModelNotFoundError as error:
        raise click.ClickException(model_hint(error, spec.models.model_dir, spec.variant)) from None
    except ConfigError as error:
        raise click.UsageError(one_line(error)) from None
    except (AnimaEngineError, AnimaPromptError) as error:
        raise click.ClickException(one_line(error)) from None


class LineReporter:
    """Reports a batch on the terminal: bad records and failed images one line each on stderr, written
    paths on stdout (with `paths`), a progress bar over the images to make."""

    def __init__(self, *, paths: bool) -> None:
        self.paths = paths
        self.progress: Progress | None = None
        self.done = 0

    def __enter__(self) -> "LineReporter":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.__exit__(None, None, None)

    def checked(self, plan: BatchPlan) -> None:
        for problem in plan.problems:
            click.echo(f"{problem.location}: {_problem_text(problem, full=False)}", err=True)
        self.progress = Progress(plan.missing)

    def step(self, step: Step) -> None:
        if self.progress is not None:
            self.progress.step(step)

    def outcome(self, outcome: Outcome) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress.finished(self.done)
        if outcome.status == "written" and self.paths:
            click.echo(outcome.path)
        elif outcome.status == "failed":
            click.echo(f"{outcome.location}: {outcome.message}", err=True)


def show_summary(summary: BatchSummary) -> None:
    """The last lines of a batch: images/s per worker when several rendered, then the totals."""
    if len(summary.workers) > 1:
        for rate in summary.workers:
            click.echo(f"  {rate.worker}: {rate.images} images, {rate.per_second:.2f} images/s", err=True)
    written = summary.written
    rate = f"{written / summary.seconds:.2f} images/s" if summary.seconds > 0 else "-"
    if summary.first_image is not None:
        rate += f"; first image after {summary.first_image:.1f} s"
    parts = [f"{written} image{'s' if written != 1 else ''} in {summary.seconds:.1f} s ({rate})"]
    if summary.present:
        parts.append(f"{summary.present} already there")
    if summary.failed:
        parts.append(f"{len(summary.failed)} failed")
    if summary.problems:
        count = len(summary.problems)
        parts.append(f"{count} bad record{'s' if count != 1 else ''}")
    click.echo("; ".join(parts), err=True)


def _run_prompts(
    base: GenerationRequest,
    prompts: tuple[str, ...],
    models: ModelPaths,
    settings: RunSettings,
    device: torch.device,
    out: Path,
) -> None:
    """Prompts given as arguments: every finding shown, the first bad prompt stops the command, images
    numbered after the folder's highest."""
    _checked(lambda: check_output_folder(out))
    entries = [
        Entry("<prompt>" if len(prompts) == 1 else f"<prompt {number}>", replace(base, prompt=text))
        for number, text in enumerate(prompts, 1)
    ]
    with PromptResources(tokenizers=lint_tokenizers(models)) as resources:
        checked = check_entries(entries, variant=base.variant or "base", stem="anima", resources=resources)
        _report_prompts(checked)
        work = list(checked.work)
        images = sum(len(planned.names) for planned, _ in work)
        pipe = _load(WorkerSpec(models, settings, base.variant or "base", images), device)
        _render_numbered(pipe, work, out, resources=resources)


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


def _load(spec: WorkerSpec, device: torch.device) -> Pipeline:
    """Find the files (a missing one: where it looked and how to download it), then load them once."""
    try:
        return load_run_pipeline(spec, device)
    except ModelNotFoundError as error:
        raise click.ClickException(model_hint(error, spec.models.model_dir, spec.variant)) from None
    except (AnimaEngineError, AnimaPromptError) as error:
        raise click.ClickException(one_line(error)) from None


def _render_numbered(
    pipe: Pipeline, work: list[tuple[Planned, PreparedRequest]], out: Path, *, resources: PromptResources
) -> None:
    """Render every prompt's images, each written under the next free number as soon as its job is done.

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
    done = 0
    writes: deque[Future[Path]] = deque()
    with Progress(sum(job.images for job in jobs)) as progress, ThreadPoolExecutor(1) as writer:
        for job in jobs:
            images = _checked(
                lambda job=job: generate_job(pipe, job, callback=progress.step, resources=resources)
            )
            done += job.images
            progress.finished(done)
            writes.extend(writer.submit(_encode_and_number, image, out) for _, image in images)
            _report_writes(writes, out, wait=False)
        _report_writes(writes, out, wait=True)


def _encode_and_number(image: GeneratedImage, out: Path) -> Path:
    with timed("PNG: encode and write"):
        return save_numbered(png_bytes(image.image, image.record), image.record.seed, out)


def _report_writes(writes: "deque[Future[Path]]", out: Path, *, wait: bool) -> None:
    """Print the paths of the finished writes at the front of `writes` (all of them with `wait`), in
    order; a failed write stops the command."""
    while writes and (wait or writes[0].done()):
        try:
            click.echo(writes.popleft().result())
        except OSError as error:
            reason = error.strerror or str(error)
            raise click.ClickException(f"cannot write into {out}: {reason}") from None
