"""Stage timings in the debug log (`logging.getLogger("anima_engine.timing")` at DEBUG level).

Work queued on a GPU finishes after the call that queued it returns, so a stage's time is only its own
once the device has caught up. `timed` waits for the device at the end of the stage, but only while the
timing log is on: waiting removes the overlap between stages that makes a run fast.
"""

import contextlib
import logging
import time
from collections.abc import Iterator

import torch

logger = logging.getLogger(__name__)


def enabled() -> bool:
    """Whether stage timings are logged."""
    return logger.isEnabledFor(logging.DEBUG)


@contextlib.contextmanager
def timed(stage: str, device: torch.device | None = None, *, size: int | None = None) -> Iterator[None]:
    """Log how long the block took, after the work it queued on `device` (a CUDA device) has finished.

    Args:
        stage: what the block does, as the log line names it.
        device: where the block queues work; None or a CPU device waits for nothing.
        size: bytes the block moved, logged with the rate.
    """
    if not enabled():
        yield
        return
    start = time.perf_counter()
    yield
    if device is not None and device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - start
    if size is None:
        logger.debug("%s: %.3f s", stage, seconds)
    else:
        rate = size / seconds / 1e9 if seconds > 0 else float("inf")
        logger.debug("%s: %.3f s (%.2f GB, %.1f GB/s)", stage, seconds, size / 1e9, rate)
