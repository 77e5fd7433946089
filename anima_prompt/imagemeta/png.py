"""PNG text chunks (tEXt, zTXt, iTXt) read with the standard library, without decoding the image."""

import struct
import zlib
from pathlib import Path

from anima_prompt.errors import ImageMetadataError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_TEXT_BYTES = 64 * 1024 * 1024
"""A decompressed text chunk larger than this is refused (workflows are kilobytes, not megabytes)."""


def _inflate(data: bytes, where: str) -> bytes:
    decompressor = zlib.decompressobj()
    try:
        out = decompressor.decompress(data, MAX_TEXT_BYTES)
    except zlib.error as error:
        raise ImageMetadataError(f"{where}: corrupt compressed text ({error})") from None
    if decompressor.unconsumed_tail:
        raise ImageMetadataError(f"{where}: compressed text larger than {MAX_TEXT_BYTES} bytes")
    return out


def _text_chunk(kind: bytes, data: bytes, where: str) -> tuple[str, str]:
    keyword, sep, rest = data.partition(b"\0")
    if not sep:
        raise ImageMetadataError(f"{where}: {kind.decode()} chunk without a keyword")
    key = keyword.decode("latin-1")
    if kind == b"tEXt":
        return key, rest.decode("latin-1")
    if kind == b"zTXt":
        return key, _inflate(rest[1:], where).decode("latin-1")
    # iTXt: compression flag, method, language tag \0, translated keyword \0, UTF-8 text
    if len(rest) < 2:
        raise ImageMetadataError(f"{where}: truncated iTXt chunk {key!r}")
    compressed, body = rest[0], rest[2:]
    _, _, body = body.partition(b"\0")
    _, _, body = body.partition(b"\0")
    text = _inflate(body, where) if compressed else body
    return key, text.decode("utf-8", errors="replace")


def read_png_text(source: str | Path | bytes) -> dict[str, str]:
    """The text chunks of a PNG, keyword → text (the first chunk of a keyword wins).

    Args:
        source: a file path, or the file's bytes.

    Raises:
        ImageMetadataError: the file cannot be read, is not a PNG, or a text chunk is corrupt.
    """
    where = "<bytes>" if isinstance(source, bytes) else str(source)
    if isinstance(source, bytes):
        data = source
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as error:
            raise ImageMetadataError(f"{where}: cannot read the file ({error.strerror or error})") from None
    if not data.startswith(PNG_SIGNATURE):
        raise ImageMetadataError(f"{where}: not a PNG file")
    texts: dict[str, str] = {}
    offset = len(PNG_SIGNATURE)
    while offset + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        body = data[offset + 8 : offset + 8 + length]
        if len(body) < length:
            break
        if kind in (b"tEXt", b"zTXt", b"iTXt"):
            key, text = _text_chunk(kind, body, where)
            texts.setdefault(key, text)
        if kind == b"IEND":
            return texts
        offset += 12 + length  # length, type, data, CRC
    raise ImageMetadataError(f"{where}: truncated PNG file (it ends before its IEND chunk)")
