"""Contact sheets: the cells of one grid page side by side, with the axis values written along the edges.

x values head the columns, y values the rows, and the page's z value (with the axis names) is the title,
as in A1111's X/Y/Z plot. Labels use PIL's built-in font, so nothing is downloaded; a cell whose image
is missing (it failed) is left grey with the word "failed".
"""

import io
import json
from collections.abc import Mapping

from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

from anima_engine.grid import AXIS_NAMES, Grid

BACKGROUND = (255, 255, 255)
INK = (0, 0, 0)
MISSING = (200, 200, 200)
EMPTY_CELL = 256
"""Side of the cells of a page none of whose images was made."""
LABEL_EMS = 10
"""Least width of the row labels' column, in font sizes."""
SHEET_KEY = "anima-grid"
"""PNG text chunk holding the grid's axes (JSON)."""


def page_name(grid: Grid, page: int) -> str:
    """The file name of a page: one per z value."""
    return f"grid-{grid.key}.png" if grid.pages() == 1 else f"grid-{grid.key}-z{page}.png"


def contact_sheet(grid: Grid, page: int, images: Mapping[str, Image.Image]) -> Image.Image:
    """Draw page `page` of `grid` from its cells' images (by file name; a missing one is drawn failed)."""
    x_axis, y_axis, _ = grid.axes
    cells = [cell for cell in grid.cells if cell.place[2] == page]
    columns = len(x_axis.values) if x_axis is not None else 1
    rows = len(y_axis.values) if y_axis is not None else 1
    width = max((image.width for image in images.values()), default=EMPTY_CELL)
    height = max((image.height for image in images.values()), default=EMPTY_CELL)
    size = max(12, min(width, height) // 14)
    font = ImageFont.load_default(size=size)
    line = size + size // 2
    column_labels = (
        [_wrap(f"{x_axis.title}: {label}", font, width) for label in x_axis.labels] if x_axis else []
    )
    margin = max(width, LABEL_EMS * size)  # the row labels' column: at least a few words wide
    row_labels = (
        [_wrap(f"{y_axis.title}: {label}", font, margin) for label in y_axis.labels] if y_axis else []
    )
    title = _title(grid, page)
    top = line * (1 + max((len(label) for label in column_labels), default=0))
    widest = max((font.getlength(text) for label in row_labels for text in label), default=0.0)
    left = int(min(margin, widest) + size) if row_labels else 0
    sheet = Image.new("RGB", (left + columns * width, top + rows * height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    draw.text((size // 2, size // 4), title, font=font, fill=INK)
    for column, label in enumerate(column_labels):
        _lines(draw, label, (left + column * width + size // 2, line), font, line)
    for row, label in enumerate(row_labels):
        _lines(draw, label, (size // 2, top + row * height + size // 2), font, line)
    for cell in cells:
        x, y = left + cell.place[0] * width, top + cell.place[1] * height
        image = images.get(cell.name)
        if image is None:
            draw.rectangle((x, y, x + width - 1, y + height - 1), fill=MISSING)
            draw.text((x + size // 2, y + size // 2), "failed", font=font, fill=INK)
        else:
            sheet.paste(image.convert("RGB"), (x, y))
    return sheet


def _title(grid: Grid, page: int) -> str:
    names = ", ".join(
        f"{name}: {axis.title}" for name, axis in zip(AXIS_NAMES, grid.axes, strict=True) if axis is not None
    )
    z_axis = grid.axes[2]
    return f"{z_axis.title}: {z_axis.labels[page]}   ({names})" if z_axis is not None else names


def _wrap(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> list[str]:
    """`text` in lines no wider than `width` pixels (a word longer than that gets a line of its own)."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and font.getlength(f"{lines[-1]} {word}") <= width * 0.9:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def _lines(
    draw: ImageDraw.ImageDraw,
    lines: list[str],
    origin: tuple[int, int],
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    step: int,
) -> None:
    x, y = origin
    for number, text in enumerate(lines):
        draw.text((x, y + number * step), text, font=font, fill=INK)


def sheet_png(grid: Grid, sheet: Image.Image) -> bytes:
    """The sheet as PNG bytes, with the grid's axes in a text chunk."""
    axes = {
        name: {"kind": axis.title, "values": list(axis.labels)}
        for name, axis in zip(AXIS_NAMES, grid.axes, strict=True)
        if axis is not None
    }
    info = PngImagePlugin.PngInfo()
    info.add_text(SHEET_KEY, json.dumps({"grid": grid.key, "axes": axes}, ensure_ascii=False))
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()
