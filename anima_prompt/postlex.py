"""The post-lexer: between Lark's lexer and its parser, for syntax no context-free terminal can express.

`grammars/anima.lark` names the terminals; this module runs three passes over the token list:

1. `split_keywords` cuts keywords out of TEXT runs (a run may hold several words): A1111's `BREAK` and `AND`,
   Regional Prompter's `ADDCOL`/`ADDROW`/`ADDBASE`/`ADDCOMM`, dynamic-prompts `__wildcards__`, the `;;;`
   caption separator of LoRA training captions and the `--n` / `--w 576` / `--g 4.0` options of sample-prompt
   lines (sd-scripts: negative prompt, width, height, seed, CFG scale, steps, guidance);
2. `join_references` joins tokens that only together are one piece of syntax: a dynamic-prompts variable
   `${name}`, a ComfyUI `embedding:name`, and the `|||` caption separator; and it marks a single `|` between
   spaces outside brackets, NovelAI V4's separator of character prompts; `midjourney_parameters` then makes
   Midjourney's parameters at the end of a line (`--niji 6 --ar 16:9 --no text`) one token, and
   `join_comments` makes each `/* ... */` one token (across items, brackets and lines: the ComfyUI front end
   removes such comments before the prompt is encoded; a `/*` without its `*/` stays text);
3. `pair_brackets` pairs brackets with a stack: a bracket without partner becomes UNCLOSED or UNMATCHED, one
   nested deeper than `MAX_NESTING` becomes TOO_DEEP, and a WEIGHT that does not close a matched `(`
   becomes STRAY_WEIGHT, so the parser never sees unbalanced input and the tree depth is bounded.

`classify` turns the keyword tokens into `Foreign` nodes (`nodes.FOREIGN_SYNTAXES`).
"""

import re
from collections.abc import Iterator

from lark import Token
from lark.lark import PostLex

from anima_prompt.classify import MAX_NESTING, sub_token

_OPENS = {"LPAR": "RPAR", "LSQB": "RSQB", "LBRACE": "RBRACE"}
_CLOSES = frozenset(_OPENS.values())
_KEYWORDS = re.compile(
    r"(?P<BREAK>(?<!\S)BREAK(?!\S))"
    r"|(?P<REGIONAL>(?<!\S)ADD(?:COL|ROW|BASE|COMM)(?!\S))"
    r"|(?P<COMPOSE>(?<!\S)AND(?!\S)(?!(?<=[A-Z] AND) [A-Z]{2}))"  # not a word of a heading in capitals
    r"|(?P<SAMPLE_OPTION>(?<!\S)--(?:n|[whdlsg][ \t]+[+-]?\d+(?:\.\d+)?)(?!\S))"
    r"|(?P<CAPTION_SEPARATOR>;;;)"
    r"|(?P<WILDCARD>__(?!_)[\w@~*/.\-]+?__)"
)
#: Options of Midjourney that no LoRA trainer's sample line has (`--niji 6`, `--ar 16:9`, `--no text`).
_MIDJOURNEY = re.compile(
    r"(?<!\S)--(?:niji|ar|aspect|no|v|version|style|stylize|chaos|q|quality|tile|iw|weird|sref|cref|sw|cw|raw)"
    r"(?!\S)"
)
_KEYWORD_HINT = re.compile("BREAK|ADD|AND|--|;;;|__")  # a quick test before `_KEYWORDS`
_EMBEDDING = re.compile(r"(?:^|(?<=\s))embedding$")
_EMBEDDING_NAME = re.compile(r"[^\s]+")
_HORIZONTAL_SPACE = (
    " \t\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
)
_CAPTION_PIPES = 3
COMMENT_OPEN, _COMMENT_CLOSE = "/*", "*/"  # a comment, which the ComfyUI front end removes
_JOIN_ENDS = ("$", "embedding")  # how TEXT ends before the `{` of a variable, and before `:name`
_SEPARATING = frozenset({"WS", "COMMA", "NEWLINE"})


class PromptPostLex(PostLex):
    """Between lexer and parser: split keywords out of text runs, join references, pair brackets."""

    always_accept = ()

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        tokens, joinable, commented = split_keywords(stream)
        tokens = join_comments(tokens) if commented else tokens
        tokens = join_references(tokens) if joinable else tokens
        return iter(pair_brackets(midjourney_parameters(tokens)))


def split_keywords(tokens: Iterator[Token]) -> tuple[list[Token], bool, bool]:
    """Cut keywords (`BREAK`, `ADDCOL`, `__wildcards__`, `;;;`, `--n`) out of TEXT tokens.

    Returns the tokens, whether `join_references` may find something to join (a `|` or a TEXT ending
    like the start of a variable or `embedding`) and whether a TEXT holds `/*` (for `join_comments`), so
    that the common prompt skips those passes.
    """
    result: list[Token] = []
    joinable = commented = False
    for token in tokens:
        kind = token.type
        if kind != "TEXT":
            joinable = joinable or kind == "PIPE"
            result.append(token)
            continue
        joinable = joinable or token.endswith(_JOIN_ENDS)
        commented = commented or COMMENT_OPEN in token
        if _KEYWORD_HINT.search(token) is None:
            result.append(token)
            continue
        position = 0
        for match in _KEYWORDS.finditer(token):
            _append_text(result, token, position, match.start())
            result.append(sub_token(token, match.lastgroup or "TEXT", match.start(), match.end()))
            position = match.end()
        _append_text(result, token, position, len(token))
    return result, joinable, commented


def join_comments(tokens: list[Token]) -> list[Token]:
    """Make each `/* ... */` one COMMENT token, whatever it holds (commas, brackets, line breaks); the text
    of a TEXT token before and after it stays text. A `/*` that no `*/` closes stays text."""
    pending = list(tokens)
    result: list[Token] = []
    index = 0
    while index < len(pending):
        token = pending[index]
        opening = token.find(COMMENT_OPEN) if token.type == "TEXT" else -1
        if opening < 0:
            result.append(token)
            index += 1
            continue
        closing = _comment_close(pending, index, opening)
        if closing is None:  # no `*/` follows, so no later `/*` is closed either
            result.extend(pending[index:])
            break
        last, end = closing
        _append_text(result, token, 0, opening)
        result.append(_joined("COMMENT", pending[index : last + 1], opening, end))
        rest: list[Token] = []
        _append_text(rest, pending[last], end, len(pending[last]))
        pending[last : last + 1] = rest  # the rest of the closing token may open another comment
        index = last
    return result


def _comment_close(tokens: list[Token], index: int, opening: int) -> tuple[int, int] | None:
    """Where the comment opened at `opening` in `tokens[index]` ends: the token and the offset past `*/`."""
    search_from = opening + len(COMMENT_OPEN)
    for position in range(index, len(tokens)):
        token = tokens[position]
        if token.type == "TEXT":
            found = token.find(_COMMENT_CLOSE, search_from if position == index else 0)
            if found >= 0:
                return position, found + len(_COMMENT_CLOSE)
    return None


def join_references(tokens: list[Token]) -> list[Token]:
    """Join `$` `{` name `}` into VARIABLE, `embedding` `:` name into EMBEDDING and `|||` into
    CAPTION_SEPARATOR; a single `|` between white space outside brackets is a CHARACTER_SEPARATOR (NovelAI
    V4 separates the prompts of its characters so: `2girls, park | girl, red hair | girl, blue hair`)."""
    result: list[Token] = []
    index = 0
    depth = 0
    while index < len(tokens):
        joined = _variable(tokens, index, result)
        joined = joined or _embedding(tokens, index, result) or _pipes(tokens, index, result)
        if joined:
            index += joined
            continue
        token = tokens[index]
        depth += 1 if token.type in _OPENS else -1 if token.type in _CLOSES and depth else 0
        if token.type == "PIPE" and not depth and _between_spaces(tokens, index):
            token = _joined("CHARACTER_SEPARATOR", [token])
        result.append(token)
        index += 1
    return result


def midjourney_parameters(tokens: list[Token]) -> list[Token]:
    """Join Midjourney's parameters, on every line from the first option that is Midjourney's own
    (`--niji 6`, `--ar 16:9`, `--no text, watermark`) to the end of the line, into one MIDJOURNEY token:
    commas there separate the words of `--no`, which Midjourney keeps out of the image, not tags."""
    result: list[Token] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        match = _MIDJOURNEY.search(token) if token.type == "TEXT" and "--" in token else None
        if match is None:
            result.append(token)
            index += 1
            continue
        end = index
        while end + 1 < len(tokens) and tokens[end + 1].type != "NEWLINE":
            end += 1
        while end > index and tokens[end].type == "WS":
            end -= 1
        _append_text(result, token, 0, match.start())
        result.append(_joined("MIDJOURNEY", tokens[index : end + 1], match.start()))
        index = end + 1
    return result


def _between_spaces(tokens: list[Token], index: int) -> bool:
    """Whether the token at `index` has white space on both sides and words beyond them (`a | b`)."""
    if not 2 <= index < len(tokens) - 2:
        return False
    before, after = tokens[index - 2 : index], tokens[index + 1 : index + 3]
    return (
        before[1].type == "WS"
        and after[0].type == "WS"
        and before[0].type not in _SEPARATING
        and after[1].type not in _SEPARATING
    )


def _variable(tokens: list[Token], index: int, result: list[Token]) -> int:
    """`${name}` (dynamic prompts): TEXT ending in `$`, `{`, TEXT, `}`; appends and returns tokens used."""
    token = tokens[index]
    if token.type != "TEXT" or not token.endswith("$") or index + 3 >= len(tokens):
        return 0
    opening, name, closing = tokens[index + 1 : index + 4]
    if (opening.type, name.type, closing.type) != ("LBRACE", "TEXT", "RBRACE"):
        return 0
    _append_text(result, token, 0, len(token) - 1)
    result.append(_joined("VARIABLE", [token, opening, name, closing], len(token) - 1))
    return 4


def _embedding(tokens: list[Token], index: int, result: list[Token]) -> int:
    """`embedding:name` (ComfyUI): TEXT ending in the word `embedding`, `:`, TEXT starting with the name."""
    token = tokens[index]
    if token.type != "TEXT" or index + 2 >= len(tokens) or not token.endswith("embedding"):
        return 0
    match = _EMBEDDING.search(token)
    colon, rest = tokens[index + 1 : index + 3]
    if match is None or colon.type != "COLON" or rest.type != "TEXT":
        return 0
    name = _EMBEDDING_NAME.match(rest)
    if name is None:
        return 0
    _append_text(result, token, 0, match.start())
    result.append(_joined("EMBEDDING", [token, colon, sub_token(rest, "TEXT", 0, name.end())], match.start()))
    _append_text(result, rest, name.end(), len(rest))
    return 3


def _pipes(tokens: list[Token], index: int, result: list[Token]) -> int:
    """`|||` (the keep-tokens separator of LoRA training captions) between white space or separators."""
    end = index
    while end < len(tokens) and tokens[end].type == "PIPE":
        end += 1
    if end - index != _CAPTION_PIPES:
        return 0
    if (index > 0 and tokens[index - 1].type not in _SEPARATING) or (
        end < len(tokens) and tokens[end].type not in _SEPARATING
    ):
        return 0
    result.append(_joined("CAPTION_SEPARATOR", tokens[index:end]))
    return end - index


def _joined(kind: str, pieces: list[Token], offset: int = 0, end: int | None = None) -> Token:
    """One token of `kind` made of contiguous `pieces` (on any lines), from `offset` into the first to `end`
    into the last (its end by default)."""
    first, last = pieces[0], pieces[-1]
    end = len(last) if end is None else end
    text = first[offset:end] if len(pieces) == 1 else first[offset:] + "".join(pieces[1:-1]) + last[:end]
    start = (first.start_pos or 0) + offset
    column = (first.column or 1) + offset
    return Token(
        kind, text, start, first.line, column, last.line, (last.column or 1) + end, start + len(text)
    )


def _append_text(result: list[Token], token: Token, start: int, end: int) -> None:
    """Append `token[start:end]` as TEXT, with white space at its edges as WS tokens."""
    piece = token[start:end]
    if not piece:
        return
    body = piece.strip(_HORIZONTAL_SPACE)
    lead = piece.index(body) if body else len(piece)
    if lead:
        result.append(sub_token(token, "WS", start, start + lead))
    if body:
        result.append(sub_token(token, "TEXT", start + lead, start + lead + len(body)))
    if start + lead + len(body) < end:
        result.append(sub_token(token, "WS", start + lead + len(body), end))


def pair_brackets(tokens: list[Token]) -> list[Token]:
    """Retype brackets without a partner (UNCLOSED, UNMATCHED), too deep (TOO_DEEP), stray weights.

    Returns `tokens` itself when nothing needs retyping (the common case), else a new list.
    """
    retyped: dict[int, str] = {}
    stack: list[int] = []
    weights: list[int] = []
    for index, token in enumerate(tokens):
        kind = token.type
        if kind in _OPENS:
            stack.append(index)
        elif kind in _CLOSES:
            if stack and _OPENS[tokens[stack[-1]].type] == kind:
                opened = stack.pop()
                if len(stack) >= MAX_NESTING:
                    retyped[opened] = retyped[index] = "TOO_DEEP"
            else:
                retyped[index] = "UNMATCHED"
        elif kind == "WEIGHT":
            weights.append(index)
    for opened in stack:
        retyped[opened] = "UNCLOSED"
    for index in weights:
        following = index + 1
        if following == len(tokens) or retyped.get(following, tokens[following].type) != "RPAR":
            retyped[index] = "STRAY_WEIGHT"
    if not retyped:
        return tokens
    result = list(tokens)
    for index, kind in retyped.items():
        result[index] = Token.new_borrow_pos(kind, str(tokens[index]), tokens[index])
    return result
