"""Writing files so that a kill, a crash or a full disk never leaves a half-written file under a real name.

Every file the toolkit writes goes through `replacing(target)`: the content goes to a temporary file in the
target's folder, named `.<name>.<pid>-<token>.tmp`, which is flushed to disk, given the target's permissions
and renamed over the target in one step. A reader sees the old file or the new one, never a mix; a failed
write leaves the old file as it was. A temporary file that a killed process left behind is removed the next
time the same target is written (`remove_stale`), and only when its process is gone.

Example:
    >>> from pathlib import Path
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "notes.txt"
    >>> write_bytes(target, b"kept whole\\n")
    >>> target.read_bytes()
    b'kept whole\\n'
"""

import os
import re
import secrets
import stat
import time
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path

STALE_SECONDS = 24 * 3600
"""A temporary file untouched this long is stale even when a process with its pid runs (pid reuse)."""

_TEMPORARY = re.compile(r"\.(?P<name>.+)\.(?P<pid>\d+)(?:-[0-9a-f]{8})?\.tmp")


def temporary_path(target: Path) -> Path:
    """A fresh temporary name for `target`, in its folder: `.<name>.<pid>-<token>.tmp`."""
    return target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")


def temporary_target(name: str) -> str | None:
    """The name of the target a temporary file name (`.<name>.<pid>[-<token>].tmp`) belongs to, or None."""
    match = _TEMPORARY.fullmatch(name)
    return match["name"] if match is not None else None


def remove_stale(target: Path) -> list[Path]:
    """Remove the temporary files of `target` whose writing process has ended; returns what was removed.

    Only names of the form `.<target name>.<pid>[-<token>].tmp` in `target`'s folder are considered, and a
    file is removed only when no process with its pid runs on this machine (or it is older than
    `STALE_SECONDS`). Files that cannot be listed or removed are left alone.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMPORARY.fullmatch(entry.name)
        if match is None or match["name"] != target.name or not entry.is_file(follow_symlinks=False):
            continue
        try:
            age = time.time() - entry.stat(follow_symlinks=False).st_mtime
            if age > STALE_SECONDS or not _process_runs(int(match["pid"])):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def _process_runs(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name == "nt":  # os.kill would end the process there; rely on the age alone
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by another user
        return True
    return True


def _fsync(path: Path, *, directory: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        descriptor = os.open(path, flags)
    except OSError:
        if directory:  # some systems cannot open folders; the rename is still atomic
            return
        raise
    try:
        os.fsync(descriptor)
    except OSError:
        if not directory:
            raise
    finally:
        os.close(descriptor)


@contextmanager
def replacing(target: Path | str) -> Generator[Path]:
    """Write `target` through a temporary file that takes its place only when the block succeeds.

    The block receives the temporary path (an empty file already created with the default permissions)
    and writes it whole, by any means: `Path.write_bytes`, SQLite, safetensors. When the block ends
    normally the file is synced, given the permissions of the file it replaces (or the default ones for a
    new file: 0666 less the umask), and renamed over `target`; a symbolic link is followed, so the file it
    points to is replaced. When the block raises, the temporary file is removed and `target` is untouched.

    Raises:
        OSError: the folder cannot be written, the disk is full, or the rename fails; `target` is unchanged.
    """
    final = Path(os.path.realpath(target))
    remove_stale(final)
    temporary = temporary_path(final)
    try:
        descriptor = os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
    except OSError as error:
        raise _about(error, final) from None
    try:
        default_mode = stat.S_IMODE(os.fstat(descriptor).st_mode)
    finally:
        os.close(descriptor)
    try:
        yield temporary
        try:
            mode = stat.S_IMODE(final.stat().st_mode)
        except FileNotFoundError:
            mode = default_mode
        os.chmod(temporary, mode)
        install(temporary, final)
    except OSError as error:
        raise _about(error, final) from None
    finally:
        temporary.unlink(missing_ok=True)


def _about(error: OSError, target: Path) -> OSError:
    """`error` naming `target` instead of the temporary file the user never asked about."""
    if error.errno is None:
        return error
    return OSError(error.errno, error.strerror, str(target))


def install(complete: Path, target: Path) -> None:
    """Move the complete file `complete` (in `target`'s folder) over `target` in one step, durably: its data
    is synced first and the folder after, so a crash leaves the old file or the new one.

    `replacing` ends with this; a download that kept its own resumable partial file ends with it too.

    Raises:
        OSError: the sync or the rename failed; `target` is unchanged.
    """
    _fsync(complete)
    os.replace(complete, target)
    _fsync(target.parent, directory=True)


def write_bytes(target: Path | str, data: bytes) -> None:
    """Replace `target` with `data` in one step (see `replacing`).

    Raises:
        OSError: the file cannot be written; `target` is unchanged.
    """
    with replacing(target) as temporary:
        temporary.write_bytes(data)
