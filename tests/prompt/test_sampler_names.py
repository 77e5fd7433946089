"""The sampler and scheduler name table: spellings resolve; each name the engine lacks has a closest one."""

import re

import pytest

from anima_prompt.sampler_names import (
    ResolvedSampler,
    closest_sampler,
    closest_scheduler,
    is_front_end_default,
    name_tables,
    resolve_sampler,
    resolve_scheduler,
)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("euler_ancestral", ResolvedSampler("euler_ancestral")),
        ("Euler a", ResolvedSampler("euler_ancestral")),
        ("euler_a", ResolvedSampler("euler_ancestral")),
        ("EulerA", ResolvedSampler("euler_ancestral")),
        ("DPM++ 2M SDE", ResolvedSampler("dpmpp_2m_sde")),
        ("DPM++ 2M Karras", ResolvedSampler("dpmpp_2m", "karras")),
        ("DPM++ 2S a Karras", ResolvedSampler("dpmpp_2s_ancestral", "karras")),
        ("DPM++ 2M SDE GPU", ResolvedSampler("dpmpp_2m_sde_gpu")),
        ("res_2s", ResolvedSampler("res_2s")),
        ("RES_3M", ResolvedSampler("res_3m")),
        ("UniPC", ResolvedSampler("uni_pc")),
        ("k_euler_a", ResolvedSampler("euler_ancestral")),
        ("k_dpmpp_2m", ResolvedSampler("dpmpp_2m")),
        ("ddim_trailing", ResolvedSampler("ddim")),
        ("dpm++2m", ResolvedSampler("dpmpp_2m")),
        ("eular_a", None),
        ("Frobnicate Karras", None),
    ],
)
def test_sampler_spellings_resolve(written: str, expected: ResolvedSampler | None) -> None:
    assert resolve_sampler(written) == expected


def test_scheduler_spellings_resolve() -> None:
    assert [resolve_scheduler(name) for name in ("simple", "Karras", "SGM Uniform", "beta57", "Uniform")] == [
        "simple",
        "karras",
        "sgm_uniform",
        "beta57",
        "normal",
    ]
    assert resolve_scheduler("Automatic") is None and is_front_end_default("automatic")
    assert resolve_scheduler("wobbly") is None and not is_front_end_default("wobbly")


def test_every_known_name_has_an_engine_equivalent() -> None:
    tables = name_tables()
    for name in tables.known_samplers:
        assert closest_sampler(name) in tables.engine_samplers, name
    for name in tables.known_schedulers:
        assert closest_scheduler(name) in tables.engine_schedulers, name
    assert set(tables.closest_samplers) <= tables.known_samplers - tables.engine_samplers
    assert set(tables.closest_schedulers) <= tables.known_schedulers - tables.engine_schedulers


def test_every_a1111_label_names_a_known_sampler() -> None:
    tables = name_tables()
    assert set(tables.samplers.values()) <= tables.known_samplers
    assert set(tables.schedulers.values()) <= tables.known_schedulers


def test_every_alias_names_a_known_sampler_that_no_label_already_matches() -> None:
    tables = name_tables()
    assert set(tables.aliases.values()) <= tables.known_samplers

    def squeeze(text: str) -> str:
        return re.sub(r"[\s_\-]+", "", text.casefold())

    labels = {squeeze(name) for name in (*tables.known_samplers, *tables.samplers)}
    assert not [alias for alias in tables.aliases if squeeze(alias) in labels]
