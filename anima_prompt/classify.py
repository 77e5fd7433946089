"""Decide what each run of tokens is: tag, @artist, natural-language phrase, qualifier, foreign syntax.

The grammar gives sequences of tokens and bracket groups; this module turns one sequence into nodes.
It splits the sequence into items at commas and line breaks, then reads each item:

- an item opening with `@` is an `Artist` (a bare `@` is an error);
- `score_9_up`, `rating_safe`, `source_anime` (also with spaces) are Pony tags (`Foreign`, `pony`);
- `BREAK`, Regional Prompter keywords, `__wildcard__`, `${variable}`, `embedding:name`, `<lora:...>`,
  caption separators and sample-prompt options are `Foreign` (the post-lexer makes their tokens);
- a tag word followed by a plain `( )` group of a few words (`saber (fate)`, `tracer_(overwatch)`) is one
  `Tag` whose `qualifier` marks the unescaped group;
- prose is a `Phrase` (heuristics in `looks_like_prose`); a sentence continues across commas until its
  end punctuation, and a tag written before a sentence (`long hair. She smiles.`) is split off;
- anything else is a `Tag`.

Classification never canonicalises text; `normalize` does.
"""

import re
from collections.abc import Sequence
from functools import lru_cache
from itertools import pairwise
from typing import TypeAlias

from lark import Token

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
)
from anima_prompt.render import render

#: Brackets nested deeper than this are reported and read as text, which bounds the tree's depth.
MAX_NESTING = 32

Atom: TypeAlias = Token | Weighted | ForeignGroup

_SEPARATORS = frozenset({"COMMA", "NEWLINE"})
_TEXTISH = frozenset({"TEXT", "WS", "ESCAPED", "KAOMOJI", "LT", "AT", "COLON", "PIPE"})
_FOREIGN_TOKENS = {
    "LORA": "lora",
    "WILDCARD": "wildcard",
    "BREAK": "break",
    "REGIONAL": "regional",
    "VARIABLE": "variable",
    "EMBEDDING": "embedding",
    "SAMPLE_OPTION": "sample_option",
    "CAPTION_SEPARATOR": "caption_separator",
}
_WORD_TOKENS = frozenset({"VARIABLE", "WILDCARD"})  # foreign syntax that stands for a word in place
_ERRORS = {
    "UNCLOSED": ("unclosed-group", "'{text}' is never closed"),
    "UNMATCHED": ("unmatched-close", "'{text}' closes no open bracket"),
    "TOO_DEEP": ("nesting-too-deep", f"brackets nested deeper than {MAX_NESTING} levels are read as text"),
    "STRAY_WEIGHT": ("dangling-weight", "weight '{text}' is not inside a '(' group"),
    "STRAY_COLON": ("dangling-weight", "':' in a weight group must be followed by a number, as in (x:1.2)"),
    "BACKSLASH": ("lone-backslash", "'\\' escapes only '(' and ')'; this one reaches the model as text"),
    "CONTROL": ("control-character", "control character {codes} in the prompt"),
}

_PONY = re.compile(
    r"score[_ ]\d+[_ ]up|score_\d+(?:_\d+)+|rating[_ ](?:safe|questionable|explicit|general|sensitive|[sqeg])"
    r"|source[_ ](?:anime|pony|furry|cartoon|cartoons|realistic|photo|3d)",
    re.IGNORECASE,
)
_PONY_INITIALS = frozenset("sSrR")
_NUMBER = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)\s*")
_WEIGHT_LIKE = re.compile(r"\s*(?:[+-]?[\d.]|$)")
# end of a sentence: punctuation after a letter, optionally followed by closing quotes or brackets
_SENTENCE_END = re.compile(r"[^\W\d_][.!?…]+[\"'”’»)\]]*\s*$")
# a sentence boundary inside one item: end punctuation, space, then a capital (or an opening quote)
_BOUNDARY = re.compile(r"(?<=[^\W\d_])[.!?…]+\s+(?=[\"'“‘«(]?[A-Z])")
_END_CHARACTERS = frozenset(".!?…\"'”’»)]")
_WORD_EDGE = re.compile(r"^[^\w]+|[^\w]+$")

#: Words that are common in English prose and (almost) never part of a Danbooru tag.
_PROSE_WORDS_TEXT = """
a an is are was were be been being am she he they we you it its it's her his their them him our
this these those there here who whom whose which what where when while because although though
and but or so then than has have had does did do will would can could should shall may might must
very just also not don't doesn't isn't aren't she's he's they're there's
"""
PROSE_WORDS = frozenset(_PROSE_WORDS_TEXT.split())
_MAX_QUALIFIER_WORDS = 5
_MAX_SENTENCE_ITEMS = 8


def looks_like_prose(text: str) -> bool:
    """Whether an item reads as natural language rather than a tag.

    Danbooru tags are short, lowercase noun phrases without articles, pronouns or verbs like `is`, and
    never end a sentence. An item is prose when any of these holds:

    1. it ends with sentence punctuation (`.`, `!`, `?`, `…`) right after a letter, and has at least two
       words or starts with a capital (`She smiles.`; the tags `!?` and `...` are not prose);
    2. it starts with a capital and has at least three words one of which is a prose word (`a`, `is`,
       `her`, … see `PROSE_WORDS`), or at least four words two of which start lowercase
       (`An anime girl with long hair`, `Girl sitting on bench`; not `Hatsune Miku`,
       `The Legend of Zelda`);
    3. it has at least three words of which at least two different ones are prose words
       (`she is smiling`);
    4. it has ten words or more.

    Args:
        text: the item's text, groups replaced by their content.

    Returns:
        True for prose.
    """
    stripped = text.strip()
    if not stripped or (
        len(stripped.split(None, 2)) < 3 and not stripped[0].isupper() and stripped[-1] not in _END_CHARACTERS
    ):
        return False  # the common case: a tag of one or two lowercase words
    words = stripped.split()
    count = len(words)
    capital = stripped[0].isupper()
    if _SENTENCE_END.search(stripped) and (count >= 2 or capital):
        return True
    prose = {_WORD_EDGE.sub("", word.lower()) for word in words} & PROSE_WORDS
    lowercase = sum(word[0].islower() for word in words[1:])
    if capital and ((count >= 3 and prose) or (count >= 4 and lowercase >= 2)):
        return True
    return (count >= 3 and len(prose) >= 2) or count >= 10


def ends_sentence(text: str) -> bool:
    """Whether `text` ends with sentence punctuation after a letter."""
    return bool(_SENTENCE_END.search(text))


def atom_span(atom: Atom) -> Span:
    """The source span of a token or node."""
    if isinstance(atom, Token):
        return token_span(atom)
    return atom.span


def token_span(token: Token) -> Span:
    """The source span of a token."""
    return Span(token.start_pos or 0, token.end_pos or 0, token.line or 1, token.column or 1)


def error_node(token: Token) -> ErrorNode:
    """The `ErrorNode` for a token the post-lexer marked as an error."""
    code, template = _ERRORS[token.type]
    codes = ", ".join(f"U+{ord(char):04X}" for char in dict.fromkeys(str(token)))
    return ErrorNode(atom_span(token), str(token), code, template.format(text=str(token), codes=codes))


def classify_sequence(atoms: Sequence[Atom], context: str = "top") -> tuple[Node, ...]:
    """Turn the atoms of one sequence (the prompt, or a group's content) into nodes.

    Args:
        atoms: tokens and already-built group nodes, in source order.
        context: `top`, `paren` (a weight group: a `:` before something number-like is reported),
            `square` or `brace`.

    Returns:
        Items and `Separator` nodes covering every atom, in order.
    """
    if context == "paren":
        atoms = _mark_stray_colon(atoms)
    nodes: list[Node] = []
    item: list[Atom] = []
    for atom in atoms:
        kind = atom.type if isinstance(atom, Token) else None
        if kind is None or (kind not in _SEPARATORS and kind not in _ERRORS):
            item.append(atom)
            continue
        assert isinstance(atom, Token)
        _flush_item(item, nodes)
        item = []
        nodes.append(Separator(token_span(atom), str(atom)) if kind in _SEPARATORS else error_node(atom))
    _flush_item(item, nodes)
    return tuple(_merge_sentences(_merge_separators(nodes)))


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


# what one TEXT token standing alone as an item is (see `_plain_kind`)
_PLAIN_TAG, _PLAIN_PHRASE, _PLAIN_PONY, _PLAIN_SPLIT = range(4)


@lru_cache(maxsize=16384)
def _plain_kind(text: str) -> int:
    """`_text_item`'s decision for one TEXT token, which depends on its text only; cached, as tags repeat.

    `_PLAIN_SPLIT` means the text holds a sentence boundary and goes through `_classify_text`.
    """
    if _BOUNDARY.search(text) is not None:
        return _PLAIN_SPLIT
    if text[:1] in _PONY_INITIALS and _PONY.fullmatch(text):
        return _PLAIN_PONY
    if looks_like_prose(text):
        return _PLAIN_PHRASE
    return _PLAIN_TAG


def _flush_item(item: Sequence[Atom], nodes: list[Node]) -> None:
    """Classify one item (atoms between separators), moving its edge white space into separators."""
    if len(item) == 1 and type(item[0]) is Token and item[0].type == "TEXT":
        # the common case: one plain tag (a TEXT token never starts an artist: that takes an AT token)
        token = item[0]
        text = str(token)
        kind = _plain_kind(text)
        if kind == _PLAIN_TAG:
            nodes.append(Tag(token_span(token), text))
        elif kind == _PLAIN_PHRASE:
            span = token_span(token)
            nodes.append(Phrase(span, (Text(span, text),)))
        elif kind == _PLAIN_PONY:
            nodes.append(Foreign(token_span(token), "pony", text))
        else:
            nodes.extend(_classify_text([token]))
        return
    start, end = 0, len(item)
    while start < end and _is_ws(item[start]):
        start += 1
    while end > start and _is_ws(item[end - 1]):
        end -= 1
    nodes.extend(Separator(atom_span(atom), str(atom)) for atom in item[:start])
    if start < end:
        nodes.extend(_classify_item(item[start:end]))
    nodes.extend(Separator(atom_span(atom), str(atom)) for atom in item[end:])


def _is_ws(atom: Atom) -> bool:
    return isinstance(atom, Token) and atom.type == "WS"


def _classify_item(atoms: Sequence[Atom]) -> list[Node]:
    tokens = [atom for atom in atoms if isinstance(atom, Token) and atom.type in _TEXTISH]
    if len(tokens) == len(atoms):
        return _classify_text(tokens)
    qualified = _qualified_tag(atoms)
    if qualified is not None:
        return [qualified]
    if looks_like_prose(_plain_text(atoms)):
        return [Phrase(atom_span(atoms[0]).join(atom_span(atoms[-1])), _phrase_children(atoms))]
    return _split_item(atoms)


def _classify_text(tokens: Sequence[Token]) -> list[Node]:
    """A run of text tokens (no groups): split off tags written before a sentence, then read the rest."""
    first = atom_span(tokens[0])
    if len(tokens) == 1:
        text = str(tokens[0])
        if _BOUNDARY.search(text) is None:
            return [_text_item(tokens, text, first)]  # one token: its span is the item's
    else:
        text = "".join(tokens)
        if _BOUNDARY.search(text) is None:
            return [_text_item(tokens, text, _sub_span(first, 0, len(text)))]
    nodes: list[Node] = []
    offset = 0
    for boundary in _BOUNDARY.finditer(text):
        head, rest = text[offset : boundary.start()], text[boundary.end() :]
        if head[:1].isupper() or looks_like_prose(head) or not looks_like_prose(rest):
            break  # a capitalised head starts the prose (`She smiles. He waves.`)
        nodes.append(_text_item(tokens, head, _sub_span(first, offset, boundary.start())))
        nodes.append(Separator(_sub_span(first, boundary.start(), boundary.end()), boundary.group()))
        offset = boundary.end()
    nodes.append(_text_item(tokens, text[offset:], _sub_span(first, offset, len(text))))
    return nodes


def _sub_span(first: Span, start: int, end: int) -> Span:
    """A span inside one line of text that starts at `first` (items never contain line breaks)."""
    return Span(first.start + start, first.start + end, first.line, first.column + start)


def _text_item(tokens: Sequence[Token], text: str, span: Span) -> Node:
    """A tag, artist, Pony tag, phrase or empty-artist error from plain text."""
    if text.startswith("@") and tokens[0].type == "AT":
        if not text[1:].strip():
            return ErrorNode(span, text, "empty-artist", "'@' without an artist name")
        return Artist(span, text)
    if text[:1] in _PONY_INITIALS and _PONY.fullmatch(text):
        return Foreign(span, "pony", text)
    if looks_like_prose(text):
        return Phrase(span, (Text(span, text),))
    return Tag(span, text)


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


def _qualified_tag(atoms: Sequence[Atom]) -> Tag | Artist | None:
    """`saber (fate)`: tag words, at most one space, then a plain group of a few words closing the item."""
    group = atoms[-1]
    if not isinstance(group, Weighted) or group.weight_text or len(atoms) < 2:
        return None
    content = [node for node in group.children if not (isinstance(node, Separator) and not node.text.strip())]
    if len(content) != 1 or not isinstance(content[0], Tag):
        return None
    inner = content[0]
    if inner.qualifier is not None or len(inner.text.split()) > _MAX_QUALIFIER_WORDS:
        return None
    head = atoms[:-1]
    if _is_ws(head[-1]):
        head = head[:-1]
        if not head or str(atoms[-2]) != " ":
            return None
    if not all(isinstance(atom, Token) and atom.type in _TEXTISH for atom in head):
        return None
    head_text = "".join(str(atom) for atom in head)
    if head_text.startswith("@") and not head_text[1:].strip():
        return None
    if looks_like_prose(head_text) or not (head_text[-1].isalnum() or head_text[-1] in "_\\)"):
        return None
    span = atom_span(atoms[0]).join(group.span)
    text = "".join(str(atom) if isinstance(atom, Token) else render(atom) for atom in atoms)
    if isinstance(head[0], Token) and head[0].type == "AT":
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


def _split_item(atoms: Sequence[Atom]) -> list[Node]:
    """An item mixing tags and groups without commas (`1girl (smile:1.2)`): one node per part."""
    nodes: list[Node] = []
    run: list[Token] = []
    index = 0
    while index < len(atoms):
        atom = atoms[index]
        if isinstance(atom, Token) and atom.type in _TEXTISH:
            run.append(atom)
        elif isinstance(atom, ForeignGroup) and len(run) == 1 and run[0].type == "AT":
            # Forge's `@[a|b]`: the `@` belongs to the alternation
            span = atom_span(run[0]).join(atom.span)
            nodes.append(ForeignGroup(span, atom.syntax, "@" + atom.open, atom.children, atom.close))
            run = []
        else:
            _flush_item(run, nodes)
            run = []
            nodes.append(_token_node(atom) if isinstance(atom, Token) else atom)
        index += 1
    _flush_item(run, nodes)
    return nodes


def _merge_separators(nodes: list[Node]) -> list[Node]:
    """Join neighbouring separators into one node holding their exact text."""
    merged: list[Node] = []
    for node in nodes:
        previous = merged[-1] if merged else None
        if isinstance(node, Separator) and isinstance(previous, Separator) and previous.role != "sentence":
            merged[-1] = Separator(previous.span.join(node.span), previous.text + node.text)
        else:
            merged.append(node)
    return merged


def _merge_sentences(nodes: list[Node]) -> list[Node]:
    """A phrase without end punctuation continues over commas up to the item that ends the sentence."""
    if Phrase not in map(type, nodes):
        return nodes  # tags only: nothing to join
    result: list[Node] = []
    index = 0
    while index < len(nodes):
        node = nodes[index]
        end = _sentence_end(nodes, index) if isinstance(node, Phrase) else None
        if end is None:
            result.append(node)
            index += 1
            continue
        result.append(_joined_phrase(nodes[index : end + 1]))
        index = end + 1
    return result


def _sentence_end(nodes: list[Node], index: int) -> int | None:
    """Index of the phrase that ends the sentence begun at `index`, or None when it ends there."""
    if ends_sentence(render(nodes[index])):
        return None
    items = 0
    position = index + 1
    while position + 1 < len(nodes) and items < _MAX_SENTENCE_ITEMS:
        separator, item = nodes[position], nodes[position + 1]
        if not isinstance(separator, Separator) or separator.role != "comma":
            return None
        if isinstance(item, Phrase) and ends_sentence(render(item)):
            return position + 1
        if not (isinstance(item, Phrase) or (isinstance(item, Tag) and item.qualifier is None)):
            return None
        items += 1
        position += 2
    return None


def _joined_phrase(nodes: Sequence[Node]) -> Phrase:
    children: list[Node] = []
    for node in nodes:
        parts = node.children if isinstance(node, Phrase) else (Text(node.span, render(node)),)
        for part in parts:
            previous = children[-1] if children else None
            if isinstance(part, Text) and isinstance(previous, Text):
                children[-1] = Text(previous.span.join(part.span), previous.text + part.text)
            else:
                children.append(part)
    return Phrase(nodes[0].span.join(nodes[-1].span), tuple(children))


def classify_square(open_token: Token, atoms: Sequence[Atom], close_token: Token) -> ForeignGroup:
    """`[a|b]` alternation, `[a:b:0.5]` prompt editing, otherwise `[x]` de-emphasis (all A1111 syntax)."""
    span = atom_span(open_token).join(atom_span(close_token))
    pipes = _delimiters(atoms, "PIPE")
    colons = _delimiters(atoms, "COLON")
    if pipes:
        return ForeignGroup(span, "alternation", "[", _split_parts(atoms, pipes), "]")
    if colons and _NUMBER.fullmatch("".join(str(atom) for atom in atoms[colons[-1] + 1 :])):
        return ForeignGroup(span, "prompt_editing", "[", _split_parts(atoms, colons, number_last=True), "]")
    return ForeignGroup(span, "deemphasis", "[", classify_sequence(atoms, "square"), "]")


def classify_brace(open_token: Token, atoms: Sequence[Atom], close_token: Token) -> ForeignGroup:
    """`{a|b}`: dynamic-prompts variants (the ComfyUI front end also picks one at random); `{x}` without a
    `|`: NovelAI emphasis."""
    span = atom_span(open_token).join(atom_span(close_token))
    pipes = _delimiters(atoms, "PIPE")
    syntax = "variants" if pipes else "nai_emphasis"
    return ForeignGroup(span, syntax, "{", _split_parts(atoms, pipes), "}")


def _delimiters(atoms: Sequence[Atom], kind: str) -> list[int]:
    return [i for i, atom in enumerate(atoms) if isinstance(atom, Token) and atom.type == kind]


def _split_parts(atoms: Sequence[Atom], cuts: list[int], *, number_last: bool = False) -> tuple[Node, ...]:
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
            children.extend(classify_sequence(part, "square"))
    return tuple(children)
