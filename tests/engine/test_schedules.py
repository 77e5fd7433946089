"""Sigma schedules against the numbers in engine-spec §5.1-5.2 and ComfyUI's / diffusers' constructions."""

import math

import numpy as np
import pytest
import torch

from anima_engine.errors import ConfigError
from anima_engine.schedules import SCHEDULES, beta_ppf, betainc, make_sigmas, sigma_table, time_snr_shift


def shift3(t: float) -> float:
    return 3 * t / (1 + 2 * t)


def test_table_ends_at_sigma_min_and_one() -> None:
    table = sigma_table()
    assert table.dtype == torch.float32 and table.shape == (1000,)
    assert table[0].item() == pytest.approx(0.0029940, abs=5e-8)
    assert table[-1].item() == 1.0
    assert torch.all(table[1:] > table[:-1])


def test_simple_30_steps_matches_the_spec() -> None:
    sigmas = make_sigmas("simple", 30)
    head = [1.0, 0.9888, 0.9770, 0.9643, 0.9514]
    tail = [0.3170, 0.2500, 0.1772, 0.0955, 0.0]
    assert sigmas[:5].tolist() == pytest.approx(head, abs=5e-5)
    assert sigmas[-5:].tolist() == pytest.approx(tail, abs=5e-5)
    # σ_i = shift((1000 − ⌊i·1000/N⌋)/1000)
    expected = [shift3((1000 - (i * 1000) // 30) / 1000) for i in range(30)]
    assert sigmas[:-1].tolist() == pytest.approx(expected, abs=1e-6)


def test_simple_indexes_with_float_arithmetic_like_comfyui() -> None:
    # int(19 * (1000/38)) == 499, one below the exact 500: ComfyUI picks table[-500], i.e. shift(501/1000).
    sigmas = make_sigmas("simple", 38)
    assert sigmas[19].item() == pytest.approx(shift3(501 / 1000), abs=1e-7)


@pytest.mark.parametrize("steps", [1, 2, 4, 5, 8, 10, 20, 25, 40, 50, 100])
def test_simple_equals_linear_when_steps_divide_1000(steps: int) -> None:
    assert torch.allclose(make_sigmas("simple", steps), make_sigmas("linear", steps), atol=2e-7)


def test_simple_and_linear_differ_by_0_0018_at_30_steps() -> None:
    diff = (make_sigmas("simple", 30) - make_sigmas("linear", 30)).abs().max().item()
    assert diff == pytest.approx(0.0018, abs=1e-4)


def test_linear_is_bitwise_what_diffusers_scheduler_builds() -> None:
    diffusers = pytest.importorskip("diffusers")
    scheduler = diffusers.FlowMatchEulerDiscreteScheduler(shift=3.0)
    for steps in (1, 7, 30):
        scheduler.set_timesteps(sigmas=np.linspace(1.0, 1 / steps, steps))
        assert torch.equal(make_sigmas("linear", steps), scheduler.sigmas)


def test_normal_reshifts_sigma_min() -> None:
    sigmas = make_sigmas("normal", 30)
    assert sigmas[0].item() == 1.0 and sigmas[-1].item() == 0.0
    assert sigmas[-2].item() == pytest.approx(shift3(shift3(0.001)), rel=1e-5)
    assert sigmas[-2].item() == pytest.approx(0.0089, abs=1e-4)
    ts = np.linspace(1.0, shift3(0.001), 30)
    assert sigmas[:-1].tolist() == pytest.approx([shift3(t) for t in ts], abs=1e-6)


def test_karras_spans_the_table_with_rho_7() -> None:
    sigmas = make_sigmas("karras", 10)
    lo, hi = shift3(0.001) ** (1 / 7), 1.0
    expected = [(hi + i / 9 * (lo - hi)) ** 7 for i in range(10)]
    assert sigmas[:-1].tolist() == pytest.approx(expected, rel=1e-5)


def test_betainc_and_its_inverse_against_mpmath() -> None:
    mpmath = pytest.importorskip("mpmath")
    xs = np.array([1e-12, 1e-3, 0.2, 0.49, 0.5, 0.51, 0.8, 0.999, 1 - 1e-12])
    for a, b in [(0.6, 0.6), (2.0, 0.5), (0.5, 3.0)]:
        ref = [float(mpmath.betainc(a, b, 0, float(x), regularized=True)) for x in xs]
        assert betainc(xs, a, b) == pytest.approx(ref, abs=1e-13)
    qs = np.array([0.01, 0.25, 0.5, 0.9, 0.999])
    for q, x in zip(qs, beta_ppf(qs, 0.6, 0.6), strict=True):
        assert float(mpmath.betainc(0.6, 0.6, 0, float(x), regularized=True)) == pytest.approx(q, abs=1e-13)


# Table indices rint(scipy.stats.beta.ppf(1 - linspace(0, 1, N, endpoint=False), 0.6, 0.6) * 999), computed
# with scipy 1.17.1 (ComfyUI's construction); the engine does not depend on scipy.
SCIPY_BETA_INDICES = {
    1: [999],
    2: [999, 500],
    9: [999, 952, 854, 724, 576, 423, 275, 145, 47],
    30: [
        999,
        993,
        979,
        959,
        936,
        908,
        876,
        842,
        805,
        765,
        724,
        681,
        637,
        591,
        546,
        500,
        453,
        408,
        362,
        318,
        275,
        234,
        194,
        157,
        123,
        91,
        63,
        40,
        20,
        6,
    ],
}


@pytest.mark.parametrize("steps", sorted(SCIPY_BETA_INDICES))
def test_beta_picks_the_same_table_entries_as_scipy(steps: int) -> None:
    expected = torch.cat([sigma_table()[SCIPY_BETA_INDICES[steps]], torch.zeros(1)])
    assert torch.equal(make_sigmas("beta", steps), expected)


def test_beta_drops_repeated_indices_at_large_step_counts() -> None:
    sigmas = make_sigmas("beta", 1000)
    assert len(sigmas) < 1001
    assert torch.all(sigmas[1:] < sigmas[:-1])


@pytest.mark.parametrize("name", sorted(SCHEDULES))
@pytest.mark.parametrize("steps", [1, 3, 30])
def test_every_schedule_is_descending_from_one_to_zero(name: str, steps: int) -> None:
    sigmas = make_sigmas(name, steps)
    assert sigmas.dtype == torch.float32
    assert sigmas[0].item() == 1.0 and sigmas[-1].item() == 0.0
    assert len(sigmas) == steps + 1
    assert torch.all(sigmas[1:] < sigmas[:-1])


def test_shift_one_is_identity_and_other_shifts_move_the_curve() -> None:
    t = torch.linspace(0, 1, 11)
    assert torch.equal(time_snr_shift(1.0, t), t)
    assert make_sigmas("linear", 4, shift=1.0).tolist() == pytest.approx([1.0, 0.75, 0.5, 0.25, 0.0])
    assert make_sigmas("simple", 4, shift=2.0)[2].item() == pytest.approx(2 * 0.5 / 1.5)
    assert math.isclose(make_sigmas("normal", 2)[1].item(), shift3(shift3(0.001)), rel_tol=1e-5)


@pytest.mark.parametrize(
    ("name", "steps", "shift", "message"),
    [
        ("fast", 10, 3.0, "unknown scheduler 'fast'; expected one of simple, normal, beta, karras, linear"),
        ("simple", 0, 3.0, "`steps` must be an integer >= 1, got 0"),
        ("simple", 2.5, 3.0, "`steps` must be an integer >= 1, got 2.5"),
        ("simple", 10, 0.0, "`shift` must be > 0, got 0.0"),
    ],
)
def test_bad_arguments_are_config_errors(name: str, steps: int, shift: float, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        make_sigmas(name, steps, shift=shift)
    assert str(info.value) == message
