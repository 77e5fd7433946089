"""Work for a run of many requests: checking records, output names, sampling jobs, rendering a job to PNGs.

The steps before rendering need no model: `check_entries` prepares each record (a bad one becomes a
`Problem`) and names its images deterministically from what decides them, `plan_jobs` groups consecutive
requests that can share a sampling call, and `unfinished` keeps the jobs an earlier run did not finish.
`render_job` turns one job into PNG bytes with their names; a job gives the same bytes wherever it is
rendered with the same model files, software and device type, so jobs can be handed to other processes.
"""

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from anima_engine.errors import AnimaEngineError, ConfigError, PromptLintError
from anima_engine.generation import GeneratedImage, generate, sharing_key
from anima_engine.images import GenerationRecord, png_bytes
from anima_engine.options import SamplingOptions
from anima_engine.pipeline import Pipeline
from anima_engine.prompt_files import Entry
from anima_engine.request import GenerationRequest, PreparedRequest, PromptResources, prepare
from anima_engine.samplers import StepCallback
from anima_prompt.errors import AnimaPromptError

if TYPE_CHECKING:
    from anima_prompt.lint import Finding

KEY_LENGTH = 12
"""Hex digits of the request digest in derived file names."""


@dataclass(frozen=True, slots=True)
class Planned:
    """A request to render, where it came from, and the file name of each of its images (seed order)."""

    location: str
    request: GenerationRequest
    names: tuple[str, ...]
    out: str | None = None
    """The output name the record gave (`out`), or None when the names derive from the request."""


@dataclass(frozen=True, slots=True)
class Job:
    """Requests rendered together: their images are sampled in one call when their contexts allow.

    Attributes:
        items: the requests, in file order.
        options: the sampling options of the first (the others share all but seed and batch).
    """

    items: tuple[Planned, ...]
    options: SamplingOptions

    @property
    def images(self) -> int:
        """How many images the job makes."""
        return sum(len(item.names) for item in self.items)


def request_digest(prepared: PreparedRequest) -> str:
    """A hex digest of everything that decides the images: both prompts as written and as encoded, the
    complete options, variant, LoRA files and strengths, the init image's file."""
    init = prepared.request.init_image
    decided = {
        "prompt": [prepared.prompt.written, prepared.prompt.text],
        "negative": [prepared.negative.written, prepared.negative.text],
        "options": asdict(prepared.options),
        "variant": prepared.variant,
        "loras": [[str(choice.path), choice.strength] for choice in prepared.loras],
        "init_image": str(init) if isinstance(init, Path) else None if init is None else "image",
        "normalize": prepared.request.normalize,
    }
    return hashlib.sha256(json.dumps(decided, sort_keys=True).encode()).hexdigest()


def image_names(prepared: PreparedRequest, *, stem: str, out: str | None = None) -> tuple[str, ...]:
    """The PNG names of a request's images: `out.png` (`out_2.png`, … for a batch) when the record names
    its output, else `<stem>_<digest>_seed<seed>.png`; image k of a batch is `seed<seed+k>` with anima
    noise, `seed<seed>_b<k>` (its place in the batch draw) with ComfyUI noise."""
    options = prepared.options
    if out is not None:
        if options.batch == 1:
            return (f"{out}.png",)
        return tuple(f"{out}_{k + 1}.png" for k in range(options.batch))
    base = f"{stem}_{request_digest(prepared)[:KEY_LENGTH]}_seed"
    if options.batch == 1:
        return (f"{base}{options.seed}.png",)
    if options.noise == "anima":
        return tuple(f"{base}{options.seed + k}.png" for k in range(options.batch))
    return tuple(f"{base}{options.seed}_b{k}.png" for k in range(options.batch))


@dataclass(frozen=True, slots=True)
class Problem:
    """A record that will not be rendered: where it is, why (one line), and the lint findings if any."""

    location: str
    message: str
    findings: "tuple[Finding, ...]" = ()
    request: GenerationRequest | None = None
    setting: bool = False
    """The request's settings are invalid (`ConfigError`): on the command line, a usage error."""


@dataclass(frozen=True, slots=True, eq=False)
class Checked:
    """The records that can be rendered, with their prepared requests, and the ones that cannot."""

    work: tuple[tuple[Planned, PreparedRequest], ...]
    problems: tuple[Problem, ...]


def check_entry(
    entry: Entry, *, variant: str, stem: str, resources: PromptResources
) -> tuple[Planned, PreparedRequest] | Problem:
    """Prepare one record (presets, lint gate, LoRAs, init image) and name its images, without any model;
    a record that cannot be rendered becomes a `Problem`. Records are independent here, so this step can
    run on any worker; `claim_names` then settles names between records, in file order."""
    if entry.request is None:
        return Problem(entry.location, entry.error or "unreadable record")
    try:
        prepared = prepare(entry.request, variant=variant, resources=resources)
    except PromptLintError as error:
        return Problem(entry.location, str(error), error.findings, entry.request)
    except ConfigError as error:
        return Problem(entry.location, str(error).split("\n", 1)[0], setting=True)
    except (AnimaEngineError, AnimaPromptError) as error:
        return Problem(entry.location, str(error).split("\n", 1)[0])
    names = image_names(prepared, stem=stem, out=entry.out)
    return Planned(entry.location, entry.request, names, entry.out), prepared


def claim_names(results: Iterable[tuple[Planned, PreparedRequest] | Problem]) -> Checked:
    """The checked records in file order, each image name owned by its first record: a record naming its
    `out` after one taken earlier is a `Problem`; a request identical to an earlier one makes the same
    images, so it is rendered once."""
    work: list[tuple[Planned, PreparedRequest]] = []
    problems: list[Problem] = []
    owners: dict[str, str] = {}
    for result in results:
        if isinstance(result, Problem):
            problems.append(result)
            continue
        planned = result[0]
        taken = next((owners[name] for name in planned.names if name in owners), None)
        if taken is not None and planned.out is not None:
            message = f"output name {planned.out!r} is already used by {taken}"
            problems.append(Problem(planned.location, message))
            continue
        if taken is None:
            owners |= dict.fromkeys(planned.names, planned.location)
            work.append(result)
    return Checked(tuple(work), tuple(problems))


def check_entries(
    entries: Sequence[Entry], *, variant: str, stem: str, resources: PromptResources
) -> Checked:
    """Check every record (`check_entry`) and settle their names (`claim_names`), before any model loads;
    a record that fails becomes a `Problem` and the others go on."""
    return claim_names(
        check_entry(entry, variant=variant, stem=stem, resources=resources) for entry in entries
    )


def missing_images(work: Sequence[tuple[Planned, PreparedRequest]], folder: Path) -> int:
    """How many of the planned images are not in `folder` yet."""
    return sum(not (folder / name).exists() for planned, _ in work for name in planned.names)


def unfinished(jobs: Sequence[Job], folder: Path) -> list[Job]:
    """The jobs with an image not in `folder` yet. A job is rendered whole (its images are sampled
    together), so a resumed run makes the missing images with the bytes the first run would have."""
    return [
        job for job in jobs if any(not (folder / name).exists() for item in job.items for name in item.names)
    ]


def plan_jobs(
    work: Sequence[tuple[Planned, PreparedRequest]], capacity: Callable[[PreparedRequest], int]
) -> list[Job]:
    """Consecutive requests that can share a sampling call, grouped up to `capacity(prepared)` images per
    job (the first request of a job decides; a request with more images than that is a job of its own)."""
    jobs: list[tuple[list[Planned], SamplingOptions]] = []
    previous: object = None
    limit = filled = 0
    for planned, prepared in work:
        key = sharing_key(prepared)
        images = len(planned.names)
        if not jobs or key != previous or filled + images > limit:
            jobs.append(([], prepared.options))
            filled, limit = 0, capacity(prepared)
        jobs[-1][0].append(planned)
        filled += images
        previous = key
    return [Job(tuple(items), options) for items, options in jobs]


def split_job(job: Job, capacity: int) -> list[Job]:
    """`job` in consecutive parts of at most `capacity` images (a request with more is a part of its own),
    for a device that samples fewer images in one call than the job holds."""
    if job.images <= capacity:
        return [job]
    parts: list[list[Planned]] = [[]]
    filled = 0
    for item in job.items:
        if parts[-1] and filled + len(item.names) > capacity:
            parts.append([])
            filled = 0
        parts[-1].append(item)
        filled += len(item.names)
    return [Job(tuple(items), job.options) for items in parts]


@dataclass(frozen=True, slots=True, eq=False)
class Rendered:
    """One image of a job: its planned file name, its PNG file and its record."""

    name: str
    data: bytes
    record: GenerationRecord


def generate_job(
    pipe: Pipeline,
    job: Job,
    *,
    callback: StepCallback | None = None,
    resources: PromptResources | None = None,
) -> list[tuple[str, GeneratedImage]]:
    """Every image of a job with its planned name, in order, not yet encoded as PNG."""
    results = generate(pipe, [item.request for item in job.items], callback=callback, resources=resources)
    names = [name for item in job.items for name in item.names]
    return list(zip(names, results, strict=True))


def render_job(
    pipe: Pipeline,
    job: Job,
    *,
    callback: StepCallback | None = None,
    resources: PromptResources | None = None,
) -> list[Rendered]:
    """Every image of a job as PNG bytes with its planned name, in order."""
    return [
        Rendered(name, png_bytes(result.image, result.record), result.record)
        for name, result in generate_job(pipe, job, callback=callback, resources=resources)
    ]
