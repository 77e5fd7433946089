"""The `--ray [ADDRESS]` option of the commands that can run on a Ray cluster."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import click

if TYPE_CHECKING:
    from anima_prompt.cluster import Cluster

Command = TypeVar("Command", bound=Callable[..., None])


def ray_option(command: Command) -> Command:
    """Add `--ray [ADDRESS]` (parameter `ray_address`): None without it, "" with no address."""
    return click.option(
        "--ray",
        "ray_address",
        is_flag=False,
        flag_value="",
        default=None,
        metavar="[ADDRESS]",
        help="Run on a Ray cluster: ADDRESS, $RAY_ADDRESS, or a cluster started on this machine.",
    )(command)


def cluster_choice(address: str | None, workers: int | None = None) -> Cluster | None:
    """The cluster of `--ray [ADDRESS]` with at most `workers` actors (None: one per CPU), or None when the
    command runs here."""
    if address is None:
        return None
    from anima_prompt.cluster import Cluster

    return Cluster(address=address or None, workers=workers)
