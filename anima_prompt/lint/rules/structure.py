"""Structure rules: format (ANM-FMT), length (ANM-LEN), quoted text (ANM-TXT), prose (ANM-NL), dataset tags
(ANM-DS) and section order (ANM-ORD)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from anima_prompt.boundary import Reading, ends_sentence, is_clause, read_item
from anima_prompt.lint.analysis import REGION_KEYWORDS, Analysis, Item, Kind, count_sentences, word_count
from anima_prompt.lint.context import RuleContext
from anima_prompt.lint.findings import Finding, Fix
from anima_prompt.lint.findings import Severity as S
from anima_prompt.lint.registry import Scope, rule
from anima_prompt.lint.scan import QUOTED, is_json
from anima_prompt.lint.sections import sections_of
from anima_prompt.sections import Section
from anima_prompt.vocab import special_tags

_YAML_KEY = re.compile(r"^\s*(?:-\s+)?[\"']?[A-Za-z_][\w ]{0,40}[\"']?\s*:(?:[ \t]+(.*)|\s*$)", re.MULTILINE)


def _looks_structured(text: str) -> bool:
    """JSON, or at least two `key: value` lines whose values are not prose (`hair: long hair`, `subject:`).

    A labelled paragraph of natural language (`Background: A quiet street at dusk.`) is prose, not YAML.
    """
    if is_json(text):
        return True
    values = (match.group(1) or "" for match in _YAML_KEY.finditer(text))
    return sum(not _is_prose_value(value) for value in values) >= 2


def _is_prose_value(value: str) -> bool:
    """Whether the value of a `key:` line is natural language: a sentence, or text that reads as prose."""
    value = value.strip()
    return bool(value) and (ends_sentence(value) or read_item(value) is not Reading.TAG)


@rule(
    "ANM-FMT-001",
    "structured-prompt",
    S.WARNING,
    bad='{"subject": "1girl", "hair": "long hair"}',
    good="1girl, long hair",
)
def structured_prompt(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """The prompt is shaped like JSON or YAML (`{"hair": ...}`, `hair: long` lines).

    Anima was trained on comma-separated tags and prose. Braces cannot be represented well by the T5 query
    tokenizer, newlines near the start have a trained meaning (the dataset-tag slot), and keys such as
    `hair:` are not Danbooru tags. Write the values as tags or sentences. Paragraphs of natural language
    that start with a label (`Background: A quiet street at dusk.`) are prose, not YAML.
    """
    if _looks_structured(prompt.text):
        yield ctx.report(
            "ANM-FMT-001",
            (0, len(prompt.text.rstrip())),
            "the prompt looks like JSON/YAML; write comma-separated tags or sentences",
        )


@rule(
    "ANM-FMT-002",
    "empty-prompt",
    S.WARNING,
    scope=Scope.POSITIVE,
    bad="   ",
    good="1girl, safe",
)
def empty_prompt(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """The positive prompt is empty or only whitespace and separators.

    Anima then draws its unconditional default, which is rarely what anyone wants.
    """
    if not prompt.text.strip(" \t\n,"):
        yield ctx.report("ANM-FMT-002", (0, len(prompt.text)), "the prompt is empty")


def _content_lines(prompt: Analysis) -> list[str]:
    lines = [line for line in prompt.text.split("\n") if line.strip()]
    if lines and _is_dataset_line(lines[0]):
        lines = lines[1:]
    return lines


def _is_dataset_line(line: str) -> bool:
    return special_tags().group(line.strip()) == "dataset"


@rule(
    "ANM-LEN-001",
    "too-many-lines",
    S.WARNING,
    bad="\n\n".join(f"A girl walks through the town, scene {n}." for n in range(1, 5)),
    good="\n\n".join(f"A girl walks through the town, scene {n}." for n in range(1, 3)),
)
def too_many_lines(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """The prompt has more lines or paragraphs than Anima follows well (15 lines, 3 paragraphs).

    The small Qwen3 encoder reads left to right and adherence drops on long prompts. The thresholds come
    from community experience, not from the model card (which has no cap; ComfyUI does not truncate), so
    they are configurable: `max-lines`, `max-paragraphs`. The dataset-tag line does not count.
    """
    most = prompt.text.count("\n") + 1  # lines and paragraphs are at most this many
    if most <= ctx.config.max_lines and most <= ctx.config.max_paragraphs:
        return
    lines = _content_lines(prompt)
    paragraphs = [part for part in re.split(r"\n\s*\n", prompt.text) if part.strip()]
    end = len(prompt.text.rstrip())
    if len(lines) > ctx.config.max_lines:
        yield ctx.report(
            "ANM-LEN-001",
            (0, end),
            f"{len(lines)} lines; Anima follows prompts best under {ctx.config.max_lines + 1} lines",
        )
    elif len(paragraphs) > ctx.config.max_paragraphs:
        yield ctx.report(
            "ANM-LEN-001",
            (0, end),
            f"{len(paragraphs)} paragraphs; "
            f"Anima follows prompts best in {ctx.config.max_paragraphs} or fewer",
        )


def _general_tags(prompt: Analysis, ctx: RuleContext) -> list[Item]:
    """The general tags of the prompt, up to a sample-prompt line's `--n` (its negative prompt follows)."""
    tags = [item for item in _before_negative_option(prompt.items) if item.kind is Kind.TAG]
    return [
        item
        for item, section in zip(tags, sections_of(tags, ctx.index), strict=True)
        if section is Section.GENERAL or (section is None and item.special is None)
    ]


@rule(
    "ANM-LEN-002",
    "too-many-tags",
    S.INFO,
    scope=Scope.POSITIVE,
    bad=", ".join(["1girl", "safe"] + [f"tag number {n}" for n in range(61)]),
    good=", ".join(["1girl", "safe"] + [f"tag number {n}" for n in range(40)]),
)
def too_many_tags(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """More general tags than useful (default: over 60).

    The model card's example has about 50 tags, and tag dropout in training means not every relevant tag
    needs to be present; long lists dilute each tag. Threshold: `max-general-tags`. In a LoRA trainer's
    sample-prompt line the tags after `--n` are its negative prompt and are not counted.
    """
    if len(prompt.tags) <= ctx.config.max_general_tags:  # general tags are some of the tags
        return
    general = _general_tags(prompt, ctx)
    if len(general) > ctx.config.max_general_tags:
        extra = general[ctx.config.max_general_tags]
        yield ctx.report(
            "ANM-LEN-002",
            (extra.start, general[-1].end),
            f"{len(general)} general tags; the card's example uses about 50 and fewer usually work better",
        )


@rule(
    "ANM-LEN-003",
    "too-many-tokens",
    S.WARNING,
    bad=" ".join(["A girl with long silver hair stands on a windy hill at dawn."] * 50),
    good=" ".join(["A girl with long silver hair stands on a windy hill at dawn."] * 2),
)
def too_many_tokens(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """The prompt has more T5 or Qwen3 tokens than the configured limits (512 each).

    The LLM adapter pads its T5-token queries to at least 512 positions; longer prompts are not truncated in
    ComfyUI but leave the length the model was trained at. Counted with the real tokenizers, found where
    `anima generate` finds them (the `tokenizers` option, `$ANIMA_TOKENIZERS`, the model folder of
    `$ANIMA_MODEL_DIR`, the user data folder); skipped with a note when none are available.
    """
    if ctx.tokens is None:
        return
    text = prompt.text
    end = len(text.rstrip())
    if 2 * len(text) + 1 > ctx.config.max_t5_tokens and ctx.tokens.available("t5"):
        count = ctx.tokens.t5(text)
        if count > ctx.config.max_t5_tokens:
            yield ctx.report("ANM-LEN-003", (0, end), f"{count} T5 tokens, over {ctx.config.max_t5_tokens}")
            return
    if len(text.encode("utf-8")) > ctx.config.max_qwen3_tokens and ctx.tokens.available("qwen3"):
        count = ctx.tokens.qwen3(text)
        if count > ctx.config.max_qwen3_tokens:
            yield ctx.report(
                "ANM-LEN-003", (0, end), f"{count} Qwen3 tokens, over {ctx.config.max_qwen3_tokens}"
            )


@rule(
    "ANM-TXT-001",
    "long-quoted-text",
    S.WARNING,
    bad='1girl, holding sign, the sign says "welcome to the summer festival", safe',
    good='1girl, holding sign, the sign says "welcome", safe',
)
def long_quoted_text(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """Quoted text longer than a couple of words, which Anima cannot render.

    The model card: text rendering manages single words and sometimes short phrases, not long text.
    Thresholds: `quoted-max-words` (2) and `quoted-max-chars` (15). Quotes that open the prompt around a
    description with a comma or sentence end in it (`“Create an anime avatar, ... background.”`, `「长发，
    ...」`) wrap the prompt; they hold no text to draw; nor do the keys and values of a prompt written as
    JSON (ANM-FMT-001 reports the format).
    """
    if is_json(prompt.text):
        return
    for match in QUOTED.finditer(prompt.text):
        quoted = next(group for group in match.groups() if group is not None)
        if _wraps_prompt(prompt.text, match.start(), quoted):
            continue
        words = word_count(quoted)
        if words > ctx.config.quoted_max_words or len(quoted) > ctx.config.quoted_max_chars:
            yield ctx.report(
                "ANM-TXT-001",
                match.span(),
                f"quoted text has {words} words; Anima renders only single words or short phrases",
            )


_CLAUSE_MARKS = frozenset(",.;!?，。、；！？")


def _wraps_prompt(text: str, start: int, quoted: str) -> bool:
    """Whether quotes at `start` wrap the prompt's description rather than hold text to draw: they open the
    prompt and the quoted words have a comma or a sentence end in them."""
    return not text[:start].strip() and not _CLAUSE_MARKS.isdisjoint(quoted)


@rule(
    "ANM-NL-001",
    "short-prose",
    S.WARNING,
    scope=Scope.POSITIVE,
    bad="A girl standing in the rain with an umbrella",
    good="A girl stands in the rain. She holds a red umbrella.",
)
def short_prose(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """A natural-language-only prompt of fewer than two sentences.

    The model card asks for at least two sentences in natural-language prompts, because very short ones give
    unexpected results. Add a sentence, or add tags (count, safety, quality).
    """
    if not prompt.is_nl_only:
        return
    sentences = count_sentences(prompt.prose)
    if sentences < ctx.config.nl_min_sentences:
        yield ctx.report(
            "ANM-NL-001",
            (prompt.items[0].start, prompt.items[-1].end),
            f"natural-language prompt with {sentences} sentence(s); write at least "
            f"{ctx.config.nl_min_sentences}",
        )


@rule(
    "ANM-DS-001",
    "dataset-tag-misplaced",
    S.WARNING,
    bad="1girl, deviantart, dragon",
    good="deviantart\nDigital painting of a fiery dragon over a castle. The sky is red.",
)
def dataset_tag_misplaced(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """A dataset tag (`deviantart`, `ye-pop`) that is not alone on the first line.

    The non-anime training sets were captioned with the dataset tag on the first line, then a newline, then
    an optional title line and the description. Anywhere else the tag is just a word.
    """
    first_line_end = prompt.text.find("\n")
    first_line = prompt.text if first_line_end < 0 else prompt.text[:first_line_end]
    for item in prompt.tags:
        if item.special != "dataset":
            continue
        alone = item.end <= len(first_line) and first_line.strip() == item.text.strip()
        if not alone or first_line_end < 0:
            yield ctx.report(
                "ANM-DS-001",
                (item.start, item.end),
                f"dataset tag `{item.text}` must be alone on the first line, followed by a line break",
            )


@rule(
    "ANM-DS-002",
    "line-break-in-tags",
    S.INFO,
    bad="1girl, solo,\nlong hair, smile, safe",
    good="1girl, solo, long hair, smile, safe",
    fixable=True,
)
def line_break_in_tags(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """Line breaks in a prompt of tags (prose, if any, only as short descriptions among the tags).

    Anima's non-anime captions put a dataset tag on the first line, so a first line followed by a line
    break is the dataset-tag slot; community tools advise keeping tag prompts on one comma-separated line.
    Line breaks that lay out the regions of a regional prompt (next to `BREAK` or `ADDCOL`, `ADDROW`, ...),
    that open a block of its own for another character (a line opening with a count tag after an earlier
    one: `2girls, miku, ...` / `2girls, rin, ...`, as Forge Couple and Impact Pack's detailer wildcards lay
    out one prompt per region), that open or close a line with an XML element of a structured prompt
    (`<appearance>chibi, red_eyes</appearance>`), or that put LoRA tags or other front-end syntax on a line
    of their own are left alone: the syntax itself is what matters there (ANM-SYN-001, ANM-SYN-003); so are
    blank lines before a labelled section (`\n\nOUTFIT: white dress`). The fix joins the lines with `, `.
    """
    if any(is_clause(item.text) or _alone_on_line(prompt.text, item) for item in prompt.phrases):
        return  # lines of prose; descriptive phrases among the tags (`sitting under a tree`) are no reason
    if "\n" not in prompt.text.strip() or _is_dataset_line(prompt.text.split("\n")[0]):
        return
    for separator in prompt.separators:
        if "\n" in separator.text and separator.end < len(prompt.text.rstrip()) and separator.start > 0:
            if _keeps_syntax_apart(prompt, separator.start, separator.end):
                continue
            yield ctx.report(
                "ANM-DS-002",
                (separator.start, separator.end),
                "line break in a tag prompt; keep tags on one line",
                fix=Fix(separator.start, separator.end, ", "),
            )


def _keeps_syntax_apart(prompt: Analysis, start: int, end: int) -> bool:
    """Whether the line break at `[start, end)` sits next to a region keyword, or next to a line that holds
    only front-end syntax (`<lora:...>` tags, ...)."""
    text = prompt.text
    line_start = text.rfind("\n", 0, start) + 1
    next_break = text.find("\n", end)
    line_end = len(text) if next_break < 0 else next_break
    before = [item for item in prompt.items if line_start <= item.start < start]
    after = [item for item in prompt.items if end <= item.start < line_end]
    if before and after and before[-1].region != after[0].region:
        return True  # the next line opens a region of its own (a block per character, a detailer segment)
    if after and after[0].foreign == "label" and text.count("\n", start, end) > 1:
        return True  # a blank line before a labelled section (`\n\nOUTFIT: ...`): the prompt's layout
    for line, edge in ((before, -1), (after, 0)):
        if not line:
            continue
        if line[edge].kind is Kind.FOREIGN and line[edge].foreign in REGION_KEYWORDS:
            return True
        if line[edge].foreign == "markup":
            return True  # a structured prompt's line: an XML element opens or closes it
        if all(item.kind is Kind.FOREIGN and item.foreign != "placeholder" for item in line):
            return True  # a line of LoRA tags or other syntax; a template's fields stand for tags
    return False


def _before_negative_option(items: tuple[Item, ...]) -> tuple[Item, ...]:
    """The items before a sample-prompt line's `--n` (after it comes that line's negative prompt)."""
    for position, item in enumerate(items):
        if item.foreign == "sample_option" and item.text == "--n":
            return items[:position]
    return items


def _alone_on_line(text: str, item: Item) -> bool:
    """Whether `item` is the only thing on its line of `text`."""
    line_start = text.rfind("\n", 0, item.start) + 1
    line_end = text.find("\n", item.end)
    line = text[line_start : len(text) if line_end < 0 else line_end]
    return line.strip(" ,\uff0c") == item.text.strip()  # `，`: the fullwidth comma separates too


def _order_fix(prompt: Analysis, sections: list[Section], units: list[list[Item]]) -> Fix | None:
    """A reordering that is safe: one line of tags, artists and weight groups of them, comma-separated."""
    if any(item.kind not in (Kind.TAG, Kind.ARTIST) for unit in units for item in unit):
        return None
    if len(prompt.units) != len(units) or "\n" in prompt.text.strip():
        return None
    if any(separator.text.strip() != "," for separator in prompt.separators[: len(units) - 1]):
        return None
    pieces = [prompt.text[start:end] for start, end in prompt.units]
    order = sorted(range(len(units)), key=lambda position: sections[position])
    if order == list(range(len(units))):
        return None
    return Fix(prompt.units[0][0], prompt.units[-1][1], ", ".join(pieces[position] for position in order))


@rule(
    "ANM-ORD-001",
    "section-order",
    S.INFO,
    scope=Scope.POSITIVE,
    bad="1girl, solo, masterpiece, safe",
    good="masterpiece, safe, 1girl, solo",
    fixable=True,
)
def section_order(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """Tag sections out of the model card's order.

    The card: `[quality/meta/year/safety] [1girl/1boy/...] [character] [series] [artist] [general tags]`;
    order within a section does not matter, the order of sections does. Each region (after `BREAK`, or a
    block per character: a line or sentence whose first tag is a count tag after an earlier one, also after
    an opening phrase, `On the left is aki, 1boy, ...`) has its own
    order. Natural language may go anywhere;
    artists are checked by ANM-ART-003. Without the tag index only quality/meta/year/safety and count tags
    are placed. When the prompt is one line of plain tags the fix reorders it (stably, within sections).
    In a LoRA trainer's sample-prompt line, the tags after `--n` are its negative prompt and are not placed.
    """
    items = _before_negative_option(prompt.items)
    item_sections = sections_of(items, ctx.index)
    if ctx.config.artist_placement == "first":  # the artist then belongs with the count tags
        item_sections = [Section.COUNT if s is Section.ARTIST else s for s in item_sections]
    units: list[list[Item]] = []  # items in order, grouped by top-level unit (units only ascend)
    unit_sections: list[list[Section | None]] = []
    for item, item_section in zip(items, item_sections, strict=True):
        if units and units[-1][0].unit == item.unit:
            units[-1].append(item)
            unit_sections[-1].append(item_section)
        else:
            units.append([item])
            unit_sections.append([item_section])
    placed: list[tuple[Item, Section]] = []
    for unit, sections in zip(units, unit_sections, strict=True):
        if len(unit) == 1:
            section = sections[0]
            if section is not None and section is not Section.ARTIST:
                placed.append((unit[0], section))
            continue
        distinct = {section for section in sections if section is not None}
        if len(distinct) == 1 and (section := distinct.pop()) is not Section.ARTIST:
            placed.append((unit[0], section))
    highest: tuple[Item, Section] | None = None
    for item, section in placed:
        if highest is not None and item.region != highest[0].region:
            highest = None  # each region (after `BREAK`, a block per character) has its own order
        if highest is not None and section < highest[1]:
            all_sections = [
                min((section for section in sections if section is not None), default=Section.GENERAL)
                for sections in unit_sections
            ]
            yield ctx.report(
                "ANM-ORD-001",
                (item.start, item.end),
                f"`{item.text}` ({section.label}) comes after `{highest[0].text}` ({highest[1].label}); "
                "the card puts it earlier",
                fix=_order_fix(prompt, all_sections, units),
            )
            return
        if highest is None or section > highest[1]:
            highest = (item, section)
