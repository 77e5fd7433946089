"""Which tags name drawing errors (`data/negative_tags.toml`), alone or through the tag index's implications.

>>> is_flaw("bad_hands", None), is_flaw("smile", None)
(True, False)
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from anima_prompt.errors import AnimaPromptError
from anima_prompt.resources import data_path
from anima_prompt.tagtext import danbooru_name

if TYPE_CHECKING:
    from anima_prompt.lint.lookup import CachedIndex

FLAWS_FILE = "negative_tags.toml"


@dataclass(frozen=True, slots=True)
class FlawTags:
    """The drawing-error tags, as Danbooru names.

    Attributes:
        names: the listed tags.
        implied: tags whose implying tags are drawing errors too.
    """

    names: frozenset[str]
    implied: frozenset[str]


@cache
def flaw_tags() -> FlawTags:
    """The table of `data/negative_tags.toml`, read once.

    Raises:
        AnimaPromptError: the file is unreadable or malformed.
    """
    path = data_path(FLAWS_FILE)
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))["flaws"]
        names, implied = table["tags"], table["implied"]
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError) as error:
        raise AnimaPromptError(f"{path}: cannot read the drawing-error tags: {error}") from None
    return FlawTags(frozenset(map(danbooru_name, names)), frozenset(map(danbooru_name, implied)))


def is_flaw(name: str, index: CachedIndex | None) -> bool:
    """Whether the tag with Danbooru name `name` names a drawing error: listed, an alias of a listed tag,
    or (with an index) implying one of the `implied` tags."""
    table = flaw_tags()
    if name in table.names:
        return True
    if index is None:
        return False
    info = index.lookup(name)
    canonical = name if info is None else info.name
    return canonical in table.names or bool(index.implies(canonical) & table.implied)
