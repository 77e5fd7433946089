"""LoRA trigger words: the unknown tags of a prompt that name what one of its LoRAs was trained on.

A LoRA teaches a base model a new word (`csmakima`, `twitch emote`, `yoshida_csm`) on purpose, and its card
asks users to write that word as it was trained, underscores and capitals included. Such a word is unknown
to the tag index and must neither be reported as an unknown tag nor respelt. The linter recognises it in two
ways, for the LoRAs of the prompt (`<lora:…>`, `<lyco:…>`) and of the settings (`anima generate --lora`):

- **the file's training tags**: a LoRA file found in the configured folders that kohya's trainer wrote
  records the tags of its captions in the `ss_tag_frequency` metadata; every tag there was trained;
- **the file's name**: trainers name the file after the trigger (`<lora:makimaEyesInpaint_csmakima:0.5>`
  with `csmakima`, `<lora:twitchEmotesLORA_v13>` with `twitch emote`, `<lora:animaSuzuRena>` with
  `hananoi rena`, `<lora:748cmSDXL>` with `748cmstyle`). An item is taken as a trigger when one of its
  words of `MIN_WORD_LETTERS` letters or more that is rare in Danbooru's descriptive tags (fewer posts than
  `index.plausible.COMMON_WORD_POSTS`, so `eyes` in `makimaEyesInpaint` names nothing) occurs in the LoRA's
  name, or starts with a part of the name (`suzune` after `Suzu` in `animaSuzuRena`), or when the item and
  the name open with the same `MIN_SHARED_PREFIX` letters and digits.

Without a LoRA in sight, one place still tells: the opening of the positive prompt, where trainers put the
trigger of a training caption and cards show it (`anmwp, serene nighttime landscape, ...`). A coined word
there that is near no tag is taken as a trigger (`opens_as_trigger`). And one shape does: a name no
descriptive tag uses, which names something else of the prompt too, joined by underscores to words the
tags use (`xayah_ribbon` beside `xayah_tassel`: `is_caption_token`).
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, cast

from anima_prompt.index.plausible import COMMON_WORD_POSTS
from anima_prompt.lint.findings import Target
from anima_prompt.tagtext import danbooru_name

if TYPE_CHECKING:
    from anima_prompt.lint.analysis import Analysis, Item
    from anima_prompt.lint.context import RuleContext
    from anima_prompt.lint.lorafiles import LoraFiles
    from anima_prompt.lint.settings import LintSettings

MIN_WORD_LETTERS = 4  # shorter words (`v2`, `xl`, `csm`) match names by chance
MIN_SHARED_PREFIX = 5  # an item and a LoRA name opening with the same five letters or digits
#: The most header bytes read from a LoRA file: headers of real LoRAs are well under 1 MiB.
MAX_HEADER_BYTES = 64 * 1024 * 1024
#: Parts of LoRA file names that say what the file is, not what it was trained on.
GENERIC_NAME_PARTS = frozenset(
    {"lora", "lycoris", "locon", "loha", "lokr", "dora", "anima", "sdxl", "pony", "noob", "style"}
)
MIN_OPENING_LETTERS = 3  # shorter words (`a`, `1st`) say nothing of a coined name
_OPENING_WORD = re.compile(rf"(?<![a-z])[a-z]{{{MIN_OPENING_LETTERS},}}(?![a-z])")
_NAME_PARTS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
_LETTERS = re.compile(r"[a-z]+")
#: A label that uploaders put in a file name (`【Anima】4x1Style_Ayori`, `[Anima] style`): not the trigger.
_BRACKETED_LABEL = re.compile(r"【[^】]*】|\[[^\]]*\]")


@dataclass(frozen=True, slots=True)
class Triggers:
    """What the LoRAs of one prompt were trained on, as far as their names and files tell.

    Attributes:
        names: the LoRAs' file names, lowercase, letters and digits only (`makimaeyesinpaintcsmakima`).
        parts: the words of those names of `MIN_WORD_LETTERS` letters or more, lowercase, split at capitals,
            digits and separators, generic parts left out (`makima`, `eyes`, `inpaint`, `csmakima`).
        trained: the Danbooru names of the tags in the files' `ss_tag_frequency` metadata.
    """

    names: tuple[str, ...] = ()
    parts: frozenset[str] = frozenset()
    trained: frozenset[str] = frozenset()

    def names_one(self, text: str) -> bool:
        """Whether `text`, letters and digits only, is the whole name of one of the LoRAs
        (`Miorine_Rembran` beside `<lora:Miorine_Rembran:1>`): its trigger, spelt as the LoRA was trained,
        even where the tag index knows the words."""
        return bool(self.names) and re.sub(r"[^a-z0-9]", "", text.lower()) in self.names

    def covers(self, text: str, word_posts: Callable[[str], int]) -> bool:
        """Whether `text`, an item unknown to the tag index, is a trigger of one of the LoRAs.

        Args:
            text: the item as written.
            word_posts: the posts of the descriptive tags holding a word (`TagIndex.word_posts`).
        """
        if not self.names:
            return False
        if danbooru_name(text) in self.trained:
            return True
        opening = re.sub(r"[^a-z0-9]", "", text.lower())[:MIN_SHARED_PREFIX]
        if len(opening) == MIN_SHARED_PREFIX and any(name.startswith(opening) for name in self.names):
            return True  # `748cmstyle` beside `<lora:748cmSDXL>`, `xxx667_illu` beside `<lora:XXX667>`
        for word in _LETTERS.findall(text.lower()):
            if len(word) < MIN_WORD_LETTERS or word_posts(word) >= COMMON_WORD_POSTS:
                continue
            if any(word in name for name in self.names) or any(word.startswith(part) for part in self.parts):
                return True
        return False


def triggers_for(names: Iterable[str], find: Callable[[str], Path | None]) -> Triggers:
    """The triggers of the LoRAs called `names` (as in `<lora:name>`), their files looked up with `find`."""
    unique = tuple(dict.fromkeys(name for name in names if name.strip()))
    if not unique:
        return Triggers()
    trained: set[str] = set()
    for name in unique:
        path = find(name)
        if path is not None:
            trained |= trained_tags(path)
    stems = [
        _BRACKETED_LABEL.sub("", PurePath(name.replace("\\", "/")).name.removesuffix(".safetensors"))
        for name in unique
    ]
    parts = {
        part.lower()
        for stem in stems
        for part in _NAME_PARTS.findall(stem)
        if len(part) >= MIN_WORD_LETTERS and part.lower() not in GENERIC_NAME_PARTS
    }
    compact = tuple(re.sub(r"[^a-z0-9]", "", stem.lower()) for stem in stems)
    return Triggers(compact, frozenset(parts), frozenset(trained))


def trained_tags(path: Path) -> frozenset[str]:
    """The Danbooru names of the caption tags that kohya's trainer recorded in a LoRA file's metadata
    (`ss_tag_frequency`); empty when the file has none or cannot be read."""
    try:
        stat = path.stat()
    except OSError:
        return frozenset()
    return _trained_tags(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=256)
def _trained_tags(path: str, mtime_ns: int, size: int) -> frozenset[str]:
    del mtime_ns  # part of the cache key: a rewritten file is read again
    try:
        with open(path, "rb") as file:
            head = file.read(8)
            if len(head) < 8:
                return frozenset()
            (length,) = struct.unpack("<Q", head)
            if length > min(MAX_HEADER_BYTES, size - 8):
                return frozenset()
            header = json.loads(file.read(length))
        frequency = json.loads(header.get("__metadata__", {}).get("ss_tag_frequency", "{}"))
    except (OSError, ValueError, AttributeError, TypeError):
        return frozenset()
    if not isinstance(frequency, dict):
        return frozenset()
    folders = cast(dict[object, object], frequency).values()
    tags = [
        tag for folder in folders if isinstance(folder, dict) for tag in cast(dict[object, object], folder)
    ]
    return frozenset(danbooru_name(tag) for tag in tags if isinstance(tag, str) and tag.strip())


def prompt_triggers(positive: Analysis, settings: LintSettings, loras: LoraFiles) -> Triggers:
    """The triggers of the LoRAs that the positive prompt (`<lora:…>`, `<lyco:…>`) and the settings apply,
    worked out once per lint run (`RuleContext.triggers`)."""
    names = [name for name, _ in settings.loras] + [tag.name for _, tag in positive.lora_tags]
    return triggers_for(names, loras.find)


def is_trigger(text: str, ctx: RuleContext) -> bool:
    """Whether `text`, an item the tag index does not know, is a trigger of the prompt's LoRAs; without an
    index only the files' training tags tell."""
    word_posts = ctx.index.word_posts if ctx.index is not None else _common
    return ctx.triggers.covers(text, word_posts)


def is_caption_token(item: Item, prompt: Analysis, ctx: RuleContext) -> bool:
    """Whether `item`, an item the index does not know, is a LoRA's own caption token: one word joining with
    underscores a name to words of the descriptive tags (`xayah_ribbon`, `nene_school_uniform`,
    `lilith_fantasy`), where the name is no word of the descriptive tags and names something else of the
    prompt too (`ayachi_nene`, `lilith \\(...\\)`, `xayah_tassel`): what a character LoRA's captions call that
    character's outfit or part, trained as written. A tag misspelt or written with underscores (`fair_skin`,
    `blue_hiar`) does not share its first word so."""
    text = item.text.strip()
    if ctx.index is None or "_" not in text or any(char.isspace() for char in text):
        return False
    name, *rest = text.lower().split("_")
    if not rest or not name.isalpha() or not all(part.isalpha() for part in rest):
        return False
    if ctx.index.word_posts(name) or not all(ctx.index.word_posts(part) for part in rest):
        return False
    return any(
        other is not item and name in _LETTERS.findall(other.text.lower()) and _names_one(other, ctx)
        for other in prompt.tag_like
    )


def _names_one(item: Item, ctx: RuleContext) -> bool:
    """Whether `item` names one character or thing: a character tag, a tag with a qualifier (`lilith
    \\(...\\)`) or another caption token written as one word (`kaguya_shinomiya`), not words of a description
    (`extremely_detailed illustration`)."""
    assert ctx.index is not None
    info = ctx.index.lookup(item.text)
    if info is not None:
        return info.category_name == "character"
    return item.qualifier is not None or not any(char.isspace() for char in item.text.strip())


def opens_as_trigger(item: Item, prompt: Analysis, ctx: RuleContext) -> bool:
    """Whether `item` is the trigger word that opens a prompt or training caption: the first item of the
    positive prompt after any LoRA tags, unknown to the index and near no tag, whose words of
    `MIN_OPENING_LETTERS` Latin letters or more are all unknown to the descriptive tags (`anmwp`,
    `Yanagise Eika`; not `anime artwork`), or an identifier one of whose words is (`sample_chiyoko`).
    Trainers put a LoRA's trigger first, where kohya's `keep_tokens` keeps it, and cards show it there; a
    slip for a tag is near one and is still reported."""
    index = ctx.index
    if index is None or ctx.target is not Target.PROMPT:
        return False
    opening = prompt.opening
    if opening is None or opening.start != item.start or index.lookup(item.text) is not None:
        return False
    words = _OPENING_WORD.findall(item.text.lower())
    unknown = [not index.word_posts(word) for word in words]
    # all its words coined (`anmwp`), or one of an identifier's (`sample_chiyoko`: a name joined to a word)
    coined = bool(words) and (all(unknown) or ("_" in item.text.strip("_") and any(unknown)))
    return coined and not index.suggest(item.text, 1)


def _common(word: str) -> int:
    """Without an index every word counts as common, so no name makes a trigger."""
    return COMMON_WORD_POSTS
