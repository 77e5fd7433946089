"""Decide what each run of tokens is: tag, @artist, natural-language phrase, qualifier, foreign syntax.

The grammar gives sequences of tokens and bracket groups; a `Classifier` turns one sequence into nodes:

1. **Items.** The sequence splits at commas (`,` and the fullwidth `，`), line breaks (not one after a word
   no line ends with, before a lowercase word: `Preserve the` / `relevant details`), and sentence ends:
   `.` or `…` followed by white space and more text (`2girls. smile`, `saber (fate). She waves.`), or by a
   sentence in sentence case after a lowercase letter (`brown_shorts.Sit with your legs apart`), `!` or
   `?` followed by white space and a capital. A CJK sentence stays one item, read with its `。`. A period
   after a single letter or an abbreviation (`Mr. Smith`, `a.i. voice`) ends no sentence, nor does one
   inside a tag the index knows (`kimi no na wa.`). A comma inside double quotes that a word opens and that
   close within `MAX_QUOTED_COMMAS` commas on the line splits nothing (`a sign that says "Hello, world"`).
2. **Reading each item** (`boundary.read_item`, the tag/prose model): an item opening with `@` is an
   `Artist` (a bare `@` is an error); `score_9_up`, `rating_safe`, `source_anime` are Pony tags (`Foreign`,
   `pony`); `BREAK`, Regional Prompter keywords, `__wildcard__`, `${variable}`, `embedding:name`,
   `<lora:...>`, template fields (`{prompt}`, `<|general|>`), caption separators and sample-prompt options
   are `Foreign` (the post-lexer makes their
   tokens); tag words, one space or an underscore, then a plain `( )` group of a few words (`saber (fate)`,
   `tracer_(overwatch)`) make one `Tag` whose `qualifier` marks the unescaped group (`word(x)`, without
   the space, is a tag and a weight group); prose is a `Phrase`; anything else is a `Tag`. A tag's closing
   period is a separator (`long hair.`).
3. **Sentences.** Items joined by commas up to a sentence end form a *segment*. When a segment ends with end
   punctuation and holds prose, one `Phrase` runs from its first prose item to that end across at most
   `MAX_SENTENCE_GAP` tag-like items in a row (`She wears a red dress, white gloves, black boots, and a
   hat.`), or across any number of plain short ones that a member opening with `and` or `or` ends (`... tall
   trunks, bare branches, ferns, tiny white flowers, and deep black gaps ...`); in running text (the segment
   follows a sentence of prose on its line and starts with a capital or a digit) it starts at the segment's
   first item, and a segment of tag-like items is a sentence too (`... effects. Detailed illustration,
   cinematic lighting.`); a capitalised name right before an apposition opening with an article opens the
   sentence (`Kiki, a young witch, flies ...`), and so does a capitalised item opening the segment before a
   predicate that opens with its verb (`Two glass spheres, one large and one small, float on a cloth.`),
   unless it is a special tag or one the index knows. A single capitalised item closed by a full stop (or the
   prompt's end) that follows a sentence of prose (or another such item), or opens the line before one, is a
   sentence of a few words (`Dappled green-purple light.`, `Anime style. A close-up of a girl.`), unless it is
   a special tag or a tag the index knows; a list after it stays a list. Neighbouring sentences of prose form
   one `Phrase`. Tags before a sentence stay tags (`1girl, solo. She smiles.`). A segment without end
   punctuation joins its items only when it is one sentence ending with a list (`_list_run`): prose from its
   first prose item to one that opens a list (`..., surrounded by drawings of lanterns`), then only short list
   members to its end (`smoke, paper cranes, and koi`), with at least as many words of prose as of tags. In a
   dataset caption (after `deviantart` or `ye-pop` alone on the first line) each line of title and description
   is a `Phrase`.
4. **Structure.** In a structured prompt, the XML elements the prompt both opens and closes are markup
   (`<appearance>chibi, red_eyes</appearance>`); square brackets that fill a slot of a template (right
   after a word that wants an object, `wearing [outfit]`, or holding slash choices, `[hair/eyes]`) and
   constant-like fields in braces (`{SUBJECT_DESCRIPTION}`) are placeholders, not de-emphasis or emphasis;
   so are the slots of a prompt guide named in words (`hairstyle tags`, `outfit trigger`, `@artist`) that
   the index does not know. A field label opening a line (`attire:`, `- BASE:`, `Style (strict):`, `Panel 1:`,
   not a metatag such as `rating:`; in words of a phrase only when it names one of several characters,
   panels or places: `the girl on the left:`) is split off the item it was written against as a `label`.
   A prompt written in another language in Latin letters (`boundary.in_another_language`: Portuguese,
   Spanish, French, Italian, German) reads its items as prose, but for special tags and tags the index knows.

Classification never canonicalises text; `normalize` does. A `Classifier` made with a tag vocabulary reads
items with the index's knowledge (the same model, see `boundary.py`); the parser's default is index-free.
"""

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from itertools import pairwise
from typing import TypeAlias, TypeGuard

from lark import Token

from anima_prompt.boundary import (
    ABBREVIATIONS,
    ARTICLES,
    Reading,
    TagVocabulary,
    continues_list,
    ends_sentence,
    in_another_language,
    is_cjk,
    item_shape,
    opens_list,
    opens_with_verb,
    read_item,
    wants_object,
)
from anima_prompt.nodes import (
    Artist,
    ErrorNode,
    Foreign,
    ForeignGroup,
    Node,
    Phrase,
    Separator,
    Span,
    Tag,
    Text,
    Weighted,
    line_breaks,
)
from anima_prompt.render import render
from anima_prompt.tagtext import danbooru_name
from anima_prompt.vocab import special_group, special_tags
from anima_prompt.weights import WEIGHT_NUMBER

#: Brackets nested deeper than this are reported and read as text, which bounds the tree's depth.
MAX_NESTING = 32
#: Impact Pack's detailer-wildcard keywords (`[ASC]`, `[SEP]`, ...): they order the detected segments and
#: separate the prompts for each; `[ALL]` prefixes every segment's prompt in `[LAB]` mode.
DETAILER_KEYWORDS = frozenset({"ASC", "DSC", "RND", "LAB", "SEP", "ALL"})
#: Fields of prompt templates that a tool fills in: SDXL/Fooocus style templates and quality presets write
#: `{prompt}`; prompt-generator templates (TIPO) write `<|characters|>`, `<|general|>`; trainers' sample
#: prompts `<trigger_placeholder>` (words in angle brackets, no `:`, unlike a `<lora:...>` tag), and markers
#: such as the `<Prompt Start>` that Lumina-family system prompts put before the prompt.
TEMPLATE_FIELDS = frozenset({"prompt"})
#: A template field named like a constant (`{SUBJECT_DESCRIPTION}`), a variable in camel case
#: (`{characterDescription}`), one word naming a prompt (`{userprompt}`, `{positive_prompt}`) or words in
#: title case (`{Brand Name}`, `{The Lord of the Rings}`): no tag is written so.
_FIELD_NAME = re.compile(
    r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[a-z][a-z0-9]*(?:[A-Z][a-z0-9]+)+|[a-z]+_?prompt|prompt_?[a-z]+"
    r"|[A-Z][a-z]+(?: (?:[a-z]{1,3} )*[A-Z][a-z]+)+"
)
#: A field of a template named like a constant, written bare (`POSITIVE_PROMPT`): tags are lowercase.
_CONSTANT_FIELD = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
#: A field or section of a template in square brackets, named in capitals (`[SUBJECT]`, `[CHARACTER_1]`,
#: `[CAMERA tags]`) or in a few CJK characters (`[角色]`, `[通用标签...]`): tags are written in lowercase
#: English, so no one de-emphasises such a name.
_SQUARE_FIELD = re.compile(
    r"[A-Z][A-Z0-9]+(?:[_ ][A-Z0-9]+)*(?: tags?)?"
    r"|[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]{1,8}(?:\.\.\.|…)?"
)
#: Fields in square brackets: ai-toolkit writes `[trigger]` in captions and sample prompts for the trigger
#: word it puts there at training time.
TRAINER_FIELDS = frozenset({"trigger"})
#: NovelAI V4's numeric emphasis around one item: `1.5::rain::`, `-0.8::feet::` (a negative weight removes).
_NAI_WEIGHT = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)::(?:[^:]|:(?!:))+::")
#: The two ends of such an emphasis over several comma-separated items: `4::masterpiece, best quality ::`.
_NAI_WEIGHT_OPEN = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)::(?=\S)(?!.*::)")
_NAI_WEIGHT_CLOSE = re.compile(r"(?<!:)[ \t]*::$")
#: NovelAI V4's action of a character prompt: `source#hug`, `target#pointing`, `mutual#holding hands`.
_NAI_ACTION = re.compile(r"(?:source|target|mutual)#\S")
_PLACEHOLDER = re.compile(r"<\|[\w ]+\|>\.?|<[A-Za-z][\w-]*(?: [A-Za-z][\w-]*)*>")
#: A slot of a prompt guide's template named in words (`hairstyle tags`, `pose/action tags`, `outfit trigger`,
#: `quality keywords`): the guide's reader replaces it; no tag ends so unless the index knows it (`dog tags`).
_SLOT_NAME = re.compile(
    r"[A-Za-z][\w/+-]*(?:[ _][A-Za-z][\w/+-]*)*[ _](?:tags?|triggers?|keywords?)", re.IGNORECASE
)


def _label_pattern(most_words: int) -> re.Pattern[str]:
    """A field label of one to `most_words` words, the first a word, a list marker before them, white space
    or the line's end after its colon."""
    return re.compile(
        r"(?:[-*•][ \t]+)?[A-Za-z][\w/&'-]*"
        rf"(?:[ \t][A-Za-z0-9][\w/&'-]*){{0,{most_words - 1}}}[ \t]*:(?=\s|$)"
    )


#: The field label opening a line of a structured prompt: `Style:`, `- Order:`, `attire:`, `- BASE:`,
#: `Panel 1:` (one to three words).
_FIELD_LABEL = _label_pattern(3)
#: A label in words read as a phrase: `the girl on the left:` opening the line of a character group (up to
#: `PHRASE_LABEL_WORDS` words, naming one of several characters, panels or places: `names_one_of_several`).
PHRASE_LABEL_WORDS = 12
_PHRASE_LABEL = _label_pattern(PHRASE_LABEL_WORDS)
#: Words before a colon that make metatags or other front ends' prefixes, not labels (`rating: general`).
_NOT_LABELS = frozenset({"rating", "score", "year", "source", "artist", "by"})
_SLOT_WORDS = frozenset({"tag", "tags", "trigger", "triggers", "keyword", "keywords"})
#: An artist slot of a template (`@artist`, `@artist_name`, `@style name`).
_ARTIST_SLOT = re.compile(r"@[ _]?(?:your[ _])?(?:artist|style|name)(?:[ _](?:name|tags?))?", re.IGNORECASE)
#: A prompt of this many words or more, most of them prose (`DOCUMENT_PROSE_SHARE`), in this many sentences or
#: more, with hardly a known tag (`DOCUMENT_KNOWN_SHARE`), is a document in natural language: the two long
#: specifications for GPT-Image and Gemini in the corpus have about 300 and 570 words in 7 and 14 sentences
#: (their lists end in none), 1 to 2 % of their words in known tags; no other prompt of 150 words or more
#: is three-fifths prose with so few known tags.
DOCUMENT_WORDS = 150
DOCUMENT_SENTENCES = 5
DOCUMENT_PROSE_SHARE = 0.6
DOCUMENT_KNOWN_SHARE = 0.02
#: Clauses that make a prompt written all in CJK scripts a description (`_cjk_description`).
CJK_DESCRIPTION_CLAUSES = 2
#: A prompt without commas of this many items ended by full stops, this many of them sentences, is written in
#: sentences and fragments (`_fragment_document`).
FRAGMENT_ITEMS = 6
FRAGMENT_SENTENCES = 2
_SENTENCE_ENDS = re.compile(r"[.!?](?=\s|$)")
_MIN_WORD_CHARS = 3  # characters a word and its separator take at least, on average
#: Labelled lines a spec sheet has at least (`Classifier._spec_sheet`).
SPEC_SHEET_LINES = 3
#: Tag-like items in a row that a sentence may hold between its prose parts (`a hat, gloves, boots, and`).
MAX_SENTENCE_GAP = 3
MAX_LIST_WORDS = 4  # a member of a list inside a sentence that runs past `MAX_SENTENCE_GAP` (`ghostly ferns`)
MAX_QUOTED_COMMAS = 3  # quoted words with more commas than this are no short text to draw (a list in quotes)

Atom: TypeAlias = Token | Weighted | ForeignGroup

_SEPARATORS = frozenset({"COMMA", "NEWLINE"})
_TEXTISH = frozenset({"TEXT", "WS", "ESCAPED", "KAOMOJI", "LT", "AT", "COLON", "PIPE"})
_FOREIGN_TOKENS = {
    "LORA": "lora",
    "WILDCARD": "wildcard",
    "BREAK": "break",
    "REGIONAL": "regional",
    "COMPOSE": "and",
    "VARIABLE": "variable",
    "EMBEDDING": "embedding",
    "SAMPLE_OPTION": "sample_option",
    "CAPTION_SEPARATOR": "caption_separator",
    "CHARACTER_SEPARATOR": "nai_character",
    "MIDJOURNEY": "midjourney",
    "COMMENT": "comment",
}
_REGION_TOKENS = frozenset({"BREAK", "REGIONAL", "COMPOSE", "CHARACTER_SEPARATOR"})
_WORD_TOKENS = frozenset({"VARIABLE", "WILDCARD"})  # foreign syntax that stands for a word in place
_ERRORS = {
    "UNCLOSED": ("unclosed-group", "'{text}' is never closed"),
    "UNMATCHED": ("unmatched-close", "'{text}' closes no open bracket"),
    "TOO_DEEP": ("nesting-too-deep", f"brackets nested deeper than {MAX_NESTING} levels are read as text"),
    "STRAY_WEIGHT": ("dangling-weight", "weight '{text}' is not inside a '(' group"),
    "STRAY_COLON": ("dangling-weight", "':' in a weight group must be followed by a number, as in (x:1.2)"),
    "BACKSLASH": ("lone-backslash", "'\\' escapes only '(' and ')'; this one reaches the model as text"),
    "CONTROL": ("control-character", "{kind} {codes} in the prompt"),
}

_PONY = re.compile(
    r"score[_ ]\d+[_ ]up|score_\d+(?:_\d+)+|rating[_ ](?:safe|questionable|explicit|general|sensitive|[sqeg])"
    r"|source[_ ](?:anime|pony|furry|cartoon|cartoons|realistic|photo|3d)",
    re.IGNORECASE,
)
_PONY_INITIALS = frozenset("sSrR")
_WEIGHT_LIKE = re.compile(r"\s*(?:[+-]?[\d.]|$)")
_STOP_CHARACTERS = frozenset(".!?…")
_INVISIBLE = frozenset("\u200b\u2060\ufeff")  # zero-width space, word joiner, byte-order mark
_NEVER_QUALIFIERS = frozenset({"quality", "score"})  # special-tag groups no Danbooru qualifier belongs to
# end punctuation after a letter, digit, closing bracket or quote, then white space and more text; group 1 is
# the punctuation. The CJK `。！？` end no item: a CJK sentence is one item, read with its punctuation.
_CLOSERS = ")]}\"'”’"  # closing brackets and quotes, after which a period ends a sentence
# a period standing alone between spaces after a word ends an item too: the SDXL style templates append
# their words as `{prompt} . 35mm photograph, film`; so does a period glued to a sentence in sentence case
# (`brown_shorts.Sit with your legs apart`; `_is_stop` wants a lowercase letter before it)
_STOP = re.compile(
    rf"(?:(?<=[^\W_])|(?<=[{re.escape(_CLOSERS)}]))(?: (?=\.))?([.…]+|[!?]+)"
    r"(?:\s+(?=\S)|(?=[A-Z][a-z]+[ \t]+[a-z]))"
)
# a capital opening a sentence, or a quotation; not one in a group, whose tags `fmt` lowercases
_CAPITAL_START = re.compile(r"[\"'“‘«]?[A-Z]")
_LEADING_STOP = re.compile(r"[.!?…。！？]+")
_OPENING_STOP = re.compile(r"[.…]+\s+(?=\S)")
# a period closing a tag, after a letter or digit
_CLOSING_PERIOD = re.compile(r"(?<=[^\W_])[.。]+$")
# the last word before a period; an underscore separates words, as the space it stands for does
_LAST_WORD = re.compile(r"[^\W_](?:[^\W_]|[.'\-])*$")

ReadText: TypeAlias = Callable[[str], bool]


class Classifier:
    """Turns the token sequences of the grammar into nodes (the steps of the module docstring).

    Args:
        vocabulary: the tag index to read items with, or None for the index-free model.
    """

    def __init__(self, vocabulary: TagVocabulary | None = None) -> None:
        self.vocabulary = vocabulary
        # items repeat across prompts; the reading of a text depends on the text only
        self.read: Callable[[str], Reading] = lru_cache(maxsize=16384)(self._read)
        self._plain_kind = lru_cache(maxsize=16384)(self._kind_of)

    def _read(self, text: str) -> Reading:
        return read_item(text, self.vocabulary)

    def is_prose(self, text: str) -> bool:
        """Whether `text` reads as prose by itself (`Reading.PROSE`)."""
        return self.read(text) is Reading.PROSE

    def is_name(self, text: str) -> bool:
        """Whether `text` reads as a tag (`Reading.TAG`): short enough to be named, as a Danbooru name with a
        qualifier is (a long description ending in a group is not one: `beach tropical (sunset)`)."""
        return self.read(text) is Reading.TAG

    def known(self, text: str) -> bool:
        """Whether the vocabulary knows `text` (any spelling) as a tag; False without a vocabulary."""
        if self.vocabulary is None:
            return False
        name = danbooru_name(text)
        return bool(name) and self.vocabulary.is_tag(name)

    def sequence(self, atoms: Sequence[Atom], context: str = "top") -> tuple[Node, ...]:
        """Turn the atoms of one sequence (the prompt, or a group's content) into nodes.

        Args:
            atoms: tokens and already-built group nodes, in source order.
            context: `top`, `paren` (a weight group: a `:` before something number-like is reported),
                `square` or `brace`.

        Returns:
            Items and `Separator` nodes covering every atom, in order; no two separators are neighbours.
        """
        if context == "paren":
            atoms = _mark_stray_colon(atoms)
        nodes: list[Node] = []
        item: list[Atom] = []
        quotes = any(isinstance(atom, Token) and ('"' in atom or "“" in atom) for atom in atoms)
        for position, atom in enumerate(atoms):
            kind = atom.type if isinstance(atom, Token) else None
            if kind is None or (kind not in _SEPARATORS and kind not in _ERRORS):
                item.append(atom)
                continue
            assert isinstance(atom, Token)
            if quotes and kind == "COMMA" and _inside_quote(item, atoms[position + 1 :]):
                item.append(sub_token(atom, "TEXT", 0, len(atom)))  # `says "Hello, world"`: quoted words
                continue
            if kind == "NEWLINE" and _line_runs_on(item, atom, atoms[position + 1 : position + 2]):
                item.append(sub_token(atom, "WS", 0, len(atom)))  # `Preserve the\nrelevant details`
                continue
            self._flush_item(item, nodes)
            item = []
            nodes.append(Separator(token_span(atom), str(atom)) if kind in _SEPARATORS else error_node(atom))
        self._flush_item(item, nodes)
        nodes = self._settle_long_items(_merge_separators(nodes), top=context == "top")
        if context == "top" and any(type(atom) is Token and ":" in atom for atom in atoms):
            nodes = _merge_separators(self._spec_sheet(self._field_labels(nodes)))
        if context == "top" and (
            _in_another_language(nodes)
            or self._prose_document(nodes)
            or _fragment_document(nodes)
            or _cjk_description(nodes)
        ):
            nodes = [self._as_prose(node) for node in nodes]
        if context == "top":
            nodes = _template_slots(_markup_elements(_detailer_labels(_dataset_caption(nodes))))
        return tuple(assemble_sentences(nodes, self.known))

    def _settle_long_items(self, nodes: list[Node], *, top: bool) -> list[Node]:
        """Long items without sentence words (`Reading.LONG`, read as tags so far) are prose when more of the
        words on their line are prose than tags, or no tag shares a line of the prompt: descriptions in a
        prose prompt or on their own, tags in a tag list (a group's content is part of a list)."""
        if not any(self._long(node) for node in nodes):
            return nodes  # the common case
        settled = list(nodes)
        line: list[int] = []
        for position, node in enumerate([*nodes, None]):
            if node is not None and not _breaks_line(node):
                line.append(position)
                continue
            longs = [index for index in line if self._long(nodes[index])]
            if longs:
                prose = sum(_words(nodes[index]) for index in line if isinstance(nodes[index], Phrase))
                last = max(index for index in line if not isinstance(nodes[index], Separator))
                # a group closing the line right after a long item weights its last words (`a beach
                # at dusk (sunset)`); between long items it is one more tag of a list without commas
                tags = sum(
                    _words(nodes[index])
                    for index in line
                    if isinstance(nodes[index], Tag | Artist)
                    or (
                        isinstance(nodes[index], Weighted)
                        and not (index == last and _written_onto(nodes, index, longs))
                    )
                )
                others = tags - sum(_words(nodes[index]) for index in longs)
                if prose > others or (top and others == 0):  # alone on its line: a description
                    for index in longs:
                        settled[index] = _phrase_of([nodes[index]])
            line = []
        return settled

    def _field_labels(self, nodes: list[Node]) -> list[Node]:
        """A field label opening a line of a structured prompt (`attire: (huge hat)`, `- Order: 1 black cat`,
        `Layout (strict):`, `Panel 1:`, `the girl on the left: 1girl, ...`) is split off the item it was
        read with as a `label` (a `Foreign` node); the rest of the item is read on its own. A label inside a
        line is no label (`best quality, extra:`)."""
        result: list[Node] = []
        at_line_start = True
        labelled = False  # the line opened with a label: what follows is its value
        position = 0
        while position < len(nodes):
            node = nodes[position]
            if isinstance(node, Separator):
                if line_breaks(node.text) > 0:
                    at_line_start, labelled = True, False
                result.append(node)
                position += 1
                continue
            if at_line_start and isinstance(node, Tag) and node.qualifier is None:
                aside = _label_aside(nodes, position)
                if aside is not None:
                    result.extend(self._label_with_aside(nodes[position : aside + 1]))
                    position = aside + 1
                    at_line_start, labelled = False, True
                    continue
                split: list[Node] | None = self._split_label(node)
            elif at_line_start and isinstance(node, Phrase):
                split = self._split_phrase_label(node)
            else:
                split = None
            if split is None:
                result.append(self._field_value(node) if labelled else node)
            else:
                labelled = _is_label_node(split[0])
                result.extend(
                    [split[0], *(self._field_value(part) for part in split[1:])] if labelled else split
                )
            at_line_start = False
            position += 1
        return result

    def _spec_sheet(self, nodes: list[Node]) -> list[Node]:
        """A prompt of `SPEC_SHEET_LINES` labelled lines or more (a label split off, or a sentence that opens
        with one: `Hair: long dark hair with ...`) whose values are mostly descriptions in sentence case
        (`CHARACTER: Beautiful Indian woman, elegant hourglass figure, ...`) is a spec sheet written for
        another model: its other values the index does not know are descriptions too."""
        labels = sum(_is_label_node(node) or _labelled_sentence(node) for node in nodes)
        if labels < SPEC_SHEET_LINES:
            return nodes
        prose = sum(isinstance(node, Phrase) for node in nodes)
        unknown = [
            position
            for position, node in enumerate(nodes)
            if isinstance(node, Tag)
            and node.qualifier is None
            and special_group(node.text) is None
            and not self.known(node.text)
        ]
        if prose < len(unknown) or prose < labels:
            return nodes
        result = list(nodes)
        for position in unknown:
            result[position] = _phrase_of([nodes[position]])
        return result

    def _field_value(self, node: Node) -> Node:
        """An item of a labelled line (`TECHNICAL SPECS: Full body portrait | Cel-shaded anime style`): a `|`
        there separates the field's values (no NovelAI character prompt opens with a label), and a value
        in sentence case that the index does not know is a description, not a tag."""
        if isinstance(node, Foreign) and node.syntax == "nai_character":
            return Separator(node.span, node.text)
        if isinstance(node, Tag) and _sentence_case(node.text) and not self.known(node.text):
            return _phrase_of([node])
        return node

    def _split_label(self, tag: Tag) -> list[Node]:
        """`environment: japanese teahouse interior` → the label, the space, the rest read as an item."""
        match = _FIELD_LABEL.match(tag.text)
        if match is None or not _is_label(match.group()) or self.known(tag.text):
            return [tag]
        label = Foreign(_sub_span(tag.span, 0, match.end()), "label", match.group())
        return [label, *self._label_value(tag, match.end(), match.end())]

    def _split_phrase_label(self, phrase: Phrase) -> list[Node]:
        """`the girl on the left: 1girl`, read as one phrase → the label, the space, the rest as an item."""
        if len(phrase.children) != 1 or not isinstance(phrase.children[0], Text):
            return [phrase]
        text = phrase.children[0]
        match = _PHRASE_LABEL.match(text.text)
        if match is None or not _is_label(match.group()) or not names_one_of_several(match.group()):
            return [phrase]  # `Do not include: text, ...` is a sentence
        label = Foreign(_sub_span(text.span, 0, match.end()), "label", match.group())
        return [label, *self._label_value(text, match.end(), match.end())]

    def _label_with_aside(self, nodes: Sequence[Node]) -> list[Node]:
        """`Layout (strict): text`, read as a tag, a space, a weight group and `: text`: the label's words,
        the group as it is (ComfyUI weights it), the colon and the rest of the last item read on its own."""
        words, space, aside, last = nodes
        assert isinstance(words, Tag) and isinstance(last, Tag) and isinstance(aside, Weighted)
        label = Foreign(words.span, "label", words.text)
        aside = Weighted(aside.span, tuple(_as_words(child) for child in aside.children), aside.weight_text)
        return [label, space, aside, *self._label_value(last, 0, 1)]

    def _label_value(self, tag: Tag | Text, gap_from: int, value_from: int) -> list[Node]:
        """What follows a label in `tag` (or in the text of a phrase): the separator from `gap_from` over the
        white space after `value_from` (the colon too, after a label's aside), then the rest read as an item,
        if any."""
        rest = tag.text[value_from:]
        start = value_from + len(rest) - len(rest.lstrip())
        gap: list[Node] = (
            [Separator(_sub_span(tag.span, gap_from, start), tag.text[gap_from:start])]
            if start > gap_from
            else []
        )
        if start == len(tag.text):
            return gap
        return [*gap, self._plain(_sub_span(tag.span, start, len(tag.text)), tag.text[start:])]

    def _prose_document(self, nodes: list[Node]) -> bool:
        """Whether the prompt is a document in natural language (`DOCUMENT_WORDS` words or more, most of them
        prose, in `DOCUMENT_SENTENCES` sentences or more, hardly a known tag): a specification written for
        an LLM-driven image model, whose lists and headings are parts of its sentences, not tags."""
        if not nodes or nodes[-1].span.end - nodes[0].span.start < DOCUMENT_WORDS * _MIN_WORD_CHARS:
            return False  # too short to hold the words
        phrases = [render(node) for node in nodes if isinstance(node, Phrase)]
        prose = sum(len(text.split()) for text in phrases)
        if prose < DOCUMENT_PROSE_SHARE * DOCUMENT_WORDS:
            return False  # the common case: a tag list, or a prompt of a few sentences
        sentences = sum(len(_SENTENCE_ENDS.findall(text)) for text in phrases)
        tags = known = 0
        for node in nodes:
            if isinstance(node, Tag):
                words = len(node.text.split())
                tags += words
                known += words if special_group(node.text) is not None or self.known(node.text) else 0
        total = prose + tags
        return (
            total >= DOCUMENT_WORDS
            and sentences >= DOCUMENT_SENTENCES
            and prose >= DOCUMENT_PROSE_SHARE * total
            and known <= DOCUMENT_KNOWN_SHARE * total
        )

    def _as_prose(self, node: Node) -> Node:
        """A tag of a prompt in another language as the words it is, unless it is a special tag or a tag the
        index knows (`1girl, safe` in a Portuguese description)."""
        if not isinstance(node, Tag) or special_group(node.text) is not None or self.known(node.text):
            return node
        return _phrase_of([node])

    def _long(self, node: Node) -> bool:
        """Whether `node` is a tag read as `Reading.LONG` (a qualified tag is always a tag)."""
        return isinstance(node, Tag) and node.qualifier is None and self.read(node.text) is Reading.LONG

    def _flush_item(self, item: Sequence[Atom], nodes: list[Node], *, after_group: bool = False) -> None:
        """Classify one item (atoms between separators), moving its edge white space into separators;
        `after_group`: the atoms follow a group of the same item, whose sentence a stop may close."""
        if len(item) == 1 and type(item[0]) is Token and item[0].type == "TEXT":
            token = item[0]
            if _STOP_CHARACTERS.isdisjoint(token):
                # the common case: one tag or phrase without end punctuation (never an artist: no AT token)
                nodes.append(self._plain(token_span(token), str(token)))
                return
        start, end = 0, len(item)
        while start < end and _is_ws(item[start]):
            start += 1
        while end > start and _is_ws(item[end - 1]):
            end -= 1
        nodes.extend(Separator(atom_span(atom), str(atom)) for atom in item[:start])
        if start < end:
            for part in self._split_stops(item[start:end], after_group=after_group):
                if isinstance(part, Separator):
                    nodes.append(part)
                else:
                    nodes.extend(self._classify_item(part))
        nodes.extend(Separator(atom_span(atom), str(atom)) for atom in item[end:])

    def _plain(self, span: Span, text: str) -> Node:
        """One TEXT token without end punctuation: a Pony tag, a NovelAI action, a phrase or a tag."""
        if "#" in text and _NAI_ACTION.match(text):
            return Foreign(span, "nai_action", text)
        kind = self._plain_kind(text)
        if isinstance(kind, str):
            return Foreign(span, kind, text)
        if kind is Tag:
            return Tag(span, text)
        return Phrase(span, (Text(span, text),))

    def _kind_of(self, text: str) -> type[Tag | Phrase] | str:
        """`Tag`, `Phrase`, or the syntax of a `Foreign` node (`pony`, `placeholder`)."""
        if text[:1] in _PONY_INITIALS and _PONY.fullmatch(text):
            return "pony"
        if self.is_prose(text):
            return Phrase
        if "_" in text and self._is_constant_field(text):
            return "placeholder"
        return "placeholder" if self._is_slot_name(text) else Tag

    def _is_constant_field(self, text: str) -> bool:
        """Whether `text` is a template's field named like a constant (`POSITIVE_PROMPT`, `CHAR_1`) that a
        script replaces; needs the vocabulary, since no tag the index knows is one."""
        return (
            self.vocabulary is not None
            and _CONSTANT_FIELD.fullmatch(text.strip()) is not None
            and not self.known(text)
        )

    def _is_slot_name(self, text: str) -> bool:
        """Whether `text` names a slot of a prompt guide's template (`hairstyle tags`); needs the vocabulary
        (`dog tags` is a tag)."""
        words = text.rstrip().replace("_", " ").rsplit(" ", 1)
        return (
            len(words) == 2
            and words[1].lower() in _SLOT_WORDS
            and self.vocabulary is not None
            and _SLOT_NAME.fullmatch(text.strip()) is not None
            and not self.known(text)
        )

    def _split_stops(
        self, atoms: Sequence[Atom], *, after_group: bool = False
    ) -> list[list[Atom] | Separator]:
        """The item cut at its sentence ends (step 1 of the module docstring): parts and separators."""
        if all(
            _STOP_CHARACTERS.isdisjoint(atom)
            for atom in atoms
            if isinstance(atom, Token) and atom.type == "TEXT"
        ):
            return [list(atoms)]
        written = [str(atom) if isinstance(atom, Token) else render(atom) for atom in atoms]
        whole = "".join(written)
        if self.known(whole):
            return [list(atoms)]
        owners = [index for index, text in enumerate(written) for _ in text]  # the atom of each character
        cuts = [
            (match.start(), match.end())
            for match in _STOP.finditer(whole)
            if _is_stop(whole, match, [atoms[owners[at]] for at in range(match.start(), match.end())])
        ]
        opening = _OPENING_STOP.match(whole) if after_group else None
        if opening is not None and isinstance(atoms[0], Token) and atoms[0].type == "TEXT":
            # the text after a group starts with the stop that closes it (`{prompt} . anime style`)
            cuts.insert(0, (0, opening.end()))
        return _cut(atoms, written, cuts) if cuts else [list(atoms)]

    def _classify_item(self, atoms: Sequence[Atom]) -> list[Node]:
        first = atoms[0]
        if len(atoms) == 1 and not isinstance(first, Token):
            return [first]  # a group alone is the item; its content was read inside it
        tokens = [atom for atom in atoms if isinstance(atom, Token) and atom.type in _TEXTISH]
        if len(tokens) == len(atoms):
            return self._text_item(tokens)
        closing = _closing_period_atom(atoms)
        body = atoms[:-1] if closing is not None else atoms
        if closing is not None and len(body) == 1 and not isinstance(first, Token):
            return [first, closing]  # `(x).`: the group, then the end of its sentence
        qualified = _qualified_tag(body, self.is_name)
        if qualified is not None:
            return [qualified] if closing is None else [qualified, closing]
        if any(isinstance(atom, Token) and atom.type in _REGION_TOKENS for atom in body):
            # a sentence never runs through a region keyword: `a girl at the beach BREAK sky`
            return self._split_item(body) if closing is None else [*self._split_item(body), closing]
        leading = _leading_text(atoms)
        if (self.is_prose(leading) and len(leading.split()) > 1) or (
            not isinstance(atoms[0], Token) and self.is_prose(_plain_text(atoms))
        ):
            # a sentence that runs through its groups: `She has ((a detailed face)) and smiles.`; one word
            # before the groups is not enough to tell (`by (artist:1) (artist:0.4) cat ears`)
            return [Phrase(atom_span(atoms[0]).join(atom_span(atoms[-1])), _phrase_children(atoms))]
        return self._split_item(body) if closing is None else [*self._split_item(body), closing]

    def _text_item(self, tokens: Sequence[Token]) -> list[Node]:
        """A tag, artist, Pony tag, phrase or empty-artist error from a run of text tokens."""
        first = token_span(tokens[0])
        text = "".join(tokens)
        span = first if len(tokens) == 1 else _sub_span(first, 0, len(text))
        if text.startswith("@") and tokens[0].type == "AT":
            if not text[1:].strip():
                return [ErrorNode(span, text, "empty-artist", "'@' without an artist name")]
            if _ARTIST_SLOT.fullmatch(text):
                return [Foreign(span, "placeholder", text)]
            return self._closing_period(Artist(span, text))
        if text[:1] in _PONY_INITIALS and _PONY.fullmatch(text):
            return [Foreign(span, "pony", text)]
        if text[:1] == "<" and _PLACEHOLDER.fullmatch(text):
            return [Foreign(span, "placeholder", text)]
        field = _PLACEHOLDER.match(text) if text[:1] == "<" else None
        if field is not None and text[field.end() : field.end() + 1].isspace():
            # `<Prompt Start> blurry, ...`: the marker, then the first item written against it
            rest = len(text) - len(text[field.end() :].lstrip())
            marker = Foreign(_sub_span(span, 0, field.end()), "placeholder", field[0])
            gap = Separator(_sub_span(span, field.end(), rest), text[field.end() : rest])
            return [marker, gap, self._plain(_sub_span(span, rest, len(text)), text[rest:])]
        if "::" in text:
            if _NAI_WEIGHT.fullmatch(text):
                return [Foreign(span, "nai_weight", text)]
            ends = self._nai_weight_ends(text, span)
            if ends is not None:
                return ends
        if "#" in text and _NAI_ACTION.match(text):
            return [Foreign(span, "nai_action", text)]
        if self.is_prose(text):
            return [Phrase(span, (Text(span, text),))]
        nodes = self._closing_period(Tag(span, text))
        head = nodes[0]
        if isinstance(head, Tag) and self._is_slot_name(head.text):
            nodes[0] = Foreign(head.span, "placeholder", head.text)
        return nodes

    def _nai_weight_ends(self, text: str, span: Span) -> list[Node] | None:
        """`4::masterpiece` opening or `best quality ::` closing a NovelAI emphasis over several items: the
        marker (`nai_weight`, reported once, at the opening) and the item's own words read on their own."""
        opening = _NAI_WEIGHT_OPEN.match(text)
        if opening is not None:
            marker = Foreign(_sub_span(span, 0, opening.end()), "nai_weight", opening.group())
            return [marker, self._plain(_sub_span(span, opening.end(), len(text)), text[opening.end() :])]
        closing = _NAI_WEIGHT_CLOSE.search(text)
        if closing is None or not text[: closing.start()].strip():
            return None
        words = text[: closing.start()]
        marker = Foreign(_sub_span(span, closing.start(), len(text)), "nai_weight", closing.group())
        return [self._plain(_sub_span(span, 0, len(words)), words), marker]

    def _closing_period(self, node: Tag | Artist) -> list[Node]:
        """The tag with its closing period as a separator (`long hair.`), unless the period is part of the
        tag: an abbreviation (`a.i.`, `bros.`) or a tag the vocabulary knows (`kimi no na wa.`)."""
        text = node.text
        match = _CLOSING_PERIOD.search(text)
        if match is None or not _after_word(text[: match.start()]) or self.known(text):
            return [node]
        span = node.span
        body = Span(span.start, span.start + match.start(), span.line, span.column)
        kept = type(node)(body, text[: match.start()])
        return [kept, Separator(_sub_span(span, match.start(), len(text)), match.group())]

    def _split_item(self, atoms: Sequence[Atom]) -> list[Node]:
        """An item mixing tags and groups without commas (`1girl (smile:1.2)`): one node per part."""
        nodes: list[Node] = []
        run: list[Atom] = []
        for atom in atoms:
            if isinstance(atom, Token) and atom.type in _TEXTISH:
                run.append(atom)
            elif isinstance(atom, ForeignGroup) and len(run) == 1 and _is_at(run[0]):
                # Forge's `@[a|b]`: the `@` belongs to the alternation
                span = atom_span(run[0]).join(atom.span)
                nodes.append(ForeignGroup(span, atom.syntax, "@" + atom.open, atom.children, atom.close))
                run = []
            else:
                self._flush_item(run, nodes, after_group=bool(nodes))
                run = []
                nodes.append(_token_node(atom) if isinstance(atom, Token) else atom)
        self._flush_item(run, nodes, after_group=bool(nodes))
        return nodes

    def square(self, open_token: Token, atoms: Sequence[Atom], close_token: Token) -> ForeignGroup:
        """`[a|b]` alternation, `[a:b:0.5]` prompt editing, otherwise `[x]` de-emphasis (all A1111 syntax)."""
        span = atom_span(open_token).join(atom_span(close_token))
        pipes = _delimiters(atoms, "PIPE")
        colons = _delimiters(atoms, "COLON")
        if pipes:
            return ForeignGroup(span, "alternation", "[", self._split_parts(atoms, pipes), "]")
        if colons and WEIGHT_NUMBER.fullmatch("".join(str(atom) for atom in atoms[colons[-1] + 1 :])):
            parts = self._split_parts(atoms, colons, number_last=True)
            return ForeignGroup(span, "prompt_editing", "[", parts, "]")
        written = "".join(str(atom) for atom in atoms)
        syntax = "detailer" if written in DETAILER_KEYWORDS else "deemphasis"
        if written.strip() in TRAINER_FIELDS:
            syntax = "placeholder"  # ai-toolkit's `[trigger]`, replaced by the trigger word at training
        elif syntax == "deemphasis" and _SQUARE_FIELD.fullmatch(written.strip()):
            syntax = "placeholder"  # a template's field or section (`[SUBJECT]`, `[CHARACTER_1]`)
        return ForeignGroup(span, syntax, "[", self.sequence(atoms, "square"), "]")

    def brace(self, open_token: Token, atoms: Sequence[Atom], close_token: Token) -> ForeignGroup:
        """`{a|b}`: dynamic-prompts variants (the ComfyUI front end also picks one at random); `{x}` without
        a `|`: NovelAI emphasis."""
        span = atom_span(open_token).join(atom_span(close_token))
        pipes = _delimiters(atoms, "PIPE")
        syntax = "variants" if pipes else "nai_emphasis"
        field = "".join(str(atom) for atom in atoms).strip()
        if not pipes and (field in TEMPLATE_FIELDS or _FIELD_NAME.fullmatch(field)):
            syntax = "placeholder"  # `{prompt}` of a style template, filled in by the tool that applies it
        return ForeignGroup(span, syntax, "{", self._split_parts(atoms, pipes), "}")

    def _split_parts(
        self, atoms: Sequence[Atom], cuts: list[int], *, number_last: bool = False
    ) -> tuple[Node, ...]:
        """The parts between delimiters, each classified, with the delimiters as separators."""
        children: list[Node] = []
        bounds = [-1, *cuts, len(atoms)]
        for number, (left, right) in enumerate(pairwise(bounds)):
            if left >= 0:
                delimiter = atoms[left]
                assert isinstance(delimiter, Token)
                children.append(Separator(atom_span(delimiter), str(delimiter)))
            part = atoms[left + 1 : right]
            if number_last and number == len(cuts) and part:
                children.append(Text(atom_span(part[0]).join(atom_span(part[-1])), "".join(map(str, part))))
            else:
                children.extend(self.sequence(part, "square"))
        return tuple(children)


# ---------------------------------------------------------------------------------------- tokens


def atom_span(atom: Atom) -> Span:
    """The source span of a token or node."""
    if isinstance(atom, Token):
        return token_span(atom)
    return atom.span


def token_span(token: Token) -> Span:
    """The source span of a token."""
    return Span(token.start_pos or 0, token.end_pos or 0, token.line or 1, token.column or 1)


def sub_token(token: Token, kind: str, start: int, end: int) -> Token:
    """`token[start:end]` as a token of type `kind`, with its positions (a token never spans a line break)."""
    base = token.start_pos or 0
    column = (token.column or 1) + start
    return Token(
        kind, token[start:end], base + start, token.line, column, token.line, column + end - start, base + end
    )


def error_node(token: Token) -> ErrorNode:
    """The `ErrorNode` for a token the post-lexer marked as an error."""
    code, template = _ERRORS[token.type]
    chars = dict.fromkeys(str(token))
    codes = ", ".join(f"U+{ord(char):04X}" for char in chars)
    # zero-width spaces and byte-order marks are invisible, and glue the words around them into one
    kind = "invisible character" if all(char in _INVISIBLE for char in chars) else "control character"
    return ErrorNode(
        atom_span(token), str(token), code, template.format(text=str(token), codes=codes, kind=kind)
    )


def _text_of(atom: Atom) -> str:
    return str(atom) if isinstance(atom, Token) else ""


def _inside_quote(item: Sequence[Atom], rest: Sequence[Atom]) -> bool:
    """Whether a comma after `item` lies inside double-quoted words that the item opens after a word
    (`a sign that says "Hello, world"`) and that close within `MAX_QUOTED_COMMAS` commas on the same line:
    the words are to be drawn or said as written, commas and all. A quote opening the item (a whole tag list
    in quotes, as a JSON string) is no such text."""
    written = "".join(_text_of(atom) for atom in item)
    if written.count('"') % 2 == 1:
        opened, closing = written.rfind('"'), '"'
    elif written.count("“") > written.count("”"):
        opened, closing = written.rfind("“"), "”"
    else:
        return False
    if not any(char.isalnum() for char in written[:opened]):
        return False
    commas = 0
    for atom in rest:
        if not isinstance(atom, Token) or atom.type == "NEWLINE":
            return False
        if atom.type == "COMMA":
            commas += 1
            if commas > MAX_QUOTED_COMMAS:
                return False
        elif closing in atom:
            return True
    return False


def _is_ws(atom: Atom) -> bool:
    return isinstance(atom, Token) and atom.type == "WS"


def _is_at(atom: Atom) -> bool:
    return isinstance(atom, Token) and atom.type == "AT"


def _sub_span(first: Span, start: int, end: int) -> Span:
    """A span inside one line of text that starts at `first` (items never contain line breaks)."""
    return Span(first.start + start, first.start + end, first.line, first.column + start)


def _mark_stray_colon(atoms: Sequence[Atom]) -> list[Atom]:
    """ComfyUI reads a group's weight after its last `:`; mark that colon when no number follows it."""
    result = list(atoms)
    for index in range(len(result) - 1, -1, -1):
        atom = result[index]
        if isinstance(atom, Token) and atom.type == "COLON":
            rest = "".join(render(a) if not isinstance(a, Token) else str(a) for a in result[index + 1 :])
            if _WEIGHT_LIKE.match(rest):
                result[index] = Token.new_borrow_pos("STRAY_COLON", str(atom), atom)
            break
    return result


# -------------------------------------------------------------------------------- sentence ends


def _is_stop(whole: str, match: re.Match[str], owners: list[Atom]) -> bool:
    """Whether the punctuation and white space of `match` in an item's text `whole` end a sentence: they
    are text (not inside a group), some text comes before them in the item, a period follows a word that
    is no abbreviation, and `!` or `?` are followed by a capital (`k-on! smile` is one tag)."""
    punctuation = len(match[1])
    tokens = [atom for atom in owners if isinstance(atom, Token)]
    if len(tokens) < len(owners):
        return False
    if any(token.type != "TEXT" for token in tokens[:punctuation]):
        return False  # an escaped bracket, a colon, a face
    before = whole[: match.start()]
    if not before.strip():
        return False
    if match.end() == match.end(1) and not (match[1] == "." and before[-1].islower()):
        return False  # glued to the next word: only `tag.Sentence` ends one (not `St.Louis`, `v1.Beta`)
    if match[1][0] in "!?":
        return bool(_CAPITAL_START.match(whole, match.end()))
    return match[1][0] == "…" or _after_word(before)


def _cut(
    atoms: Sequence[Atom], written: list[str], cuts: list[tuple[int, int]]
) -> list[list[Atom] | Separator]:
    """The atoms split at the character ranges `cuts` of their text, each range a separator."""
    parts: list[list[Atom] | Separator] = []
    current: list[Atom] = []
    stop: list[Token] = []  # the pieces of the separator being cut
    pending = iter(cuts)
    cut = next(pending, None)
    offset = 0
    for atom, text in zip(atoms, written, strict=True):
        start, end = offset, offset + len(text)
        offset = end
        if not isinstance(atom, Token) or cut is None or cut[0] >= end:
            current.append(atom)
            continue
        position = start
        while cut is not None and cut[0] < end:
            if cut[0] > position:
                current.append(sub_token(atom, atom.type, position - start, cut[0] - start))
                position = cut[0]
            piece_end = min(cut[1], end)
            stop.append(sub_token(atom, atom.type, position - start, piece_end - start))
            position = piece_end
            if piece_end < cut[1]:
                break  # the separator goes on in the next atom
            if current:
                parts.append(current)
            span = token_span(stop[0]).join(token_span(stop[-1]))
            parts.append(Separator(span, "".join(stop)))
            current, stop = [], []
            cut = next(pending, None)
        if position < end:
            current.append(
                atom if position == start else sub_token(atom, atom.type, position - start, len(text))
            )
    if current:
        parts.append(current)
    return parts


#: Words no line of a tag list ends with, which a sentence does not end with either: a line ending with one
#: runs on into the next (`Preserve the` / `relevant details ...`). Not `a` (`type a`) nor `in`, `on`, `at`
#: (`shirt tucked in`, `lights on`).
_RUNNING_ON = frozenset({"the", "an", "of", "and", "or", "with", "to", "for", "from", "by", "into", "onto"})
_FIRST_WORD = re.compile(r"\s*([a-z0-9])")


def _line_runs_on(item: Sequence[Atom], newline: Token, following: Sequence[Atom]) -> bool:
    """Whether a single line break inside a sentence joins its two lines into one item: the item so far
    ends with a word of `_RUNNING_ON` and the next line opens with a lowercase word."""
    if newline.count("\n") != 1 or not item or not following:
        return False
    last, after = item[-1], following[0]
    if not (
        isinstance(last, Token) and last.type == "TEXT" and isinstance(after, Token) and after.type == "TEXT"
    ):
        return False
    words = str(last).rsplit(None, 1)
    return bool(words) and words[-1].lower() in _RUNNING_ON and bool(_FIRST_WORD.match(after))


def _after_word(before: str) -> bool:
    """Whether a period after `before` can end a sentence: it follows a word that is no abbreviation (`Mr.`,
    `a.i.`, a single letter; a digit after an underscore ends a tag, `score_7.`), or a closing bracket or
    quote. A number alone opening a line is a list's (`1. TOP: ...`)."""
    match = _LAST_WORD.search(before)
    if match is None:
        return before[-1:] in _CLOSERS
    word = match.group()
    long_enough = len(word) > 1 or (word.isdigit() and before[match.start() - 1 : match.start()] == "_")
    return long_enough and "." not in word and word.lower() not in ABBREVIATIONS


def _closing_period_atom(atoms: Sequence[Atom]) -> Separator | None:
    """The last atom as a separator when it is a period closing an item that ends with a group."""
    last = atoms[-1]
    if len(atoms) < 2 or not isinstance(last, Token) or last.type != "TEXT":
        return None
    if isinstance(atoms[-2], Token) or set(str(last)) - {".", "。"}:
        return None
    return Separator(token_span(last), str(last))


# ------------------------------------------------------------------------------ items with groups


def _plain_text(atoms: Sequence[Atom]) -> str:
    """The words of an item with group brackets and weights left out, for the prose test."""
    parts: list[str] = []
    for atom in atoms:
        if isinstance(atom, Token):
            # a variable or wildcard stands for a word; BREAK or a LoRA says nothing about prose
            parts.append(str(atom) if atom.type in _TEXTISH or atom.type in _WORD_TOKENS else " ")
        else:
            parts.append(" " + "".join(render(child) for child in atom.children) + " ")
    return "".join(parts)


def _leading_text(atoms: Sequence[Atom]) -> str:
    """The text before the first group or foreign token of an item (`sfw` in `sfw (8k:1.3) a girl`)."""
    parts: list[str] = []
    for atom in atoms:
        if not isinstance(atom, Token) or atom.type not in _TEXTISH:
            break
        parts.append(str(atom))
    return "".join(parts)


def _qualified_tag(atoms: Sequence[Atom], is_name: ReadText) -> Tag | Artist | None:
    """`saber (fate)`, `tracer_(overwatch)`: tag words, one space or an underscore, then a plain group of a
    few words closing the item; both read as tags (`is_name`), not prose nor long descriptions. Danbooru
    writes qualifiers after `_`, so `word(x)` is no qualifier, and a quality or score tag is never one:
    `cinematic photo (masterpiece)` is a weighted tag after the words; nor does a CJK word take one, nor are
    colour codes and shares qualifiers (`(#FFFFFF)`, `(0-30%)`)."""
    group = atoms[-1]
    if not isinstance(group, Weighted) or group.weight_text or len(atoms) < 2:
        return None
    content = [node for node in group.children if not (isinstance(node, Separator) and not node.text.strip())]
    if len(content) != 1 or not isinstance(content[0], Tag):
        return None
    inner = content[0]
    if (
        inner.qualifier is not None
        or inner.text[:1] == "#"  # a colour code: `white background (#FFFFFF)`
        or "%" in inner.text  # a share: `sky (0-30%)`
        or not is_name(inner.text)
        or special_group(inner.text) in _NEVER_QUALIFIERS
    ):
        return None
    head = list(atoms[:-1])
    if _is_ws(head[-1]):
        if str(head[-1]) != " ":
            return None
        head.pop()
    elif not str(head[-1]).endswith("_"):
        return None
    if not head or not all(isinstance(atom, Token) and atom.type in _TEXTISH for atom in head):
        return None
    head_text = "".join(str(atom) for atom in head)
    if head_text.startswith("@") and not head_text[1:].strip():
        return None
    if not is_name(head_text) or not (head_text[-1].isalnum() or head_text[-1] in "_\\)"):
        return None
    if is_cjk(head_text):
        return None  # Danbooru names are romanised: `豪快 (hearty)` is a word and its gloss
    span = atom_span(atoms[0]).join(group.span)
    text = "".join(str(atom) if isinstance(atom, Token) else render(atom) for atom in atoms)
    if _is_at(head[0]):
        return Artist(span, text, group.span)
    return Tag(span, text, group.span)


def _phrase_children(atoms: Sequence[Atom]) -> tuple[Node, ...]:
    """Children of a phrase with groups in it: text runs become `Text`, groups and foreign syntax stay."""
    children: list[Node] = []
    run: list[Token] = []
    for atom in atoms:
        if isinstance(atom, Token) and atom.type in _TEXTISH:
            run.append(atom)
            continue
        _flush_text(run, children)
        run = []
        children.append(_token_node(atom) if isinstance(atom, Token) else atom)
    _flush_text(run, children)
    return tuple(children)


def _flush_text(run: list[Token], children: list[Node]) -> None:
    if run:
        children.append(Text(atom_span(run[0]).join(atom_span(run[-1])), "".join(run)))


def _token_node(token: Token) -> Node:
    """A node for a token that stands for itself: LoRA, wildcard, BREAK, ... (`_FOREIGN_TOKENS`)."""
    return Foreign(atom_span(token), _FOREIGN_TOKENS[token.type], str(token))


def _delimiters(atoms: Sequence[Atom], kind: str) -> list[int]:
    return [i for i, atom in enumerate(atoms) if isinstance(atom, Token) and atom.type == kind]


# ------------------------------------------------------------------------------------ sentences


def _dataset_caption(nodes: list[Node]) -> list[Node]:
    """After a dataset tag alone on the first line (`deviantart`, `ye-pop`), the caption is the image's title
    and description, as the dataset wrote them: each following line is one phrase (the model card's caption
    format: dataset tag, line break, title, line break, description)."""
    first, newline = (nodes[0], nodes[1]) if len(nodes) > 2 else (None, None)
    if not isinstance(first, Tag) or not isinstance(newline, Separator) or newline.role != "newline":
        return nodes
    tags = special_tags()
    name = tags.spelling(first.text)
    if name is None or tags.group(name) != "dataset":
        return nodes
    result: list[Node] = [first, newline]
    line: list[Node] = []
    for node in [*nodes[2:], None]:
        if node is not None and not _breaks_line(node):
            line.append(node)
            continue
        if line:
            result.append(line[0] if len(line) == 1 and isinstance(line[0], Phrase) else _phrase_of(line))
        if node is not None:
            result.append(node)
        line = []
    return result


def _written_onto(nodes: list[Node], position: int, items: list[int]) -> bool:
    """Whether the node at `position` follows one of `items` directly or after white space only."""
    before = position - 1
    separator = nodes[before] if before >= 0 else None
    if isinstance(separator, Separator) and separator.text.isspace():
        before -= 1
    return before in items


def _detailer_labels(nodes: list[Node]) -> list[Node]:
    """In a detailer wildcard that opens with `[LAB]` (Impact Pack), a `[Label]` of one word opening a line
    names the detected segments the line is for (`[Female] blue eyes`): detailer syntax, not de-emphasis."""
    first = next((node for node in nodes if not isinstance(node, Separator)), None)
    if not (isinstance(first, ForeignGroup) and first.syntax == "detailer" and render(first) == "[LAB]"):
        return nodes
    result: list[Node] = []
    for node in nodes:
        line_start = not result or _breaks_line(result[-1])
        if line_start and isinstance(node, ForeignGroup) and node.syntax == "deemphasis":
            words = render(node)[1:-1].split()
            if len(words) == 1 and words[0].isalnum():
                node = ForeignGroup(node.span, "detailer", node.open, node.children, node.close)
        result.append(node)
    return result


def _fragment_document(nodes: list[Node]) -> bool:
    """Whether the prompt is natural language written in sentences and fragments: no comma at all, at least
    `FRAGMENT_ITEMS` items ended by full stops, `FRAGMENT_SENTENCES` of them sentences
    (`damaged white humanoid mecha. giant black tower. Show exactly the named characters. no text.`): its
    noun phrases are fragments of the description, not tags; tags joined by full stops (`2girls. smile.`)
    hold no sentence."""
    stops = phrases = 0
    for node in nodes:
        if isinstance(node, Separator):
            if node.commas:
                return False
            stops += node.role == "sentence"
        elif isinstance(node, Phrase):
            phrases += 1
    return stops >= FRAGMENT_ITEMS and phrases >= FRAGMENT_SENTENCES


def _cjk_description(nodes: list[Node]) -> bool:
    """Whether the prompt is a description in Chinese, Japanese or Korean: every item is written in those
    scripts and `CJK_DESCRIPTION_CLAUSES` of them at least are clauses (`一个看向远山的少女形象，雪山背景，
    混合蓝色和红色柔和调色板`): its short items are parts of the description, not tags; a tag list in Chinese
    holds a clause at most (`1个女孩，长发，白色的连衣裙，微笑`)."""
    clauses = sum(isinstance(node, Phrase) for node in nodes)
    if clauses < CJK_DESCRIPTION_CLAUSES:
        return False  # the common case
    tags = [node for node in nodes if isinstance(node, Tag)]
    return (
        bool(tags)
        and all(is_cjk(tag.text) for tag in tags)
        and all(is_cjk(render(node)) for node in nodes if isinstance(node, Phrase))
    )


def _in_another_language(nodes: list[Node]) -> bool:
    """Whether the prompt's words are those of a description in another language written in Latin letters
    (`Ela tem cabelo longo em tons de vermelho e roxo, olhos grandes e expressivos, ...`): see
    `boundary.in_another_language`."""
    texts = [
        node.text if isinstance(node, Tag) else render(node)
        for node in nodes
        if isinstance(node, Tag | Phrase)
    ]
    return in_another_language(" ".join(texts))


_NUMBER_WORDS = frozenset(
    {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"}
    | {"first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"}
)
_POSITION_WORDS = frozenset(
    {"left", "right", "top", "bottom", "center", "centre", "middle", "upper", "lower"}
)
_LABEL_WORD = re.compile(r"[^\W_]+")


def names_one_of_several(label: str) -> bool:
    """Whether a field label names one of several panels, characters or places of the picture, whose lines
    describe it alone: it holds a number (`Panel 1:`, `Character two:`, `Girl B:`) or a position beside
    other words (`the girl on the left:`). Labels of aspects (`attire:`, `expression:`, `- BASE:`) do not:
    their values describe one subject, and the order and repeats of their tags count across lines."""
    words = _LABEL_WORD.findall(label)
    lowered = [word.lower() for word in words]
    if any(word.isdigit() or word in _NUMBER_WORDS for word in lowered):
        return True
    if any(len(word) == 1 and word.isupper() for word in words[1:]):
        return True
    return len(words) >= 2 and any(word in _POSITION_WORDS for word in lowered)


def _as_words(node: Node) -> Node:
    """A tag of a label's aside (`strict` in `Layout (strict):`) as the words it is."""
    return _phrase_of([node]) if isinstance(node, Tag) else node


def _labelled_sentence(node: Node) -> bool:
    """Whether `node` is a phrase that opens with a field label (`Hair: long dark hair with ...`): a
    labelled line of a spec sheet whose value was read as a sentence with its label."""
    if not isinstance(node, Phrase) or not isinstance(node.children[0], Text):
        return False
    match = _FIELD_LABEL.match(node.children[0].text)
    return match is not None and _is_label(match.group())


def _is_label_node(node: Node) -> bool:
    return isinstance(node, Foreign) and node.syntax == "label"


def _sentence_case(text: str) -> bool:
    """Whether `text` is words in sentence case (`Soft diffused key light`): a capital, then lowercase."""
    words = text.split()
    return len(words) > 1 and words[0][:1].isupper() and not words[0].isupper() and words[1].islower()


def _is_label(text: str) -> bool:
    """Whether `text`, a match of `_FIELD_LABEL`, is a field label rather than a metatag (`rating:`)."""
    words = text.lstrip("-*• \t").rstrip(": \t").split()
    return bool(words) and words[0].lower() not in _NOT_LABELS


def _label_aside(nodes: list[Node], position: int) -> int | None:
    """Where a label with an aside in brackets ends (`Layout (strict):` read as `Layout`, a space, a weight
    group and a tag opening with the colon): the position of that tag, or None."""
    if position + 3 >= len(nodes):
        return None
    words, space, aside, rest = nodes[position : position + 4]
    if not (isinstance(words, Tag) and _FIELD_LABEL.fullmatch(words.text + ":") and _is_label(words.text)):
        return None
    if not (isinstance(space, Separator) and space.role == "space" and isinstance(aside, Weighted)):
        return None
    if not (isinstance(rest, Tag) and rest.text[:1] == ":" and rest.text[1:2] in ("", " ", "\t")):
        return None
    return position + 3


_SLOT_CHOICE = re.compile(r"[^\W\d_]/[^\W\d_]")


def _template_slots(nodes: list[Node]) -> list[Node]:
    """Square brackets that fill a slot of a prompt template are placeholders, not de-emphasis: right after a
    word that wants an object, with only white space between (`Digital artwork of [Character A]`, `wearing
    [outfit]`, `in [setting]`), or holding choices written with a slash (`[hair/eyes/build]`)."""
    result: list[Node] = []
    for node in nodes:
        if isinstance(node, ForeignGroup) and node.syntax == "deemphasis" and _fills_slot(node, result):
            node = ForeignGroup(node.span, "placeholder", node.open, node.children, node.close)
            _words_before_slot(result)
        elif isinstance(node, Phrase) and any(isinstance(child, ForeignGroup) for child in node.children):
            node = Phrase(
                node.span, tuple(_template_slots(list(node.children)))
            )  # `artwork of [Character A]`
        result.append(node)
    return result


def _words_before_slot(nodes: list[Node]) -> None:
    """The words before a slot are part of the template's sentence (`standing beside [Character B]`)."""
    at = len(nodes) - 1
    last = nodes[at] if at >= 0 else None
    if isinstance(last, Separator) and not last.text.strip():
        at -= 1
    previous = nodes[at] if at >= 0 else None
    if isinstance(previous, Tag) and wants_object(previous.text):
        nodes[at] = _phrase_of([previous])


def _fills_slot(group: ForeignGroup, before: list[Node]) -> bool:
    if _SLOT_CHOICE.search(render(group)):
        return True
    previous = before[-1] if before else None
    if isinstance(previous, Separator) and not previous.text.strip():
        previous = before[-2] if len(before) > 1 else None  # `wearing\n[outfit]`
    return isinstance(previous, Tag | Phrase | Text) and wants_object(render(previous))


_MARKUP = re.compile(r"</?([A-Za-z_][\w-]*)>")
_MARKUP_PIECE = re.compile(r"</?[A-Za-z_][\w-]*>|\$\w+\$")


def _markup_elements(nodes: list[Node]) -> list[Node]:
    """In a structured prompt of XML elements (NewBie-image: `<character_1>`, `<appearance>chibi,
    red_eyes</appearance>`), the opening and closing tags of every element the prompt both opens and closes
    are markup, and a `$name$` inside is a placeholder, split off the tags written against them. Without a
    closed element nothing changes, so kaomoji (`<o>_<o>`) and `<3` stay tags."""
    if not any(isinstance(node, Tag | Foreign) and "</" in node.text for node in nodes):
        return nodes  # the common case: no element is closed
    texts = [node.text for node in nodes if isinstance(node, Tag | Foreign) and "<" in node.text]
    opened = {match[1] for text in texts for match in _MARKUP.finditer(text) if not match[0].startswith("</")}
    closed = {match[1] for text in texts for match in _MARKUP.finditer(text) if match[0].startswith("</")}
    names = opened & closed
    if not names:
        return nodes
    result: list[Node] = []
    for node in nodes:
        if _splits_markup(node):
            result.extend(_split_markup(node.span, node.text, names))
        else:
            result.append(node)
    return result


def _splits_markup(node: Node) -> TypeGuard[Tag | Foreign]:
    """Whether `node` is a tag or template field (`<character_1>`) that may have markup written against it."""
    if isinstance(node, Foreign):
        return node.syntax == "placeholder" and "<" in node.text
    return isinstance(node, Tag) and "<" in node.text


def _split_markup(span: Span, text: str, names: set[str]) -> list[Node]:
    """The markup, placeholders and tags of one item (`<n>$character_1$</n>`, `<appearance>chibi`)."""
    pieces: list[Node] = []
    position = 0
    for match in _MARKUP_PIECE.finditer(text):
        piece = match[0]
        element = _MARKUP.fullmatch(piece)
        if element is not None and element[1] not in names:
            continue
        if match.start() > position:
            pieces.append(Tag(_sub_span(span, position, match.start()), text[position : match.start()]))
        syntax = "placeholder" if element is None else "markup"
        pieces.append(Foreign(_sub_span(span, match.start(), match.end()), syntax, piece))
        position = match.end()
    if position < len(text):
        pieces.append(Tag(_sub_span(span, position, len(text)), text[position:]))
    return pieces


def _words(node: Node) -> int:
    """How many words a node's text holds."""
    return len(render(node).split())


def _breaks_line(node: Node) -> bool:
    return isinstance(node, Separator) and line_breaks(node.text) > 0


def _merge_separators(nodes: list[Node]) -> list[Node]:
    """Join neighbouring separators into one node holding their exact text."""
    merged: list[Node] = []
    for node in nodes:
        previous = merged[-1] if merged else None
        if isinstance(node, Separator) and isinstance(previous, Separator):
            merged[-1] = Separator(previous.span.join(node.span), previous.text + node.text)
        else:
            merged.append(node)
    return merged


def _joins(node: Node | None) -> bool:
    """Whether a separator continues a segment (a comma or white space between items)."""
    return isinstance(node, Separator) and node.role in ("comma", "space")


def _closes(item: Node, after: Node | None) -> bool:
    """Whether the segment ends with end punctuation after `item`: in the separator or in the item."""
    if isinstance(after, Separator) and after.text.lstrip()[:1] in _STOP_CHARACTERS:
        return True
    return isinstance(item, Phrase) and ends_sentence(render(item))


def _mergeable(node: Node) -> bool:
    """Whether a sentence may run across `node`: prose, a tag-like item without a qualifier, or a weight
    group (`jewel-like fruits (berries, kiwi) bursting with freshness.`), which the phrase keeps."""
    return isinstance(node, Phrase | Weighted) or (isinstance(node, Tag) and node.qualifier is None)


def assemble_sentences(nodes: list[Node], known: Callable[[str], bool]) -> list[Node]:
    """Join the items of each sentence into one `Phrase` (step 3 of the module docstring).

    Args:
        nodes: items and separators of one sequence, no two separators neighbours.
        known: whether the tag index knows a text as a tag (a known tag is no fragment sentence).

    Returns:
        The same nodes, with the items and separators of each sentence replaced by one phrase.
    """
    if not any(type(node) is Phrase for node in nodes):
        return nodes  # tags only: nothing to join
    runs: list[tuple[int, int]] = []  # (first, last) node positions of each phrase to build
    after_prose = False  # the previous segment was a sentence of prose ending on this line
    after_fragment = False  # ... or a fragment sentence of a few capitalised words
    segments = _segments(nodes)
    for number, (segment, closed) in enumerate(segments):
        running = after_prose and _opens_sentence(nodes[segment[0]])
        if closed:
            run = _sentence_run(nodes, segment, closed, running=running, known=known)
        else:
            run = _clauses_run(nodes, segment) or _list_run(nodes, segment)
        fragment = (
            run is None
            and (closed or number == len(segments) - 1)  # the prompt's end closes its last sentence
            and len(segment) == 1
            and (after_prose or after_fragment or _opens_prose(nodes, segments, number))
            and _capitalised_words(nodes[segment[0]])
            and not known(render(nodes[segment[0]]))  # a fragment sentence (`Glowing antennae tips.`)
        )
        if fragment:
            run = (segment[0], segment[0])
        if run is not None:
            runs.append(run)
        last = segment[-1]
        after = nodes[last + 1] if last + 1 < len(nodes) else None
        ends_prose = isinstance(nodes[last], Phrase) or (run is not None and run[1] == last)
        sentence_end = closed and isinstance(after, Separator) and after.role == "sentence"
        # a fragment sentence carries running text only to the next fragment: a list of tags after it
        # stays a list (`... background. Graffiti style, clean minimalism, thick strokes.`)
        after_prose = sentence_end and ends_prose and not fragment
        after_fragment = sentence_end and fragment
    return _join_sentences(_apply_runs(nodes, runs))


def _capitalised_words(node: Node) -> bool:
    """Whether `node` is a capitalised tag-like item without a qualifier, not shouted in capitals, that is no
    special tag (`Masterpiece` stays the quality tag): words that may open a sentence."""
    if not isinstance(node, Tag) or node.qualifier is not None or not _capitalised(node):
        return False
    return not node.text.isupper() and special_group(node.text) is None


def _opens_prose(nodes: list[Node], segments: list[tuple[list[int], bool]], number: int) -> bool:
    """Whether the segment after segment `number` is a capitalised sentence of prose on the same line
    (`Anime style. A close-up shot of a girl.`)."""
    if number + 1 >= len(segments):
        return False
    last = segments[number][0][-1]
    between = nodes[last + 1] if last + 1 < len(nodes) else None
    if not (isinstance(between, Separator) and between.role == "sentence"):
        return False
    following = nodes[segments[number + 1][0][0]]
    return isinstance(following, Phrase) and _capitalised(following)


def _segments(nodes: list[Node]) -> list[tuple[list[int], bool]]:
    """The segments of a sequence: the positions of items joined by commas, and whether end punctuation
    closes them."""
    segments: list[tuple[list[int], bool]] = []
    current: list[int] = []
    for position, node in enumerate(nodes):
        if isinstance(node, Separator):
            continue
        current.append(position)
        after = nodes[position + 1] if position + 1 < len(nodes) else None
        closed = _closes(node, after)
        if closed or not _joins(after) or position + 2 >= len(nodes):
            segments.append((current, closed))
            current = []
    return segments


def _subject_before_apposition(name: Node, prose: Node) -> bool:
    """Whether `name` opens the sentence whose apposition `prose` is (`Kiki, a young witch, flies ...`): a
    capitalised name that is no special tag (not `Masterpiece, a girl ...`), before prose opening with an
    article."""
    return _capitalised_words(name) and render(prose).split(maxsplit=1)[0].lower() in ARTICLES


def _first_character(node: Node) -> str:
    """The first character of `node`'s text after opening quotes and brackets."""
    return render(node).lstrip("\"'“‘«(")[:1]


def _subject_of(opening: Node, prose: list[Node], known: Callable[[str], bool]) -> bool:
    """Whether the capitalised item opening a segment is the subject of a predicate in the segment's prose,
    an item opening with its verb (`Two glass spheres, one large and one small, float on a purple
    cloth.`): a tag-like item that is no special tag (`Masterpiece, ...`) and no tag the index knows
    (`Hatsune Miku, 1girl, sits ...` keeps its tags)."""
    if not _capitalised_words(opening) or known(render(opening)):
        return False
    return any(opens_with_verb(render(node)) for node in prose)


def _capitalised(node: Node) -> bool:
    return _first_character(node).isupper()


def _opens_sentence(node: Node) -> bool:
    """Whether `node` may open a sentence of running text: a capital or a digit (`2 seats visible, ...`)."""
    first = _first_character(node)
    return first.isupper() or first.isdigit()


def _sentence_run(
    nodes: list[Node], segment: list[int], closed: bool, *, running: bool, known: Callable[[str], bool]
) -> tuple[int, int] | None:
    """The first and last node position of the phrase a closed segment forms, or None when it forms none."""
    prose = [position for position in segment if isinstance(nodes[position], Phrase)]
    if not closed or len(segment) < 2:
        return None
    if all(is_cjk(render(nodes[position])) for position in segment):
        # `，` joins the clauses of a Chinese or Japanese sentence up to its `。`
        return (segment[0], segment[-1]) if prose else None
    if not prose:
        # in running text, a capitalised list closed by a period is a sentence (`... effects. Detailed
        # illustration, cinematic lighting, soft rim light.`)
        whole = running and all(_mergeable(nodes[position]) for position in segment)
        return (segment[0], segment[-1]) if whole else None
    starts = [segment[0], prose[0]] if running and segment[0] != prose[0] else [prose[0]]
    first = segment.index(prose[0])
    if not running and first > 0 and _subject_before_apposition(nodes[segment[first - 1]], nodes[prose[0]]):
        starts = [segment[first - 1], *starts]
    elif not running and first > 0 and _subject_of(nodes[segment[0]], [nodes[at] for at in prose], known):
        starts = [segment[0], *starts]
    for start in starts:
        end = _reach(nodes, segment[segment.index(start) :])
        if end is not None and end > start:
            return start, end
    return None


def _clauses_run(nodes: list[Node], segment: list[int]) -> tuple[int, int] | None:
    """The phrase a segment of CJK items without a closing `。` forms when most of them are clauses: one
    Chinese sentence whose `，` join them (`一只凶恶的狼，猩红的眼神，在午夜咆哮，月光皎洁`); a tag list in
    Chinese (`长发，蓝眼睛，微笑`) holds few."""
    if len(segment) < 2 or not all(is_cjk(render(nodes[position])) for position in segment):
        return None
    clauses = sum(isinstance(nodes[position], Phrase) for position in segment)
    return (segment[0], segment[-1]) if clauses * 2 >= len(segment) else None


def _list_run(nodes: list[Node], segment: list[int]) -> tuple[int, int] | None:
    """The phrase a segment without end punctuation forms when it is one sentence ending with a list: the
    segment opens with prose and reaches, as a sentence does (`_reach`), a prose item opening a list
    (`surrounded by drawings of lanterns`, `boundary.opens_list`), then holds nothing but list members up
    to its end (`smoke, paper cranes, and koi`), and at least as many words of prose as of tags. Tags beside
    a description do not continue it: a segment opening with tags is a tag list with phrases in it
    (`lowres, drawn in the style of bad art, blurry`), and in `in a field of roses, smile, blush, looking at
    viewer, upper body` the tags have more words than the prose."""
    if len(segment) < 2:
        return None
    after = segment[-1] + 1
    if after < len(nodes) and not isinstance(nodes[after], Separator):
        return None  # the last item is glued to what follows (`saber_(fate)`): no member of a list
    openers = [index for index, position in enumerate(segment) if _opens_list(nodes[position])]
    if not openers or openers[-1] == len(segment) - 1:
        return None
    opener = openers[-1]
    if not all(_list_member(nodes[position]) for position in segment[opener + 1 :]):
        return None
    prose = sum(_words(nodes[position]) for position in segment if isinstance(nodes[position], Phrase))
    if prose < sum(_words(nodes[position]) for position in segment) - prose:
        return None
    if not isinstance(nodes[segment[0]], Phrase) or _reach(nodes, segment[: opener + 1]) != segment[opener]:
        return None
    return segment[0], segment[-1]


def _opens_list(node: Node) -> bool:
    return isinstance(node, Phrase) and opens_list(render(node))


def _list_member(node: Node) -> bool:
    """Whether `node` may be one member of a sentence's list: a short tag-like item, or prose opening with a
    conjunction (`and flowers`)."""
    if isinstance(node, Phrase):
        return continues_list(render(node))
    return isinstance(node, Tag) and node.qualifier is None and item_shape(node.text).reading is Reading.TAG


def _reach(nodes: list[Node], positions: list[int]) -> int | None:
    """The last item a sentence starting at `positions[0]` reaches: the segment's end if every gap of
    tag-like items is at most `MAX_SENTENCE_GAP`, else the last prose item before the gap (or None)."""
    gap = 0
    last_prose: int | None = None
    for index, position in enumerate(positions):
        node = nodes[position]
        if not _mergeable(node):
            return last_prose
        if isinstance(node, Phrase):
            gap = 0
            last_prose = position
        else:
            gap += 1
            if gap > MAX_SENTENCE_GAP and not _list_ends_with_conjunction(
                nodes, positions[index + 1 - gap :]
            ):
                return last_prose
    return positions[-1]


def _list_ends_with_conjunction(nodes: list[Node], positions: list[int]) -> bool:
    """Whether the tag-like items at `positions` run on to prose opening with `and` or `or`: the members of
    a list inside a sentence (`... tall trunks, bare branches, ferns, tiny white flowers, and deep black
    gaps ...`), however many."""
    for position in positions:
        node = nodes[position]
        if isinstance(node, Phrase):
            words = item_shape(render(node)).words
            return bool(words) and words[0] in ("and", "or")
        if not _list_word(node):
            return False
    return False


def _list_word(node: Node) -> bool:
    """Whether `node` may be a member of a long list inside a sentence: a few plain words (`ghostly
    ferns`), not a special tag (`absurdres`) nor one written as a tag (`anime_style`)."""
    if not isinstance(node, Tag) or node.qualifier is not None or special_group(node.text) is not None:
        return False
    shape = item_shape(node.text)
    return not shape.tag_written and len(shape.words) <= MAX_LIST_WORDS


def _apply_runs(nodes: list[Node], runs: list[tuple[int, int]]) -> list[Node]:
    """Replace each run of nodes by one phrase; a closing period in the separator after it joins it."""
    if not runs:
        return nodes
    result: list[Node] = []
    position = 0
    for first, last in runs:
        result.extend(nodes[position:first])
        members = list(nodes[first : last + 1])
        position = last + 1
        after = nodes[position] if position < len(nodes) else None
        if isinstance(after, Separator):
            stop = _LEADING_STOP.match(after.text)
            if stop is not None and not ends_sentence(render(members[-1])):
                members.append(Separator(_sub_span(after.span, 0, stop.end()), stop.group()))
                rest = after.text[stop.end() :]
                position += 1
                if rest:
                    result.append(_phrase_of(members))
                    result.append(Separator(_sub_span(after.span, stop.end(), len(after.text)), rest))
                    continue
        result.append(_phrase_of(members))
    result.extend(nodes[position:])
    return result


def _join_sentences(nodes: list[Node]) -> list[Node]:
    """Neighbouring phrases separated by a sentence end become one phrase (`She smiles. He waves.`)."""
    result: list[Node] = []
    for node in nodes:
        if (
            isinstance(node, Phrase)
            and len(result) >= 2
            and isinstance(result[-1], Separator)
            and isinstance(result[-2], Phrase)
            and _between_sentences(result[-2], result[-1])
        ):
            separator = result.pop()
            previous = result.pop()
            result.append(_phrase_of([previous, separator, node]))
        else:
            result.append(node)
    return result


def _between_sentences(phrase: Phrase, separator: Separator) -> bool:
    """Whether `separator` ends the sentence of `phrase` (`. `) or follows its end punctuation (` `)."""
    return separator.role == "sentence" or (separator.role == "space" and ends_sentence(render(phrase)))


def _phrase_of(nodes: Sequence[Node]) -> Phrase:
    """One phrase holding `nodes`: their text as `Text` children, weight groups kept."""
    children: list[Node] = []
    for node in nodes:
        if isinstance(node, Phrase):
            parts = node.children
        else:
            parts = (node,) if isinstance(node, Weighted) else (Text(node.span, render(node)),)
        for part in parts:
            previous = children[-1] if children else None
            if isinstance(part, Text) and isinstance(previous, Text):
                children[-1] = Text(previous.span.join(part.span), previous.text + part.text)
            else:
                children.append(part)
    return Phrase(nodes[0].span.join(nodes[-1].span), tuple(children))
