"""Tag rules: spelling (ANM-TAG), duplicates (ANM-DUP), years (ANM-YEAR) and model variants (ANM-VAR)."""

from __future__ import annotations

import re
import string
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import lru_cache

from anima_prompt.boundary import (
    ARTICLES,
    FUNCTION_WORDS,
    ends_sentence,
    is_cjk,
    is_coined_name,
    is_coined_word,
    is_identifier,
    is_joined_description,
)
from anima_prompt.lint.analysis import Analysis, Item, Kind, sentence_spans
from anima_prompt.lint.context import RuleContext
from anima_prompt.lint.findings import Finding, Fix, Target
from anima_prompt.lint.findings import Severity as S
from anima_prompt.lint.registry import Example, rule
from anima_prompt.lint.settings import Variant
from anima_prompt.lint.triggers import is_caption_token, is_trigger, opens_as_trigger
from anima_prompt.nodes import Span
from anima_prompt.tagtext import is_kaomoji, keeps_underscores, prompt_form
from anima_prompt.vocab import YEAR_TAG, special_tags
from anima_prompt.weights import WEIGHT_NUMBER


def _text_span(item: Item) -> tuple[int, int]:
    return item.text_start, item.end


def _is_pony(item: Item) -> bool:
    return item.foreign == "pony"


def _spelt_as_trained(item: Item, prompt: Analysis, ctx: RuleContext) -> bool:
    """Whether `item` is a name whose spelling is what an embedding or LoRA was trained with: written like
    a file (`EasyNegative`, `bad_prompt_v2`), a widely shared negative embedding (`bad_prompt`), a coined
    word in capitals (`GHIBSKY style`), the whole name of one of the prompt's LoRAs (`Miorine_Rembran` with
    `<lora:Miorine_Rembran:1>`), or, when the index does not know it, a trigger of the prompt's LoRAs
    (`triggers`), the coined word opening the prompt (`opens_as_trigger`) or a word with digits between its
    letters (`How2Draw`)."""
    text = item.text
    if is_identifier(text) or is_coined_name(text) or negative_embedding_in(text) is not None:
        return True
    if ctx.triggers.names_one(text):
        return True
    unknown = ctx.index is None or ctx.index.lookup(text) is None
    return unknown and _lora_word(item, prompt, ctx)


def _lora_word(item: Item, prompt: Analysis, ctx: RuleContext) -> bool:
    """Whether `item`, unknown to the index, is a word a LoRA teaches: a coined word (`How2Draw`), a
    trigger of the prompt's LoRAs, the coined word opening the prompt, or a character LoRA's caption token."""
    text = item.text
    return (
        is_coined_word(text)
        or is_trigger(text, ctx)
        or opens_as_trigger(item, prompt, ctx)
        or is_caption_token(item, prompt, ctx)
    )


@rule(
    "ANM-TAG-001",
    "underscore-in-tag",
    S.WARNING,
    bad="1girl, long_hair, score_7, safe",
    good="1girl, long hair, score_7, safe",
    fixable=True,
)
def underscore_in_tag(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """A tag is written with underscores; Anima was trained on tags with spaces.

    The model card: tags are lowercase with spaces instead of underscores, and `score_N` is the only
    exception. Kaomoji such as `^_^` keep their underscores; wildcards (`__name__`), LoRA names and names
    written like files (`bad_prompt_v2`, an embedding) or named like a widely shared negative embedding
    (`bad_prompt`) are not tags and are left alone, and so is the trigger
    word of a LoRA the prompt or the settings apply (`yoshida_csm` beside `<lora:yoshidahirofumi_csmv2:1>`,
    see `anima_prompt.lint.triggers`), the coined word near no tag that opens the prompt, where triggers go
    (`Yanagise_Eika, 1girl`), or a character LoRA's caption token (`xayah_ribbon` beside `xayah_tassel`). The
    fix replaces the underscores with spaces; with a tag index, only
    in tags it knows (a LoRA's trigger word keeps the spelling it was trained with). Danbooru names run
    together with spaces (`bow brown_hair closed_mouth`, as copied from a tag list: every one known, or most
    written with underscores and no function word among them: `front_view and back_` is a phrase) get `, `
    between them instead, fixed when the index knows every one.
    """
    for item in prompt.tag_like:
        if "_" not in item.text or keeps_underscores(item.text) or _spelt_as_trained(item, prompt, ctx):
            continue
        words = item.text.split()
        joined = sum("_" in word for word in words)
        known = joined >= RUN_TAGS and _all_known(words, ctx)
        mostly_names = 2 * joined > len(words) and not any(word.lower() in FUNCTION_WORDS for word in words)
        if known or (joined >= RUN_TAGS and mostly_names):
            yield _tags_run_together(item, words, ctx, fixable=known)
            continue
        fixed = item.text.replace("_", " ").strip()
        yield ctx.report(
            "ANM-TAG-001",
            _text_span(item),
            f"`{item.text}` uses underscores; Anima tags use spaces (only score_N keeps `_`)",
            suggestions=(fixed,),
            fix=_rewrite(item, fixed, ctx),
        )


RUN_TAGS = 2  # words with underscores in one item: tags separated by spaces (`brown_hair closed_mouth`)


def _all_known(words: list[str], ctx: RuleContext) -> bool:
    return ctx.index is not None and all(ctx.index.lookup(word) is not None for word in words)


def _tags_run_together(item: Item, words: list[str], ctx: RuleContext, *, fixable: bool) -> Finding:
    """The finding for Danbooru names separated by spaces (`bow brown_hair closed_mouth`: every one a tag the
    index knows, or most written with underscores): the underscores are the tags' inner spaces, so the
    suggestion separates them with `, `; the fix does when the index knows every one (`fixable`)."""
    fixed = ", ".join(word.replace("_", " ") for word in words)
    return ctx.report(
        "ANM-TAG-001",
        _text_span(item),
        f"`{item.text}` runs tags together with spaces; separate them with `, ` and write each with spaces",
        suggestions=(fixed,),
        fix=Fix(*_text_span(item), fixed) if fixable else None,
    )


def _rewrite(item: Item, fixed: str, ctx: RuleContext) -> Fix | None:
    """The fix writing a tag as `fixed`: with an index only for a tag it knows, so an unknown name (a
    trigger word, a proper noun) is reported but never rewritten."""
    if ctx.index is not None and ctx.index.lookup(item.text) is None:
        return None
    return Fix(*_text_span(item), fixed)


@rule(
    "ANM-TAG-002",
    "uppercase-tag",
    S.INFO,
    bad="1girl, Long Hair, safe",
    good="1girl, long hair, safe",
    fixable=True,
)
def uppercase_tag(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """A tag contains uppercase letters; Danbooru tags, and Anima's training captions, are lowercase.

    Only tags are checked: natural-language sentences keep normal English capitalisation (the card asks for
    capitalised character and series names in prose), and names written like files (`EasyNegative`, an
    embedding) or with a coined word in capitals (`GHIBSKY style`, a LoRA trigger) keep theirs, as do the
    trigger words of the prompt's LoRAs and a coined word near no tag that opens the prompt (`Ectg, 1girl`,
    where triggers go). In a prompt with sentences, an item that opens a sentence after
    `.`, `!` or `?` with only its first letter capitalised (`... a cozy room. Anime style, thick paint`) is
    written in sentence case, not in capitals, and is left alone unless it is a special tag or a tag the
    index knows (`Year 2000.`, `Silhouette`: lowercased they are the tag); so are the words of a plain aside
    in brackets inside a sentence (`the bottom left panel (Big) shows ...`) and a Latin capital in an item
    written in CJK scripts that no tag holds (`T恤`, `8K画质`). The fix lowercases the tag; with a tag index,
    only a tag it knows.
    """
    prose = bool(prompt.phrases)
    for item in prompt.tag_like:
        if item.text != item.text.lower() and not _is_pony(item) and not _spelt_as_trained(item, prompt, ctx):
            if prose and _sentence_case_opening(prompt.text, item) and _unknown_word(item, ctx):
                continue
            if _in_aside(item) and _unknown_word(item, ctx):
                continue  # `the bottom left panel (Big) ...`: the aside keeps the sentence's capitals
            if prose and _unknown_word(item, ctx) and _named_in_prose(item, prompt):
                continue  # `(Momonga), a tiny ... mascot` and `a close-up of Momonga`: a name
            if is_cjk(item.text) and _unknown_word(item, ctx):
                continue  # `T恤`, `8K画质`, a handle `唯@W`: lowercased it is no tag either
            fixed = item.text.lower()
            yield ctx.report(
                "ANM-TAG-002",
                _text_span(item),
                f"`{item.text}` has uppercase letters; tags are lowercase",
                suggestions=(fixed,),
                fix=_rewrite(item, fixed, ctx),
            )


_PROSE_NAME = re.compile(r"(?<=[a-z,] )[A-Z][\w'-]*(?: [A-Z][\w'-]*)*")


def _named_in_prose(item: Item, prompt: Analysis) -> bool:
    """Whether the prompt's sentences use `item` as a name in capitals inside a sentence (`a close-up of
    Momonga`, `an illustration of Rokkotsu Goddess, an original character`): a character the prompt names
    or defines, not a tag written in the wrong case nor one misspelt."""
    wanted = item.text.replace("_", " ").strip().lower()
    return any(
        match.group().lower() == wanted
        for phrase in prompt.phrases
        if wanted in phrase.text.lower()
        for match in _PROSE_NAME.finditer(phrase.text)
    )


def _in_aside(item: Item) -> bool:
    """Whether `item` is in plain brackets inside a sentence (`the bottom left panel (Big) shows ...`): an
    aside of the sentence, whose words are the sentence's; a written weight (`art by (apterus:1.3)`) is
    emphasis."""
    return item.group is not None and item.group.in_phrase and not item.group.explicit


def _unknown_word(item: Item, ctx: RuleContext) -> bool:
    """Whether `item` is no special tag and no tag the index knows (without an index: no special tag)."""
    if item.special is not None:
        return False
    return ctx.index is None or ctx.index.lookup(item.text) is None


_SENTENCE_STOP = re.compile(r"[^\W\d_][.!?]+(?:\s|$)")


def _sentence_case_opening(text: str, item: Item) -> bool:
    """Whether `item` opens a sentence with only its first letter capitalised: after end punctuation, or at
    the prompt's start when the prompt has a sentence ending in `.`, `!` or `?`."""
    rest = item.text.lstrip()[1:]
    if rest != rest.lower():
        return False
    before = text[: item.text_start]
    return ends_sentence(before) or (not before.strip() and bool(_SENTENCE_STOP.search(text)))


@rule(
    "ANM-TAG-003",
    "comma-spacing",
    S.INFO,
    bad="1girl,solo , long hair",
    good="1girl, solo, long hair",
    fixable=True,
)
def comma_spacing(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """Tags are not separated by exactly `, ` (comma and one space).

    Qwen3's vocabulary has merged tokens such as `,a`, so `a,b` and `a, b` encode differently (discussion
    184 on the model card). Anima's captions use `, `. Separators that contain a line break are left alone,
    and so are the commas inside a sentence, which belong to its phrase. The fix rewrites the separator as
    `, `.
    """
    for separator in prompt.separators:
        if "," not in separator.text or "\n" in separator.text or separator.text == ", ":
            continue
        if separator.text.strip() != "," or separator.end >= len(prompt.text):
            continue
        yield ctx.report(
            "ANM-TAG-003",
            (separator.start, separator.end),
            f"separator `{separator.text}` should be `, `",
            suggestions=(", ",),
            fix=Fix(separator.start, separator.end, ", "),
        )


_PUNCTUATION = frozenset(string.punctuation + " ")
MAX_SUGGESTED_WORDS = 4  # longer unknown "tags" are prose fragments; no tag is close to them


def _skip_unknown(item: Item) -> bool:
    """Items that are no tag to look up: special tags, counts, kaomoji, Pony tags, coined names, bare
    numbers (a weight that lost its group, which ANM-SYN-004 reports) and stray punctuation (`:`)."""
    return (
        item.special is not None
        or all(char in _PUNCTUATION for char in item.text)
        or bool(WEIGHT_NUMBER.fullmatch(item.text))
        or special_tags().is_count(item.name)
        or is_kaomoji(item.text)
        or _is_pony(item)
        or not item.name
        or is_coined_name(item.text)
    )


@rule(
    "ANM-TAG-004",
    "unknown-tag",
    S.INFO,
    bad="1girl, blue hiar, safe",
    good="1girl, blue hair, safe",
    needs_index=True,
)
def unknown_tag(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """A tag is neither a Danbooru tag nor one of Anima's special tags (quality, score, year, safety, ...).

    Anima learned Danbooru tags; an invented or misspelt tag is read as plain words at best. The finding
    suggests the tags the user plausibly meant (a misspelling, another spacing or word order, a plural,
    a missing qualifier; see `anima_prompt.index.plausible`), and none when no tag is that close. Natural
    language is not reported: the parser reads it as prose; nor is a coined word in capitals beside lowercase
    words (`GHIBSKY style`), a word with digits between its letters that is near no tag (`How2Draw`, a
    handle or trigger made up to be unique), a description of three words or more joined by a preposition
    or conjunction that is near no tag in a prompt that has sentences or opening the prompt (`lots of blue
    butterflies`, `cute anime girl with blue hair, detailed face`), the words of a plain aside in brackets
    inside a sentence near no tag (`the bottom left panel (Big) shows ...`), a LoRA's
    trigger that the base model does not know on purpose,
    nor a coined word near no tag that opens the prompt, where a LoRA's trigger goes (`anmwp, 1girl`), nor a
    character LoRA's caption token (`xayah_ribbon` beside `xayah_tassel`), nor a name written like a file in
    the positive prompt (`PosingDynamicsDaal`, a trigger; in the negative it is an embedding's), nor
    the trigger word of a LoRA the prompt or settings apply: a tag of its training captions when its
    file is found (kohya's `ss_tag_frequency` metadata), or a rare word that its file name holds (`csmakima`
    beside `<lora:makimaEyesInpaint_csmakima>`), unless the index knows a tag it plausibly means. Write
    descriptions that are not tags as natural-language sentences. The name of a widely shared SD 1.5 or
    SDXL negative embedding (`EasyNegative`, `badhandv4`, `by bad-artist`, also written with spaces) is
    named as such, in tags and, in the negative prompt, where such names belong, in phrases too: Anima has
    no such embedding, so the words only reach it as text. So is a quality tag written with an article
    (`the best quality`, `a masterpiece`), which is read as words rather than as the quality tag. A tag
    split by a comma (`jpeg, artifacts`) is named with the tag its two items form, and a tag with a weight
    but no brackets (`nipples:1.5`) with the weight group it was meant to be. Words written right after a
    choice (`[red|orange] hair`, `{red|blue} eyes`) complete the chosen words and are not reported alone.
    """
    assert ctx.index is not None
    tags = prompt.tags
    completing = _completing_choices(prompt)
    for position, item in enumerate(tags):
        if ctx.index.lookup(item.text) is not None or _skip_unknown(item) or item.start in completing:
            continue
        bracketed = bracketed_weight(item.text)
        if bracketed is not None and negative_embedding_in(item.text) is None:
            yield _weight_as_text(item, bracketed, ctx)
            continue
        prose_like = len(item.name.split("_")) > MAX_SUGGESTED_WORDS
        names = () if prose_like else ctx.index.suggest(item.text, ctx.config.suggestion_limit)
        count = count_tag_meant(item.text)
        if count is not None:
            names = (count, *(name for name in names if name != count))
        joined = _split_tag(item, tags[position + 1] if position + 1 < len(tags) else None, ctx)
        if joined is not None:
            names = (joined, *(name for name in names if name != joined))
        if not names and (_trigger_identifier(item.text, ctx) or _lora_word(item, prompt, ctx)):
            continue  # a LoRA's own word; one the index knows under a fuller name is still worth a report
        if (
            not names
            and is_joined_description(item.text)
            and (prompt.phrases or _opens_positive(item, prompt, ctx))
        ):
            continue  # a description among sentences (`lots of blue butterflies`) or opening one, near no tag
        if not names and _in_aside(item):
            continue  # the words of an aside in a sentence, near no tag
        if not names and _named_in_prose(item, prompt):
            continue  # a name the prompt's sentences use (`rokkotsu goddess` ... `of Rokkotsu Goddess`)
        message = f"`{item.text}` is not a known Danbooru tag"
        if joined is not None:
            message += f"; with the next item it is `{prompt_form(joined)}`, which a comma splits"
        embedding = negative_embedding_in(item.text)
        if embedding is not None:
            message += f"; it names `{embedding}`, {_EMBEDDING_NOTE}"
        yield ctx.report(
            "ANM-TAG-004",
            _text_span(item),
            message,
            suggestions=tuple(prompt_form(name) for name in names),
        )
    for item in prompt.phrases:
        embedding = negative_embedding_in(item.text) if ctx.target is Target.NEGATIVE else None
        quality = quality_tag_after_article(item.text)
        if embedding is not None:
            yield ctx.report(
                "ANM-TAG-004",
                _text_span(item),
                f"`{item.text}` is no tag: it names `{embedding}`, {_EMBEDDING_NOTE}",
            )
        elif quality is not None:
            yield ctx.report(
                "ANM-TAG-004",
                _text_span(item),
                f"`{item.text}` is no tag: Anima's quality tag is `{quality}`, without the article",
                suggestions=(quality,),
            )


def _trigger_identifier(text: str, ctx: RuleContext) -> bool:
    """Whether `text` in the positive prompt is written like a name of a file (`PosingDynamicsDaal`,
    `is_identifier`) without the marks of an embedding's name (a version number, `neg`: `GoodNegative`,
    `bad_prompt_v2`): a LoRA's trigger. In the negative prompt such a name is an embedding's, which the
    finding names."""
    return (
        ctx.target is Target.PROMPT
        and is_identifier(text)
        and not any(char.isdigit() for char in text)
        and "neg" not in text.lower()
        and negative_embedding_in(text) is None
    )


def _opens_positive(item: Item, prompt: Analysis, ctx: RuleContext) -> bool:
    """Whether `item` opens the positive prompt (`cute anime girl with blue hair, detailed face, ...`)."""
    opening = prompt.opening
    return ctx.target is Target.PROMPT and opening is not None and opening.start == item.start


def _weight_as_text(item: Item, bracketed: str, ctx: RuleContext) -> Finding:
    """The finding for a tag and a weight that ComfyUI reads as text (`bracketed_weight`)."""
    if item.group is not None and item.group.body.strip() == item.text.strip():
        # `(x：2.0)`: the brackets are there, the colon is a fullwidth one
        written = bracketed[1:-1]
        message = f"ComfyUI reads a weight only after an ASCII `:`; write `({written})`"
        suggestion = written
    elif item.group is not None:
        message = (
            f"ComfyUI reads only the weight before a group's `)`; give it brackets of its own, `{bracketed}`"
        )
        suggestion = bracketed
    else:
        message = f"a weight needs brackets, `{bracketed}`; without them ComfyUI reads the number as text"
        suggestion = bracketed
    return ctx.report(
        "ANM-TAG-004", _text_span(item), f"`{item.text}` is no tag: {message}", suggestions=(suggestion,)
    )


_UNBRACKETED_WEIGHT = re.compile(
    rf"(?P<text>[^:：]*[^\W\d_][^:：]*?)\s*[:：](?P<weight>{WEIGHT_NUMBER.pattern})"
)


def bracketed_weight(text: str) -> str | None:
    """The weight group that `text`, a tag of up to `MAX_SUGGESTED_WORDS` words and a weight without their
    brackets (`nipples:1.5`, also with a fullwidth colon), was meant to be; None for other text (`re:zero`,
    a time such as `10:30`, a description).

    Example:
        >>> bracketed_weight("nipples:1.5"), bracketed_weight("re:zero"), bracketed_weight("10:30")
        ('(nipples:1.5)', None, None)
    """
    match = _UNBRACKETED_WEIGHT.fullmatch(text.strip())
    if match is None or len(match["text"].replace("_", " ").split()) > MAX_SUGGESTED_WORDS:
        return None
    return f"({match['text']}:{match['weight'].strip()})"


#: Syntax that stands for words chosen at generation time, `[red|orange]`, `{red|blue}`, `__color__`, or
#: filled in by the user: a template's slot written as a comment (`/*colour of hair*/ hair`).
_CHOICES = frozenset({"alternation", "variants", "wildcard", "variable", "prompt_editing", "comment"})
CHOICE_COMPLETION_WORDS = 2  # `hair`, `sailor collar`; a longer run after a choice holds tags of its own


def _completing_choices(prompt: Analysis) -> set[int]:
    """The starts of the short tag items written right after a choice (`[red|orange] hair`, `{red|blue}
    eyes`) or a slot (`/*colour of eyes*/ eyes`): their words complete the chosen ones into a tag, and are no
    tag by themselves."""
    starts: set[int] = set()
    for before, item in zip(prompt.items, prompt.items[1:], strict=False):
        if (
            before.kind is Kind.FOREIGN
            and before.foreign in _CHOICES
            and not prompt.text[before.end : item.start].strip()
            and len(item.text.split()) <= CHOICE_COMPLETION_WORDS
        ):
            starts.add(item.start)
    return starts


def _split_tag(item: Item, following: Item | None, ctx: RuleContext) -> str | None:
    """The tag that `item` and the next top-level item, both unknown, form when joined with a space
    (`jpeg,artifacts` is `jpeg artifacts` split by a comma), if the index knows it. A known tag after it
    (`silver, lips`) is a tag of its own."""
    if following is None or following.unit != item.unit + 1 or item.group is not following.group:
        return None
    assert ctx.index is not None
    if ctx.index.lookup(following.text) is not None:
        return None
    info = ctx.index.lookup(f"{item.text} {following.text}")
    return info.name if info is not None else None


_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_PERSON_WORDS = {
    **dict.fromkeys(("girl", "woman", "female", "lady"), ("girl", False)),
    **dict.fromkeys(("girls", "women", "females", "ladies"), ("girl", True)),
    **dict.fromkeys(("boy", "man", "guy", "male"), ("boy", False)),
    **dict.fromkeys(("boys", "men", "guys", "males"), ("boy", True)),
}
_COUNTED = re.compile(r"(?:(\d+)[ _]*|([a-z]+)[ _]+)?([a-z]+)")
MAX_COUNT = 6  # Danbooru's count tags stop at `6+girls`


def count_tag_meant(text: str) -> str | None:
    """The count tag that an unknown item naming people by a word means (`girl` → `1girl`, `1man` → `1boy`,
    `two women` → `2girls`, `guys` → `multiple boys`): Anima counts the characters of a picture with
    Danbooru's count tags, not with those words.

    Example:
        >>> [count_tag_meant(text) for text in ("1man", "3 girl", "women", "a cat", "two guys")]
        ['1boy', '3girls', 'multiple girls', None, '2boys']
    """
    match = _COUNTED.fullmatch(text.strip().lower())
    if match is None or match.group(3) not in _PERSON_WORDS:
        return None
    digits, number_word, word = match.groups()
    written = digits or number_word
    kind, plural = _PERSON_WORDS[word]
    if written is None:
        return f"multiple {kind}s" if plural else f"1{kind}"
    number = int(written) if written.isdigit() else _NUMBER_WORDS.get(written)
    if not number:
        return None
    if number >= MAX_COUNT:
        return f"6+{kind}s"
    return f"1{kind}" if number == 1 else f"{number}{kind}s"


def quality_tag_after_article(text: str) -> str | None:
    """The quality tag that `text` is once its leading article is dropped (`the best quality`), if any.

    Such an item reads as words to the parser and to Anima alike, so the quality tag it was meant to be is
    lost.

    Example:
        >>> quality_tag_after_article("the best quality"), quality_tag_after_article("the best view")
        ('best quality', None)
    """
    first, _, rest = text.strip().lower().partition(" ")
    rest = " ".join(rest.split())
    return rest if first in ARTICLES and rest in special_tags().quality else None


#: Negative textual-inversion embeddings widely shared for SD 1.5 and SDXL (their published file names).
NEGATIVE_EMBEDDINGS = (
    "EasyNegative",
    "EasyNegativeV2",
    "bad-artist",
    "bad-artist-anime",
    "bad_prompt",
    "bad_prompt_version2",
    "bad-hands-5",
    "badhandv4",
    "bad-image-v2-39000",
    "ng_deepnegative_v1_75t",
    "verybadimagenegative_v1.3",
    "negative_hand-neg",
    "BadDream",
    "UnrealisticDream",
    "FastNegativeV2",
    "unaestheticXL",
    "negativeXL_D",
)
_EMBEDDING_NOTE = "an SD 1.5/SDXL negative embedding that Anima does not have; it reaches the model as text"
_NAME_SEPARATORS = re.compile(r"[\s_-]+")


@lru_cache(maxsize=1)
def _embedding_pattern() -> tuple[re.Pattern[str], dict[str, str]]:
    """One pattern for all names, matched on text lowercased with `-`, `_` and spaces made one space."""
    spelt = {_NAME_SEPARATORS.sub(" ", name.lower()): name for name in NEGATIVE_EMBEDDINGS}
    names = "|".join(re.escape(name) for name in sorted(spelt, key=len, reverse=True))
    return re.compile(rf"(?<![a-z0-9])(?:{names})(?![a-z0-9])"), spelt


def negative_embedding_in(text: str) -> str | None:
    """The widely shared negative embedding that `text` names, written `-`, `_` or spaced, if any.

    Example:
        >>> negative_embedding_in("By bad artist"), negative_embedding_in("bad hands")
        ('bad-artist', None)
    """
    pattern, spelt = _embedding_pattern()
    match = pattern.search(_NAME_SEPARATORS.sub(" ", text.lower()))
    return None if match is None else spelt[match.group()]


@rule(
    "ANM-TAG-005",
    "alias-tag",
    S.INFO,
    bad="1girl, smiling, safe",
    good="1girl, smile, safe",
    needs_index=True,
)
def alias_tag(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """A tag is an alias; Danbooru's captions, and so Anima, use the tag it points to.

    Danbooru rewrites aliases to their canonical tag on every post, so the model saw the canonical spelling.
    The finding suggests it; it is not rewritten automatically, because a later rename can also make a
    prompt worse (the model learned the September 2025 spellings).
    """
    assert ctx.index is not None
    for item in prompt.tag_like:
        if item.special is not None or _is_pony(item):
            continue
        info = ctx.index.lookup(item.text)
        if info is not None and info.matched == "alias":
            canonical = prompt_form(info.name, artist=item.kind is Kind.ARTIST)
            yield ctx.report(
                "ANM-TAG-005",
                _text_span(item),
                f"`{item.text}` is an alias of `{canonical}`",
                suggestions=(canonical,),
            )


def _character_blocks(prompt: Analysis, ctx: RuleContext) -> Callable[[int], int]:
    """The character block of an offset: blocks start at lines that open with a character tag (or a name
    before its series tag), when two lines or more open with different characters (0 everywhere otherwise,
    and without the index)."""
    if ctx.index is None or "\n" not in prompt.text:
        return lambda offset: 0
    tags = prompt.tag_like
    lines = [prompt.text.rfind("\n", 0, item.start) + 1 for item in tags]  # where each tag's line starts
    starts: list[int] = []  # offsets of the lines opening with a character tag
    characters: set[str] = set()
    for position, (item, line) in enumerate(zip(tags, lines, strict=True)):
        if position and lines[position - 1] == line:
            continue  # not the first tag of its line
        following = position + 1 < len(tags) and lines[position + 1] == line
        if _category(item, ctx) == "character" or (
            following and _category(tags[position + 1], ctx) == "copyright"  # `fern, sousou no frieren`
        ):
            starts.append(line)
            characters.add(item.name)
    if len(characters) < 2:
        return lambda offset: 0
    return lambda offset: bisect_right(starts, offset)


def _category(item: Item, ctx: RuleContext) -> str | None:
    info = ctx.index.lookup(item.text) if ctx.index is not None else None
    return None if info is None else info.category_name


def _canonical(item: Item, ctx: RuleContext) -> str:
    if ctx.index is not None:
        info = ctx.index.lookup(item.text)
        if info is not None:
            return info.name
    return item.name


@rule(
    "ANM-DUP-001",
    "duplicate-tag",
    S.WARNING,
    bad="1girl, long hair, smile, Long_Hair",
    good="1girl, long hair, smile",
)
def duplicate_tag(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """A tag appears more than once (after lowercasing, underscores to spaces and alias resolution).

    Repeats over-weight a concept and can distort the image; the RDBT finetune card advises dropping
    redundant tokens so the encoder attends to the rest. Positive and negative prompts are checked
    separately. To strengthen a tag, use a weight such as `(long hair:1.5)` instead. The regions of a
    regional prompt (separated by `BREAK`, `ADDCOL`, `ADDROW`, ...) are conditioned separately, so a tag
    repeated in another region is not a duplicate, nor is one repeated in the block of another character
    (lines that open with different character tags: `frieren, sousou no frieren, ...` then `fern, sousou no
    frieren, ...`). A sentence of natural language written twice (a description pasted again, `no text.`
    twice in a prompt of sentences and fragments) is reported the same way.
    """
    blocks = _character_blocks(prompt, ctx)
    seen: dict[tuple[int, int, str], list[Item]] = defaultdict(list)
    for item in prompt.tag_like:
        if item.name:
            seen[item.region, blocks(item.start), _canonical(item, ctx)].append(item)
    for item in prompt.phrases:
        for start, end in sentence_spans(item.text):
            words = item.text[start:end].lower().split()
            if len(words) > 1:  # a description pasted again; one word of prose (`#ffe36e`) may well recur
                sentence = replace(
                    item, text=item.text[start:end], start=item.start + start, end=item.start + end
                )
                seen[item.region, blocks(sentence.start), " ".join(words)].append(sentence)
    for occurrences in seen.values():
        if len(occurrences) < 2:
            continue
        first = Span.in_text(prompt.text, occurrences[0].start, occurrences[0].end)
        for repeat in occurrences[1:]:
            yield ctx.report(
                "ANM-DUP-001",
                (repeat.start, repeat.end),
                f"`{repeat.text}` appears {len(occurrences)} times (first at {first.line}:{first.column})",
            )


@rule(
    "ANM-DUP-002",
    "implied-tag",
    S.INFO,
    bad="1girl, very long hair, long hair, safe",
    good="1girl, very long hair, safe",
    needs_index=True,
)
def implied_tag(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """A tag is implied by another tag of the same prompt, so it adds nothing.

    Danbooru's implications add the implied tag to every post that has the implying one (`very long hair`
    implies `long hair`), so the model learned them together.
    """
    assert ctx.index is not None
    present: dict[str, Item] = {}  # canonical name -> the last tag with that name
    known: list[tuple[Item, str]] = []  # tags in the index, not special, with their canonical name
    for item in prompt.tags:
        if not item.name:
            continue
        info = ctx.index.lookup(item.text)
        name = item.name if info is None else info.name
        present[name] = item
        if info is not None and item.special is None:
            known.append((item, name))
    reported: set[str] = set()
    for item, name in known:
        for implied in sorted(ctx.index.implies(name) & present.keys()):
            other = present[implied]
            if implied != name and implied not in reported:
                reported.add(implied)
                yield ctx.report(
                    "ANM-DUP-002",
                    _text_span(other),
                    f"`{other.text}` is implied by `{item.text}`",
                )


@rule(
    "ANM-YEAR-001",
    "year-after-cutoff",
    S.INFO,
    bad="year 2026, 1girl, safe",
    good="year 2025, 1girl, safe",
)
def year_after_cutoff(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """A `year N` tag names a year after Anima's training cut-off (September 2025).

    The model has never seen images captioned with later years, so the tag is read as unknown text. Use
    `year 2025` or a period tag such as `newest`.
    """
    for item in prompt.tags:
        match = YEAR_TAG.fullmatch(item.name)
        if match and int(match.group(1)) > ctx.config.cutoff_year:
            yield ctx.report(
                "ANM-YEAR-001",
                _text_span(item),
                f"`{item.text}` is after Anima's training cut-off ({ctx.config.cutoff_year})",
                suggestions=(f"year {ctx.config.cutoff_year}", "newest"),
            )


@rule(
    "ANM-VAR-001",
    "score-tag-on-aesthetic",
    S.WARNING,
    bad=Example("score_9, 1girl, safe", settings={"variant": "aesthetic"}),
    good=Example("score_9, 1girl, safe", settings={"variant": "base"}),
)
def score_tag_on_aesthetic(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """`score_N` tags used with Anima-Aesthetic, in the positive or the negative prompt.

    The card says to leave `score_*` out of both prompts on Aesthetic, because they push its output towards
    a generic "slop" look. Remove them.
    """
    if ctx.settings.variant is not Variant.AESTHETIC:
        return
    for item in prompt.tags:
        if item.special == "score":
            yield ctx.report(
                "ANM-VAR-001",
                _text_span(item),
                f"`{item.text}` pushes Anima-Aesthetic towards slop; leave score tags out on Aesthetic",
            )


@rule(
    "ANM-VAR-002",
    "quality-tag-on-aesthetic",
    S.INFO,
    bad=Example("masterpiece, 1girl, safe", settings={"variant": "aesthetic"}),
    good=Example("1girl, safe", settings={"variant": "aesthetic"}),
)
def quality_tag_on_aesthetic(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """Human-score quality tags (`masterpiece`, `best quality`, ...) in the positive prompt on Aesthetic.

    Anima-Aesthetic's captions had the quality tags removed; the card calls them unnecessary there.
    """
    if ctx.settings.variant is not Variant.AESTHETIC or ctx.target.value != "prompt":
        return
    for item in prompt.tags:
        if item.special == "quality":
            yield ctx.report(
                "ANM-VAR-002", _text_span(item), f"`{item.text}` is unnecessary on Anima-Aesthetic"
            )


@rule(
    "ANM-VAR-003",
    "pony-vocabulary",
    S.WARNING,
    bad="score_9_up, source_anime, rating_safe, 1girl",
    good="score_9, safe, 1girl",
)
def pony_vocabulary(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """Pony Diffusion vocabulary (`score_9_up`, `source_anime`, `rating_safe`) that Anima never learned.

    Anima's score tags are `score_1` ... `score_9` without `_up` (not suggested on Anima-Aesthetic, which
    should get no score tags), and its safety tags are `safe`, `sensitive`, `nsfw` and `explicit`. Pony's
    `source_*` tags have no Anima equivalent.
    """
    for item in prompt.items:
        if not _is_pony(item):
            continue
        text = item.text.strip().lower()
        replacement: tuple[str, ...] = ()
        if text.startswith("score_") and ctx.settings.variant is not Variant.AESTHETIC:
            replacement = (text.removesuffix("_up"),)  # on Aesthetic score tags go altogether (ANM-VAR-001)
        elif text.startswith("rating_"):
            rating = text.removeprefix("rating_")
            mapped = {"safe": "safe", "general": "safe", "sensitive": "sensitive", "questionable": "nsfw"}
            replacement = (mapped.get(rating, "explicit"),)
        yield ctx.report(
            "ANM-VAR-003",
            (item.start, item.end),
            f"`{item.text}` is Pony vocabulary, not Anima's",
            suggestions=replacement,
        )
