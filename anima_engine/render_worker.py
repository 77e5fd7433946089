"""A render worker: loads the pipeline once, then turns jobs into PNG files and one `Outcome` per image.

The same worker runs in the command's own process and in every Ray actor, so where a job is rendered
changes nothing but the process: a job gives the same bytes on any worker of the same device type
(`jobs.generate_job`, then `images.png_bytes` on a writer thread while the next job samples). A worker
splits a job that holds more images than its device fits in one sampling call, re-renders a job whose
files are only partly there (a batch's bytes depend on the whole batch), retries a failed job, and
reports every image as written, already there or failed: never dropped.
"""

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import torch

from anima_engine.errors import AnimaEngineError
from anima_engine.generation import GeneratedImage
from anima_engine.images import png_bytes
from anima_engine.jobs import Job, generate_job, split_job
from anima_engine.locate import ModelNotFoundError, locate_models, locate_tokenizers
from anima_engine.memory import free_memory, images_per_call
from anima_engine.outputs import Output
from anima_engine.pipeline import Pipeline, load_pipeline
from anima_engine.request import PromptResources
from anima_engine.samplers import StepCallback
from anima_engine.speed import choose_speed, compiled_before
from anima_engine.timing import timed
from anima_prompt.errors import AnimaPromptError

logger = logging.getLogger(__name__)
T = TypeVar("T")

RETRIES = 2
"""Further tries of a job that failed, before its images are reported as failed."""

RENDER_ERRORS = (AnimaEngineError, AnimaPromptError, OSError, RuntimeError)
"""Errors that fail one job, not the run: ours, files, and torch's (out of memory, device errors)."""


@dataclass(frozen=True, slots=True)
class ModelPaths:
    """Where the model files and tokenizers are, as the options give them."""

    dit: Path | None = None
    text_encoder: Path | None = None
    vae: Path | None = None
    model_dir: Path | None = None
    comfyui: Path | None = None
    tokenizers: Path | None = None

    def absolute(self) -> "ModelPaths":
        """The same paths made absolute, for workers that do not share this process's folder."""
        return ModelPaths(
            *(
                None if path is None else path.absolute()
                for path in (
                    self.dit,
                    self.text_encoder,
                    self.vae,
                    self.model_dir,
                    self.comfyui,
                    self.tokenizers,
                )
            )
        )


@dataclass(frozen=True, slots=True)
class RunSettings:
    """How the pipeline runs, besides what each image is."""

    device: str | None = None
    dtype: torch.dtype | None = None
    low_vram: bool = False
    compile: str = "auto"
    fp8: bool = False


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """Everything a worker needs to load its pipeline: a plain value sent to each Ray actor.

    Attributes:
        images: the images the worker is expected to make (decides whether compiling pays).
        retries: further tries of a failed job.
    """

    models: ModelPaths
    settings: RunSettings
    variant: str
    images: int
    retries: int = RETRIES


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one image of a job.

    Attributes:
        location: the record it belongs to (`file:line`).
        name: its planned file name.
        status: `written` (by this worker), `present` (the file was there when the worker came to it) or
            `failed`.
        path: where it was written (`written`), else "".
        message: why it failed (one line), else "".
        worker: the worker's name.
        seconds: this image's share of the time its job took to render.
    """

    location: str
    name: str
    status: str
    path: str = ""
    message: str = ""
    worker: str = ""
    seconds: float = 0.0


def locate_files(models: ModelPaths, variant: str) -> tuple[Path, Path, Path, Path]:
    """The DiT, text encoder, VAE and tokenizer folder to load.

    Raises:
        ModelNotFoundError: a file is missing; the message says where it looked.
    """
    files = locate_models(
        dit=models.dit,
        text_encoder=models.text_encoder,
        vae=models.vae,
        model_dir=models.model_dir,
        comfyui=models.comfyui,
        variant=variant,
    )
    tokenizers = locate_tokenizers(models.tokenizers, model_dir=models.model_dir, comfyui=models.comfyui)
    return files.dit, files.text_encoder, files.vae, tokenizers


def lint_tokenizers(models: ModelPaths) -> Path | None:
    """The tokenizer folder the linter counts tokens with, for checking records and rendering them."""
    from anima_prompt.places import find_tokenizers

    return find_tokenizers(models.tokenizers, model_dir=models.model_dir, comfyui=models.comfyui)


def load_run_pipeline(spec: WorkerSpec, device: torch.device) -> Pipeline:
    """Load the pipeline a worker renders with, compiled when the worker's share of the run pays for it.

    Raises:
        ModelNotFoundError, ConfigError, CheckpointError: as `load_pipeline`.
    """
    dit, text_encoder, vae, tokenizers = locate_files(spec.models, spec.variant)
    settings = spec.settings
    speed = choose_speed(
        settings.compile, device=device, images=spec.images, fp8=settings.fp8, cache_warm=compiled_before()
    )
    return load_pipeline(
        dit=dit,
        text_encoder=text_encoder,
        vae=vae,
        tokenizer_dir=tokenizers,
        variant=spec.variant,
        device=device,
        dtype=settings.dtype,
        low_vram=settings.low_vram,
        speed=speed,
    )


class RenderWorker:
    """A loaded pipeline writing the images of jobs into an output.

    Args:
        pipe: the pipeline (`load_run_pipeline`).
        output: where the PNGs go.
        name: how outcomes and the summary name this worker.
        tokenizers: the folder the linter counts tokens with (as when the records were checked).
        retries: further tries of a failed job.
    """

    def __init__(
        self, pipe: Pipeline, output: Output, *, name: str, tokenizers: Path | None, retries: int = RETRIES
    ) -> None:
        self.pipe = pipe
        self.output = output
        self.name = name
        self.retries = retries
        self.free = free_memory(pipe.device)
        self.resources = PromptResources(tokenizers=tokenizers)

    def close(self) -> None:
        """Close the tag indexes the worker opened."""
        self.resources.close()

    def capacity(self, job: Job) -> int:
        """Images of the job's size this worker's device samples in one call."""
        return images_per_call(
            width=job.options.width,
            height=job.options.height,
            guided=job.options.cfg != 1,
            free_bytes=self.free,
        )

    def render(self, job: Job, *, callback: StepCallback | None = None) -> list[Outcome]:
        """Render what of `job` is not in the output yet, and say what became of each of its images."""
        return list(self.render_all([job], callback=callback))

    def render_all(self, jobs: Iterable[Job], *, callback: StepCallback | None = None) -> Iterator[Outcome]:
        """Render the jobs one after the other, each image's outcome in order; a job's PNGs are encoded
        and written on a writer thread while the next job samples."""
        with ThreadPoolExecutor(1, thread_name_prefix="anima-png") as writer:
            pending: deque[Future[list[Outcome]]] = deque()
            for job in jobs:
                for part in split_job(job, self.capacity(job)):
                    pending.append(writer.submit(self._sample(part, callback)))
                    while pending and pending[0].done():
                        yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()

    def _sample(self, job: Job, callback: StepCallback | None) -> Callable[[], list[Outcome]]:
        """Sample a job (unless its images are all there); returns what writes them and reports."""
        present = {name for item in job.items for name in item.names if self.output.exists(name)}
        owners = [(item.location, name) for item in job.items for name in item.names]
        if len(present) == len(owners):
            return lambda: [self._outcome(location, name, "present") for location, name in owners]
        started = time.perf_counter()
        images = self._attempt(
            lambda: generate_job(self.pipe, job, callback=callback, resources=self.resources)
        )
        if isinstance(images, BaseException):
            message = one_line(images)
            return lambda: [
                self._outcome(location, name, "failed", message=message) for location, name in owners
            ]
        share = (time.perf_counter() - started) / len(owners)

        def write() -> list[Outcome]:
            return [
                self._outcome(location, name, "present")
                if name in present
                else self._write(location, name, image, share)
                for (location, _), (name, image) in zip(owners, images, strict=True)
            ]

        return write

    def _write(self, location: str, name: str, image: GeneratedImage, seconds: float) -> Outcome:
        with timed("PNG: encode and write"):
            data = png_bytes(image.image, image.record)
            result = self._attempt(lambda: self.output.write_new(name, data))
        if isinstance(result, FileExistsError):
            return self._outcome(location, name, "present")
        if isinstance(result, OSError):
            message = f"cannot write {name}: {result.strerror or result}"
            return self._outcome(location, name, "failed", message=message)
        if isinstance(result, BaseException):
            return self._outcome(location, name, "failed", message=one_line(result))
        return self._outcome(location, name, "written", path=result, seconds=seconds)

    def _attempt(self, action: Callable[[], T]) -> T | BaseException:
        """`action()`, tried again after a render error up to `retries` times; the last error if all fail
        (a name taken meanwhile is no error to retry)."""
        error: BaseException | None = None
        for attempt in range(self.retries + 1):
            try:
                return action()
            except FileExistsError as taken:
                return taken
            except RENDER_ERRORS as failed:
                logger.warning(
                    "%s: try %d of %d failed: %s", self.name, attempt + 1, self.retries + 1, failed
                )
                error = failed
        assert error is not None
        return error

    def _outcome(
        self,
        location: str,
        name: str,
        status: str,
        *,
        path: str = "",
        message: str = "",
        seconds: float = 0.0,
    ) -> Outcome:
        return Outcome(location, name, status, path, message, self.name, seconds)


def one_line(error: BaseException) -> str:
    """The first line of an error's message."""
    return str(error).split("\n", 1)[0] or type(error).__name__


def model_hint(error: ModelNotFoundError, model_dir: Path | None, variant: str) -> str:
    """A missing model file's message, with how to download the official files when it was searched for."""
    if not error.searched:
        return str(error)
    return f"{error}; {download_hint(model_dir, variant)}"


def download_hint(model_dir: Path | None, variant: str) -> str:
    """How to get the official files for `variant`, or where to fetch a DiT no download is known for."""
    from anima_engine.errors import ConfigError
    from anima_engine.model_download import select_sources
    from anima_engine.model_manifest import load_model_manifest

    try:
        select_sources(load_model_manifest(), variant=variant, parts=("dit",))
    except ConfigError as error:
        return str(error)
    folder = model_dir if model_dir is not None else "DIR"
    variant_option = "" if variant == "base" else f" --variant {variant}"
    return f"to download the official files: anima models download --model-dir {folder}{variant_option}"
