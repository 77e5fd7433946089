"""Grids: axis specs, the cells they expand to, contact sheets, and `anima grid` in this process."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from anima_engine._tiny import TinyFiles
from anima_engine.contact_sheet import SHEET_KEY, contact_sheet, page_name
from anima_engine.grid import GridError, expand, parse_axis
from anima_engine.images import read_png_metadata
from anima_engine.request import GenerationRequest
from anima_prompt.cli import cli

TEMPLATE = GenerationRequest(prompt="safe, {artist}, 1girl, red hair", negative="red eyes", lint=False)


def test_axes_take_lists_ranges_and_quoted_values() -> None:
    assert parse_axis("seed=1-3, 7", option="--x").values == (1, 2, 3, 7)
    assert parse_axis("cfg=3,4.5", option="--x").values == (3.0, 4.5)
    assert parse_axis("sampler=euler, er_sde", option="--x").values == ("euler", "er_sde")
    prompt = parse_axis('prompt=red hair,"blue hair, braid"', option="--y")
    assert prompt.values == ("red hair", "blue hair, braid")
    lora = parse_axis("lora:ink=0,0.5", option="--z")
    assert (lora.kind, lora.lora, lora.values, lora.title) == ("lora", "ink", (0.0, 0.5), "LoRA ink")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "seed",
            "--x 'seed': expected KIND=VALUES, e.g. seed=1,2,3 (kinds: seed, steps, cfg, sampler, "
            "scheduler, artist, lora:NAME, prompt)",
        ),
        (
            "sed=1,2",
            "--x: unknown axis kind 'sed'; expected one of seed, steps, cfg, sampler, scheduler, "
            "artist, lora:NAME, prompt",
        ),
        ("seed=", "--x seed: no values after '='"),
        ("seed=1,x", "--x seed: 'x' is not a whole number or a range like 1-4"),
        ("steps=5-2", "--x steps: range '5-2' runs backwards"),
        ("cfg=3,high", "--x cfg: 'high' is not a number"),
        ("sampler=eulr", "--x sampler: unknown name 'eulr'; expected one of "),
        ("artist=wlop", "--x artist: 'wlop' is not an artist tag; write it as @name"),
        ("lora:=1", "--x lora: name the LoRA, e.g. lora:my_style=0.4,0.8"),
    ],
)
def test_bad_axis_specs_name_the_axis_and_the_value(spec: str, message: str) -> None:
    with pytest.raises(GridError) as error:
        parse_axis(spec, option="--x")
    assert str(error.value).startswith(message)


def test_cells_come_in_page_order_with_each_axis_applied() -> None:
    x = parse_axis("seed=1,2", option="--x")
    y = parse_axis("artist=@wlop,@ke-ta,@mika pikazo", option="--y")
    z = parse_axis("prompt=red,blue", option="--z")
    grid = expand(TEMPLATE, (x, y, z))
    assert len(grid.cells) == 12 and grid.pages() == 2
    assert [cell.place for cell in grid.cells[:3]] == [(0, 0, 0), (1, 0, 0), (0, 1, 0)]
    last = grid.cells[-1].entry.request
    assert (last.seed, last.prompt, last.negative) == (2, "safe, @mika pikazo, 1girl, blue hair", "blue eyes")
    assert grid.cells[-1].entry.location == "grid[x=seed 2, y=artist @mika pikazo, z=prompt blue]"
    assert len({cell.name for cell in grid.cells}) == 12
    assert expand(TEMPLATE, (x, y, z)).key == grid.key  # the same grid, the same names: it resumes
    assert expand(TEMPLATE, (x, y, None)).key != grid.key


def test_loras_and_settings_add_to_the_template() -> None:
    template = GenerationRequest(prompt="safe, cat", loras=(("pen", 1.0),), lint=False)
    grid = expand(
        template, (parse_axis("lora:ink=0.5", option="--x"), parse_axis("cfg=4", option="--y"), None)
    )
    request = grid.cells[0].entry.request
    assert (request.loras, request.cfg) == ((("pen", 1.0), ("ink", 0.5)), 4.0)


@pytest.mark.parametrize(
    ("template", "axes", "message"),
    [
        ("safe, cat", (None, None, None), "a grid needs at least one axis: --x KIND=VALUES"),
        ("safe, cat", ("seed=1", "seed=2", None), "--x and --y both vary seed"),
        ("safe, cat", ("artist=@wlop", None, None), "an artist axis needs {artist} in the prompt"),
        ("safe, {artist}", ("seed=1", None, None), "the prompt holds {artist} but no axis is an artist axis"),
        (
            "safe, cat",
            ("prompt=dog,cow", None, None),
            "--x prompt: 'dog' (the first value) is not in the prompt",
        ),
    ],
)
def test_grids_that_cannot_be_made_say_why(
    template: str, axes: tuple[str | None, str | None, str | None], message: str
) -> None:
    parsed = tuple(
        parse_axis(spec, option=f"--{name}") if spec else None for name, spec in zip("xyz", axes, strict=True)
    )
    with pytest.raises(GridError) as error:
        expand(GenerationRequest(prompt=template, lint=False), parsed)  # type: ignore[arg-type]
    assert str(error.value).startswith(message)


def test_a_sheet_places_each_cell_and_greys_a_missing_one() -> None:
    grid = expand(
        GenerationRequest(prompt="safe, cat", width=32, height=32, lint=False),
        (parse_axis("seed=1,2,3", option="--x"), parse_axis("cfg=3,4", option="--y"), None),
    )
    colours = [(200, 0, 0), (0, 200, 0), (0, 0, 200), (200, 200, 0), (0, 200, 200)]
    images = {
        cell.name: Image.new("RGB", (32, 32), colour)
        for cell, colour in zip(grid.cells[:5], colours, strict=True)
    }
    sheet = contact_sheet(grid, 0, images)  # the sixth cell has no image
    right, bottom = sheet.width - 4, sheet.height - 4  # in the last cell, away from its "failed"
    assert sheet.getpixel((right, bottom)) == (200, 200, 200)
    assert sheet.getpixel((right - 32, bottom)) == (0, 200, 200)
    assert sheet.getpixel((right, bottom - 32)) == (0, 0, 200)
    assert sheet.width > 3 * 32 and sheet.height > 2 * 32  # room for the labels
    assert page_name(grid, 0) == f"grid-{grid.key}.png"


def model_args(files: TinyFiles) -> list[str]:
    return [
        *("--dit", str(files.dit), "--text-encoder", str(files.text_encoder), "--vae", str(files.vae)),
        *("--tokenizers", str(files.tokenizer_dir)),
    ]


GRID_ARGS = ["--x", "seed=1,2", "--y", "artist=@wlop,@ke-ta,@mika pikazo", "--z", "prompt=red,blue"]
SMALL = ["-W", "32", "-H", "32", "--steps", "2", "--cfg", "1", "--no-lint"]


def test_the_command_draws_a_sheet_per_page_and_reuses_its_cells(
    tiny_files: TinyFiles, tmp_path: Path
) -> None:
    out = tmp_path / "grid"
    args = ["grid", "safe, {artist}, red hair", *GRID_ARGS, *SMALL, *model_args(tiny_files), "-o", str(out)]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    sheets = [Path(line) for line in first.stdout.splitlines()]
    assert len(sheets) == 2 and all(path.parent == out for path in sheets)
    assert "12 images in " in first.stderr
    with Image.open(sheets[1]) as sheet:
        axes = json.loads(sheet.info[SHEET_KEY])["axes"]
        assert sheet.width >= 2 * 32 and sheet.height >= 3 * 32
    assert axes["z"] == {"kind": "prompt", "values": ["red", "blue"]}
    cells = sorted(out.glob("grid-*-x*.png"))
    assert len(cells) == 12
    assert read_png_metadata(cells[-1]).prompt == "safe, @mika pikazo, blue hair"

    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0, again.output
    assert "12 already there" in again.stderr and again.stdout == first.stdout


def test_a_bad_axis_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["grid", "safe, cat", "--x", "cfg=3,high", "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == "anima grid: error: --x cfg: 'high' is not a number"


def test_the_shared_option_names_are_the_shared_options() -> None:
    from anima_engine.cli import SHARED_NAMES, shared_options

    command = shared_options(lambda options: None)
    names = [param.name for param in command.__click_params__]  # type: ignore[attr-defined]
    assert sorted(names) == sorted(SHARED_NAMES)
