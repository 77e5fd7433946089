"""Whether every process compiles a package's modules from source again, and the note that says so.

Python keeps compiled modules as bytecode in `__pycache__`, and `pip install` writes it for what it
installs. Where an install wrote none and Python may not write it either (`PYTHONDONTWRITEBYTECODE`, set
in many container images, or a read-only folder), each process compiles the modules again: on an H200
host `import torch` took 3.7-4.6 s against 2.1 s with bytecode, and torch with its compiler 9-11 s
against 3.8 s (docs/benchmarks.md, "Fourth round"). The engine's commands say so once, before they
import torch, with the command that writes the bytecode.
"""

import importlib.util
import os
import sys

_NOTED = "torch"


def missing_bytecode(module: str) -> bool:
    """Whether the installed package `module` has no bytecode and Python will not write it on import."""
    return _recompiled_source(module) is not None


def bytecode_note(module: str = _NOTED) -> str | None:
    """One line for standard error when `module` is compiled again in every process, else None."""
    origin = _recompiled_source(module)
    if origin is None:
        return None
    packages = os.path.dirname(os.path.dirname(origin))
    reason = "PYTHONDONTWRITEBYTECODE is set" if sys.dont_write_bytecode else "its folder is read-only"
    return (
        f"note: {module} has no bytecode and Python writes none ({reason}), so every command compiles its "
        f"modules again (2 s or more); write it once: {sys.executable} -m compileall -q {packages}"
    )


def _recompiled_source(module: str) -> str | None:
    """The source file of the installed package `module` when every process compiles it again, else None."""
    origin = _source(module)
    return origin if origin is not None and _compiled_again(origin) else None


def _source(module: str) -> str | None:
    """The source file of the installed package `module` (found without importing it), or None."""
    spec = importlib.util.find_spec(module)
    origin = None if spec is None else spec.origin
    return origin if origin is not None and origin.endswith(".py") else None


def _compiled_again(origin: str) -> bool:
    """Whether the source file `origin` has no bytecode and Python may not write it."""
    try:
        cached = importlib.util.cache_from_source(origin)
    except NotImplementedError:  # no bytecode at all in this interpreter
        return False
    if os.path.exists(cached):
        return False
    folder = os.path.dirname(cached)
    writable = os.access(folder if os.path.isdir(folder) else os.path.dirname(folder), os.W_OK)
    return sys.dont_write_bytecode or not writable
