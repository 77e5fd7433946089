"""Syntax rules: escaping (ANM-ESC), parse errors and foreign syntax (ANM-SYN)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from anima_prompt.lint.analysis import Analysis, Group, Item, Kind
from anima_prompt.lint.context import RuleContext
from anima_prompt.lint.findings import Finding, Fix, Target
from anima_prompt.lint.findings import Severity as S
from anima_prompt.lint.registry import Example, rule
from anima_prompt.lint.scan import BACKSLASH_BRACKET, DYNAMIC_AT, SLASH_ESCAPE, is_json
from anima_prompt.loras import read_network_tag
from anima_prompt.tagtext import escape_parens


@rule(
    "ANM-ESC-001",
    "unescaped-qualifier",
    S.ERROR,
    bad="1girl, saber (fate), safe",
    good="1girl, saber \\(fate\\), safe",
    fixable=True,
)
def unescaped_qualifier(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """A tag qualifier in unescaped parentheses, which ComfyUI reads as a 1.1 weight and strips.

    `saber (fate)` reaches the model as `saber fate` with `fate` weighted 1.1 (ComfyUI `sd1_clip.py`; the
    same failure is reported for stable-diffusion.cpp, issue #1492). Literal brackets must be escaped:
    `saber \\(fate\\)`; weighted, `(saber \\(fate\\):1.2)`. The fix adds the backslashes. Danbooru writes a
    qualifier after a space or `_`; a group glued to the word before it (`detailed background(plain white)`)
    is more often SD emphasis, so it is reported only when the tag index knows the qualified tag
    (`saber(fate)`) or the group names a series; the fix then writes the qualifier after a space. A name of
    more than three words before the group is escaped only when the index knows the tag: longer unknown
    ones are more often descriptions with an aside (`weight on one leg (natural stance)`).
    """
    for item in prompt.items:
        if item.qualifier is not None:
            written = prompt.text[item.qualifier[0] : item.qualifier[1]]
            yield ctx.report(
                "ANM-ESC-001",
                item.qualifier,
                f"`{written}` in `{item.text}` is read as a 1.1 weight and the brackets are dropped",
                suggestions=(escape_parens(item.text),),
                fix=Fix(*item.qualifier, escape_parens(written)) if _surely_named(item, ctx) else None,
            )
    for head, group in _glued_groups(prompt):
        if _known_qualifier(head.text, group.body, ctx):
            written = prompt.text[group.start : group.end]
            yield ctx.report(
                "ANM-ESC-001",
                (group.start, group.end),
                f"`{written}` after `{head.text}` is read as a 1.1 weight and the brackets are dropped",
                suggestions=(f"{head.text} {escape_parens(written)}",),
                fix=Fix(group.start, group.end, " " + escape_parens(written)),
            )


#: Words before a qualifier that the fix escapes without asking the index: 90 % of Danbooru's qualified
#: tags have three or fewer; a longer unknown head is more likely a description with an aside (`weight on
#: one leg (natural stance)`), whose brackets the user should look at.
MAX_FIXED_HEAD_WORDS = 3


def _surely_named(item: Item, ctx: RuleContext) -> bool:
    """Whether the fix may escape `item`'s qualifier: a short name, or a tag the index knows."""
    assert item.qualifier is not None
    head = item.text[: item.qualifier[0] - item.text_start]
    return len(head.split()) <= MAX_FIXED_HEAD_WORDS or (
        ctx.index is not None and ctx.index.lookup(item.text) is not None
    )


def _glued_groups(prompt: Analysis) -> Iterator[tuple[Item, Group]]:
    """Plain single-level groups written right after a tag, without a space (`saber(fate)`)."""
    ends = {item.end: item for item in prompt.items if item.kind is Kind.TAG and item.group is None}
    for group in prompt.groups:
        head = ends.get(group.start)
        if head is not None and not group.explicit and not group.wraps:
            yield head, group


def _known_qualifier(head: str, qualifier: str, ctx: RuleContext) -> bool:
    """Whether the index knows `head_(qualifier)` as a tag, or the qualifier as a series tag."""
    if ctx.index is None:
        return False
    if ctx.index.lookup(f"{head}_({qualifier})") is not None:
        return True
    info = ctx.index.lookup(qualifier)
    return info is not None and info.category_name == "copyright"


@rule(
    "ANM-ESC-002",
    "parentheses-in-sentence",
    S.WARNING,
    bad="A girl reads a book in the library (at night) while it rains.",
    good="A girl reads a book in the library at night while it rains.",
)
def parentheses_in_sentence(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """Parentheses inside a natural-language sentence are read as weight syntax.

    ComfyUI treats `( )` as a 1.1 weight everywhere, also in prose, and drops the brackets. Rephrase, or
    escape them as `\\(` and `\\)` if the brackets are meant literally. Only a plain group that continues a
    sentence (a word before it, a word or the sentence's end after it), or follows a word with an aside no
    weight acts on (`white (#FFFFFF)`, `top band (0-30%)`, `(unless a head tilt is listed below)`), reads
    as literal brackets; SD/A1111
    emphasis such as `((a detailed face))`, a group that is a whole comma-separated item, or one standing
    between sentences is an intended weight, checked by ANM-WGT-001. Not fixed automatically, because a fix
    must not change natural-language text.
    """
    for group in prompt.groups:
        if group.brackets:
            yield ctx.report(
                "ANM-ESC-002",
                (group.start, group.end),
                f"`({group.body})` in a sentence is read as a weight, not as brackets",
                suggestions=(f"\\({group.body}\\)",),
            )


@rule(
    "ANM-ESC-003",
    "backslash-bracket",
    S.WARNING,
    bad="1girl, \\[sparkle\\], safe",
    good="1girl, sparkle, safe",
)
def backslash_bracket(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """`\\[` or `\\]`: ComfyUI does not treat these as escapes, so the backslash reaches the model as text.

    Only `\\(` and `\\)` are escapes in ComfyUI's prompt parser; square brackets have no meaning there and
    need no escaping.
    """
    for match in BACKSLASH_BRACKET.finditer(prompt.text):
        yield ctx.report(
            "ANM-ESC-003",
            match.span(),
            f"`{match.group()}` is not an escape in ComfyUI; the backslash reaches the model",
            suggestions=(match.group()[1:],),
        )


@rule(
    "ANM-ESC-004",
    "slash-escape",
    S.WARNING,
    bad="1girl, oil painting /(medium/), safe",
    good="1girl, oil painting \\(medium\\), safe",
    fixable=True,
)
def slash_escape(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """A qualifier "escaped" with forward slashes, `/(medium/)`, which ComfyUI reads as a weight group.

    Only a backslash escapes a bracket (`\\(medium\\)`); `/(medium/)` is a 1.1 weight on `medium/`, and the
    slashes reach the model as text. The fix turns the slashes into backslashes.
    """
    for match in SLASH_ESCAPE.finditer(prompt.text):
        fixed = f"\\({match.group(1)}\\)"
        yield ctx.report(
            "ANM-ESC-004",
            match.span(),
            f"`{match.group()}` is not an escape: ComfyUI reads a weight group; write `{fixed}`",
            suggestions=(fixed,),
            fix=Fix(*match.span(), fixed),
        )


_FOREIGN_MESSAGES = {
    "break": "`BREAK` has no effect on Anima: Qwen3 has no 75-token chunks; it is read as the word BREAK",
    "and": "`AND` (composable diffusion) is not supported for Anima; it is read as the word AND",
    "prompt_editing": "prompt editing `[a:b:t]` needs a front end that implements it (Forge/A1111); "
    "ComfyUI passes it to the model as text",
    "alternation": "alternation `[a|b]` needs a front end that implements it (Forge/A1111); "
    "ComfyUI passes it to the model as text",
    "deemphasis": "`[x]` de-emphasis does not exist in ComfyUI; the brackets reach the model as text; "
    "use `(x:0.8)`",
    "regional": "`{text}` is a Regional Prompter keyword (an A1111/Forge extension); ComfyUI passes it to "
    "the model as the word {text}; lay out regions with area or mask conditioning",
    "nai_emphasis": "`{text}` is NovelAI emphasis (x1.05 a brace); the ComfyUI front end reads braces as a "
    "one-option choice and drops them, so no weight is applied",
    "nai_weight": "`{text}` is NovelAI V4's numeric emphasis; ComfyUI passes it to the model as text",
    "nai_character": "`|` separates NovelAI V4's character prompts; ComfyUI passes it to the model as text: "
    "describe each character in a sentence of its own",
    "nai_action": "`{text}` is NovelAI V4's action syntax; ComfyUI passes it to the model as text",
    "midjourney": "`{text}` are Midjourney's parameters; ComfyUI passes them to the model as text, and the "
    "words after `--no` then ask for what Midjourney keeps out: put those in the negative prompt",
    "variable": "`{text}` is a dynamic-prompts variable; only the Dynamic Prompts extension fills it in, "
    "ComfyUI passes it to the model as text",
    "sample_option": "`{text}` is an option of a LoRA trainer's sample-prompt line (sd-scripts); in a prompt "
    "it reaches the model as text",
    "caption_separator": "`{text}` separates the parts of a LoRA training caption (sd-scripts); in a prompt "
    "it reaches the model as text",
    "markup": "`{text}` opens a structured prompt of XML elements (NewBie-image); Anima was trained on tags "
    "and sentences and reads the markup as text: list the tags, and describe each character in a sentence",
}
_NEGATIVE_OPTION = "--n"
#: NovelAI's factor for one level of `{x}` emphasis.
NAI_EMPHASIS = 1.05
_WEIGHT = r"\s*(?:\d+(?:\.\d*)?|\.\d+)\s*"
#: A weight written inside NovelAI braces: `(x:1.1)` or a bare `x:1.1`.
_WRITTEN_WEIGHT = re.compile(
    rf"\((?P<group>[^()]+):(?P<weight>{_WEIGHT})\)|(?P<bare>[^(){{}}:]+):(?P<bare_weight>{_WEIGHT})"
)


def _foreign_finding(syntax: str, text: str) -> tuple[str, tuple[str, ...]]:
    """The message and suggestions for foreign syntax `syntax` written as `text`."""
    message = _FOREIGN_MESSAGES[syntax].format(text=text)
    if syntax == "sample_option" and text == _NEGATIVE_OPTION:
        message += "; the text after it was the line's negative prompt"
    if syntax == "nai_emphasis":
        return message, (_nai_suggestion(text),)
    if syntax == "nai_weight":
        weight, body = text.split("::")[:2]
        if not body.strip():  # `4::` opening an emphasis over several items, up to a lone `::`
            return (
                message + f"; it weights the items up to the closing `::`: write `(...:{float(weight):g})`",
                (),
            )
        body = _ARTIST_PREFIX.sub("@", body.strip())
        if float(weight) <= 0:
            return (
                message + f"; a negative weight removes `{body.strip()}`: put it in the negative prompt",
                (),
            )
        return message, (f"({body}:{float(weight):g})",)
    return message, ()


_ARTIST_PREFIX = re.compile(r"^artist:\s*", re.IGNORECASE)  # NovelAI's `artist:name` is Anima's `@name`


def _nai_suggestion(text: str) -> str:
    """ComfyUI weight syntax for NovelAI emphasis `text`: `{x}` -> `(x:1.5)`, `{x:1.1}` -> `(x:1.16)`.

    A plain `{x}` gets 1.5, a weight that shows on Anima (ANM-WGT-001). A weight written inside the
    braces, `{x:1.1}` or `{(x:1.1)}`, is the author's own: it is kept and multiplied by NovelAI's 1.05 a
    brace level, rather than a second weight being added (`(x:1.1:1.5)` is no weight at all in ComfyUI).
    """
    depth = min(len(text) - len(text.lstrip("{")), len(text) - len(text.rstrip("}")))
    core = text[depth : len(text) - depth].strip()
    match = _WRITTEN_WEIGHT.fullmatch(core)
    if match is None:
        return f"({core}:1.5)"
    body = (match.group("group") or match.group("bare")).strip()
    weight = float(match.group("weight") or match.group("bare_weight")) * NAI_EMPHASIS**depth
    return f"({body}:{round(weight, 2):g})"


@rule(
    "ANM-SYN-001",
    "foreign-syntax",
    S.WARNING,
    bad="1girl, smile BREAK [@wlop:@ebifurya:0.5], safe",
    good="1girl, smile, @wlop, safe",
)
def foreign_syntax(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """Syntax of other front ends that Anima's reference runtime (ComfyUI) passes to the model as text.

    `BREAK` and `AND` (A1111), prompt editing `[a:b:0.5]`, alternation `[a|b]` and `[x]` de-emphasis are not
    part of ComfyUI's prompt language; Forge Neo implements editing and alternation for Anima. Qwen3 has no
    75-token chunks, so `BREAK` is a no-op everywhere. Nor are Regional Prompter's `ADDCOL`, `ADDROW`,
    `ADDBASE` and `ADDCOMM`, NovelAI V4's character prompts (`park | girl, red hair | girl, blue hair`) and
    actions (`source#hug`), Midjourney's parameters (`--niji 6 --ar 16:9 --no text`), NovelAI's numeric
    emphasis (`1.5::rain::`, a ComfyUI weight `(rain:1.5)`, `(@name:w)` for NovelAI's `artist:name`; a
    negative one belongs in the negative prompt; one over several items, `4::masterpiece, best quality ::`,
    is named once, at its opening, and its tags are checked as tags),
    NovelAI's `{x}` emphasis (the ComfyUI front end drops the braces of a one-option `{a|b}` choice, so the
    weight is lost), dynamic-prompts variables `${name}`, or the syntax of LoRA training files that ends up in
    prompts: sample-prompt options (`--n`, `--w 576`) and caption separators (`|||`, `;;;`); nor the XML
    elements of a structured prompt (NewBie-image's `<character_1>`, `<appearance>...</appearance>`), reported
    once at the first. Dynamic-prompts `{a|b}` and `__wildcards__` are left alone: the ComfyUI front end and
    common extensions expand them. For NovelAI emphasis the suggestion is a ComfyUI weight: `(x:1.5)` for
    `{x}`; a weight written inside the braces (`{x:1.1}`, `{(x:1.1)}`) is kept and multiplied by NovelAI's
    1.05 a brace level, `(x:1.16)`.
    """
    found = [(item.start, item.end, item.foreign) for item in prompt.items if item.kind is Kind.FOREIGN]
    markup = [start for start, _, syntax in found if syntax == "markup"]
    for start, end, syntax in found:
        if syntax == "markup" and start != markup[0]:
            continue  # one finding for a structured prompt, at its first element
        if syntax == "nai_emphasis" and is_json(prompt.text):
            continue  # a JSON object's braces (ANM-FMT-001 reports the format)
        if syntax == "nai_weight" and prompt.text[start:end].strip() == "::":
            continue  # the closing end of an emphasis over several items, reported at its opening
        if syntax in _FOREIGN_MESSAGES:
            message, suggestions = _foreign_finding(syntax, prompt.text[start:end])
            yield ctx.report("ANM-SYN-001", (start, end), message, suggestions=suggestions)


@rule(
    "ANM-SYN-002",
    "dynamic-prompt-at",
    S.ERROR,
    bad="1girl, {@wlop|@ebifurya}, safe",
    good="1girl, { @wlop|@ebifurya}, safe",
)
def dynamic_prompt_at(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """`{@a|...}` or `__@name__`: dynamicprompts reads `@` as its cyclical-sampler marker and drops it.

    The artist then loses its `@` and its style (sd-dynamic-prompts issue #678). Write `{ @a|@b}` with a
    space, or put the artists in a wildcard file.
    """
    if "{@" not in prompt.text and "__@" not in prompt.text:
        return
    for match in DYNAMIC_AT.finditer(prompt.text):
        yield ctx.report(
            "ANM-SYN-002",
            match.span(),
            "dynamicprompts reads this `@` as its cyclical sampler; the artist loses its `@`",
            suggestions=("{ @",) if match.group().startswith("{") else (),
        )


@rule(
    "ANM-SYN-003",
    "lora-in-prompt",
    S.INFO,
    bad="1girl, <lora:anima_style:0.8>, safe",
    good="1girl, safe",
    stops_run=True,
)
def lora_in_prompt(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """`<lora:name:w>` in a prompt: whether the LoRA is loaded depends on the front end (`front-end`).

    ComfyUI core (`front-end = "comfyui"`, the default) does not load LoRA tags: its CLIPTextEncode node
    passes `<lora:...>` to the text encoder as text, so load LoRAs with a LoRA loader node instead. A1111,
    Forge and `anima generate` load such tags and take them out of the text. With `front-end = "anima"`,
    `anima generate` loads `<lora:name:w>` and `<lyco:...>` from the prompt, so only an unreadable strength
    (it stops on it: an error) or an unusual one is reported; it refuses LoRA tags in the negative prompt
    (an error), and passes other `<name:...>` tags, such as hypernetworks, to the encoder as text. The LoRA
    name is never checked as a tag. A strength outside 0-2 is unusual for a style LoRA. Because a LoRA tag
    in the negative prompt stops `anima generate`, that is reported even at CFG 1.
    """
    anima = ctx.config.front_end == "anima"
    if ctx.target is Target.NEGATIVE and not anima and not ctx.settings.negative_used:
        return  # ComfyUI passes the tag as text, and at CFG 1 the negative prompt has no effect
    for item in prompt.foreign:
        if item.foreign != "lora":
            continue
        found = _lora_for_anima(item, ctx) if anima else _lora_for_comfyui(item)
        if found is not None:
            message, severity = found
            yield ctx.report("ANM-SYN-003", (item.start, item.end), message, severity=severity)


def _lora_for_comfyui(item: Item) -> tuple[str, S | None]:
    tag = read_network_tag(item.text)
    weight_text = tag.strength if tag is not None else None
    if tag is not None and tag.is_lora:
        message = (
            f"`{item.text}` is not loaded by ComfyUI: CLIPTextEncode passes it to the text encoder as text "
            "(A1111, Forge and `anima generate` load it); use a LoRA loader node"
        )
    else:
        message = f"`{item.text}` is front-end syntax: loaded by A1111/Forge, text to ComfyUI"
    if weight_text:
        try:
            weight = float(weight_text.split(":")[0])
        except ValueError:
            message = f"`{item.text}` has an unreadable weight `{weight_text}`"
        else:
            if not 0 <= weight <= 2:
                message += f"; weight {weight:g} is unusual"
    return message, None


def _lora_for_anima(item: Item, ctx: RuleContext) -> tuple[str, S | None] | None:
    tag = read_network_tag(item.text)
    if tag is None or not tag.is_lora:
        return (
            f"`{item.text}` is not loaded by `anima generate` (only `<lora:...>` and `<lyco:...>` are); "
            "it reaches the text encoder as text"
        ), None
    if ctx.target is Target.NEGATIVE:
        return (
            f"`anima generate` does not load LoRA tags from the negative prompt and stops on `{item.text}`; "
            "put it in the prompt or pass --lora"
        ), S.ERROR
    strength_text = (tag.strength or "").strip()
    if not strength_text:
        return None
    try:
        strength = float(strength_text)
    except ValueError:
        return (
            f"`{item.text}` has an unreadable strength `{strength_text}`; `anima generate` stops on it",
            S.ERROR,
        )
    if not 0 <= strength <= 2:
        return f"`{item.text}`: strength {strength:g} is unusual for a LoRA", None
    return None


@rule(
    "ANM-SYN-004",
    "syntax-error",
    S.ERROR,
    bad="1girl, (smile:1.5, safe",
    good="1girl, (smile:1.5), safe",
)
def syntax_error(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """Text that is not valid prompt syntax: an unclosed or unmatched bracket, a stray weight, a lone `\\`.

    Front ends repair such text in different ways (A1111 closes brackets implicitly, ComfyUI treats an
    unmatched bracket as text), so the result depends on where the prompt runs. Close the bracket or escape
    it as `\\(` / `\\)`.
    """
    for item in prompt.items:
        if item.kind is not Kind.ERROR:
            continue
        if item.foreign == "lone-backslash" and prompt.text[item.end : item.end + 1] in ("[", "]"):
            continue
        yield ctx.report("ANM-SYN-004", (item.start, item.end), item.note or f"invalid syntax `{item.text}`")


@rule(
    "ANM-SYN-005",
    "embedding-in-prompt",
    S.INFO,
    bad=Example("1girl, safe", negative="embedding:EasyNegative, worst quality"),
    good=Example("1girl, safe", negative="worst quality, bad hands"),
)
def embedding_in_prompt(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """`embedding:name` loads a textual-inversion embedding, which must be made for Anima's text encoders.

    ComfyUI looks the name up in its embeddings folder and uses the vectors only when they have the width of
    the encoder reading them (1024 for Anima's Qwen3, 4096 for the T5 side); otherwise it logs a warning and
    leaves the word out. Embeddings made for SD 1.5 or SDXL (`EasyNegative`, `badhandv4`) never fit, so they
    do nothing on Anima; write what they stood for as tags (`worst quality`, `bad hands`).
    """
    for item in prompt.foreign:
        if item.foreign == "embedding":
            yield ctx.report(
                "ANM-SYN-005",
                (item.start, item.end),
                f"`{item.text}` only works with an embedding made for Anima's text encoders; "
                "SD 1.5 and SDXL embeddings are ignored",
            )
