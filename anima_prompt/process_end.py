"""Ending the `anima` process quickly once its command is done.

After a command that imported torch, the interpreter's ordinary exit spends its time in torch's teardown:
0.36 s after a one-image `anima generate` on an H200 host, 4.8 s after a compiled one (inductor's compile
workers are shut down one by one; issue 13, docs/benchmarks.md). None of it is needed by then: the
command has joined its own threads (every thread pool is used in a `with` block), closed its files and
renamed them into place. So `end_process` flushes what is buffered and ends the process at once with the
command's exit status. Inductor's workers notice their parent is gone and exit on their own.

The ordinary exit is kept where it matters or costs nothing: when torch was never imported (the prompt
commands), and when Ray was imported (its exit handler stops a local cluster that `--ray` started).
"""

import logging
import os
import sys
from typing import NoReturn

SLOW_TEARDOWN = "torch"
"""The module whose import makes the ordinary exit slow."""

NEEDS_TEARDOWN = ("ray",)
"""Modules whose exit handlers must run (they stop processes this one started)."""

FLUSH_FAILED = 120
"""The status Python itself exits with when it cannot flush standard output at exit."""


def exit_status(code: object) -> int:
    """The process status for a `SystemExit` code, as the interpreter computes it (a message: 1)."""
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


def end_process(code: object) -> NoReturn:
    """End the process with the status of `SystemExit(code)`; skip the interpreter's teardown when it is
    slow and unneeded (see the module doc). Buffered output and log records are flushed first."""
    fast = SLOW_TEARDOWN in sys.modules and not any(name in sys.modules for name in NEEDS_TEARDOWN)
    if not fast:
        raise SystemExit(code)
    status = exit_status(code)
    if code is not None and not isinstance(code, int):  # as the interpreter does with a message
        print(code, file=sys.stderr)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe, or a stream already closed
            if stream is sys.stdout and status == 0:
                status = FLUSH_FAILED
    os._exit(status)
