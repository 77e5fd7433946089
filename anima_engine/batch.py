"""A batch run: records → checked requests → jobs → images written by render workers → a summary.

`run_batch` is the one path for `anima generate --file` and `anima grid`, in-process or on Ray; an
executor decides only where the two heavy stages run:

1. check (CPU, per record): `RecordChecker` reads a record, prepares its request (presets, lint gate,
   LoRAs, normalisation) and names its images; `jobs.claim_names` then settles names in file order;
2. plan (here): `plan_batch` groups requests into jobs (`jobs.plan_jobs`, up to the most images any
   device samples in one call, so the plan is the same on every machine) and keeps those with an image
   not in the output yet;
3. render (a worker per GPU): `render_worker.RenderWorker` writes each job's PNGs, one `Outcome` per image;
4. summary (here): every planned image is accounted for, written or failed, exactly once.
"""

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from anima_engine.jobs import Checked, Job, Planned, Problem, check_entry, claim_names, plan_jobs
from anima_engine.memory import images_per_call
from anima_engine.outputs import Output
from anima_engine.prompt_files import Entry, RecordLine, read_entry
from anima_engine.render_worker import Outcome, WorkerSpec
from anima_engine.request import GenerationRequest, PreparedRequest, PromptResources
from anima_engine.samplers import Step

Record = RecordLine | Entry
"""A record to check: a line of a prompt file, or an entry made in Python (a grid cell)."""


@dataclass(frozen=True, slots=True)
class CheckSettings:
    """How records become requests: a plain value sent to each checking worker.

    Attributes:
        base: the settings every record starts from.
        jsonl: prompt-file lines are JSON records (else one prompt per line).
        variant: the variant of the pipeline that will render them.
        stem: the prefix of derived image names.
        tokenizers: the folder the linter counts tokens with.
    """

    base: GenerationRequest
    jsonl: bool
    variant: str
    stem: str
    tokenizers: Path | None = None


class RecordChecker:
    """Checks records one by one, keeping the linter and tag index it opened."""

    def __init__(self, settings: CheckSettings) -> None:
        self.settings = settings
        self.resources = PromptResources(tokenizers=settings.tokenizers)

    def check(self, record: Record) -> tuple[Planned, PreparedRequest] | Problem:
        """The record's planned images and prepared request, or the problem that stops it."""
        settings = self.settings
        entry = (
            read_entry(record, settings.base, jsonl=settings.jsonl)
            if isinstance(record, RecordLine)
            else record
        )
        return check_entry(entry, variant=settings.variant, stem=settings.stem, resources=self.resources)

    def close(self) -> None:
        """Close the tag indexes it opened."""
        self.resources.close()


@dataclass(frozen=True, slots=True)
class BatchPlan:
    """The jobs to render and what is known before rendering.

    Attributes:
        jobs: the jobs with an image not in the output yet.
        problems: records that will not be rendered.
        names: every planned image name, with its record's location, in file order.
        present: the planned names already in the output before the run.
    """

    jobs: tuple[Job, ...]
    problems: tuple[Problem, ...]
    names: tuple[tuple[str, str], ...]
    present: frozenset[str]

    @property
    def missing(self) -> int:
        """Images the run has to make."""
        return len(self.names) - len(self.present)


def job_capacity(prepared: PreparedRequest) -> int:
    """The most images of this request's size any device samples in one call: jobs are planned with it,
    so the plan (and each image's bytes) does not depend on where it runs; a smaller device splits."""
    options = prepared.options
    return images_per_call(
        width=options.width, height=options.height, guided=options.cfg != 1, free_bytes=None
    )


def plan_batch(checked: Checked, output: Output) -> BatchPlan:
    """Group the checked requests into jobs and keep the jobs with an image not in `output`."""
    names = tuple((name, planned.location) for planned, _ in checked.work for name in planned.names)
    present = frozenset(name for name, _ in names if output.exists(name))
    jobs = [
        job
        for job in plan_jobs(checked.work, job_capacity)
        if any(name not in present for item in job.items for name in item.names)
    ]
    return BatchPlan(tuple(jobs), checked.problems, names, present)


class Executor(Protocol):
    """Where the checking and rendering stages run: this process, or a Ray cluster."""

    def check(self, records: "str | Sequence[Record]", settings: CheckSettings) -> Checked:
        """Check every record (a prompt file's path or URL, or records made here), in file order."""
        ...

    def render(
        self, jobs: Sequence[Job], spec: WorkerSpec, output: Output, progress: "BatchReporter"
    ) -> Iterator[Outcome]:
        """Render the jobs, yielding each image's outcome as soon as it is known."""
        ...


class BatchReporter(Protocol):
    """What a batch run tells as it goes (the command line prints it; `None` tells nothing)."""

    def checked(self, plan: BatchPlan) -> None:
        """The records were checked and the jobs planned, before any model loads."""
        ...

    def step(self, step: Step) -> None:
        """A sampler step of an image rendered in this process."""
        ...

    def outcome(self, outcome: Outcome) -> None:
        """An image was written, was there already, or failed."""
        ...


class Silent:
    """A reporter that tells nothing."""

    def checked(self, plan: BatchPlan) -> None:
        pass

    def step(self, step: Step) -> None:
        pass

    def outcome(self, outcome: Outcome) -> None:
        pass


@dataclass(frozen=True, slots=True)
class WorkerRate:
    """Images one worker wrote and the seconds it spent rendering them."""

    worker: str
    images: int
    seconds: float

    @property
    def per_second(self) -> float:
        """Images per second of rendering."""
        return self.images / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True, slots=True)
class BatchSummary:
    """The end of a run: every planned image counted once.

    Attributes:
        written: images made by this run (a worker lost after writing one counts it here too).
        present: images already in the output before the run (skipped).
        failed: images that failed after their retries, with the outcomes saying why.
        problems: the records that were not rendered.
        seconds: the whole run; `rendering`: from the first job sent to the last outcome.
        first_image: seconds from the start to the first image written, or None.
        workers: images and rendering time per worker.
    """

    written: int
    present: int
    failed: tuple[Outcome, ...]
    problems: tuple[Problem, ...]
    seconds: float
    rendering: float
    first_image: float | None
    workers: tuple[WorkerRate, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """Nothing failed and no record was bad."""
        return not self.failed and not self.problems


def run_batch(
    records: "str | Sequence[Record]",
    *,
    check: CheckSettings,
    spec: WorkerSpec,
    output: Output,
    executor: Executor,
    reporter: BatchReporter | None = None,
) -> BatchSummary:
    """Check, plan, render and account for a batch of records.

    Args:
        records: a prompt file's path (or URL, on Ray) or `-` already read into `RecordLine`s, or entries
            made in Python (grid cells).
        check: how records become requests.
        spec: how workers load the pipeline (`spec.images` is set from the plan).
        output: where the PNGs go (checked before anything runs).
        executor: `InProcess()` or `ray_batch.OnRay(...)`.
        reporter: told about the plan, sampler steps and each image.

    Raises:
        ConfigError: the output cannot be written; PromptFileError: the prompt file cannot be read;
        ModelNotFoundError and the loading errors of `load_pipeline`.
    """
    tell = reporter if reporter is not None else Silent()
    started = time.perf_counter()
    output.check()
    plan = plan_batch(executor.check(records, check), output)
    tell.checked(plan)
    outcomes: list[Outcome] = []
    first: float | None = None
    rendering = time.perf_counter()
    if plan.jobs:
        sized = WorkerSpec(spec.models, spec.settings, spec.variant, plan.missing, spec.retries)
        for outcome in executor.render(plan.jobs, sized, output, tell):
            if first is None and outcome.status == "written":
                first = time.perf_counter() - started
            outcomes.append(outcome)
            tell.outcome(outcome)
        output.remove_leftovers([name for name, _ in plan.names])  # of workers killed while writing
    ended = time.perf_counter()
    return summarize(plan, outcomes, seconds=ended - started, rendering=ended - rendering, first_image=first)


def summarize(
    plan: BatchPlan,
    outcomes: Iterable[Outcome],
    *,
    seconds: float,
    rendering: float,
    first_image: float | None,
) -> BatchSummary:
    """Count each planned image once: written (or found written by this run after a lost worker),
    present before the run, or failed; an image with no outcome at all counts as failed."""
    final: dict[str, Outcome] = {}
    rank = {"failed": 0, "present": 1, "written": 2}
    for outcome in outcomes:
        known = final.get(outcome.name)
        if known is None or rank[outcome.status] > rank[known.status]:
            final[outcome.name] = outcome
    written = failed_count = 0
    failed: list[Outcome] = []
    rates: dict[str, list[float]] = {}
    for name, location in plan.names:
        if name in plan.present:
            continue
        outcome = final.get(name, Outcome(location, name, "failed", message="no worker reported this image"))
        if outcome.status == "failed":
            failed.append(outcome)
            failed_count += 1
            continue
        written += 1
        if outcome.status == "written":
            rate = rates.setdefault(outcome.worker, [0, 0.0])
            rate[0] += 1
            rate[1] += outcome.seconds
    workers = tuple(WorkerRate(worker, int(n), s) for worker, (n, s) in sorted(rates.items()))
    return BatchSummary(
        written, len(plan.present), tuple(failed), plan.problems, seconds, rendering, first_image, workers
    )


def read_records(source: str) -> str:
    """The text of a prompt file given by path or URL.

    Raises:
        PromptFileError: it cannot be read or is not UTF-8 text.
    """
    from anima_engine.outputs import is_url
    from anima_engine.prompt_files import PromptFileError, read_text

    if not is_url(source):
        return read_text(source)[1]
    from anima_engine.outputs import remote_filesystem
    from anima_prompt.errors import AnimaPromptError
    from anima_prompt.lint.inputs import decode

    filesystem, path = remote_filesystem(source)
    try:
        with filesystem.open_input_stream(path) as stream:
            data = stream.read()
    except OSError as error:
        raise PromptFileError(f"{source}: cannot read: {error}") from None
    try:
        return decode(data, source)
    except AnimaPromptError as error:
        raise PromptFileError(str(error)) from None


class InProcess:
    """Both stages in this process: one pipeline on this machine's device."""

    def check(self, records: "str | Sequence[Record]", settings: CheckSettings) -> Checked:
        from anima_engine.prompt_files import record_lines

        if isinstance(records, str):
            records = record_lines(records, read_records(records))
        checker = RecordChecker(settings)
        try:
            return claim_names(checker.check(record) for record in records)
        finally:
            checker.close()

    def render(
        self, jobs: Sequence[Job], spec: WorkerSpec, output: Output, progress: BatchReporter
    ) -> Iterator[Outcome]:
        from anima_engine.loading import resolve_device
        from anima_engine.render_worker import RenderWorker, lint_tokenizers, load_run_pipeline

        device, _ = resolve_device(spec.settings.device, spec.settings.dtype)
        pipe = load_run_pipeline(spec, device)
        tokenizers = lint_tokenizers(spec.models)
        worker = RenderWorker(pipe, output, name="local", tokenizers=tokenizers, retries=spec.retries)
        try:
            yield from worker.render_all(jobs, callback=progress.step)
        finally:
            worker.close()
