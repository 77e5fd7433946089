"""Linting many prompt records (or caption files), in several processes when there are enough of them.

Each worker process opens its own read-only tag index and keeps one `Linter` (and so one set of lookup
caches) for all the chunks it is given; results come back in input order.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from anima_prompt.lint import Linter
from anima_prompt.lint.config import LintConfig
from anima_prompt.lint.findings import Finding
from anima_prompt.lint.inputs import PromptRecord

PARALLEL_MIN_RECORDS = 200
PARALLEL_MIN_CPUS = 4
CHUNKS_PER_JOB = 8

_worker: Linter | None = None  # the Linter of a worker process, made by `_init_worker`
_work: Callable[[Linter, Any], Any] | None = None  # what a worker process does with each item
Item = TypeVar("Item")
Result = TypeVar("Result")


def default_jobs(count: int) -> int:
    """Worker processes for `count` records: one for small inputs or small machines, else one per CPU (max 8).

    Each worker warms its own lookup caches, so on one or two CPUs a single process is as fast.
    """
    cpus = os.cpu_count() or 1
    if count < PARALLEL_MIN_RECORDS or cpus < PARALLEL_MIN_CPUS:
        return 1
    return min(8, cpus)


def lint_records(
    records: Sequence[PromptRecord],
    *,
    config: LintConfig,
    index_path: Path | None,
    jobs: int,
) -> Iterator[tuple[PromptRecord, tuple[Finding, ...], tuple[str, ...]]]:
    """Lint every record; yields `(record, findings, notes)` in input order.

    Args:
        records: the prompts to lint.
        config: the configuration.
        index_path: the tag index each process opens, or `None` to lint without one.
        jobs: worker processes; 1 lints in this process.

    Raises:
        TagIndexError: the index cannot be opened or queried.
        LintInputError: a prompt is too long.
    """
    return map_with_linter(_lint_one, records, config=config, index_path=index_path, jobs=jobs)


def map_with_linter(
    work: Callable[[Linter, Item], Result],
    items: Sequence[Item],
    *,
    config: LintConfig,
    index_path: Path | None,
    jobs: int,
) -> Iterator[tuple[Item, Result, tuple[str, ...]]]:
    """`work(linter, item)` for every item, with one `Linter` per process; yields `(item, result, notes)` in
    input order.

    Args:
        work: a module-level function (or a `functools.partial` of one), so worker processes can receive it.
        items: what to work on.
        config: the configuration of every process's linter.
        index_path: the tag index each process opens, or `None` to lint without one.
        jobs: worker processes; 1 works in this process.

    Raises:
        TagIndexError: the index cannot be opened or queried.
    """
    if jobs <= 1 or len(items) < 2:
        linter = _make_linter(config, index_path)
        for item in items:
            yield item, work(linter, item), tuple(linter.notes)
        return
    size = max(1, len(items) // (jobs * CHUNKS_PER_JOB))
    chunks = [items[start : start + size] for start in range(0, len(items), size)]
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    workers = min(jobs, len(chunks))
    with multiprocessing.get_context(method).Pool(workers, _init_worker, (config, index_path, work)) as pool:
        for chunk, (results, notes) in zip(chunks, pool.imap(_work_chunk, chunks), strict=True):
            for item, result in zip(chunk, results, strict=True):
                yield item, result, notes


def _make_linter(config: LintConfig, index_path: Path | None) -> Linter:
    index = None
    if index_path is not None:
        from anima_prompt.index.query import TagIndex

        index = TagIndex.open(index_path)
    return Linter(config=config, index=index)


def _lint_one(linter: Linter, record: PromptRecord) -> tuple[Finding, ...]:
    return linter.lint(record.prompt, negative=record.negative, settings=record.settings)


def _init_worker(config: LintConfig, index_path: Path | None, work: Callable[[Linter, Any], Any]) -> None:
    global _worker, _work
    # Ctrl-C and SIGTERM are the parent's to handle: it stops the pool. A worker just ends, quietly.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _worker = _make_linter(config, index_path)
    _work = work


def _work_chunk(chunk: Sequence[Any]) -> tuple[list[Any], tuple[str, ...]]:
    assert _worker is not None and _work is not None, "the pool's initializer makes the worker's Linter"
    return [_work(_worker, item) for item in chunk], tuple(_worker.notes)
