"""Spellings of one tag: the Danbooru name stored in the index and the form written in an Anima prompt.

Users write `hatsune_miku`, `Hatsune Miku`, `@wlop` or `saber \\(fate\\)`; the index stores Danbooru names
(`hatsune_miku`, `saber_(fate)`), and Anima wants prompt forms (`hatsune miku`, `saber \\(fate\\)`, `@wlop`).
Every module that converts between them uses these functions, so the index and its queries always agree.
"""

import functools
import re
import unicodedata

_SCORE_TAG = re.compile(r"score_\d+")
_ESCAPABLE = re.compile(r"(?<!\\)([()])")
_ESCAPED = re.compile(r"\\([()])")
_SPACES = re.compile(r"[\s_]+")
_QUALIFIED = re.compile(r"(.+?)_\(([^()]+)\)")
_COMPACT_DROP = str.maketrans("", "", "_-' ")
_QUALIFIED_WORD = re.compile(r"\w+_\(\w+\)")


def is_kaomoji(name: str) -> bool:
    """Whether an underscore in `name` belongs to a face such as `^_^`, `>_<`, `o_o` or `(o)_(o)`.

    Args:
        name: a tag in any spelling.

    Returns:
        True when every underscore-separated part is at most three characters long and the parts are
        either punctuation-bearing or single characters, so the underscore is part of the drawing.
    """
    parts = name.strip().split("_")
    if len(parts) < 2 or len(name) > 9 or any(len(part) > 3 for part in parts):
        return False
    if _QUALIFIED_WORD.fullmatch(name.strip()):
        return False  # a short tag with a qualifier, such as `ai_(xyz)`
    has_symbol = any(not char.isalnum() for char in name.replace("_", ""))
    return has_symbol or all(len(part) <= 1 for part in parts)


def keeps_underscores(name: str) -> bool:
    """Whether Anima's canonical form keeps the underscores of `name` (`score_N` tags and kaomoji)."""
    stripped = name.strip()
    return bool(_SCORE_TAG.fullmatch(stripped.lower())) or is_kaomoji(stripped)


def escape_parens(text: str) -> str:
    """Backslash-escape every parenthesis not already escaped: `saber (fate)` becomes `saber \\(fate\\)`."""
    return _ESCAPABLE.sub(r"\\\1", text)


def unescape_parens(text: str) -> str:
    """Remove the backslashes of escaped parentheses: `saber \\(fate\\)` becomes `saber (fate)`."""
    return _ESCAPED.sub(r"\1", text)


def danbooru_name(text: str) -> str:
    """The Danbooru spelling of a tag written in any form: the key stored in and queried from the index.

    Drops a leading `@`, unescapes parentheses, applies Unicode NFC, lowercases, and joins words with
    single underscores (kaomoji keep their drawing).

    Args:
        text: a tag as a user wrote it, e.g. `Hatsune Miku`, `@wlop`, `saber \\(fate\\)`, `1girls`.

    Returns:
        The Danbooru name, e.g. `hatsune_miku`, `wlop`, `saber_(fate)`, `1girls`.

    Example:
        >>> danbooru_name("Saber \\\\(Fate\\\\)")
        'saber_(fate)'
    """
    return _danbooru_name(text)


@functools.lru_cache(maxsize=65536)
def _danbooru_name(text: str) -> str:
    # Prompts repeat the same tags; the normalisation is pure, so each text is worked out once.
    name = unicodedata.normalize("NFC", text).strip()
    if name.startswith("@"):
        name = name[1:].lstrip()
    name = unescape_parens(name).lower()
    if is_kaomoji(name):
        return name
    return _SPACES.sub("_", name).strip("_")


def prompt_form(name: str, *, artist: bool = False) -> str:
    """How a Danbooru tag is written in an Anima prompt: spaces, escaped parentheses, `@` for artists.

    Args:
        name: a Danbooru name such as `saber_(fate)`.
        artist: prefix the result with `@`.

    Returns:
        The prompt form, e.g. `saber \\(fate\\)`; `score_7` and kaomoji keep their underscores.
    """
    text = name if keeps_underscores(name) else name.replace("_", " ")
    text = escape_parens(text)
    return f"@{text}" if artist else text


def split_qualifier(name: str) -> tuple[str, str | None]:
    """Split a Danbooru name into its base and its trailing parenthesised qualifier.

    Args:
        name: a Danbooru name such as `tracer_(overwatch)`.

    Returns:
        `("tracer", "overwatch")`; names without a qualifier come back as `(name, None)`.
    """
    match = None if is_kaomoji(name) else _QUALIFIED.fullmatch(name)
    if match is None:
        return name, None
    return match.group(1), match.group(2)


def compact_key(name: str) -> str:
    """A Danbooru name without word separators, so spacing slips compare equal.

    `izumi_nanase`, `izuminanase` and `izumi-nanase` all give `izuminanase`; apostrophes go too, so
    `hand_on_another's_head` and `hand on anothers head` agree.
    """
    return name.translate(_COMPACT_DROP)


def word_order_key(name: str) -> str:
    """The words of a Danbooru name without its qualifier, sorted: `miku_hatsune` and `hatsune_miku` agree."""
    base, _ = split_qualifier(name)
    return "_".join(sorted(word for word in base.split("_") if word))
