"""LoRA files as the linter sees them: names resolved in the configured LoRA folders, once per run.

The folders come from `LintConfig.lora_folders()`, the same folders `anima generate` searches
(`places.lora_folders`); names resolve as `anima generate` resolves them (`anima_prompt.loras.find_lora`).
Looking a name up walks the folders, so answers are cached per name.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from anima_prompt.loras import TAG, find_lora

CACHE_LIMIT = 4096


class LoraFiles:
    """LoRA name lookups in a fixed list of folders, cached.

    Args:
        folders: the folders to search, in order; empty when no LoRA folder is known.
    """

    def __init__(self, folders: Sequence[Path]) -> None:
        self.folders = tuple(folders)
        self._found: dict[str, Path | None] = {}

    @property
    def known(self) -> bool:
        """Whether any LoRA folder is configured (without one, a name cannot be checked)."""
        return bool(self.folders)

    def find(self, name: str) -> Path | None:
        """The file `name` stands for: an existing file path as given, else the match in the folders."""
        if name in self._found:
            return self._found[name]
        try:
            given = Path(name).expanduser()
            found = given if given.is_file() else find_lora(name, self.folders) if self.folders else None
        except (OSError, ValueError):  # a name no file system accepts (NUL byte, too long, ...)
            found = None
        if len(self._found) >= CACHE_LIMIT:
            self._found.pop(next(iter(self._found)))
        self._found[name] = found
        return found


def lora_tag(text: str) -> tuple[str, str | None] | None:
    """The name and the written strength of a `<lora:name:strength>` or `<lyco:...>` tag, else `None`.

    Example:
        >>> lora_tag("<lora:ink_style:0.8>")
        ('ink_style', '0.8')
    """
    match = TAG.fullmatch(text.strip())
    if match is None:
        return None
    return match.group(1).strip(), match.group(2)
