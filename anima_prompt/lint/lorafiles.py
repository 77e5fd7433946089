"""LoRA files as the linter sees them: names resolved in the configured LoRA folders, once per run.

The folders come from `LintConfig.lora_folders()`, the same folders `anima generate` searches
(`places.lora_folders`); names resolve as `anima generate` resolves them (`anima_prompt.loras.find_lora`).
Looking a name up walks the folders, so answers are cached per name.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from anima_prompt.loras import find_lora

CACHE_LIMIT = 4096


class LoraFiles:
    """LoRA name lookups in a fixed list of folders, cached for the life of the object.

    Args:
        folders: the folders to search, in order; empty when no LoRA folder is known.
    """

    def __init__(self, folders: Sequence[Path]) -> None:
        self.folders = tuple(folders)
        self.find = lru_cache(maxsize=CACHE_LIMIT)(self._find)

    @property
    def known(self) -> bool:
        """Whether any LoRA folder is configured (without one, a name cannot be checked)."""
        return bool(self.folders)

    def _find(self, name: str) -> Path | None:
        """The file `name` stands for: an existing file path as given, else the match in the folders."""
        try:
            given = Path(name).expanduser()
            if given.is_file():
                return given
            return find_lora(name, self.folders) if self.folders else None
        except (OSError, ValueError):  # a name no file system accepts (NUL byte, too long, ...)
            return None
