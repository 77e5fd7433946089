"""A1111 / Forge sampler and schedule labels ↔ ComfyUI names (the project table `data/sampler_names.toml`).

ComfyUI's names (`euler_ancestral`, `dpmpp_2m_sde`, `karras`) are the engine's. A1111 and Forge write
labels (`Euler a`, `DPM++ 2M SDE`, `Karras`) into a PNG's `parameters` text; this module turns one into
the other, without torch, for the PNG readers and the linter.

>>> sampler_name("DPM++ 2M SDE"), scheduler_name("Karras")
('dpmpp_2m_sde', 'karras')
>>> split_legacy_sampler("DPM++ 2M Karras")
('dpmpp_2m', 'karras')
>>> sampler_label("dpmpp_2m_sde_heun_gpu")
'DPM++ 2M SDE Heun'
"""

import tomllib
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

from anima_prompt.resources import data_path

NAMES_FILE = "sampler_names.toml"
GPU_SUFFIX = "_gpu"


@dataclass(frozen=True, slots=True)
class NameTables:
    """The label → ComfyUI name tables, keyed by the label folded to lower case."""

    samplers: MappingProxyType[str, str]
    schedulers: MappingProxyType[str, str]
    legacy_suffixes: MappingProxyType[str, str]
    sampler_labels: MappingProxyType[str, str]  # ComfyUI name -> the label written
    scheduler_labels: MappingProxyType[str, str]


def _fold(label: str) -> str:
    return " ".join(label.split()).casefold()


def _first_labels(table: dict[str, str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for label, name in table.items():
        labels.setdefault(name, label)
    return labels


@cache
def name_tables() -> NameTables:
    """The tables of `data/sampler_names.toml`, read once."""
    with data_path(NAMES_FILE).open("rb") as handle:
        data = tomllib.load(handle)

    def folded(section: str) -> MappingProxyType[str, str]:
        return MappingProxyType({_fold(label): name for label, name in data[section].items()})

    return NameTables(
        samplers=folded("samplers"),
        schedulers=folded("schedulers"),
        legacy_suffixes=folded("legacy_suffixes"),
        sampler_labels=MappingProxyType(_first_labels(data["samplers"])),
        scheduler_labels=MappingProxyType(_first_labels(data["schedulers"])),
    )


def sampler_name(label: str) -> str | None:
    """The ComfyUI name of an A1111/Forge sampler label (any case), or None if the label is unknown."""
    return name_tables().samplers.get(_fold(label))


def scheduler_name(label: str) -> str | None:
    """The ComfyUI name of an A1111/Forge "Schedule type" label (any case), or None if unknown."""
    return name_tables().schedulers.get(_fold(label))


def split_legacy_sampler(label: str) -> tuple[str | None, str | None]:
    """(sampler, scheduler) of a label that may end with a schedule, as A1111 before 1.9 wrote them.

    `DPM++ 2M Karras` gives `("dpmpp_2m", "karras")`, `Euler a` gives `("euler_ancestral", None)`, and an
    unknown label gives `(None, None)`.
    """
    direct = sampler_name(label)
    if direct is not None:
        return direct, None
    folded = _fold(label)
    for suffix, scheduler in name_tables().legacy_suffixes.items():
        if folded.endswith(" " + suffix):
            sampler = sampler_name(folded[: -len(suffix) - 1])
            if sampler is not None:
                return sampler, scheduler
    return None, None


def sampler_label(name: str) -> str:
    """The A1111-style label of a ComfyUI sampler name; `_gpu` variants share their base's label.

    A name without a label is returned as it is.
    """
    labels = name_tables().sampler_labels
    base = name.removesuffix(GPU_SUFFIX)
    return labels.get(base, labels.get(name, name))


def scheduler_label(name: str) -> str:
    """The A1111-style "Schedule type" label of a ComfyUI scheduler name (the name itself if it has none)."""
    return name_tables().scheduler_labels.get(name, name)
