"""Where a batch run's PNGs go: a local folder, or any filesystem pyarrow (or fsspec) reaches by URL.

Both kinds never overwrite a file and never show a partial one where the filesystem allows it: a local
folder gets a temporary file hard-linked into place (`images.write_new_file`); a remote filesystem gets
a temporary object moved into place, except object stores (S3, GCS), where an object only ever appears
whole, so it is written under its name directly. Remote names are checked just before the write; two
writers racing for one name there would write the same bytes, since names derive from the request.
Outputs are plain values, so they travel to other processes (Ray workers) with the jobs.
"""

import os
import re
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from anima_engine.errors import ConfigError
from anima_engine.images import check_output_folder, write_new_file

if TYPE_CHECKING:
    import pyarrow.fs

OBJECT_STORES = ("s3", "gcs")
REMOTE_TEMPORARY = re.compile(r"\.(?P<name>.+)\.[0-9a-f]{32}\.tmp")
"""A remote temporary file: `.<name>.<uuid hex>.tmp` (its writer may be on any machine)."""
"""pyarrow filesystem types that publish an object only when it is complete."""


class Output(Protocol):
    """A place to write PNGs by name."""

    def check(self) -> None:
        """Check, before any work, that files can be written there; raises `ConfigError`."""
        ...

    def exists(self, name: str) -> bool:
        """Whether a file of that name is there."""
        ...

    def location(self, name: str) -> str:
        """Where a file of that name is (a path or a URL), as the command line prints it."""
        ...

    def write_new(self, name: str, data: bytes) -> str:
        """Write a new file and return where it is; raises `FileExistsError` if the name is taken (nothing
        written) and `OSError` when writing fails (nothing left under the name)."""
        ...

    def read(self, name: str) -> bytes:
        """A file's content; raises `OSError` (`FileNotFoundError` when it is not there)."""
        ...

    def remove_leftovers(self, names: Collection[str]) -> int:
        """Remove the temporary files that writers of these names left when they were killed (called once
        the run's workers are done); returns how many were removed."""
        ...


@dataclass(frozen=True, slots=True)
class LocalFolder:
    """A folder on this machine (created when the first file is written)."""

    folder: Path

    def check(self) -> None:
        check_output_folder(self.folder)

    def exists(self, name: str) -> bool:
        return (self.folder / name).exists()

    def location(self, name: str) -> str:
        return str(self.folder / name)

    def write_new(self, name: str, data: bytes) -> str:
        path = self.folder / name
        self.folder.mkdir(parents=True, exist_ok=True)
        write_new_file(path, data)
        return str(path)

    def read(self, name: str) -> bytes:
        return (self.folder / name).read_bytes()

    def remove_leftovers(self, names: Collection[str]) -> int:
        from anima_prompt.safewrite import remove_stale, temporary_target

        wanted = set(names)
        try:
            targets = {temporary_target(entry.name) or "" for entry in os.scandir(self.folder)} & wanted
        except OSError:
            return 0
        return sum(len(remove_stale(self.folder / target)) for target in sorted(targets))


@dataclass(frozen=True, slots=True)
class RemoteFolder:
    """A folder given by URL (`s3://bucket/images`, `gs://…`, `hdfs://…`, `file:///…`, or any fsspec
    protocol), reached through a pyarrow filesystem."""

    url: str

    def check(self) -> None:
        import pyarrow.fs

        filesystem, base = self._resolve()
        info = filesystem.get_file_info(base)
        if info.type == pyarrow.fs.FileType.File:
            raise ConfigError(f"output folder {self.url}: is a file, not a folder")

    def exists(self, name: str) -> bool:
        filesystem, base = self._resolve()
        return _present(filesystem, f"{base}/{name}")

    def location(self, name: str) -> str:
        return f"{self.url.rstrip('/')}/{name}"

    def write_new(self, name: str, data: bytes) -> str:
        filesystem, base = self._resolve()
        target = f"{base}/{name}"
        if self.exists(name):
            raise FileExistsError(target)
        filesystem.create_dir(base, recursive=True)
        if filesystem.type_name in OBJECT_STORES:
            _write(filesystem, target, data)
        else:
            temporary = f"{base}/.{name}.{uuid.uuid4().hex}.tmp"
            try:
                _write(filesystem, temporary, data)
                if self.exists(name):
                    raise FileExistsError(target)
                filesystem.move(temporary, target)
            finally:
                if _present(filesystem, temporary):
                    filesystem.delete_file(temporary)
        return self.location(name)

    def read(self, name: str) -> bytes:
        filesystem, base = self._resolve()
        with filesystem.open_input_stream(f"{base}/{name}") as stream:
            return stream.read()

    def remove_leftovers(self, names: Collection[str]) -> int:
        import pyarrow.fs

        filesystem, base = self._resolve()
        wanted = set(names)
        try:
            found = filesystem.get_file_info(pyarrow.fs.FileSelector(base, allow_not_found=True))
        except OSError:
            return 0
        removed = 0
        for info in found:
            match = REMOTE_TEMPORARY.fullmatch(info.base_name)
            if match is not None and match["name"] in wanted:
                filesystem.delete_file(info.path)
                removed += 1
        return removed

    def _resolve(self) -> "tuple[pyarrow.fs.FileSystem, str]":
        return remote_filesystem(self.url)


def _present(filesystem: "pyarrow.fs.FileSystem", path: str) -> bool:
    import pyarrow.fs

    return filesystem.get_file_info(path).type != pyarrow.fs.FileType.NotFound


def _write(filesystem: "pyarrow.fs.FileSystem", path: str, data: bytes) -> None:
    with filesystem.open_output_stream(path) as stream:
        stream.write(data)


def remote_filesystem(url: str) -> "tuple[pyarrow.fs.FileSystem, str]":
    """The pyarrow filesystem and path of a URL: pyarrow's own schemes first, then fsspec's.

    Raises:
        ConfigError: neither knows the URL's scheme, or it names no reachable filesystem.
    """
    import pyarrow.fs

    try:
        filesystem, path = pyarrow.fs.FileSystem.from_uri(url)
    except (pyarrow.ArrowInvalid, pyarrow.ArrowNotImplementedError):
        pass
    else:
        return filesystem, path.rstrip("/")
    try:
        import fsspec.core
    except ImportError:
        raise ConfigError(
            f"output {url}: pyarrow does not know this URL and fsspec is not installed"
        ) from None
    try:
        spec_fs, path = fsspec.core.url_to_fs(url)
    except (ValueError, ImportError) as error:
        raise ConfigError(f"output {url}: {error}") from None
    handler = pyarrow.fs.FSSpecHandler(spec_fs)
    return pyarrow.fs.PyFileSystem(handler), str(path).rstrip("/")


def is_url(target: str) -> bool:
    """Whether an output names a filesystem by URL (`scheme://…`) rather than a local folder."""
    scheme, separator, _ = target.partition("://")
    return bool(separator) and scheme.isidentifier()


def open_output(target: str | Path) -> Output:
    """The output for `--out`: a URL names a remote folder, anything else a local folder."""
    if isinstance(target, str) and is_url(target):
        return RemoteFolder(target)
    return LocalFolder(Path(target))
