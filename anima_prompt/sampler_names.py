"""Sampler and scheduler names of ComfyUI, A1111/Forge and RES4LYF, and which `anima generate` runs.

All from the project table `data/sampler_names.toml`. ComfyUI's names (`euler_ancestral`, `dpmpp_2m_sde`,
`karras`) are the engine's and the canonical ones. A1111 and Forge write labels (`Euler a`, `DPM++ 2M SDE`,
`Karras`) into a PNG's `parameters` text, and users copy them into settings; this module turns any of these
spellings into the canonical name, without torch, for the PNG readers and the linter.

>>> sampler_name("DPM++ 2M SDE"), scheduler_name("Karras")
('dpmpp_2m_sde', 'karras')
>>> split_legacy_sampler("DPM++ 2M Karras")
('dpmpp_2m', 'karras')
>>> sampler_label("dpmpp_2m_sde_heun_gpu")
'DPM++ 2M SDE Heun'
>>> resolve_sampler("EulerA")
ResolvedSampler(name='euler_ancestral', scheduler=None)
>>> closest_sampler("dpmpp_2m"), resolve_scheduler("beta57"), closest_scheduler("beta57")
('res_multistep', 'beta57', 'beta')
"""

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

from anima_prompt.resources import data_path

NAMES_FILE = "sampler_names.toml"
GPU_SUFFIX = "_gpu"
_SQUEEZE = re.compile(r"[\s_\-]+")


@dataclass(frozen=True, slots=True)
class NameTables:
    """The tables of `data/sampler_names.toml`.

    Attributes:
        samplers: A1111/Forge sampler label (folded to lower case) -> ComfyUI name.
        schedulers: A1111/Forge "Schedule type" label (folded) -> ComfyUI name.
        legacy_suffixes: schedule written at the end of an old A1111 sampler label (folded) -> ComfyUI name.
        sampler_labels: ComfyUI sampler name -> the A1111 label this toolkit writes.
        scheduler_labels: ComfyUI scheduler name -> the A1111 label this toolkit writes.
        known_samplers: every canonical sampler name (ComfyUI's and RES4LYF's).
        known_schedulers: every canonical scheduler name (ComfyUI's, RES4LYF's, the engine's, A1111's).
        engine_samplers: the samplers `anima generate` runs.
        engine_schedulers: the schedulers `anima generate` runs.
        closest_samplers: a sampler the engine lacks -> the engine's sampler most like it.
        closest_schedulers: a scheduler the engine lacks -> the engine's scheduler most like it.
        default_schedulers: "Schedule type" labels (folded) that leave the choice to the front end.
        aliases: other spellings front ends accept (A1111's `k_dpmpp_2s_a`, stable-diffusion.cpp's
            `ddim_trailing`, folded) -> ComfyUI name.
    """

    samplers: MappingProxyType[str, str]
    schedulers: MappingProxyType[str, str]
    legacy_suffixes: MappingProxyType[str, str]
    sampler_labels: MappingProxyType[str, str]
    scheduler_labels: MappingProxyType[str, str]
    known_samplers: frozenset[str]
    known_schedulers: frozenset[str]
    engine_samplers: frozenset[str]
    engine_schedulers: frozenset[str]
    closest_samplers: MappingProxyType[str, str]
    closest_schedulers: MappingProxyType[str, str]
    default_schedulers: frozenset[str]
    aliases: MappingProxyType[str, str]


@dataclass(frozen=True, slots=True)
class ResolvedSampler:
    """A sampler setting read as a canonical name.

    Attributes:
        name: the ComfyUI (or RES4LYF) sampler name.
        scheduler: the schedule an old A1111 label carried (`DPM++ 2M Karras`), else None.
    """

    name: str
    scheduler: str | None = None


_K_DIFFUSION_PREFIX = "k_"


def _fold(label: str) -> str:
    return " ".join(label.split()).casefold()


def _squeeze(label: str) -> str:
    """A key that ignores case, spaces, `_` and `-`: `Euler a`, `euler_a` and `EulerA` share `eulera`."""
    return _SQUEEZE.sub("", label.casefold())


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

    samplers = frozenset(data["comfyui"]["samplers"]) | frozenset(data["res4lyf"]["samplers"])
    schedulers = (
        frozenset(data["comfyui"]["schedulers"])
        | frozenset(data["res4lyf"]["schedulers"])
        | frozenset(data["engine"]["schedulers"])
        | frozenset(data["schedulers"].values())
    )
    return NameTables(
        samplers=folded("samplers"),
        schedulers=folded("schedulers"),
        legacy_suffixes=folded("legacy_suffixes"),
        sampler_labels=MappingProxyType(_first_labels(data["samplers"])),
        scheduler_labels=MappingProxyType(_first_labels(data["schedulers"])),
        known_samplers=samplers | frozenset(data["engine"]["samplers"]),
        known_schedulers=schedulers,
        engine_samplers=frozenset(data["engine"]["samplers"]),
        engine_schedulers=frozenset(data["engine"]["schedulers"]),
        closest_samplers=MappingProxyType(dict(data["closest"]["samplers"])),
        closest_schedulers=MappingProxyType(dict(data["closest"]["schedulers"])),
        default_schedulers=frozenset(_fold(label) for label in data["front_end_default"]["schedulers"]),
        aliases=folded("aliases"),
    )


@cache
def _sampler_keys() -> dict[str, str]:
    """Squeezed spelling -> canonical sampler name: canonical names first, then A1111 labels and aliases."""
    tables = name_tables()
    keys = {_squeeze(name): name for name in sorted(tables.known_samplers)}
    for label, name in (*tables.samplers.items(), *tables.aliases.items()):
        keys.setdefault(_squeeze(label), name)
    return keys


@cache
def _scheduler_keys() -> dict[str, str]:
    tables = name_tables()
    keys = {_squeeze(name): name for name in sorted(tables.known_schedulers)}
    for label, name in tables.schedulers.items():
        keys.setdefault(_squeeze(label), name)
    return keys


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


def resolve_sampler(text: str) -> ResolvedSampler | None:
    """The canonical sampler of any spelling: a ComfyUI or RES4LYF name, an A1111/Forge label (also an old
    one ending with its schedule), another front end's alias (`k_euler_a`) or any name after k-diffusion's
    `k_` (NovelAI's `k_dpmpp_2s_ancestral`), in any case and with spaces, `_` or `-` alike; None when
    unknown.

    Example:
        >>> resolve_sampler("DPM++ 2S a Karras")
        ResolvedSampler(name='dpmpp_2s_ancestral', scheduler='karras')
    """
    direct = _sampler_keys().get(_squeeze(text))
    if direct is not None:
        return ResolvedSampler(direct)
    if text[:2].casefold() == _K_DIFFUSION_PREFIX and len(text) > 2:
        return resolve_sampler(text[2:])  # k-diffusion's name, as NovelAI writes it: `k_dpmpp_2s_ancestral`
    folded = _fold(text)
    for suffix, scheduler in name_tables().legacy_suffixes.items():
        if folded.endswith(" " + suffix):
            base = _sampler_keys().get(_squeeze(folded[: -len(suffix) - 1]))
            if base is not None:
                return ResolvedSampler(base, scheduler)
    return None


def is_cfg_pp(sampler: str) -> bool:
    """Whether `sampler`, in any front end's spelling, is a CFG++ sampler (ComfyUI's `*_cfg_pp`, A1111's
    `... CFG++`). These take guidance on a scale of their own, near 1, and use the negative prediction in
    every step even at CFG 1, where ComfyUI otherwise skips it.

    Example:
        >>> is_cfg_pp("euler_cfg_pp"), is_cfg_pp("Euler a CFG++"), is_cfg_pp("euler")
        (True, True, False)
    """
    resolved = resolve_sampler(sampler)
    return resolved is not None and resolved.name.endswith("_cfg_pp")


def resolve_scheduler(text: str) -> str | None:
    """The canonical scheduler of any spelling (ComfyUI, RES4LYF, A1111 "Schedule type"), or None."""
    return _scheduler_keys().get(_squeeze(text))


def is_front_end_default(text: str) -> bool:
    """Whether a scheduler setting leaves the choice to the front end (A1111's `Automatic`)."""
    return _fold(text) in name_tables().default_schedulers


def closest_sampler(name: str) -> str | None:
    """The sampler `anima generate` runs that is most like canonical sampler `name` (itself if it runs it)."""
    tables = name_tables()
    return name if name in tables.engine_samplers else tables.closest_samplers.get(name)


def closest_scheduler(name: str) -> str | None:
    """The scheduler `anima generate` runs that is most like canonical scheduler `name` (itself if it runs
    it)."""
    tables = name_tables()
    return name if name in tables.engine_schedulers else tables.closest_schedulers.get(name)


def sampler_spellings() -> tuple[str, ...]:
    """Every canonical sampler name and A1111 label, sorted: the candidates of "did you mean"."""
    tables = name_tables()
    return tuple(sorted(tables.known_samplers | set(tables.sampler_labels.values())))


def scheduler_spellings() -> tuple[str, ...]:
    """Every canonical scheduler name and A1111 label, sorted."""
    tables = name_tables()
    return tuple(sorted(tables.known_schedulers | set(tables.scheduler_labels.values())))


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
