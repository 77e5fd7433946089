"""`run_grid`: a grid's cells rendered as a batch (in-process or on Ray), then its contact sheets.

The cells go through `batch.run_batch` like the records of a prompt file, so a grid resumes, retries and
reports failures the same way; the sheets are drawn here from the cells' files in the output and written
beside them (an existing sheet is kept: its name derives from the grid, so it shows the same cells).
"""

import io
from dataclasses import dataclass

from PIL import Image

from anima_engine.batch import BatchReporter, BatchSummary, CheckSettings, Executor, run_batch
from anima_engine.contact_sheet import contact_sheet, page_name, sheet_png
from anima_engine.grid import Grid
from anima_engine.outputs import Output
from anima_engine.render_worker import WorkerSpec


@dataclass(frozen=True, slots=True)
class GridResult:
    """The batch summary of the cells and where each page's sheet is."""

    summary: BatchSummary
    sheets: tuple[str, ...]


def run_grid(
    grid: Grid,
    *,
    check: CheckSettings,
    spec: WorkerSpec,
    output: Output,
    executor: Executor,
    reporter: BatchReporter | None = None,
) -> GridResult:
    """Render the cells of `grid` that are not in `output` yet, then write a contact sheet per page.

    Raises:
        As `batch.run_batch`; OSError: a sheet cannot be written.
    """
    summary = run_batch(
        [cell.entry for cell in grid.cells],
        check=check,
        spec=spec,
        output=output,
        executor=executor,
        reporter=reporter,
    )
    sheets: list[str] = []
    for page in range(grid.pages()):
        name = page_name(grid, page)
        if output.exists(name):
            sheets.append(output.location(name))
            continue
        images = {
            cell.name: _image(output.read(cell.name))
            for cell in grid.cells
            if cell.place[2] == page and output.exists(cell.name)
        }
        data = sheet_png(grid, contact_sheet(grid, page, images))
        try:
            sheets.append(output.write_new(name, data))
        except FileExistsError:
            sheets.append(output.location(name))
    return GridResult(summary, tuple(sheets))


def _image(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.copy()
