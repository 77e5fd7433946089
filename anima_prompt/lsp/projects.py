"""The services for each open file: its configuration, found as `anima lint` finds it, and the tag index.

For a file, the configuration is the first `anima.toml`, or `pyproject.toml` with `[tool.anima.lint]`,
found walking up from the file's folder (`lint.config.find_config_file`). The file is looked for again on
every request and re-read when its modification time changes, so an edit of the configuration applies to
the next keystroke even in editors that do not report file changes; `reload()` drops everything kept
when they do. The tag index is opened on first use and kept open: `--db`, else the configuration's `db`,
else the default index when it was built.
"""

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from anima_prompt.editor import EditorServices
from anima_prompt.editor.document_services import DocumentServices
from anima_prompt.errors import AnimaPromptError
from anima_prompt.lint.config import LintConfig, find_config_file, load_config

if TYPE_CHECKING:
    from anima_prompt.index.query import TagIndex

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Project:
    """What a file is linted with.

    Attributes:
        files: the services over whole files.
        config: the configuration.
        config_path: the file the configuration came from; None for the defaults.
        config_error: why the configuration file could not be used (then the defaults apply).
    """

    files: DocumentServices
    config: LintConfig
    config_path: Path | None = None
    config_error: str | None = None


class Projects:
    """Configurations, tag indexes and services, kept for the life of the server.

    Args:
        db: a tag index that overrides the configuration's (`anima lsp --db`).
        front_end: where the prompts run, overriding the configuration's `front-end`.
    """

    def __init__(self, *, db: Path | None = None, front_end: str | None = None) -> None:
        self.db = db
        self.front_end = front_end
        self.notes: list[str] = []
        self._configs: dict[Path, tuple[int, LintConfig | str]] = {}
        self._indexes: dict[Path, TagIndex | None] = {}
        self._services: dict[tuple[LintConfig, Path | None], DocumentServices] = {}

    def project(self, folder: Path | None) -> Project:
        """The configuration and services for files in `folder` (None: the current directory)."""
        path = find_config_file(folder)
        config, error = self._config(path)
        if self.front_end is not None:
            config = replace(config, front_end=self.front_end)
        index_path = self._index_path(config)
        key = (config, index_path)
        files = self._services.get(key)
        if files is None:
            services = EditorServices(index=self._index(index_path), config=config)
            files = self._services[key] = DocumentServices(services)
        return Project(files, config, path, error)

    def reload(self) -> None:
        """Forget every configuration read, so each is read again on its next use."""
        self._configs.clear()
        self._services.clear()

    def close(self) -> None:
        """Close the open tag indexes."""
        for index in self._indexes.values():
            if index is not None:
                index.close()
        self._indexes.clear()
        self._services.clear()

    def _config(self, path: Path | None) -> tuple[LintConfig, str | None]:
        if path is None:
            return LintConfig(), None
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            stamp = -1
        kept = self._configs.get(path)
        if kept is None or kept[0] != stamp:
            try:
                kept = (stamp, load_config(path))
            except AnimaPromptError as error:
                kept = (stamp, str(error).split("\n", 1)[0])
            self._configs[path] = kept
        value = kept[1]
        return (LintConfig(), value) if isinstance(value, str) else (value, None)

    def _index_path(self, config: LintConfig) -> Path | None:
        from anima_prompt.index.query import default_index_path

        if self.db is not None:
            return self.db
        path = Path(config.db).expanduser() if config.db else default_index_path()
        return path if path.is_file() else None

    def _index(self, path: Path | None) -> "TagIndex | None":
        if path is None:
            note = "no tag index, so tag completion, hovers and the rules that need tag data are off; "
            note += "build one with `anima index build` (or start `anima lsp --db PATH`)"
            if note not in self.notes:
                self.notes.append(note)
            return None
        if path not in self._indexes:
            from anima_prompt.index.query import TagIndex

            try:
                self._indexes[path] = TagIndex.open(path)
            except AnimaPromptError as error:
                self.notes.append(str(error).split("\n", 1)[0])
                self._indexes[path] = None
        return self._indexes[path]
