"""Work on a Ray cluster: joining one (or starting one on this machine), and mapping a function over items
with Ray Data, each actor keeping one state (a `Linter`, say) for all the items it is given.

Ray is an optional dependency (the `cluster` extra): it is imported here only when a cluster is asked for.
Items and results cross processes pickled in a bytes column, so they arrive as the same values they left as.
"""

from __future__ import annotations

import importlib
import logging
import os
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from anima_prompt.errors import AnimaPromptError

CLUSTER_EXTRA = "pip install 'anima-toolkit[cluster]'"
OBJECT_STORE_BYTES = 256 << 20
"""Object store of a cluster started here: the rows are small (paths, results); files stay on disk."""
ITEMS_PER_CALL = 250
"""Items an actor gets at once: enough that Ray's cost per call is small beside the work (a caption takes
about half a millisecond to lint), few enough that the work spreads over many actors."""

State = TypeVar("State")
Item = TypeVar("Item")
Result = TypeVar("Result")


class ClusterError(AnimaPromptError, RuntimeError):
    """Ray is not installed, the cluster cannot be reached, or the work failed on it."""


@dataclass(frozen=True, slots=True)
class Cluster:
    """Which Ray cluster to run on, and how wide.

    Attributes:
        address: the cluster (`host:6379`, `ray://host:10001`, `auto`); None: `$RAY_ADDRESS`, else a
            cluster started in this process on this machine.
        workers: actors; None: one per CPU of the cluster.
        cpus: CPUs of a cluster started here (None: all of the machine's).
    """

    address: str | None = None
    workers: int | None = None
    cpus: int | None = None

    @property
    def local(self) -> bool:
        """Whether the cluster is started on this machine (no address given, none in the environment)."""
        return self.address is None and "RAY_ADDRESS" not in os.environ

    def __post_init__(self) -> None:
        for name in ("workers", "cpus"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ClusterError(f"`{name}` must be a whole number >= 1, got {value!r}")


def connect(cluster: Cluster) -> None:
    """Join the cluster, or start one on this machine, unless this process is connected already.

    Raises:
        ClusterError: Ray is not installed, or the cluster cannot be reached.
    """
    ray = _import_ray()
    if not ray.is_initialized():
        # Ray Data's actors keep their constructor arguments in the object store, which Ray's core logs as
        # an error for every restartable actor: keep the terminal for the command's own lines
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
        try:
            if cluster.local:
                ray.init(
                    num_cpus=cluster.cpus,
                    object_store_memory=OBJECT_STORE_BYTES,
                    include_dashboard=False,
                    log_to_driver=False,
                    logging_level=logging.WARNING,
                )
            else:
                ray.init(address=cluster.address, log_to_driver=False, logging_level=logging.WARNING)
        except (ConnectionError, RuntimeError, ValueError) as error:
            where = cluster.address or os.environ.get("RAY_ADDRESS", "")
            raise ClusterError(f"cannot reach the Ray cluster {where}: {error}".replace("\n", " ")) from None
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # "progress bars disabled"


def _import_ray() -> Any:
    """The `ray` module with Ray Data, or a one-line error naming the extra that installs it."""
    try:
        importlib.import_module("ray.data")  # Ray Data comes with the extra; `ray` alone lacks pyarrow
    except ImportError:
        raise ClusterError(f"--ray needs Ray: {CLUSTER_EXTRA}") from None
    return importlib.import_module("ray")


def failure(error: BaseException) -> str:
    """The first line of what made a stage fail on the cluster: its deepest cause, without Ray's wrapping."""
    cause = error
    while cause.__cause__ is not None:
        cause = cause.__cause__
    return str(cause).strip().split("\n")[-1] or type(cause).__name__


def map_on_cluster(
    work: Callable[[State, Item], Result],
    items: Sequence[Item],
    *,
    state: Callable[[], State],
    cluster: Cluster,
) -> list[Result]:
    """`work(state, item)` for every item on a pool of Ray Data actors, each calling `state()` once.

    The actors work in this process's folder where their node has it: relative paths name the same files
    there as here (on a cluster, the files must be at the same paths on every node, or on shared storage).

    Args:
        work: a module-level function (or a `functools.partial` of one), so actors can receive it.
        items: what to work on.
        state: makes an actor's state (the same for every actor: a linter, an open index).
        cluster: where to run.

    Returns:
        The results, in the order of `items`.

    Raises:
        AnimaPromptError: `state` or `work` raised it (the first in item order, as a run here would).
        ClusterError: Ray is missing, the cluster cannot be reached, or the work failed on it otherwise.
    """
    if not items:
        return []
    connect(cluster)
    ray = _import_ray()
    rows = [{"ordinal": n, "item": pickle.dumps(item)} for n, item in enumerate(items)]
    calls = -(-len(rows) // ITEMS_PER_CALL)
    workers = cluster.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    dataset = ray.data.from_items(rows, override_num_blocks=calls).map_batches(
        _Actor,
        fn_constructor_kwargs={"state": state, "work": work, "folder": os.getcwd()},
        batch_size=ITEMS_PER_CALL,
        compute=ray.data.ActorPoolStrategy(size=min(workers, calls)),
        num_cpus=1,
    )
    try:
        done: list[dict[str, Any]] = dataset.take_all()
    except AnimaPromptError:
        raise
    except Exception as error:
        raise ClusterError(f"the run failed on the cluster: {failure(error)}") from None
    done.sort(key=lambda row: int(row["ordinal"]))
    for row in done:
        if row["error"]:
            raise pickle.loads(row["error"])
    return [pickle.loads(row["result"]) for row in done]


class _Actor(Generic[State, Item, Result]):
    """A Ray Data actor: one state, and `work` for each item of a batch, in the folder of the process that
    started the work when its node has it (so that relative paths name the same files there).

    A toolkit error (an index that does not open, an input that cannot be read) comes back as a row, so
    that the process that started the work raises it as a run here would, not as Ray's wrapped failure.
    """

    def __init__(
        self, state: Callable[[], State], work: Callable[[State, Item], Result], folder: str
    ) -> None:
        if os.path.isdir(folder):
            os.chdir(folder)
        self.work = work
        self.failed: AnimaPromptError | None = None
        try:
            self.state = state()
        except AnimaPromptError as error:
            self.failed = error

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        results: list[bytes] = []
        errors: list[bytes] = []
        for item in batch["item"]:
            failed = self.failed
            result = None
            if failed is None:
                try:
                    result = self.work(self.state, pickle.loads(item))
                except AnimaPromptError as error:
                    failed = error
            results.append(pickle.dumps(result))
            errors.append(pickle.dumps(failed) if failed is not None else b"")
        return {"ordinal": list(batch["ordinal"]), "result": results, "error": errors}
