"""The Ray executor of batch runs: records read with Ray Data, checked on CPU workers, rendered by actors.

- Reading: a prompt file (a path or any URL pyarrow reaches) with `ray.data.read_binary_files`, split
  into numbered lines on a worker; records made in Python (grid cells) with `ray.data.from_items`.
- Checking: `batch.RecordChecker` in a pool of CPU actors (each opens the linter and tag index once). The
  results come back here so that names are settled in file order (`jobs.claim_names`).
- Rendering: blocks of `JOBS_PER_CALL` jobs through a pool of `RenderActor`s, each holding one
  pipeline: one actor per GPU (two with `--low-vram`), or CPU actors on a cluster without GPUs. Ray Data
  restarts an actor that dies and runs its unfinished jobs again; the worker skips the images already
  written, and `batch.summarize` counts each image once.

Values cross processes pickled in a bytes column, so they arrive as the same dataclasses they left as.
The installed package (and the model files, at the same paths, or on shared storage) must be on every
node; `docs/scale.md` shows how to start a cluster.
"""

import logging
import os
import pickle
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np

from anima_engine.batch import BatchReporter, CheckSettings, Record, RecordChecker
from anima_engine.errors import AnimaEngineError, ConfigError
from anima_engine.jobs import Checked, Job, claim_names
from anima_engine.outputs import LocalFolder, Output, is_url
from anima_engine.render_worker import (
    Outcome,
    RenderWorker,
    WorkerSpec,
    lint_tokenizers,
    load_run_pipeline,
    locate_files,
)

RECORDS_PER_BLOCK = 256
"""Records per block of the checking stage (a block is one task for a checking actor)."""

JOBS_PER_CALL = 4
"""Jobs an actor gets at once: it encodes and writes one job's PNGs while the next samples, and an actor
that dies loses (renders again) at most this many jobs' work."""

CHECKERS = 8
"""Most checking actors by default: checking costs milliseconds a record, rendering seconds an image."""

OBJECT_STORE_BYTES = 256 << 20
"""Object store of a cluster started here: the rows are small (jobs, outcomes), images go to the output."""


class RayRunError(AnimaEngineError, RuntimeError):
    """The cluster could not be reached, or a stage failed on it."""


@dataclass(frozen=True, slots=True)
class RayOptions:
    """Where and how wide a run goes on Ray.

    Attributes:
        address: the cluster (`ray://host:10001`, `host:6379`, `auto`); None: `$RAY_ADDRESS`, else a
            cluster started in this process on this machine.
        workers: render actors; None: one per GPU (`per_gpu` per GPU), or one on a cluster without GPUs.
        per_gpu: actors sharing one GPU (2 with `--low-vram`).
        checkers: most CPU actors checking records; None: one per CPU of the cluster, up to `CHECKERS`.
        cpus: CPUs of a cluster started here (None: all of the machine's).
    """

    address: str | None = None
    workers: int | None = None
    per_gpu: int = 1
    checkers: int | None = None
    cpus: int | None = None

    @property
    def local(self) -> bool:
        """Whether the cluster is started on this machine (no address given, none in the environment)."""
        return self.address is None and "RAY_ADDRESS" not in os.environ

    def __post_init__(self) -> None:
        for name in ("workers", "per_gpu", "checkers", "cpus"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigError(f"`{name}` must be a whole number >= 1, got {value!r}")


def connect(options: RayOptions) -> None:
    """Join the cluster, or start one on this machine, unless this process is connected already.

    Raises:
        RayRunError: Ray is not installed, or the cluster cannot be reached.
    """
    try:
        import ray
    except ImportError:
        raise RayRunError("--ray needs Ray: pip install 'anima-toolkit[cluster]'") from None
    if ray.is_initialized():
        return
    # Ray Data's actors keep their constructor arguments in the object store, which Ray's core logs as
    # an error for every restartable actor: keep the terminal for this run's own lines
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    try:
        if options.local:
            ray.init(
                num_cpus=options.cpus,
                object_store_memory=OBJECT_STORE_BYTES,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.WARNING,
            )
        else:
            ray.init(address=options.address, log_to_driver=False, logging_level=logging.WARNING)
    except (ConnectionError, RuntimeError, ValueError) as error:
        where = options.address or os.environ.get("RAY_ADDRESS", "")
        raise RayRunError(f"cannot reach the Ray cluster {where}: {error}".replace("\n", " ")) from None
    context = _data_context()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)


def _data_context() -> Any:
    import ray.data

    return ray.data.DataContext.get_current()


class OnRay:
    """Both heavy stages on a Ray cluster (`batch.Executor`)."""

    def __init__(self, options: RayOptions) -> None:
        self.options = options

    def check(self, records: "str | Sequence[Record]", settings: CheckSettings) -> Checked:
        import ray.data

        connect(self.options)
        if isinstance(records, str):
            _check_readable(records)
            lines = ray.data.read_binary_files(records).flat_map(partial(_numbered_lines, name=records))
        else:
            rows = [{"ordinal": n, "item": pickle.dumps(record)} for n, record in enumerate(records)]
            lines = ray.data.from_items(rows) if rows else None
        if lines is None:
            return Checked((), ())
        checked = lines.repartition(target_num_rows_per_block=RECORDS_PER_BLOCK).map_batches(
            CheckActor,
            fn_constructor_kwargs={"settings": settings},
            batch_size=RECORDS_PER_BLOCK,
            compute=ray.data.ActorPoolStrategy(min_size=1, max_size=self._checkers()),
            num_cpus=1,
        )
        rows = _run(lambda: checked.take_all())
        errors = [row["error"] for row in rows if row.get("error")]
        if errors:
            from anima_engine.prompt_files import PromptFileError

            raise PromptFileError(errors[0])
        results = sorted((row["ordinal"], pickle.loads(row["result"])) for row in rows)
        return claim_names(result for _, result in results)

    def _checkers(self) -> int:
        import ray

        if self.options.checkers is not None:
            return self.options.checkers
        return max(1, min(CHECKERS, int(ray.cluster_resources().get("CPU", 1))))

    def render(
        self, jobs: Sequence[Job], spec: WorkerSpec, output: Output, progress: BatchReporter
    ) -> Iterator[Outcome]:
        import ray
        import ray.data

        connect(self.options)
        if self.options.local:  # this machine is the cluster: a missing file is found before any actor starts
            locate_files(spec.models, spec.variant)
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        on_gpu = gpus > 0 and (spec.settings.device or "cuda").startswith("cuda")
        workers = self.options.workers or (gpus * self.options.per_gpu if on_gpu else 1)
        workers = min(workers, len(jobs))
        rows = [{"job": pickle.dumps(job)} for job in jobs]
        blocks = max(1, -(-len(rows) // JOBS_PER_CALL))
        # the actors may run in another folder (or on another machine): paths go as absolute paths
        spec = replace(spec, models=spec.models.absolute())
        if isinstance(output, LocalFolder):
            output = LocalFolder(output.folder.absolute())
        dataset = ray.data.from_items(rows, override_num_blocks=blocks).map_batches(
            RenderActor,
            fn_constructor_kwargs={"spec": spec, "output": output},
            batch_size=JOBS_PER_CALL,
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_gpus=1 / self.options.per_gpu if on_gpu else None,
            num_cpus=1,
        )
        iterator = iter(dataset.iter_rows())
        while True:
            row = _run(lambda: next(iterator, None))
            if row is None:
                return
            yield from pickle.loads(row["outcomes"])


def _run(action: Any) -> Any:
    """Run a stage on the cluster; its failure is one line naming the cause."""
    try:
        return action()
    except AnimaEngineError:
        raise
    except Exception as error:
        cause = error
        while cause.__cause__ is not None:
            cause = cause.__cause__
        first = str(cause).strip().split("\n")[-1] or type(cause).__name__
        raise RayRunError(f"the run failed on the cluster: {first}") from None


def _check_readable(source: str) -> None:
    """A local prompt file is checked here, so that a wrong path is the same one line as without Ray."""
    if is_url(source):
        return
    from pathlib import Path

    from anima_engine.prompt_files import PromptFileError

    path = Path(source)
    if path.is_dir():
        raise PromptFileError(f"{source}: is a folder, not a prompt file")
    if not path.exists():
        raise PromptFileError(f"{source}: no such file")


def _numbered_lines(row: dict[str, Any], *, name: str) -> list[dict[str, Any]]:
    """A prompt file's records as numbered rows (on a worker), or one row naming why it cannot be read."""
    from anima_engine.prompt_files import record_lines
    from anima_prompt.errors import AnimaPromptError
    from anima_prompt.lint.inputs import decode

    try:
        text = decode(bytes(row["bytes"]), name)
    except AnimaPromptError as error:
        return [{"ordinal": 0, "item": b"", "error": str(error)}]
    return [
        {"ordinal": n, "item": pickle.dumps(line), "error": ""}
        for n, line in enumerate(record_lines(name, text))
    ]


class CheckActor:
    """A Ray Data actor checking records with one `RecordChecker`."""

    def __init__(self, settings: CheckSettings) -> None:
        self.checker = RecordChecker(settings)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[Any]]:
        results: list[bytes] = []
        errors = batch.get("error", [""] * len(batch["ordinal"]))
        for item, error in zip(batch["item"], errors, strict=True):
            results.append(b"" if error else pickle.dumps(self.checker.check(pickle.loads(item))))
        return {"ordinal": list(batch["ordinal"]), "result": results, "error": list(errors)}


class RenderActor:
    """A Ray Data actor holding one pipeline on its GPU (or CPU); renders one job per call."""

    def __init__(self, spec: WorkerSpec, output: Output) -> None:
        import ray

        from anima_engine.loading import resolve_device

        gpus = ",".join(str(gpu) for gpu in ray.get_gpu_ids())
        name = f"{socket.gethostname()}/{'gpu ' + gpus if gpus else 'cpu'}/pid {os.getpid()}"
        # Ray shows an actor only the GPUs it was given: "cuda" is the actor's own GPU
        device, _ = resolve_device("cuda" if gpus else spec.settings.device, spec.settings.dtype)
        pipe = load_run_pipeline(spec, device)
        self.worker = RenderWorker(
            pipe, output, name=name, tokenizers=lint_tokenizers(spec.models), retries=spec.retries
        )

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[bytes]]:
        jobs = [pickle.loads(job) for job in batch["job"]]
        return {"outcomes": [pickle.dumps(list(self.worker.render_all(jobs)))]}
