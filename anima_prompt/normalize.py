"""Anima's canonical prompt form: `normalize(prompt, index=None, *, reorder=False) -> Prompt`.

What changes:

- tags: NFC, lowercase, spaces instead of underscores (kept only in `score_N` and kaomoji), literal
  parentheses escaped (`saber (fate)` -> `saber \\(fate\\)`, `;)` -> `;\\)`: ComfyUI would otherwise
  read them as weight syntax), white space collapsed; `@artist` tags the same after their `@`;
- separators: `, ` between items; a line break stays one (`\\n`, or `,\\n` after a comma) and a blank
  line stays one blank line; white space alone between two tags becomes `, `, but a space next to prose,
  errors, `BREAK`, wildcards and the bracket syntax of other front ends (`[red|blue] hair`); empty items
  (`a,, b`) and white space at the start and end of the prompt and of groups go;
- weights: the explicit weight is written shortest (`(x:1.50)` -> `(x:1.5)`, `(x: 2.0 )` -> `(x:2)`);
  plain emphasis groups `(x)` and `((x))` are kept as written (their weight is exact and already
  canonical ComfyUI syntax); an empty group `()` is kept;
- with a tag index: aliases resolve to the canonical tag, known artists gain `@`, and `reorder=True`
  orders comma-separated runs of tags as the model card recommends.

What stays as written: natural-language phrases, syntax of other front ends (`[a|b]`, `{a|b}`,
`__wildcard__`, `<lora:...>`, `BREAK`, Pony tags), error nodes and weight groups holding one, a tag
whose canonical spelling would read as something else (`smile._long_hair` would become `smile. long hair`,
two items; `_@x` an artist), and after a dataset tag line (`deviantart`, `ye-pop`) the title and description
lines.
Normalising twice changes nothing.
Nodes keep the spans of the source text they came from.
"""

import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from typing import Protocol

from anima_prompt.boundary import SENTENCE_MARKS
from anima_prompt.index.records import TagInfo
from anima_prompt.nodes import (
    INLINE_SYNTAXES,
    Artist,
    ErrorNode,
    Foreign,
    ForeignGroup,
    Node,
    Phrase,
    Prompt,
    Separator,
    Span,
    Tag,
    Weighted,
    line_breaks,
)
from anima_prompt.parser import parse
from anima_prompt.sections import Section, tag_section
from anima_prompt.tagtext import danbooru_name, prompt_form

_FACE_START = re.compile(r"(?:^|\s)>?[:;=][-']?$")
_STOP = re.compile(r"[.!?…。！？]+")


class TagLookup(Protocol):
    """Anything with a `lookup` method, such as `anima_prompt.TagIndex`."""

    def lookup(self, text: str) -> TagInfo | None:
        """The tag `text` names (a Danbooru name or an alias of it), or None when unknown."""
        ...


def normalize(prompt: Prompt, index: TagLookup | None = None, *, reorder: bool = False) -> Prompt:
    """Rewrite a prompt in Anima's canonical form (see the module docstring for the rules).

    Args:
        prompt: a parsed (or already normalised) prompt.
        index: a tag index used to resolve aliases, add `@` to known artists and find sections;
            `lookup` is called with Danbooru names (`saber_(fate)`).
        reorder: order each comma-separated run of tags by the card's sections: quality, meta, year and
            safety tags, count tags (`1girl`), characters, series, artists, general tags. Prose,
            foreign syntax and line breaks end a run and never move. Without an index only the
            quality/meta/year/safety and count sections are recognised; other tags keep their order.

    Returns:
        A new `Prompt` with the same `source`, `diagnostics` and `dataset`; `render` gives the text.

    Example:
        >>> from anima_prompt import parse, render
        >>> render(normalize(parse("Hatsune_Miku ,(blue eyes:1.50),saber (fate)")))
        'hatsune miku, (blue eyes:1.5), saber \\\\(fate\\\\)'
    """
    if prompt.dataset is not None:
        return _dataset_prompt(prompt)
    children = _sequence(prompt.children, index)
    if reorder:
        children = _reorder(children, index)
    return Prompt(prompt.source, children, prompt.diagnostics, prompt.dataset)


def _dataset_prompt(prompt: Prompt) -> Prompt:
    """A dataset tag line: the tag and its line break are canonical, the title and text stay as written."""
    tag, *rest = prompt.children
    children: list[Node] = [Tag(tag.span, prompt.dataset or "")]
    if rest and isinstance(rest[0], Separator):
        children.append(Separator(rest[0].span, "\n\n" if rest[0].role == "paragraph" else "\n"))
        rest = rest[1:]
    if not rest:
        children = children[:1]
    return Prompt(prompt.source, (*children, *rest), prompt.diagnostics, prompt.dataset)


def canonical_weight(number: Decimal) -> str:
    """The shortest decimal spelling of a weight: `1.50` -> `1.5`, `2.0` -> `2`, `.5` -> `0.5`."""
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "+0") else text


def _sequence(nodes: tuple[Node, ...], index: TagLookup | None) -> tuple[Node, ...]:
    """Normalise the items of a sequence and rebuild the separators between them."""
    result: list[Node] = []
    gap: list[Separator] = []
    for node in nodes:
        if isinstance(node, Separator):
            gap.append(node)
            continue
        item = _item(node, index)
        if result and gap:
            separator = _separator(gap, result[-1], item)
            result.append(separator)
        result.append(item)
        gap = []
    stop = _closing_stop(gap) if result else None
    if stop is not None:
        result.append(stop)
    return tuple(result)


def _closing_stop(gap: list[Separator]) -> Separator | None:
    """The period that closes a sequence (`long hair.`), kept without the white space around it."""
    text = "".join(separator.text for separator in gap).strip()
    stop = _STOP.match(text)
    return Separator(gap[0].span.join(gap[-1].span), stop.group()) if stop else None


def _item(node: Node, index: TagLookup | None) -> Node:
    if isinstance(node, Tag | Artist):
        return _tag(node, index)
    if isinstance(node, Weighted):
        if any(isinstance(child, ErrorNode) for child in node.children):
            return node  # a malformed group stays as written: its text is ambiguous
        children = _sequence(node.children, index)
        number = node.weight_number
        weight_text = "" if number is None else ":" + canonical_weight(number)
        last = children[-1] if children else None
        if not weight_text and isinstance(last, Tag) and _FACE_START.search(last.text):
            # `(; )` must not become `(;)`, which reads as the face `;)` and leaves `(` unclosed
            end = Span(last.span.end, last.span.end, last.span.line, last.span.column)
            children = (*children, Separator(end, " "))
        return Weighted(node.span, children, weight_text)
    return node


def _tag(node: Tag | Artist, index: TagLookup | None) -> Tag | Artist:
    artist = isinstance(node, Artist)
    if index is None:
        text = _canonical(node.text, artist)
    else:
        name = danbooru_name(node.text)
        info = index.lookup(name) if name else None
        if info is not None:
            name = info.name
            artist = artist or info.is_artist
        text = unicodedata.normalize("NFC", prompt_form(name, artist=artist)) if name else ""
    if not text or text == node.text or not _reads_as_one(text, artist):
        return node  # canonical already, nothing left, or a spelling that would read as something else
    return Artist(node.span, text) if artist else Tag(node.span, text)


@lru_cache(maxsize=16384)
def _canonical(text: str, artist: bool) -> str:
    """The canonical form of a tag as written, or `""` when nothing of it is left (`_`)."""
    name = danbooru_name(text)
    return unicodedata.normalize("NFC", prompt_form(name, artist=artist)) if name else ""


_DETACHED_STOP = re.compile(rf"\s[{SENTENCE_MARKS}]+$")  # end punctuation after white space ends a sentence


@lru_cache(maxsize=16384)
def _reads_as_one(text: str, artist: bool) -> bool:
    """Whether a canonical spelling reads back as the one item it spells: an artist stays an artist; a tag
    stays one tag, or one phrase (spaces for underscores may make a description of it: `a cat sleeping`),
    and becomes no artist (`_@x`), no sentence end (`cat._dog` would be `cat. dog`: a tag, then another;
    `0000_.` would be `0000 .`, a tag and a full stop once more text follows)."""
    if _DETACHED_STOP.search(text):
        return False
    children = parse(text).children
    if len(children) != 1:
        return False
    return isinstance(children[0], Artist) if artist else isinstance(children[0], Tag | Phrase)


def _separator(gap: list[Separator], left: Node, right: Node) -> Separator:
    """The canonical separator for the separators between two items."""
    if len(gap) == 1 and gap[0].text == ", ":
        return gap[0]
    text = "".join(separator.text for separator in gap)
    breaks = line_breaks(text)
    stripped = text.strip()
    commas = any(separator.commas for separator in gap)
    stop = _STOP.match(stripped)
    if breaks:
        # a sentence's end stays at the end of its line (`She smiles.\n`)
        lead = stop.group() if stop else "," if commas else ""
        canonical = lead + ("\n\n" if breaks >= 2 else "\n")
    elif commas:
        canonical = ", "
    elif stripped == "|":
        canonical = " | "  # between the values of a labelled line (`LIGHTING: Soft light | Rim light`)
    elif stripped:
        canonical = stripped + " "  # the end of a sentence before prose
    elif _spaced(left) or _spaced(right):
        canonical = " "
    else:
        canonical = ", "
    return Separator(gap[0].span.join(gap[-1].span), canonical)


def _spaced(node: Node) -> bool:
    """Whether white space next to `node` stays a space: prose, errors, and the syntax of other front ends
    that stands for text in place (`__color__ hair`, `[red|blue] hair`, `{a|b}`) or between spaces (`BREAK`).
    """
    if isinstance(node, Foreign):
        return node.syntax in INLINE_SYNTAXES
    return isinstance(node, Phrase | ErrorNode | ForeignGroup)


def _reorder(children: tuple[Node, ...], index: TagLookup | None) -> tuple[Node, ...]:
    """Stable-sort each run of tags joined by `, ` into the card's section order."""
    lookup = None if index is None else index.lookup
    result = list(children)
    start = 0
    while start < len(result):
        end = start
        while (
            end + 2 < len(result)
            and _section(result[end], lookup) is not None
            and _is_comma(result[end + 1])
            and _section(result[end + 2], lookup) is not None
        ):
            end += 2
        if end > start:
            items = sorted(result[start : end + 1 : 2], key=lambda node: _section(node, lookup) or 0)
            result[start : end + 1 : 2] = items
        start = end + 1
    return tuple(result)


def _is_comma(node: Node) -> bool:
    return isinstance(node, Separator) and node.role == "comma"


def _section(node: Node, lookup: Callable[[str], TagInfo | None] | None) -> Section | None:
    """The card section of a reorderable item, or None for items that never move.

    A tag that belongs to no section (unknown to the index, or no index) counts as a general tag.
    """
    if isinstance(node, Weighted):
        first = next((child for child in node.children if isinstance(child, Tag | Artist)), None)
        return None if first is None else _section(first, lookup)
    if isinstance(node, Artist):
        return Section.ARTIST if lookup is not None else Section.GENERAL
    if isinstance(node, Tag):
        section = tag_section(node.name, lookup)
        return Section.GENERAL if section is None else section
    return None if isinstance(node, Phrase | Foreign | ForeignGroup | ErrorNode) else Section.GENERAL
