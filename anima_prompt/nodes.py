"""The typed tree of an Anima prompt: frozen node dataclasses, each with its source span.

A `Prompt` holds a flat sequence of nodes. Items (`Tag`, `Artist`, `Phrase`, `Weighted`, `Foreign`,
`ForeignGroup`, `ErrorNode`) alternate with `Separator` nodes that keep the exact text between them
(commas with their white space, line breaks, blank lines), so rendering a parsed prompt gives back its
text character for character. Groups (`Weighted`, `ForeignGroup`) and `Phrase` hold children of the same
kinds. Every node has a stable `kind` string used in JSON output.

Spans are offsets into the parsed text: `start` and `end` are 0-based (end exclusive), `line` and
`column` are 1-based and locate `start`. Nodes made by `normalize` keep the span of the source text they
came from.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import ClassVar, TypeAlias

from anima_prompt.tagtext import danbooru_name

#: Sub-kinds of `Foreign` and `ForeignGroup`: syntax of other front ends, kept verbatim.
FOREIGN_SYNTAXES = (
    "break",  # A1111 `BREAK`
    "regional",  # Regional Prompter `ADDCOL`, `ADDROW`, `ADDBASE`, `ADDCOMM`
    "and",  # A1111 composable diffusion: `a AND b` conditions on each sub-prompt
    "prompt_editing",  # A1111 `[a:b:0.5]`, `[a:0.5]`, `[a::0.5]`
    "alternation",  # A1111 `[a|b]`
    "deemphasis",  # A1111 and NovelAI `[x]` (divides by 1.1 or 1.05 there; literal text in ComfyUI)
    "nai_emphasis",  # NovelAI `{x}` (multiplies by 1.05; the ComfyUI front end drops the braces)
    "nai_weight",  # NovelAI V4 numeric emphasis `1.5::rain::`, `-0.8::feet::`; the ends `4::`, ` ::` of one
    # over several items
    "nai_character",  # NovelAI V4's `|` between the prompts of its characters
    "nai_action",  # NovelAI V4's actions of a character: `source#hug`, `target#pointing`
    "midjourney",  # Midjourney's parameters: `--niji 6 --ar 16:9 --no text, watermark`
    "detailer",  # Impact Pack detailer wildcards `[ASC]`, `[SEP]`, `[LAB]`, `[ALL]`, `[Label]`
    "placeholder",  # template fields a tool fills in: `{prompt}` (style templates), `<|general|>` (TIPO)
    "variants",  # dynamic prompts / ComfyUI front end `{a|b}`
    "wildcard",  # dynamic prompts `__name__`
    "variable",  # dynamic prompts `${name}`
    "lora",  # `<lora:name:0.8>`, `<lyco:name:0.8>`
    "embedding",  # ComfyUI `embedding:name`
    "pony",  # Pony Diffusion tags `score_9_up`, `rating_safe`, `source_anime`
    "sample_option",  # sample-prompt options of LoRA trainers: `--n` (negative follows), `--w 576`
    "caption_separator",  # LoRA training captions: `|||` (keep tokens), `;;;` (secondary separator)
    "markup",  # XML elements of structured prompts (NewBie-image): `<character_1>`, `<appearance>`, `</n>`
    "label",  # a field label opening a line of a structured prompt: `Style:`, `- Order:`, `attire:`
    "comment",  # `/* ... */`, which the ComfyUI front end removes before the prompt is encoded
)

#: Foreign syntax that stands for text in place or sits between words like one (`__color__ hair`,
#: `smile BREAK sky`): the white space around it stays a space when a prompt is formatted.
INLINE_SYNTAXES = frozenset(
    {
        "break",
        "regional",
        "and",
        "nai_character",
        "wildcard",
        "variable",
        "embedding",
        "sample_option",
        "caption_separator",
        "placeholder",
        "midjourney",
        "label",
        "comment",
    }
)

#: Roles of a `Separator`.
SEPARATOR_ROLES = ("comma", "newline", "paragraph", "sentence", "colon", "pipe", "space")


@dataclass(frozen=True, slots=True)
class Span:
    """Where a node (or a lint finding) is in a text.

    Attributes:
        start: 0-based offset of the first character.
        end: 0-based offset one past the last character.
        line: 1-based line of `start` (lines end at `\n`).
        column: 1-based column of `start`.
    """

    start: int
    end: int
    line: int
    column: int

    @classmethod
    def in_text(cls, text: str, start: int, end: int) -> "Span":
        """The span of `text[start:end]`, with line and column counted from the start of `text`.

        Example:
            >>> Span.in_text("a,\\nbc", 3, 5)
            Span(start=3, end=5, line=2, column=1)
        """
        line = text.count("\n", 0, start) + 1
        column = start - (text.rfind("\n", 0, start) + 1) + 1
        return cls(start, end, line, column)

    def join(self, last: "Span") -> "Span":
        """The span from the start of this one to the end of `last`."""
        return Span(self.start, last.end, self.line, self.column)

    def to_dict(self) -> dict[str, int]:
        """The span as a JSON-ready mapping."""
        return {"start": self.start, "end": self.end, "line": self.line, "column": self.column}


@dataclass(frozen=True, slots=True)
class Separator:
    """The exact text between two items: commas, white space, line breaks, a sentence end.

    Attributes:
        span: source span.
        text: the separator as written, e.g. `", "`, `" ,"`, `"，"`, `"\\n\\n"`, `". "`, `"."` (a period
            closing a tag); inside foreign groups also `":"` and `"|"`.
    """

    span: Span
    text: str
    kind: ClassVar[str] = "separator"

    @property
    def role(self) -> str:
        """One of `SEPARATOR_ROLES`: `paragraph` (blank line), `newline`, `comma`, `sentence` (`.`, `!`,
        `?` ending a sentence before more text), `colon` and `pipe` (inside foreign groups), `space`."""
        breaks = line_breaks(self.text)
        if breaks >= 2:
            return "paragraph"
        if breaks == 1:
            return "newline"
        if self.commas:
            return "comma"
        stripped = self.text.strip()
        if stripped == ":":
            return "colon"
        if stripped == "|":
            return "pipe"
        if stripped:
            return "sentence"
        return "space"

    @property
    def commas(self) -> int:
        """How many commas (`,` or fullwidth `，`) the separator holds; more than one means an empty item."""
        return self.text.count(",") + self.text.count("\uff0c")


@dataclass(frozen=True, slots=True)
class Text:
    """Literal text inside a `Phrase` or a `ForeignGroup` (never a top-level item)."""

    span: Span
    text: str
    kind: ClassVar[str] = "text"


@dataclass(frozen=True, slots=True)
class Tag:
    """A Danbooru-style tag such as `long hair`, `saber \\(fate\\)`, `score_7` or `^_^`.

    Attributes:
        span: source span.
        text: the tag as written (escapes kept).
        qualifier: span of an *unescaped* parenthesised qualifier ending the tag (`saber (fate)`), which
            ComfyUI reads as a 1.1 weight group; None when the tag has none.
    """

    span: Span
    text: str
    qualifier: Span | None = None
    kind: ClassVar[str] = "tag"

    @property
    def name(self) -> str:
        """The Danbooru name of the tag, the key for tag-index lookups (`saber_(fate)`)."""
        return danbooru_name(self.text)


@dataclass(frozen=True, slots=True)
class Artist:
    """An `@artist` tag such as `@nnn yryr` or `@hammer \\(sunset beach\\)`.

    Attributes:
        span: source span.
        text: the tag as written, `@` included.
        qualifier: span of an unescaped qualifier group, as for `Tag`.
    """

    span: Span
    text: str
    qualifier: Span | None = None
    kind: ClassVar[str] = "artist"

    @property
    def name(self) -> str:
        """The Danbooru name of the artist, without `@` (`hammer_(sunset_beach)`)."""
        return danbooru_name(self.text)


@dataclass(frozen=True, slots=True)
class Phrase:
    """Natural language: one or more sentences, kept as written.

    A sentence continues across commas until its end punctuation, so `She smiles, waving.` is one
    phrase. Children are `Text` nodes, plus any weight groups or foreign syntax written inside the prose;
    `render(phrase)` gives the phrase as written.
    """

    span: Span
    children: tuple["Node", ...]
    kind: ClassVar[str] = "phrase"


@dataclass(frozen=True, slots=True)
class Weighted:
    """A ComfyUI weight group: `(x)` multiplies the weight by 1.1, `(x:1.5)` sets it to 1.5.

    Attributes:
        span: source span, parentheses included.
        children: the group's content (items and separators).
        weight_text: the explicit weight as written from its colon up to `)` (`":1.5"`, `": 2 "`), or
            `""` for a plain `(x)` group.
    """

    span: Span
    children: tuple["Node", ...]
    weight_text: str = ""
    kind: ClassVar[str] = "weighted"

    @property
    def weight(self) -> float | None:
        """The explicit weight, or None for a plain `(x)` group."""
        number = self.weight_number
        return None if number is None else float(number)

    @property
    def weight_number(self) -> Decimal | None:
        """The explicit weight as an exact decimal, or None for a plain group."""
        if not self.weight_text:
            return None
        try:
            return Decimal(self.weight_text.strip().lstrip(":").strip())
        except InvalidOperation:  # the grammar only lets numbers through; kept as a safe fallback
            return None


@dataclass(frozen=True, slots=True)
class ForeignGroup:
    """Bracketed syntax of another front end, e.g. `[@a:@b:0.5]`, `[a|b]`, `[x]`, `{a|b}`.

    Attributes:
        span: source span, brackets included.
        syntax: one of `FOREIGN_SYNTAXES` (`prompt_editing`, `alternation`, `deemphasis`, `nai_emphasis`,
            `variants`).
        open: the opening bracket.
        children: the content; `:` and `|` delimiters are `Separator` nodes, numbers are `Text`.
        close: the closing bracket.
    """

    span: Span
    syntax: str
    open: str
    children: tuple["Node", ...]
    close: str
    kind: ClassVar[str] = "foreign"


@dataclass(frozen=True, slots=True)
class Foreign:
    """A single piece of syntax of another front end: `BREAK`, `__wildcard__`, `<lora:x:1>`, `score_9_up`.

    Attributes:
        span: source span.
        syntax: one of `FOREIGN_SYNTAXES` (`break`, `regional`, `wildcard`, `variable`, `lora`, `embedding`,
            `pony`, `sample_option`, `caption_separator`, `placeholder`, `markup`).
        text: the text as written.
    """

    span: Span
    syntax: str
    text: str
    kind: ClassVar[str] = "foreign"


@dataclass(frozen=True, slots=True)
class ErrorNode:
    """Text that could not be read as prompt syntax: an unbalanced bracket, a stray weight, a lone `\\`.

    Attributes:
        span: source span.
        text: the offending text as written (rendered unchanged).
        code: a short stable identifier, e.g. `unclosed-group` (see `anima_prompt.errors`).
        message: one sentence saying what is wrong.
    """

    span: Span
    text: str
    code: str
    message: str
    kind: ClassVar[str] = "error"


Node: TypeAlias = Tag | Artist | Phrase | Weighted | ForeignGroup | Foreign | ErrorNode | Separator | Text
Group: TypeAlias = Phrase | Weighted | ForeignGroup


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A problem found while parsing, with where it is and an excerpt pointing at it.

    Attributes:
        code: the `ErrorNode.code`.
        message: one sentence saying what is wrong.
        span: source span.
        excerpt: the source line and a caret under the problem.
    """

    code: str
    message: str
    span: Span
    excerpt: str

    def to_dict(self) -> dict[str, object]:
        """The diagnostic as a JSON-ready mapping."""
        return {
            "code": self.code,
            "message": self.message,
            "span": self.span.to_dict(),
            "excerpt": self.excerpt,
        }


@dataclass(frozen=True, slots=True)
class Prompt:
    """A parsed (or normalised) prompt.

    Attributes:
        source: the text that was parsed; `render(prompt)` equals it for a parsed prompt.
        children: top-level items and separators, in order.
        diagnostics: problems found by the parser (one per `ErrorNode`).
        dataset: `deviantart` or `ye-pop` when that dataset tag stands alone on the first line.
    """

    source: str
    children: tuple[Node, ...]
    diagnostics: tuple[Diagnostic, ...] = ()
    dataset: str | None = None
    kind: ClassVar[str] = "prompt"

    @property
    def items(self) -> tuple[Node, ...]:
        """The top-level nodes that are not separators."""
        return tuple(child for child in self.children if not isinstance(child, Separator))


def line_breaks(text: str) -> int:
    """How many line breaks `text` holds, counting `\\r\\n` once."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def children_of(node: Node | Prompt) -> tuple[Node, ...]:
    """The child nodes of a prompt, group or phrase; `()` for leaves."""
    if isinstance(node, Prompt | Phrase | Weighted | ForeignGroup):
        return node.children
    return ()


def walk(root: Node | Prompt) -> Iterator[Node]:
    """Every node under `root` (not `root` itself), depth first, in source order."""
    stack = list(reversed(children_of(root)))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, Phrase | Weighted | ForeignGroup):
            stack.extend(reversed(node.children))
