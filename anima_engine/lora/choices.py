"""LoRA files chosen for a generation: loaded once, hashed for the image metadata, merged while sampling."""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from anima_engine.errors import ConfigError
from anima_engine.images import ModelFile
from anima_engine.lora.merge import merge
from anima_engine.lora.reading import Lora, LoraTargets, load_lora
from anima_prompt.hashing import cached_file_sha256


@dataclass(frozen=True, slots=True)
class LoraChoice:
    """A LoRA file and the strength to apply it with."""

    path: Path
    strength: float = 1.0


@dataclass(frozen=True, slots=True, eq=False)
class LoadedLora:
    """A parsed LoRA with its strength and its metadata entry (role `lora`, file name, sha256, strength)."""

    lora: Lora
    strength: float
    file: ModelFile


def load_choices(
    choices: Sequence[LoraChoice], targets: LoraTargets, *, hash_files: bool = True
) -> tuple[LoadedLora, ...]:
    """Read each chosen file (in order) for `targets`.

    Raises:
        ConfigError: the same file is chosen twice.
        CheckpointError: a file is missing or unreadable; `LoraError` when it does not fit the model.
    """
    seen: set[Path] = set()
    loaded = []
    for choice in choices:
        resolved = choice.path.resolve()
        if resolved in seen:
            raise ConfigError(f"LoRA {choice.path} is given twice; give it once with the strength wanted")
        seen.add(resolved)
        lora = load_lora(choice.path, targets)
        digest = cached_file_sha256(choice.path) if hash_files else None
        file = ModelFile(role="lora", name=choice.path.name, sha256=digest, weight=float(choice.strength))
        loaded.append(LoadedLora(lora=lora, strength=float(choice.strength), file=file))
    return tuple(loaded)


@contextmanager
def merged(targets: LoraTargets, loras: Sequence[LoadedLora]) -> Iterator[None]:
    """Merge `loras` into `targets` for the duration of the block; the weights are restored exactly after."""
    with merge(targets, [(loaded.lora, loaded.strength) for loaded in loras]):
        yield
