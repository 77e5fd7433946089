"""The linter's flat view of a parsed prompt: items in order, with kind, span, weight and section.

Rules never walk the parse tree themselves; `analyse` turns `anima_prompt.parse()`'s nodes into a tuple of
`Item`s (tags inside weight groups included, each carrying its group's weight) and the separators between
top-level items. This keeps every rule a few lines long and independent of the tree's shape.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

import anima_prompt.nodes as nodes
from anima_prompt.boundary import (
    CJK_SENTENCE_MARKS,
    FUNCTION_WORDS,
    LATIN_SENTENCE_MARKS,
    SENTENCE_WORDS,
    is_cjk,
    item_shape,
)
from anima_prompt.classify import names_one_of_several
from anima_prompt.loras import NetworkTag, read_network_tag
from anima_prompt.nodes import Node, Prompt
from anima_prompt.tagtext import danbooru_name
from anima_prompt.vocab import special_group, special_tags
from anima_prompt.weights import inner_weight

#: Foreign syntax that starts a new region of a regional prompt (or a detailer wildcard's segment prompt).
REGION_KEYWORDS = frozenset({"break", "regional", "and", "detailer", "nai_character"})


class Kind(enum.StrEnum):
    """What an item of a prompt is."""

    TAG = "tag"
    ARTIST = "artist"
    PHRASE = "phrase"
    FOREIGN = "foreign"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Group:
    """A weight group `( ... )` or `( ... :w)`.

    Attributes:
        start: offset of the opening parenthesis.
        end: offset after the closing parenthesis.
        weight: the weight the group itself writes (1.1 for a plain group).
        explicit: whether the weight is written (`:w`).
        in_phrase: whether the group sits inside natural-language text.
        body: the group's text without the parentheses and the `:w` suffix.
        total: the weight the group's content ends up with: nested levels multiply (`(((x)))` gives 1.33)
            and a written weight replaces the product; a group that only wraps other groups has the
            largest total of those.
        core: the text the weight acts on: `body`, or for a group that only wraps another group, that
            group's core (`x` for `((x))`).
        wraps: whether the group's content is only other groups (`((x))`: the outer one).
        brackets: whether the group reads as literal brackets rather than as a weight: a label's aside
            (`Layout (strict):`), a sentence of its own in brackets (`(Use the first pose.)`), or a plain
            single-level group inside natural language that has the words of a sentence (articles,
            pronouns, `is`, ...: `boundary.SENTENCE_WORDS`; a run of tags without commas has none), after a
            word and before a word or the sentence's end punctuation; or one after a word that holds an
            aside no weight acts on (a colour code, a share, a clause, three words or more with a sentence
            word, unless a preposition before it makes them its object). SD/A1111 emphasis (`((x))`, a
            whole comma item, a group between sentences) is a weight.
    """

    start: int
    end: int
    weight: float
    explicit: bool
    in_phrase: bool = False
    body: str = ""
    total: float = 1.0
    core: str = ""
    wraps: bool = False
    brackets: bool = False


@dataclass(frozen=True, slots=True)
class Item:
    """One tag, `@artist`, natural-language phrase, foreign-syntax piece or unparsable piece.

    Attributes:
        kind: what the item is.
        text: the item's text as written, without weight syntax and without the `@` of an artist.
        start: offset of the item in the prompt (the `@` included for artists).
        end: offset after the item.
        unit: the position of the top-level item (or group) the item belongs to.
        weight: the effective weight (1.0 outside groups).
        group: the innermost weight group around the item, if any.
        foreign: for `Kind.FOREIGN`, the syntax (`nodes.FOREIGN_SYNTAXES`: `break`, `prompt_editing`,
            `alternation`, `deemphasis`, `variants`, `wildcard`, `lora`, `pony`); for `Kind.ERROR`, the
            parser's error code.
        name: the Danbooru name of a tag or artist (`long_hair`); empty for other kinds.
        text_start: offset of `text` (after the `@` of an artist); `text` ends at `end`.
        qualifier: offsets of an unescaped `(qualifier)` ending a tag, which ComfyUI reads as a weight.
        note: for `Kind.ERROR`, the parser's message.
        special: for a tag, its Anima special-tag group (`quality`, `score`, `year`, `period`, `meta`,
            `safety`, `dataset`), if any.
        region: how many region keywords (`BREAK`, Regional Prompter's `ADDCOL`, ...) and blocks come before
            the item; front ends with regional prompting give each region its own conditioning, and a block
            describes one character or panel (a line or sentence whose first tag is a count tag after an
            earlier one, an XML element on its own line, a label such as `Panel 1:`).
    """

    kind: Kind
    text: str
    start: int
    end: int
    unit: int
    weight: float = 1.0
    group: Group | None = None
    foreign: str | None = None
    name: str = ""
    text_start: int = -1
    qualifier: tuple[int, int] | None = None
    note: str = ""
    special: str | None = None
    region: int = 0

    def __post_init__(self) -> None:
        if self.text_start < 0:
            object.__setattr__(self, "text_start", self.end - len(self.text))


@dataclass(frozen=True, slots=True)
class Separator:
    """The text between two top-level items (a comma with its spaces, a newline, ...)."""

    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Analysis:
    """A prompt's text, its items in order, its top-level separators, weight groups and top-level spans.

    `tags`, `artists`, `phrases` and `foreign` are the items of those kinds, in order; `tag_like` the tags
    and artists.
    """

    text: str
    items: tuple[Item, ...]
    separators: tuple[Separator, ...]
    groups: tuple[Group, ...] = ()
    units: tuple[tuple[int, int], ...] = ()
    tags: tuple[Item, ...] = field(init=False, repr=False, compare=False)
    artists: tuple[Item, ...] = field(init=False, repr=False, compare=False)
    phrases: tuple[Item, ...] = field(init=False, repr=False, compare=False)
    foreign: tuple[Item, ...] = field(init=False, repr=False, compare=False)
    tag_like: tuple[Item, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_kind: dict[Kind, list[Item]] = {Kind.TAG: [], Kind.ARTIST: [], Kind.PHRASE: [], Kind.FOREIGN: []}
        tag_like: list[Item] = []
        for item in self.items:
            kind = item.kind
            if kind is Kind.TAG or kind is Kind.ARTIST:
                tag_like.append(item)
            if kind in by_kind:
                by_kind[kind].append(item)
        object.__setattr__(self, "tags", tuple(by_kind[Kind.TAG]))
        object.__setattr__(self, "artists", tuple(by_kind[Kind.ARTIST]))
        object.__setattr__(self, "phrases", tuple(by_kind[Kind.PHRASE]))
        object.__setattr__(self, "foreign", tuple(by_kind[Kind.FOREIGN]))
        object.__setattr__(self, "tag_like", tuple(tag_like))

    @property
    def opening(self) -> Item | None:
        """The item that opens the prompt, LoRA tags before it left out: where trainers put a LoRA's trigger
        and writers an opening description."""
        return next((item for item in self.items if item.foreign != "lora"), None)

    @property
    def prose(self) -> str:
        """The natural-language items joined, for sentence counting."""
        return " ".join(item.text.strip() for item in self.phrases)

    @property
    def lora_tags(self) -> tuple[tuple[Item, NetworkTag], ...]:
        """The `<lora:...>` and `<lyco:...>` tags with the items they are, in order (not `<hypernet:...>`)."""
        found: list[tuple[Item, NetworkTag]] = []
        for item in self.foreign:
            tag = read_network_tag(item.text) if item.foreign == "lora" else None
            if tag is not None and tag.is_lora:
                found.append((item, tag))
        return tuple(found)

    @property
    def is_nl_only(self) -> bool:
        """Whether every item is natural language (and there is at least one)."""
        kinds = {item.kind for item in self.items if item.kind is not Kind.ERROR}
        return kinds == {Kind.PHRASE}


# `.`, `!`, `?` and `…` end a sentence before white space, not after an initial (`L. S. Lowry`); the CJK
# full stops need none (`好。她`)
_SENTENCE_END = re.compile(rf"(?<!\b[A-Z])[{LATIN_SENTENCE_MARKS}]+(?=\s|$)|[{CJK_SENTENCE_MARKS}]+")
_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")


def count_sentences(prose: str) -> int:
    """Sentences in `prose`: stretches of at least two words (or of CJK text) ended by `.`, `!`, `?`, `…`,
    `。`, `！`, `？` or the end of the text."""
    sentences = (prose[start:end] for start, end in sentence_spans(prose))
    return sum(len(_WORD.findall(sentence)) >= 2 or is_cjk(sentence) for sentence in sentences)


def sentence_spans(text: str) -> Iterator[tuple[int, int]]:
    """The (start, end) offsets of the sentences of `text`, without their end punctuation and the white
    space around them."""
    position = 0
    for match in [*_SENTENCE_END.finditer(text), None]:
        end = len(text) if match is None else match.start()
        piece = text[position:end]
        if piece.strip():
            start = position + len(piece) - len(piece.lstrip())
            yield start, start + len(piece.strip())
        if match is not None:
            position = match.end()


def word_count(text: str) -> int:
    """Words in `text`."""
    return len(_WORD.findall(text))


@lru_cache(maxsize=65536)
def tag_name(text: str) -> str:
    """The Danbooru name of a tag written in any form (see `tagtext.danbooru_name`), cached."""
    return danbooru_name(text)


_INNER_STOP = re.compile(r"[.!?]\s+\S")  # a sentence end with another sentence after it


def analyse(prompt: Prompt) -> Analysis:
    """The linter's flat view of a parsed prompt (see the module docstring)."""
    builder = _Builder(prompt.source)
    unit = 0
    counted = False  # a count tag came before: the next line or sentence opening with one is a new block
    after_break = False
    opening = False  # no tag yet in this line or sentence (a phrase may open it: `On the left is aki, 1boy`)
    children = prompt.children
    for position, child in enumerate(children):
        if type(child) is nodes.Separator:
            builder.separators.append(Separator(child.span.start, child.span.end, child.text))
            after_break = "\n" in child.text or child.role == "sentence"
            opening = opening or after_break
            continue
        if (after_break or not unit) and _opens_block(child, children[position + 1 : position + 2]):
            builder.region += 1 if unit else 0  # `<character_2>` on its line: a block per character
        if (opening or not counted) and type(child) is nodes.Tag:
            count = special_tags().is_count(tag_name(child.text))
            if count and counted and opening:
                builder.region += 1  # `2girls, miku, ...\n2girls, rin, ...`: a block per character or region
            counted = counted or count
        after_break = False
        # a phrase keeps a sentence open for its first tag, and one holding a sentence end opens the next
        # (`... depicts 2 characters. On the left is aki, 1boy, ...`)
        opening = type(child) is nodes.Phrase and (
            opening or _INNER_STOP.search(prompt.source, child.span.start, child.span.end) is not None
        )
        if type(child) is nodes.Weighted:  # a group written against a phrase or a label
            before = _written_against(children, position)
            phrase = (
                prompt.source[before.span.start : before.span.end] if type(before) is nodes.Phrase else None
            )
            builder.visit(child, unit, 1.0, None, phrase=phrase, aside=_labels_aside(before))
        else:
            builder.visit(child, unit, 1.0, None, phrase=None)
        builder.units.append((child.span.start, child.span.end))
        unit += 1
    return Analysis(
        prompt.source,
        tuple(builder.items),
        tuple(builder.separators),
        tuple(builder.groups),
        tuple(builder.units),
    )


class _Builder:
    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[Item] = []
        self.separators: list[Separator] = []
        self.groups: list[Group] = []
        self.units: list[tuple[int, int]] = []
        self.region = 0

    def visit(
        self,
        node: Node,
        unit: int,
        weight: float,
        group: Group | None,
        *,
        phrase: str | None,
        aside: bool = False,
    ) -> None:
        """Add the items and groups of `node`; `phrase` is the text of the phrase around it, if any; `aside`:
        the node is a group right after a field label (`Style (strict):`), which holds the label's words."""
        start, end = node.span.start, node.span.end
        written = self.source[start:end]
        if type(node) is nodes.Tag and node.qualifier is None:  # the common case, spelt out for speed
            name = tag_name(written)
            self.items.append(
                Item(
                    Kind.TAG,
                    written,
                    start,
                    end,
                    unit,
                    weight,
                    group,
                    name=name,
                    text_start=start,
                    special=special_group(name),
                    region=self.region,
                )
            )
        elif isinstance(node, nodes.Tag | nodes.Artist):
            artist = type(node) is nodes.Artist
            text = written[1:].lstrip() if artist else written
            qualifier = (node.qualifier.start, node.qualifier.end) if node.qualifier is not None else None
            name = tag_name(text)
            kind, special = (Kind.ARTIST, None) if artist else (Kind.TAG, special_group(name))
            item = Item(
                kind,
                text,
                start,
                end,
                unit,
                weight,
                group,
                name=name,
                qualifier=qualifier,
                special=special,
                region=self.region,
            )
            self.items.append(item)
        elif isinstance(node, nodes.Phrase):
            self.items.append(Item(Kind.PHRASE, written, start, end, unit, weight, group, region=self.region))
            for child in node.children:
                if not isinstance(child, nodes.Text | nodes.Separator):
                    self.visit(child, unit, weight, group, phrase=written)
        elif isinstance(node, nodes.Weighted):
            explicit = node.weight
            effective = inner_weight(node, weight)
            body = self.source[start + 1 : end - 1 - len(node.weight_text)]
            total, core = self._content(node, weight, body)
            wraps = bool(_wrapped_groups(node))
            own = Group(
                start,
                end,
                inner_weight(node, 1.0),
                explicit is not None,
                phrase is not None,
                body,
                total,
                core,
                wraps,
                explicit is None
                and not wraps
                and (aside or (phrase is not None and _in_sentence(self.source, start, end, phrase, body))),
            )
            self.groups.append(own)
            if own.brackets:
                # literal brackets in a sentence (`a sailor uniform (seifuku) with ...`): their words are the
                # sentence's, not tags (ANM-ESC-002 reports the brackets)
                self.items.append(
                    Item(
                        Kind.PHRASE,
                        body,
                        start + 1,
                        start + 1 + len(body),
                        unit,
                        effective,
                        own,
                        region=self.region,
                    )
                )
                return
            for child in node.children:
                if not isinstance(child, nodes.Separator | nodes.Text):
                    self.visit(child, unit, effective, own, phrase=phrase)
        elif isinstance(node, nodes.Foreign | nodes.ForeignGroup):
            self.items.append(
                Item(
                    Kind.FOREIGN,
                    written,
                    start,
                    end,
                    unit,
                    weight,
                    group,
                    foreign=node.syntax,
                    region=self.region,
                )
            )
            if node.syntax in REGION_KEYWORDS:
                self.region += 1
        elif isinstance(node, nodes.ErrorNode):
            self.items.append(
                Item(
                    Kind.ERROR,
                    written,
                    start,
                    end,
                    unit,
                    weight,
                    group,
                    foreign=node.code,
                    note=node.message,
                    region=self.region,
                )
            )

    def _content(self, group: nodes.Weighted, outer: float, body: str) -> tuple[float, str]:
        """The total weight and core text of `group` at weight `outer` (see `Group.total`)."""
        effective = inner_weight(group, outer)
        wrapped = _wrapped_groups(group)
        if not wrapped:
            return effective, body
        inner = [self._content(item, effective, self._body(item)) for item in wrapped]
        total = max(weight for weight, _ in inner)
        return total, inner[0][1] if len(inner) == 1 else body

    def _body(self, group: nodes.Weighted) -> str:
        return self.source[group.span.start + 1 : group.span.end - 1 - len(group.weight_text)]


_END_PUNCTUATION = frozenset(".!?")


_ASIDE = re.compile(
    r"#[0-9a-f]{3}(?:[0-9a-f]{3})?"  # a colour code: `white (#ffffff)`
    r"|[\d.]+\s*(?:[-–~]\s*[\d.]+\s*)?%"  # a share: `top band (0-30%)`
    r"|.+;.+|.*[.?!]",  # clauses, or a sentence of its own
    re.IGNORECASE,
)


_OWN_SENTENCE = re.compile(r"[A-Z][^()]*\s[^()]*[.?!]")  # a sentence of its own, with its stop inside


def _in_sentence(text: str, start: int, end: int, phrase: str, body: str) -> bool:
    """Whether `text[start:end]` continues a sentence: a word before it, a word or end punctuation after it,
    in a phrase with the words of a sentence; or, after a word, it holds an aside that no weight could act
    on (a colour code, a share, a clause, a sentence's words) (see `Group.brackets`)."""
    before = text[:start].rstrip()
    if _OWN_SENTENCE.fullmatch(body.strip()):
        return True  # `... exactly. (The sheets are pose sheets; use the top-left one.)`
    if not (before and before[-1].isalnum()):
        return False
    if _ASIDE.fullmatch(body.strip()) or (_aside_words(body) and not _governs(before)):
        return True
    after = text[end:].lstrip()
    continues = bool(after) and (after[0].isalnum() or after[0] in _END_PUNCTUATION)
    return continues and any(word in SENTENCE_WORDS for word in item_shape(phrase).words)


def _governs(before: str) -> bool:
    """Whether the text before a group ends with a preposition or another function word whose object the
    group is (`a girl with (a puppy in her arms)`: SD emphasis on that object, not an aside)."""
    words = item_shape(before[-40:]).words
    return bool(words) and words[-1] in FUNCTION_WORDS


def _aside_words(body: str) -> bool:
    """Whether a group's body reads as words of a sentence: three words or more, one a sentence word."""
    shape = item_shape(body)
    return len(shape.words) >= 3 and shape.sentence_words > 0


def _wrapped_groups(group: nodes.Weighted | nodes.Phrase) -> tuple[nodes.Weighted, ...]:
    """The groups `group` holds when it holds nothing else (separators and white space aside), else `()`.

    A phrase made only of groups (the classifier may read `((a long description))` as one) is looked into.
    """
    inner: list[nodes.Weighted] = []
    for child in group.children:
        if isinstance(child, nodes.Weighted):
            inner.append(child)
        elif isinstance(child, nodes.Phrase):
            held = _wrapped_groups(child)
            if not held:
                return ()
            inner.extend(held)
        elif not isinstance(child, nodes.Separator) and not (
            isinstance(child, nodes.Text) and not child.text.strip()
        ):
            return ()
    return tuple(inner)


def _written_against(children: tuple[nodes.Node, ...], position: int) -> nodes.Node | None:
    """The node that the group at `children[position]` is written against, only spaces between (a phrase:
    `a dark outline (#3a2a20)` in a document read as prose; a label: `Style (strict):`), or None."""
    if position < 2:
        return None
    before, space = children[position - 2], children[position - 1]
    return before if isinstance(space, nodes.Separator) and space.role == "space" else None


def _labels_aside(before: nodes.Node | None) -> bool:
    """Whether a group written against `before` is a field label's aside (`Style (strict):`), in brackets
    meant literally; after the label's colon (`attire: (huge hat)`) it weights the label's value."""
    return (
        isinstance(before, nodes.Foreign)
        and before.syntax == "label"
        and not before.text.rstrip().endswith(":")
    )


def _opens_block(node: nodes.Node, following: tuple[nodes.Node, ...]) -> bool:
    """Whether `node`, opening a line, opens a block of its own, as a region does: the opening tag of an XML
    element on a line of its own (`<character_1>` of a structured prompt), or a field label that names one
    of several panels, characters or places (`Panel 1:`, `the girl on the left:`; `names_one_of_several`)."""
    if not isinstance(node, nodes.Foreign):
        return False
    if node.syntax == "label":
        return names_one_of_several(node.text)
    return (
        node.syntax == "markup"
        and not node.text.startswith("</")
        and (not following or (isinstance(following[0], nodes.Separator) and "\n" in following[0].text))
    )
