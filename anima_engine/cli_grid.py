"""`anima grid`: a prompt template over up to three axes, rendered as a batch, with labelled sheets."""

import dataclasses
import sys

import click

from anima_engine.cli import SharedOptions, shared_options
from anima_engine.grid import KINDS, Axis, GridError, expand, parse_axis

AXIS_HELP = f"KIND=VALUES, e.g. seed=1,2,3 or cfg=3,4.5 (kinds: {', '.join(KINDS)})."


@click.command("grid")
@click.argument("template")
@click.option("--x", "x_spec", metavar="KIND=VALUES", help=f"The axis across the columns: {AXIS_HELP}")
@click.option("--y", "y_spec", metavar="KIND=VALUES", help="The axis down the rows.")
@click.option(
    "--z", "z_spec", metavar="KIND=VALUES", help="The axis across pages: one contact sheet per value."
)
@shared_options
def grid(
    template: str, x_spec: str | None, y_spec: str | None, z_spec: str | None, options: SharedOptions
) -> None:
    """Render TEMPLATE over axes (an X/Y/Z plot) and draw one labelled contact sheet per page.

    Each cell is TEMPLATE with the options, then the cell's value on each axis: a seed, steps, CFG,
    sampler or scheduler; an artist put where TEMPLATE says {artist} (artist=@wlop,@sakimichan); a LoRA
    strength (lora:my_style=0,0.5,1); or Prompt S/R (prompt=red,blue,green puts blue, then green, where
    red is). Cells are rendered like the records of `anima generate --file`, in this process or with
    --ray on a cluster; a second run reuses the cells already in the output. The paths of the sheets
    are printed.
    """
    from anima_engine.batch import CheckSettings
    from anima_engine.cli_generate import LineReporter, batch_errors, executor_for, show_summary
    from anima_engine.grid_run import run_grid
    from anima_engine.outputs import open_output
    from anima_engine.render_worker import WorkerSpec, lint_tokenizers

    base = options.request
    try:
        axes = (_axis("x", x_spec), _axis("y", y_spec), _axis("z", z_spec))
        cells = expand(dataclasses.replace(base, prompt=template), axes)
    except GridError as error:
        raise click.UsageError(str(error)) from None
    variant = base.variant or "base"
    tokenizers = lint_tokenizers(options.models)
    check = CheckSettings(base, jsonl=False, variant=variant, stem="grid", tokenizers=tokenizers)
    spec = WorkerSpec(options.models, options.settings, variant, images=0)
    with LineReporter(paths=False) as reporter:
        result = batch_errors(
            lambda: run_grid(
                cells,
                check=check,
                spec=spec,
                output=open_output(options.out),
                executor=executor_for(options.ray),
                reporter=reporter,
            ),
            spec,
        )
    show_summary(result.summary)
    for sheet in result.sheets:
        click.echo(sheet)
    if not result.summary.ok:
        sys.exit(1)


def _axis(name: str, spec: str | None) -> Axis | None:
    return parse_axis(spec, option=f"--{name}") if spec is not None else None
