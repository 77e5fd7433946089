"""Token counts with Anima's real tokenizers (Qwen3 and T5), loaded lazily from local files.

Anima tokenizes every prompt twice: Qwen3 (byte-level BPE, no BOS/EOS) for the text encoder and T5 (Unigram,
EOS appended) for the adapter's query positions. The files are never downloaded at run time: they come from
the folder `LintConfig.tokenizer_dir` finds: the `tokenizers` lint option, else where `anima generate` looks
(`places.find_tokenizers`).
"""

from __future__ import annotations

from functools import cache, cached_property
from pathlib import Path
from typing import Any

from anima_prompt.places import TOKENIZER_FILES


class TokenCounter:
    """Counts Qwen3 and T5 tokens; each tokenizer is loaded on first use.

    Args:
        folder: a folder with `qwen3/tokenizer.json` and/or `t5/tokenizer.json`.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def available(self, name: str) -> bool:
        """Whether the tokenizer file for `name` (`qwen3` or `t5`) exists."""
        return (self.folder / TOKENIZER_FILES[name]).is_file()

    @cached_property
    def _qwen3(self) -> Any:
        return self._load("qwen3")

    @cached_property
    def _t5(self) -> Any:
        return self._load("t5")

    def _load(self, name: str) -> Any:
        from tokenizers import Tokenizer

        return Tokenizer.from_file(str(self.folder / TOKENIZER_FILES[name]))

    def qwen3(self, text: str) -> int:
        """Qwen3 tokens of `text` as Anima's text encoder sees them (no BOS or EOS)."""
        return len(self._qwen3.encode(text, add_special_tokens=False).ids)

    def t5(self, text: str) -> int:
        """T5 tokens of `text` as the adapter sees them (EOS included)."""
        return len(self._t5.encode(text).ids)


def token_counter(folder: Path | None) -> TokenCounter | None:
    """A counter for the tokenizers in `folder`, or `None` when it holds neither file.

    Counters are shared per folder, so each tokenizer file is loaded at most once per process.
    """
    if folder is None:
        return None
    return _shared_counter(folder.resolve())


@cache
def _shared_counter(folder: Path) -> TokenCounter | None:
    counter = TokenCounter(folder)
    if not (counter.available("qwen3") or counter.available("t5")):
        return None
    return counter
