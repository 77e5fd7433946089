"""Anima's canonical prompt form: `normalize(prompt, index=None, *, reorder=False) -> Prompt`.

What changes:

- tags: NFC, lowercase, spaces instead of underscores (kept only in `score_N` and kaomoji), literal
  parentheses escaped (`saber (fate)` -> `saber \\(fate\\)`, `;)` -> `;\\)`: ComfyUI would otherwise
  read them as weight syntax), white space collapsed; `@artist` tags the same after their `@`;
- separators: `, ` between items; a line break stays one (`\\n`, or `,\\n` after a comma) and a blank
  line stays one blank line; white space alone between two tags becomes `, `, next to prose a space;
  empty items (`a,, b`) and white space at the start and end of the prompt and of groups go;
- weights: the explicit weight is written shortest (`(x:1.50)` -> `(x:1.5)`, `(x: 2.0 )` -> `(x:2)`);
  plain emphasis groups `(x)` and `((x))` are kept as written (their weight is exact and already
  canonical ComfyUI syntax); an empty group `()` is kept;
- with a tag index: aliases resolve to the canonical tag, known artists gain `@`, and `reorder=True`
  orders comma-separated runs of tags as the model card recommends.

What stays as written: natural-language phrases, syntax of other front ends (`[a|b]`, `{a|b}`,
`__wildcard__`, `<lora:...>`, `BREAK`, Pony tags), error nodes and weight groups holding one, and
after a dataset tag line (`deviantart`, `ye-pop`) the title and description lines.
Normalising twice changes nothing.
Nodes keep the spans of the source text they came from.
"""

import re
import unicodedata
from decimal import Decimal
from functools import lru_cache
from typing import Protocol

from anima_prompt.nodes import (
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
from anima_prompt.tagtext import danbooru_name, prompt_form

#: Danbooru tag categories used here.
ARTIST, COPYRIGHT, CHARACTER, META = 1, 3, 4, 5

# Sections of the card's tag order (prompt-spec §1.2), lowest first.
_LEAD, _COUNT, _CHARACTER, _SERIES, _ARTIST, _GENERAL = range(6)
_LEAD_TAGS = frozenset(
    {
        "masterpiece",
        "best quality",
        "good quality",
        "normal quality",
        "low quality",
        "worst quality",
        "newest",
        "recent",
        "mid",
        "early",
        "old",
        "highres",
        "absurdres",
        "anime screenshot",
        "jpeg artifacts",
        "official art",
        "safe",
        "sensitive",
        "nsfw",
        "explicit",
    }
)
_LEAD_PATTERN = re.compile(r"score_\d+|year \d{4}")
_FACE_START = re.compile(r"(?:^|\s)>?[:;=][-']?$")
_COUNT_PATTERN = re.compile(r"(?:\d+\+?|multiple) ?(?:girls?|boys?|others?)|no humans")
_CATEGORY_SECTIONS = {META: _LEAD, CHARACTER: _CHARACTER, COPYRIGHT: _SERIES, ARTIST: _ARTIST}


class TagInfo(Protocol):
    """What a tag index knows about one tag."""

    @property
    def name(self) -> str:
        """The canonical Danbooru name, e.g. `hatsune_miku`."""
        ...

    @property
    def category(self) -> int:
        """The Danbooru category: 0 general, 1 artist, 3 copyright, 4 character, 5 meta."""
        ...


class TagLookup(Protocol):
    """Anything with a `lookup` method, such as `anima_prompt.index.query.TagIndex`."""

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
    return tuple(result)


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
        if not text or text == node.text or (not artist and text.startswith("@")):
            return node  # canonical already, nothing left, or a tag that would read as an artist
        return Artist(node.span, text) if artist else Tag(node.span, text)
    name = danbooru_name(node.text)
    if not name:
        return node
    info = index.lookup(name)
    if info is not None:
        name = info.name
        artist = artist or info.category == ARTIST
    text = unicodedata.normalize("NFC", prompt_form(name, artist=artist))
    if not artist and text.startswith("@"):
        return node
    return Artist(node.span, text) if artist else Tag(node.span, text)


@lru_cache(maxsize=16384)
def _canonical(text: str, artist: bool) -> str:
    """The canonical form of a tag as written, or `""` when nothing of it is left (`_`)."""
    name = danbooru_name(text)
    return unicodedata.normalize("NFC", prompt_form(name, artist=artist)) if name else ""


def _separator(gap: list[Separator], left: Node, right: Node) -> Separator:
    """The canonical separator for the separators between two items."""
    if len(gap) == 1 and gap[0].text == ", ":
        return gap[0]
    text = "".join(separator.text for separator in gap)
    breaks = line_breaks(text)
    stripped = text.strip()
    if breaks:
        canonical = ("," if "," in text else "") + ("\n\n" if breaks >= 2 else "\n")
    elif "," in text:
        canonical = ", "
    elif stripped:
        canonical = stripped + " "  # the end of a sentence before prose
    elif isinstance(left, Phrase | ErrorNode) or isinstance(right, Phrase | ErrorNode):
        canonical = " "
    else:
        canonical = ", "
    return Separator(gap[0].span.join(gap[-1].span), canonical)


def _reorder(children: tuple[Node, ...], index: TagLookup | None) -> tuple[Node, ...]:
    """Stable-sort each run of tags joined by `, ` into the card's section order."""
    result = list(children)
    start = 0
    while start < len(result):
        end = start
        while (
            end + 2 < len(result)
            and _section(result[end], index) is not None
            and _is_comma(result[end + 1])
            and _section(result[end + 2], index) is not None
        ):
            end += 2
        if end > start:
            items = sorted(result[start : end + 1 : 2], key=lambda node: _section(node, index) or 0)
            result[start : end + 1 : 2] = items
        start = end + 1
    return tuple(result)


def _is_comma(node: Node) -> bool:
    return isinstance(node, Separator) and node.role == "comma"


def _section(node: Node, index: TagLookup | None) -> int | None:
    """The card section of a reorderable item, or None for items that never move."""
    if isinstance(node, Weighted):
        first = next((child for child in node.children if isinstance(child, Tag | Artist)), None)
        return None if first is None else _section(first, index)
    if not isinstance(node, Tag | Artist):
        return None if isinstance(node, Phrase | Foreign | ForeignGroup | ErrorNode) else _GENERAL
    text = node.text.lower()
    if isinstance(node, Tag) and (text in _LEAD_TAGS or _LEAD_PATTERN.fullmatch(text)):
        return _LEAD
    if isinstance(node, Tag) and _COUNT_PATTERN.fullmatch(text):
        return _COUNT
    if index is None:
        return _GENERAL
    if isinstance(node, Artist):
        return _ARTIST
    info = index.lookup(node.name)
    return _GENERAL if info is None else _CATEGORY_SECTIONS.get(info.category, _GENERAL)
