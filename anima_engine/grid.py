"""Grids (the X/Y/Z plot): a prompt template varied along up to three axes, one request per cell.

An axis is `KIND=VALUES`, the values separated by commas (quote a value holding a comma: `"a, b"`):

| kind | values | each cell |
|---|---|---|
| `seed`, `steps` | whole numbers, or ranges `1-4` | sets the seed or the steps |
| `cfg` | numbers | sets the guidance scale |
| `sampler`, `scheduler` | names (`anima_engine.samplers.SAMPLERS`, `schedules.SCHEDULES`) | sets it |
| `artist` | `@name` tags | replaces `{artist}` in the prompt |
| `lora:NAME` | strengths | applies LoRA NAME (a file or a name in the LoRA folders) at that strength |
| `prompt` | texts, the first one searched for | puts each in its place, in prompt and negative (Prompt S/R) |

`expand` is pure: the cells in page order (z, then y, then x), each an `Entry` whose output name derives
from the whole grid, so a second run of the same grid finds its cells; `contact_sheet` draws the pages.
"""

import csv
import hashlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace

from anima_engine.errors import AnimaEngineError
from anima_engine.prompt_files import Entry
from anima_engine.request import GenerationRequest
from anima_engine.samplers import SAMPLERS
from anima_engine.schedules import SCHEDULES
from anima_prompt.weights import is_number

ARTIST_SLOT = "{artist}"
KINDS = ("seed", "steps", "cfg", "sampler", "scheduler", "artist", "lora:NAME", "prompt")
AXIS_NAMES = ("x", "y", "z")


class GridError(AnimaEngineError, ValueError):
    """An axis spec or the template cannot make a grid; the message names the axis and the value."""


@dataclass(frozen=True, slots=True)
class Axis:
    """One axis: what it varies and its values, as given (`labels`) and as applied (`values`)."""

    kind: str
    labels: tuple[str, ...]
    values: tuple[str | int | float, ...]
    lora: str = ""

    @property
    def title(self) -> str:
        """How the sheet names the axis."""
        return f"LoRA {self.lora}" if self.kind == "lora" else self.kind


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell: its place on the axes (x, y, z; 0 for a missing axis), its entry and its image's name."""

    place: tuple[int, int, int]
    entry: Entry
    name: str


@dataclass(frozen=True, slots=True)
class Grid:
    """A template expanded over its axes (None for an axis not given)."""

    axes: tuple[Axis | None, Axis | None, Axis | None]
    cells: tuple[Cell, ...]
    key: str

    def pages(self) -> int:
        """Pages of the grid: one per z value."""
        z = self.axes[2]
        return len(z.values) if z is not None else 1


def parse_axis(spec: str, *, option: str) -> Axis:
    """An axis from `KIND=VALUES`.

    Raises:
        GridError: an unknown kind, no values, or a value that kind does not take.
    """
    kind, separator, text = spec.partition("=")
    kind = kind.strip()
    if not separator:
        raise GridError(
            f"{option} {spec!r}: expected KIND=VALUES, e.g. seed=1,2,3 (kinds: {', '.join(KINDS)})"
        )
    lora = ""
    if kind.startswith("lora:"):
        kind, lora = "lora", kind.removeprefix("lora:").strip()
        if not lora:
            raise GridError(f"{option} lora: name the LoRA, e.g. lora:my_style=0.4,0.8")
    elif kind not in KINDS:
        raise GridError(f"{option}: unknown axis kind {kind!r}; expected one of {', '.join(KINDS)}")
    labels = _split(text)
    if not labels:
        raise GridError(f"{option} {kind}: no values after '='")
    values = _VALUES[kind](labels, f"{option} {kind}")
    return Axis(
        kind, tuple(labels) if kind not in ("seed", "steps") else tuple(map(str, values)), values, lora
    )


def _split(text: str) -> list[str]:
    rows = list(csv.reader([text], skipinitialspace=True))
    return [value.strip() for value in rows[0] if value.strip()] if rows else []


def _whole(labels: list[str], where: str) -> tuple[int, ...]:
    values: list[int] = []
    for label in labels:
        first, dash, last = label.partition("-")
        bounds = (first, last) if dash and first else (label, label)
        if not all(bound.strip().isdigit() for bound in bounds):
            raise GridError(f"{where}: {label!r} is not a whole number or a range like 1-4")
        low, high = int(bounds[0]), int(bounds[1])
        if high < low:
            raise GridError(f"{where}: range {label!r} runs backwards")
        values += range(low, high + 1)
    return tuple(values)


def _numbers(labels: list[str], where: str) -> tuple[float, ...]:
    try:
        return tuple(float(label) for label in labels)
    except ValueError:
        bad = next(label for label in labels if not is_number(label))
        raise GridError(f"{where}: {bad!r} is not a number") from None


def _names(known: tuple[str, ...]) -> Callable[[list[str], str], tuple[str, ...]]:
    def check(labels: list[str], where: str) -> tuple[str, ...]:
        for label in labels:
            if label not in known:
                raise GridError(f"{where}: unknown name {label!r}; expected one of {', '.join(known)}")
        return tuple(labels)

    return check


def _artists(labels: list[str], where: str) -> tuple[str, ...]:
    for label in labels:
        if not label.startswith("@") or len(label) < 2:
            raise GridError(f"{where}: {label!r} is not an artist tag; write it as @name")
    return tuple(labels)


def _texts(labels: list[str], where: str) -> tuple[str, ...]:
    return tuple(labels)


_VALUES: dict[str, Callable[[list[str], str], tuple[str | int | float, ...]]] = {
    "seed": _whole,
    "steps": _whole,
    "cfg": _numbers,
    "sampler": _names(tuple(SAMPLERS)),
    "scheduler": _names(tuple(SCHEDULES)),
    "artist": _artists,
    "lora": _numbers,
    "prompt": _texts,
}


def expand(template: GenerationRequest, axes: tuple[Axis | None, Axis | None, Axis | None]) -> Grid:
    """The cells of a grid over `template` (its prompt may hold `{artist}`), in page order.

    Raises:
        GridError: no axis, one kind on two axes, `{artist}` missing for an artist axis (or present
            without one), a Prompt S/R search text not in the prompt.
    """
    given = [(name, axis) for name, axis in zip(AXIS_NAMES, axes, strict=True) if axis is not None]
    if not given:
        raise GridError("a grid needs at least one axis: --x KIND=VALUES")
    _check_axes(template, given)
    ranges = [range(len(axis.values)) if axis is not None else range(1) for axis in axes]
    requests: list[tuple[tuple[int, int, int], GenerationRequest]] = []
    for z, y, x in itertools.product(ranges[2], ranges[1], ranges[0]):
        request = replace(template, batch=1)
        for axis, index in zip(axes, (x, y, z), strict=True):
            if axis is not None:
                request = _apply(request, axis, axis.values[index])
        requests.append(((x, y, z), request))
    key = hashlib.sha256(repr([request for _, request in requests]).encode()).hexdigest()[:12]
    cells = tuple(
        Cell(place, Entry(_location(axes, place), request, out), f"{out}.png")
        for place, request in requests
        for out in [f"grid-{key}-x{place[0]}-y{place[1]}-z{place[2]}"]
    )
    return Grid(axes, cells, key)


def _check_axes(template: GenerationRequest, given: list[tuple[str, Axis]]) -> None:
    seen: dict[tuple[str, str], str] = {}
    for name, axis in given:
        earlier = seen.setdefault((axis.kind, axis.lora), name)
        if earlier != name:
            raise GridError(f"--{earlier} and --{name} both vary {axis.title}")
        if axis.kind == "prompt" and axis.labels[0] not in template.prompt:
            raise GridError(f"--{name} prompt: {axis.labels[0]!r} (the first value) is not in the prompt")
    has_artist_axis = any(axis.kind == "artist" for _, axis in given)
    if has_artist_axis and ARTIST_SLOT not in template.prompt:
        raise GridError(f"an artist axis needs {ARTIST_SLOT} in the prompt, where each artist goes")
    if not has_artist_axis and ARTIST_SLOT in template.prompt:
        raise GridError(f"the prompt holds {ARTIST_SLOT} but no axis is an artist axis")


def _apply(request: GenerationRequest, axis: Axis, value: str | int | float) -> GenerationRequest:
    if axis.kind == "artist":
        return replace(request, prompt=request.prompt.replace(ARTIST_SLOT, str(value)))
    if axis.kind == "prompt":
        search = axis.labels[0]
        return replace(
            request,
            prompt=request.prompt.replace(search, str(value)),
            negative=request.negative.replace(search, str(value)),
        )
    if axis.kind == "lora":
        return replace(request, loras=(*request.loras, (axis.lora, float(value))))
    return replace(request, **{axis.kind: value})  # type: ignore[arg-type]


def _location(axes: tuple[Axis | None, Axis | None, Axis | None], place: tuple[int, int, int]) -> str:
    parts = [
        f"{name}={axis.title} {axis.labels[index]}"
        for name, axis, index in zip(AXIS_NAMES, axes, place, strict=True)
        if axis is not None
    ]
    return f"grid[{', '.join(parts)}]"
