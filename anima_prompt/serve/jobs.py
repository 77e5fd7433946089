"""The generation queue of `anima serve`: bounded, cancellable, one worker thread, results kept in memory.

The queue knows nothing of torch: it hands each `RenderRequest` to a `Renderer` (the engine's, from
`anima_engine.playground`, or a fake in tests) and records what the job reports as a list of events that
the page reads as a server-sent event stream.
"""

import itertools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from anima_prompt.errors import AnimaPromptError

logger = logging.getLogger(__name__)

StepReport = Callable[[int, int], None]
"""Called by a renderer after each sampling step with `(steps done, steps in all)`."""


class QueueFull(AnimaPromptError, RuntimeError):
    """The generation queue already holds as many jobs as it may."""


class Cancelled(AnimaPromptError, RuntimeError):
    """Raised inside a renderer's step report when its job was cancelled; ends the job."""


@dataclass(frozen=True, slots=True)
class RenderRequest:
    """One image to generate; every value already checked against what the engine offers.

    Attributes:
        loras: LoRA names (from the server's LoRA folders, never paths) with their strengths.
    """

    prompt: str
    negative: str
    width: int
    height: int
    steps: int
    cfg: float
    sampler: str
    scheduler: str
    seed: int
    variant: str
    loras: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class RenderedImage:
    """A generated PNG (metadata included) and the settings that reproduce it, JSON-ready."""

    png: bytes
    settings: dict[str, object]


@dataclass(frozen=True, slots=True)
class EngineInfo:
    """What the engine offers: choices for the settings, and each variant's default settings."""

    samplers: tuple[str, ...]
    schedulers: tuple[str, ...]
    variants: tuple[str, ...]
    defaults: dict[str, dict[str, object]]
    loras: tuple[str, ...]


class Renderer(Protocol):
    """The engine side of the queue (`anima_engine.playground.EngineRenderer`)."""

    def describe(self) -> EngineInfo:
        """Samplers, schedulers, variants with their defaults, and the LoRA names available."""
        ...

    def render(self, request: RenderRequest, report: StepReport) -> list[RenderedImage]:
        """Generate the images of `request`, calling `report` after each step (it may raise `Cancelled`)."""
        ...


@dataclass(slots=True)
class Job:
    """A queued, running or finished generation, and the events it produced (read by the page)."""

    id: str
    request: RenderRequest
    state: str = "queued"  # queued, running, done, failed, cancelled
    events: list[dict[str, object]] = field(default_factory=list[dict[str, object]])
    images: list[str] = field(default_factory=list[str])
    cancel_requested: bool = False
    created: float = field(default_factory=time.time)

    @property
    def finished(self) -> bool:
        """Whether the job will report nothing more."""
        return self.state in ("done", "failed", "cancelled")


@dataclass(frozen=True, slots=True)
class GalleryImage:
    """An image kept for the gallery."""

    id: str
    job: str
    png: bytes
    settings: dict[str, object]


class GenerationQueue:
    """A bounded queue of generation jobs run one at a time by a worker thread.

    Args:
        renderer: generates the images.
        max_pending: jobs that may wait besides the running one; more are refused with `QueueFull`.
        keep_images: images kept for the gallery (oldest dropped first).
    """

    def __init__(self, renderer: Renderer, *, max_pending: int = 4, keep_images: int = 64) -> None:
        self.renderer = renderer
        self.max_pending = max_pending
        self.keep_images = keep_images
        self.jobs: OrderedDict[str, Job] = OrderedDict()
        self.images: OrderedDict[str, GalleryImage] = OrderedDict()
        self._pending: list[Job] = []
        self._ids = itertools.count(1)
        self._lock = threading.Condition()
        self._worker: threading.Thread | None = None
        self._closed = False

    def submit(self, request: RenderRequest) -> Job:
        """Queue `request`.

        Raises:
            QueueFull: `max_pending` jobs are already waiting.
        """
        with self._lock:
            if len(self._pending) >= self.max_pending:
                raise QueueFull(f"the generation queue is full ({self.max_pending} waiting); try again later")
            job = Job(id=f"job{next(self._ids)}", request=request)
            self.jobs[job.id] = job
            self._forget_old_jobs()
            self._pending.append(job)
            job.events.append({"event": "queued", "position": len(self._pending)})
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="anima-generate", daemon=True)
                self._worker.start()
            self._lock.notify_all()
        return job

    def cancel(self, job_id: str) -> Job | None:
        """Cancel a waiting job now, a running one at its next step; None when there is no such job."""
        with self._lock:
            job = self.jobs.get(job_id)
            if job is None or job.finished:
                return job
            job.cancel_requested = True
            if job in self._pending:
                self._pending.remove(job)
                self._finish(job, "cancelled", {"event": "cancelled"})
            return job

    def close(self) -> None:
        """Cancel what waits and stop the worker after the running job's next step."""
        with self._lock:
            self._closed = True
            for job in list(self._pending):
                self.cancel(job.id)
            for job in self.jobs.values():
                job.cancel_requested = True
            self._lock.notify_all()

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._pending and not self._closed:
                    self._lock.wait()
                if self._closed:
                    return
                job = self._pending.pop(0)
                job.state = "running"
                job.events.append({"event": "started"})
            self._render(job)

    def _render(self, job: Job) -> None:
        def report(done: int, total: int) -> None:
            if job.cancel_requested:
                raise Cancelled("cancelled")
            job.events.append({"event": "step", "step": done, "total": total})

        try:
            results = self.renderer.render(job.request, report)
        except Cancelled:
            with self._lock:
                self._finish(job, "cancelled", {"event": "cancelled"})
            return
        except Exception as error:  # the job fails with a message; the server keeps running
            logger.exception("generation failed")
            message = str(error).split("\n", 1)[0] or type(error).__name__
            with self._lock:
                self._finish(job, "failed", {"event": "failed", "error": message})
            return
        with self._lock:
            for number, result in enumerate(results):
                image = GalleryImage(f"{job.id}-{number}", job.id, result.png, result.settings)
                self.images[image.id] = image
                job.images.append(image.id)
            while len(self.images) > self.keep_images:
                self.images.popitem(last=False)
            self._finish(job, "done", {"event": "done", "images": list(job.images)})

    def _finish(self, job: Job, state: str, event: dict[str, object]) -> None:
        job.state = state
        job.events.append(event)
        self._lock.notify_all()

    def _forget_old_jobs(self) -> None:
        finished = [job_id for job_id, job in self.jobs.items() if job.finished]
        for job_id in finished[: max(0, len(self.jobs) - 4 * self.keep_images)]:
            del self.jobs[job_id]
