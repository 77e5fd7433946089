"""Artist rules (ANM-ART): the `@` prefix, unknown artists, placement and artist mixing."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise

from anima_prompt.lint.analysis import Analysis, Kind
from anima_prompt.lint.context import RuleContext
from anima_prompt.lint.findings import Finding, Fix
from anima_prompt.lint.findings import Severity as S
from anima_prompt.lint.registry import rule
from anima_prompt.lint.sections import sections_of
from anima_prompt.lint.triggers import is_trigger
from anima_prompt.sections import Section
from anima_prompt.tagtext import prompt_form

#: An artist with fewer posts whose name is one plain word (`average`, 28 posts) is, written without `@`,
#: that word: on the labelled corpus every such name was the word or a character's name (the least-posted
#: artist meant was `poruserin`, 166 posts).
MINOR_ARTIST_POSTS = 100


@rule(
    "ANM-ART-001",
    "artist-without-at",
    S.ERROR,
    bad="1girl, solo, ebifurya, safe",
    good="1girl, solo, @ebifurya, safe",
    needs_index=True,
    fixable=True,
)
def artist_without_at(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """A known artist tag is written without `@`, so its effect is very weak.

    The model card: artist tags must carry an `@` prefix (`@big chungus`); without it the style barely
    shows. Tags inside weight groups are checked too: `(ebifurya:1.2)` becomes `(@ebifurya:1.2)`. The fix
    inserts the `@`. An alias of an artist (`nadegata`) is reported with the artist's own name, which is
    what the model learned (`@gishiki \\(gshk\\)`), and not fixed automatically. A minor artist (fewer
    than `MINOR_ARTIST_POSTS` posts) whose name is one plain word is left alone: written bare, `average`,
    `grain` or `glisten` is the word.
    """
    assert ctx.index is not None
    for item in prompt.tags:
        info = ctx.index.lookup(item.text)
        if info is None or not info.is_artist:
            continue
        if info.post_count < MINOR_ARTIST_POSTS and item.text.strip().isalpha():
            continue  # `(average:1.2)` in a negative, `glisten`: the word, not a minor artist of that name
        if info.matched == "alias":
            canonical = prompt_form(info.name, artist=True)
            yield ctx.report(
                "ANM-ART-001",
                (item.start, item.end),
                f"`{item.text}` is the artist `{canonical}` under another name, without `@`; "
                "the style will be very weak",
                suggestions=(canonical,),
            )
            continue
        yield ctx.report(
            "ANM-ART-001",
            (item.start, item.end),
            f"`{item.text}` is an artist but lacks `@`; the style will be very weak",
            suggestions=(f"@{item.text}",),
            fix=Fix(item.start, item.start, "@"),
        )


def _artist_suggestions(text: str, ctx: RuleContext) -> tuple[str, ...]:
    assert ctx.index is not None
    found: list[str] = []
    squeezed = text.replace(" ", "").replace("_", "")
    for variant in (squeezed, text.replace(" ", "_")):
        info = ctx.index.lookup(variant)
        if info is not None and info.is_artist:
            found.append(info.name)
    found.extend(ctx.index.suggest(text, ctx.config.suggestion_limit, artists=True))
    unique = dict.fromkeys(prompt_form(name, artist=True) for name in found)
    return tuple(unique)


@rule(
    "ANM-ART-002",
    "unknown-artist",
    S.WARNING,
    bad="1girl, @ebifurrya, safe",
    good="1girl, @ebifurya, safe",
    needs_index=True,
)
def unknown_artist(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """An `@name` is not a known artist (or is a tag of another category).

    Anima knows the artists of its frozen Danbooru data (about 60,000 names). Names sometimes differ from
    what users expect: Anima recognises `@izuminanase`, not `@izumi nanase`, so the suggestions include the
    spelling without spaces as well as the closest artist names. An `@name` near no known artist right after
    a LoRA tag, or one that the name of a LoRA of the prompt or settings holds (`anima_prompt.lint.triggers`),
    is that LoRA's trigger (`<lora:Haru579_AnimaV1:1> @hrlrst`: Anima style LoRAs train a new artist tag),
    unknown to the base model on purpose; so is one that says it is no artist's name: a
    template's slot holding the word `artist` (`@my artist`) or a style trigger ending with `style`
    (`@aki_style`).
    """
    assert ctx.index is not None
    after_lora = _after_lora_tags(prompt)
    for item in prompt.artists:
        if not item.name:
            continue
        info = ctx.index.lookup(item.text)
        if info is not None and info.is_artist:
            continue
        if info is not None:
            message = f"`@{item.text}` is not an artist tag; drop the `@` for a tag of another category"
            suggestions: tuple[str, ...] = (prompt_form(info.name),)
        else:
            message = f"`@{item.text}` is not in Anima's known artist list"
            suggestions = _artist_suggestions(item.text, ctx)
            if not suggestions and (
                item.start in after_lora or is_trigger(item.text, ctx) or _names_no_artist(item.text)
            ):
                continue  # a LoRA's own artist tag or a template's slot; near a known artist it may be a slip
        yield ctx.report("ANM-ART-002", (item.start, item.end), message, suggestions=suggestions)


_NO_ARTIST_WORDS = frozenset({"artist", "artists"})


def _names_no_artist(name: str) -> bool:
    """Whether an unknown `@name` says it is no artist's name: it holds the word `artist` (`@my artist`,
    `@validated artist`, a template's slot) or ends with `style` (`@aki_style`, `@4x1style`, a style LoRA's
    trigger)."""
    words = name.lower().replace("_", " ").split()
    return bool(words) and (bool(_NO_ARTIST_WORDS.intersection(words)) or words[-1].endswith("style"))


def _after_lora_tags(prompt: Analysis) -> frozenset[int]:
    """The starts of the items that come right after a LoRA tag, with only separators between."""
    return frozenset(
        item.start
        for previous, item in pairwise(prompt.items)
        if previous.foreign == "lora" and not prompt.text[previous.end : item.start].strip(" ,\n\t")
    )


@rule(
    "ANM-ART-003",
    "artist-placement",
    S.WARNING,
    bad="1girl, solo, smile, @ebifurya, safe",
    good="safe, 1girl, @ebifurya, solo, smile",
    needs_index=True,
)
def artist_placement(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """An `@artist` is placed where the configured section order does not expect it.

    With `artist-placement = "card"` (default) the model card's order applies: quality/meta/year/safety,
    count, character, series, artist, then general tags, so an artist after a general tag is reported.
    With `"first"` (the card's tip for natural-language prompts) the artist should be the first item after
    the quality/meta/year/safety tags; this is reported as info. `"off"` disables the rule.
    """
    mode = ctx.config.artist_placement
    if mode == "off" or ctx.target.value != "prompt" or not prompt.artists:
        return
    sections = list(zip(prompt.items, sections_of(prompt.items, ctx.index), strict=True))
    for position, (item, section) in enumerate(sections):
        if section is not Section.ARTIST or item.kind is not Kind.ARTIST:
            continue
        before = [pair for pair in sections[:position] if pair[1] is not None]
        if mode == "card":
            general = next(
                (other for other, other_section in before if other_section is Section.GENERAL), None
            )
            if general is not None:
                yield ctx.report(
                    "ANM-ART-003",
                    (item.start, item.end),
                    f"`@{item.text}` comes after the general tag `{general.text}`; the card puts artists "
                    "after character and series, before general tags",
                )
        else:
            blocking = [
                other
                for other, other_section in before
                if other_section not in {Section.PREFIX, Section.ARTIST}
            ]
            if blocking:
                yield ctx.report(
                    "ANM-ART-003",
                    (item.start, item.end),
                    f"`@{item.text}` is not the first item after the quality tags (`{blocking[0].text}` "
                    "comes first)",
                    severity=S.INFO,
                )


@rule(
    "ANM-ART-004",
    "several-artists",
    S.INFO,
    bad="1girl, @ebifurya, @wlop, safe",
    good="1girl, @ebifurya, safe",
)
def several_artists(prompt: Analysis, ctx: RuleContext) -> Iterator[Finding]:
    """Several `@artists` in one prompt; Anima mixes them unreliably.

    The Qwen3 encoder reads the artists in context with each other, so the styles blend unpredictably
    (model card discussions 148, 161, 167). Consider one artist, prompt editing `[@a:@b:0.5]` where the front
    end supports it, or an artist-mixer node. Reported as info from `artists-info` artists and as a
    warning from `artists-warn`.
    """
    if ctx.target.value != "prompt":
        return
    artists = prompt.artists
    if not artists or len(artists) < ctx.config.artists_info:
        return
    first, *others = artists
    second = others[0] if others else first
    severity = S.WARNING if len(artists) >= ctx.config.artists_warn else S.INFO
    yield ctx.report(
        "ANM-ART-004",
        (second.start, second.end),
        f"{len(artists)} artists in one prompt; Anima mixes artists unreliably",
        suggestions=(f"@{first.text}",),
        severity=severity,
    )
