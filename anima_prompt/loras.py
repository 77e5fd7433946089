"""LoRA references without torch: `<lora:name:0.8>` in prompts, `PATH[:STRENGTH]` options, LoRA files.

The engine (`anima generate`) and the linter share these, so a LoRA name means the same file to both.
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

LORA_SUFFIX = ".safetensors"
TAG = re.compile(r"<(?:lora|lyco):([^:<>\r\n]+)(?::([^<>\r\n]*))?>", re.IGNORECASE)
"""`<lora:name>` or `<lora:name:strength>`; `<lyco:…>` is the older LyCORIS spelling of the same."""
TURBO_NAME = re.compile(r"turbo", re.IGNORECASE)


class LoraReferenceError(AnimaPromptError, ValueError):
    """A LoRA tag or option is malformed, or names a file that cannot be found."""


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


def find_lora_tags(text: str) -> tuple[LoraTag, ...]:
    """Every LoRA tag in `text`, in order.

    Args:
        text: a prompt.

    Returns:
        The tags with their names, strengths and positions.

    Raises:
        LoraReferenceError: a tag's strength is not a number (the message quotes the tag).

    Example:
        >>> find_lora_tags("1girl, <lora:ink_style:0.8>")
        (LoraTag(name='ink_style', strength=0.8, start=7, end=27),)
    """
    return tuple(
        LoraTag(match.group(1).strip(), _strength(match.group(2), match.group()), match.start(), match.end())
        for match in TAG.finditer(text)
    )


def strip_lora_tags(text: str) -> str:
    """`text` without its LoRA tags, each taken out with one neighbouring comma so no empty item is left.

    Args:
        text: a prompt.

    Returns:
        The prompt the text encoder should see.

    Example:
        >>> strip_lora_tags("1girl, <lora:ink_style:0.8>, smile")
        '1girl, smile'
    """
    tags = find_lora_tags(text)
    if not tags:
        return text
    out, position = "", 0
    for tag in tags:
        before = text[position : tag.start]
        out += before.rstrip()
        position = tag.end
        if not out or out.endswith(","):  # the tag was an item of its own: drop its comma too
            after = re.match(r"\s*,", text[position:])
            position += after.end() if after else 0
        if before != before.rstrip() and not re.match(r"[\s,]", text[position : position + 1] or " "):
            out += " "  # keep words apart: "a <lora:x> b" -> "a b"
    out += text[position:]
    return re.sub(r"[\s,]+$", "", re.sub(r"^[\s,]+", "", out))


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
