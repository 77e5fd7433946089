"""LoRA references without torch: `<lora:name:0.8>` in prompts, `PATH[:STRENGTH]` options, LoRA files.

LoRA tags are read from the parsed prompt (`Foreign` nodes of syntax `lora`), and taken out of the tree
before the text encoder reads it (`without_loras`).

The engine (`anima generate`) and the linter share these, so a LoRA name means the same file to both.
What a `<kind:...>` tag is, is the grammar's `LORA` terminal (`grammars/anima.lark`): the parser makes each
one a `Foreign` node of syntax `lora`, and `read_network_tag` reads its parts; `<lora:…>` and `<lyco:…>`
name LoRAs, other kinds (`<hypernet:…>`) are front-end syntax `anima generate` leaves in the text.
A name is resolved in the LoRA folders (`places.lora_folders`), in order. In a folder, `name` matches
`name.safetensors` directly, then a file with that stem in any sub-folder (ComfyUI and A1111 both list
sub-folders), the shallowest first.
"""

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from anima_prompt.errors import AnimaPromptError
from anima_prompt.nodes import (
    Foreign,
    Node,
    Prompt,
    walk,
)
from anima_prompt.prune import without

LORA_SUFFIX = ".safetensors"
LORA_KINDS = ("lora", "lyco")
"""Tag kinds that name a LoRA file; `<lyco:…>` is the older LyCORIS spelling of `<lora:…>`."""
TURBO_NAME = re.compile(r"turbo", re.IGNORECASE)


class LoraReferenceError(AnimaPromptError, ValueError):
    """A LoRA tag or option is malformed, or names a file that cannot be found."""


@dataclass(frozen=True, slots=True)
class NetworkTag:
    """The parts of a `<kind:name>` or `<kind:name:strength>` tag (A1111's extra-network syntax).

    Attributes:
        kind: the kind, lowercased: `lora`, `lyco`, `hypernet`, ...
        name: the name, stripped of white space.
        strength: the text after the name's colon, as written (it may hold more colons), or None.
    """

    kind: str
    name: str
    strength: str | None

    @property
    def is_lora(self) -> bool:
        """Whether the tag names a LoRA file (`<lora:…>`, `<lyco:…>`)."""
        return self.kind in LORA_KINDS


def read_network_tag(text: str) -> NetworkTag | None:
    """The parts of the text of a `Foreign` node of syntax `lora`, or None when it names nothing.

    Example:
        >>> read_network_tag("<LyCO:styles/ink:0.8>")
        NetworkTag(kind='lyco', name='styles/ink', strength='0.8')
        >>> read_network_tag("<hypernet:x>").is_lora
        False
    """
    body = text.strip()
    if not (body.startswith("<") and body.endswith(">")):
        return None
    kind, _, rest = body[1:-1].partition(":")
    name, colon, strength = rest.partition(":")
    if not name.strip():
        return None
    return NetworkTag(kind.lower(), name.strip(), strength if colon else None)


@dataclass(frozen=True, slots=True)
class LoraTag:
    """One `<lora:name:strength>` in a prompt.

    Attributes:
        name: the LoRA name as written (a file stem, possibly with sub-folders).
        strength: the multiplier, 1.0 when not written.
        start: offset of `<` in the prompt.
        end: offset just after `>`.
    """

    name: str
    strength: float
    start: int
    end: int


def _strength(text: str | None, what: str) -> float:
    if text is None or not text.strip():
        return 1.0
    try:
        return float(text)
    except ValueError:
        raise LoraReferenceError(f"{what}: strength {text!r} is not a number") from None


def lora_tags(prompt: Prompt) -> tuple[LoraTag, ...]:
    """Every `<lora:…>` and `<lyco:…>` tag of a parsed prompt, in source order, wherever it is nested.

    The tags are the parser's `Foreign` nodes of syntax `lora` that `read_network_tag` reads as a LoRA;
    `<hypernet:…>` and `<embedding:…>`, which share that syntax but load no LoRA, are not included.

    Args:
        prompt: a parsed (or normalised) prompt.

    Returns:
        The tags with their names, strengths and source offsets.

    Raises:
        LoraReferenceError: a tag's strength is not a number (the message quotes the tag).

    Example:
        >>> from anima_prompt import parse
        >>> lora_tags(parse("1girl, <lora:ink_style:0.8>"))
        (LoraTag(name='ink_style', strength=0.8, start=7, end=27),)
    """
    found: list[LoraTag] = []
    for node in walk(prompt):
        if not isinstance(node, Foreign) or node.syntax != "lora":
            continue
        tag = read_network_tag(node.text)
        if tag is not None and tag.is_lora:
            strength = _strength(tag.strength, node.text)
            found.append(LoraTag(tag.name, strength, node.span.start, node.span.end))
    return tuple(found)


def without_loras(prompt: Prompt) -> Prompt:
    """The prompt with its LoRA tags (those of `lora_tags`) taken out, leaving no empty item behind
    (`prune.without`).

    Args:
        prompt: a parsed (or normalised) prompt.

    Returns:
        A new `Prompt` (same source, diagnostics and dataset) whose rendering is what the text encoder reads.

    Example:
        >>> from anima_prompt import parse, render
        >>> render(without_loras(parse("1girl, <lora:ink_style:0.8>, smile")))
        '1girl, smile'
    """
    return without(prompt, _is_lora)


def _is_lora(node: Node) -> bool:
    if not isinstance(node, Foreign) or node.syntax != "lora":
        return False
    tag = read_network_tag(node.text)
    return tag is not None and tag.is_lora


def parse_lora_option(value: str) -> tuple[str, float]:
    """Split a `--lora` value `PATH[:STRENGTH]` into the path (or name) and the strength (default 1).

    Only a final `:number` is a strength, so `C:\\loras\\x.safetensors` keeps its drive letter.

    Args:
        value: the option's value.

    Returns:
        (path or name, strength).

    Raises:
        LoraReferenceError: the value is empty, or its strength is not a finite number (`x:abc`).

    Example:
        >>> parse_lora_option("styles/ink.safetensors:0.7")
        ('styles/ink.safetensors', 0.7)
    """
    if not value.strip():
        raise LoraReferenceError("--lora needs a path or a name")
    head, sep, tail = value.rpartition(":")
    if not sep or not head or any(mark in tail for mark in "/\\"):  # no strength, or a drive letter
        return value, 1.0
    try:
        strength = float(tail)
    except ValueError:
        strength = math.nan
    if not math.isfinite(strength):
        raise LoraReferenceError(
            f"--lora {value}: the strength {tail!r} is not a number; write PATH:STRENGTH, e.g. {head}:0.8"
        )
    return head, strength


def _file_name(name: str) -> str:
    return name if name.lower().endswith(LORA_SUFFIX) else name + LORA_SUFFIX


def find_lora(name: str, folders: Sequence[Path]) -> Path | None:
    """The file a LoRA name stands for, or None.

    Args:
        name: as in `<lora:name>`: a file stem, a relative path, or a file name with `.safetensors`.
        folders: from `places.lora_folders`.

    Returns:
        The first match: `folder/name.safetensors` in folder order, else a file with that name in a
        sub-folder (shallowest, then alphabetical first).
    """
    wanted = Path(_file_name(name))
    for folder in folders:
        if (folder / wanted).is_file():
            return folder / wanted
    for folder in folders:
        if folder.is_dir():
            found = [
                path
                for path in folder.rglob(wanted.name)
                if path.is_file() and path.parts[-len(wanted.parts) :] == wanted.parts
            ]
            if found:
                return min(found, key=lambda path: (len(path.parts), str(path)))
    return None


def require_lora(name: str, folders: Sequence[Path]) -> Path:
    """Like `find_lora`, but a missing file is an error.

    Args:
        name: a LoRA name, or a path to an existing file.
        folders: from `places.lora_folders`.

    Returns:
        The LoRA file.

    Raises:
        LoraReferenceError: no such file; the one-line message names every folder searched.
    """
    given = Path(name).expanduser()
    if given.is_file():
        return given
    found = find_lora(name, folders)
    if found is None:
        looked = (
            ", ".join(str(folder) for folder in folders)
            or "no LoRA folder (pass --lora-dir or set ANIMA_LORA_DIR)"
        )
        raise LoraReferenceError(f"LoRA {name!r} not found; looked in: {looked}")
    return found


def looks_like_turbo_lora(name: str) -> bool:
    """Whether a LoRA's name marks it as a Turbo (few-step, CFG 1) LoRA, e.g. `anima-turbo-lora`.

    Args:
        name: a LoRA name or path.

    Returns:
        True when the file name contains "turbo".
    """
    return TURBO_NAME.search(Path(name).name) is not None
