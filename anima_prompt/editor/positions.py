"""Line and column positions of a text, in the code units an editor counts.

The editor services count Python characters (code points). The Language Server Protocol counts lines
and, within a line, UTF-16 code units by default (UTF-8 bytes or code points when both sides agree), so an
emoji is two columns there and one character here. `LineIndex` converts between the two for one text.
Lines end at `\\n`, `\\r\\n` or `\\r`, as the protocol says.
"""

import re
from bisect import bisect_right
from typing import Literal

Encoding = Literal["utf-16", "utf-8", "utf-32"]
ENCODINGS: tuple[Encoding, ...] = ("utf-16", "utf-8", "utf-32")

_LINE_END = re.compile(r"\r\n|\r|\n")


def _units(char: str, encoding: Encoding) -> int:
    """The code units of one character in `encoding`."""
    if encoding == "utf-32":
        return 1
    point = ord(char)
    if encoding == "utf-16":
        return 2 if point > 0xFFFF else 1
    return 1 if point < 0x80 else 2 if point < 0x800 else 3 if point < 0x10000 else 4


class LineIndex:
    """Converts character offsets of `text` to `(line, column)` positions and back.

    Args:
        text: the whole document.
        encoding: what a column counts: `utf-16` code units (the protocol's default), `utf-8` bytes or
            `utf-32` (code points).

    Example:
        >>> lines = LineIndex("a😀b\\nc")
        >>> lines.position(2), lines.offset(0, 3), lines.position(4)
        ((0, 3), 2, (1, 0))
    """

    def __init__(self, text: str, encoding: Encoding = "utf-16") -> None:
        if encoding not in ENCODINGS:
            raise ValueError(
                f"unknown position encoding {encoding!r}; expected one of {', '.join(ENCODINGS)}"
            )
        self.text = text
        self.encoding: Encoding = encoding
        self.starts = [0, *(match.end() for match in _LINE_END.finditer(text))]
        self.ends = [match.start() for match in _LINE_END.finditer(text)] + [len(text)]

    def position(self, offset: int) -> tuple[int, int]:
        """The 0-based line and column of character `offset` (clamped to the text)."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect_right(self.starts, offset) - 1
        start = self.starts[line]
        offset = min(offset, self.ends[line])  # inside a `\r\n`: the end of the line
        piece = self.text[start:offset]
        if piece.isascii() or self.encoding == "utf-32":
            return line, len(piece)
        return line, sum(_units(char, self.encoding) for char in piece)

    def offset(self, line: int, column: int) -> int:
        """The character offset of a position; past the end of a line is its end, past the last line the
        end of the text (as the protocol asks), and a column inside a character is that character's end."""
        if line < 0:
            return 0
        if line >= len(self.starts):
            return len(self.text)
        start, end = self.starts[line], self.ends[line]
        piece = self.text[start:end]
        if piece.isascii() or self.encoding == "utf-32":
            return start + max(0, min(column, len(piece)))
        counted = 0
        for index, char in enumerate(piece):
            if counted >= column:
                return start + index
            counted += _units(char, self.encoding)
        return end
