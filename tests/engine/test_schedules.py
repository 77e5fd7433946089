"""Sigma schedules against the numbers in engine-spec §5.1-5.2 and ComfyUI's / diffusers' constructions."""

import math

import numpy as np
import pytest
import torch

from anima_engine.errors import ConfigError
from anima_engine.schedules import (
    SCHEDULES,
    beta_ppf,
    betainc,
    denoise_sigmas,
    make_sigmas,
    sigma_table,
    strength_sigmas,
    time_snr_shift,
)


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


@pytest.mark.parametrize("name", sorted(set(SCHEDULES) - {"ddim_uniform"}))
@pytest.mark.parametrize("steps", [1, 3, 30])
def test_every_schedule_is_descending_from_one_to_zero(name: str, steps: int) -> None:
    sigmas = make_sigmas(name, steps)
    assert sigmas.dtype == torch.float32
    assert sigmas[0].item() == 1.0 and sigmas[-1].item() == 0.0
    assert len(sigmas) == steps + 1
    assert torch.all(sigmas[1:] < sigmas[:-1])


@pytest.mark.parametrize("steps", [1, 3, 30, 999, 1000, 1500])
def test_ddim_uniform_starts_below_one_and_keeps_every_stride_point(steps: int) -> None:
    sigmas = make_sigmas("ddim_uniform", steps)
    stride = max(1000 // steps, 1)
    table = sigma_table()
    assert sigmas.tolist() == [*table[1::stride].flip(0).tolist(), 0.0]
    assert (sigmas[0] < 1) == (stride > 1) and torch.all(sigmas[1:] < sigmas[:-1])
    assert len(sigmas) - 1 == len(range(1, 1000, stride))  # 31 at 30 steps


def test_shift_one_is_identity_and_other_shifts_move_the_curve() -> None:
    t = torch.linspace(0, 1, 11)
    assert torch.equal(time_snr_shift(1.0, t), t)
    assert make_sigmas("linear", 4, shift=1.0).tolist() == pytest.approx([1.0, 0.75, 0.5, 0.25, 0.0])
    assert make_sigmas("simple", 4, shift=2.0)[2].item() == pytest.approx(2 * 0.5 / 1.5)
    assert math.isclose(make_sigmas("normal", 2)[1].item(), shift3(shift3(0.001)), rel_tol=1e-5)


@pytest.mark.parametrize(
    ("name", "steps", "shift", "message"),
    [
        (
            "fast",
            10,
            3.0,
            "unknown scheduler 'fast'; expected one of simple, normal, beta, karras, linear, sgm_uniform, "
            "exponential, ddim_uniform, linear_quadratic, kl_optimal",
        ),
        ("simple", 0, 3.0, "`steps` must be an integer >= 1, got 0"),
        ("simple", 2.5, 3.0, "`steps` must be an integer >= 1, got 2.5"),
        ("simple", 10, 0.0, "`shift` must be > 0, got 0.0"),
    ],
)
def test_bad_arguments_are_config_errors(name: str, steps: int, shift: float, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        make_sigmas(name, steps, shift=shift)
    assert str(info.value) == message


# Values printed by ComfyUI's own `comfy.samplers.calculate_sigmas` for Anima's model sampling
# (ModelSamplingDiscreteFlow + CONST, shift 3, multiplier 1) at 7 steps; docs/comfyui.md says how.
COMFYUI_7_STEPS = {
    "sgm_uniform": [1.0, 0.9475424885749817, 0.8827877044677734, 0.8008373379707336, 0.6937930583953857,
                    0.5480455756187439, 0.3379721939563751, 0.0],
    "exponential": [1.0, 0.37964317202568054, 0.1441289335489273, 0.054717566817998886, 0.02077315002679825,
                    0.00788638461381197, 0.002994011854752898, 0.0],
    "ddim_uniform": [0.998663067817688, 0.9460856318473816, 0.881188154220581, 0.7990654706954956,
                     0.6918103694915771, 0.5458015203475952, 0.335403710603714, 0.005976095795631409, 0.0],
    "linear_quadratic": [1.0, 0.9916666746139526, 0.9833333492279053, 0.9750000238418579, 0.9078124761581421,
                         0.7229166626930237, 0.4203124940395355, 0.0],
    "kl_optimal": [1.0, 0.7681201100349426, 0.5786816477775574, 0.41596850752830505, 0.27008962631225586,
                   0.1341916024684906, 0.002994012087583542, 0.0],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(COMFYUI_7_STEPS))
def test_new_schedules_equal_comfyui_to_one_ulp(name: str) -> None:
    # float32 exp, tan and atan are not correctly rounded: torch's vectorised kernels differ by one ulp
    # between CPUs (an AMD EPYC and an Intel Xeon give different last bits), so ComfyUI's own values
    # vary the same way. One float32 ulp of relative error is the bound, no absolute slack.
    sigmas = make_sigmas(name, 7).double()
    expected = torch.tensor(COMFYUI_7_STEPS[name], dtype=torch.float64)
    torch.testing.assert_close(sigmas, expected, rtol=2.0**-23, atol=0.0)


SIGMA_MIN = shift3(0.001)


def plain_reference(name: str, steps: int) -> list[float]:
    """The published definitions, in double precision, with σ_max = 1 and σ_min = shift(0.001)."""
    if name == "sgm_uniform":  # N + 1 evenly spaced timesteps from 1 to σ_min, the last dropped, shifted
        return [shift3(1 + (SIGMA_MIN - 1) * i / steps) for i in range(steps)] + [0.0]
    if name == "exponential":  # evenly spaced in log σ
        return [math.exp(math.log(SIGMA_MIN) * i / (steps - 1)) for i in range(steps)] + [0.0]
    if name == "kl_optimal":  # tan of evenly spaced angles between atan σ_max and atan σ_min
        angles = [
            math.atan(1.0) + (math.atan(SIGMA_MIN) - math.atan(1.0)) * i / (steps - 1) for i in range(steps)
        ]
        return [math.tan(a) for a in angles] + [0.0]
    if name == "linear_quadratic":  # Mochi: 1 − (linear to 0.025 over N/2 steps, then a quadratic to 1)
        half, rest = steps // 2, steps - steps // 2
        lin = [0.025 * i / half for i in range(half)]
        # the quadratic a·i² + b·i + c through (half, 0.025) with slope continuity, reaching 1 at i = steps
        a = (half - 0.025 * steps) / (half * rest**2)
        b = 0.025 / half - 2 * (half - 0.025 * steps) / rest**2
        c = a * half**2
        quad = [a * i * i + b * i + c for i in range(half, steps)]
        return [1 - v for v in [*lin, *quad, 1.0]]
    raise AssertionError(name)


@pytest.mark.parametrize("name", ["sgm_uniform", "exponential", "kl_optimal", "linear_quadratic"])
@pytest.mark.parametrize("steps", [2, 5, 30, 37])
def test_new_schedules_follow_their_published_definitions(name: str, steps: int) -> None:
    assert make_sigmas(name, steps).tolist() == pytest.approx(plain_reference(name, steps), abs=2e-6)


def test_linear_quadratic_meets_the_threshold_at_half_way() -> None:
    sigmas = make_sigmas("linear_quadratic", 30)
    assert sigmas[15].item() == pytest.approx(1 - 0.025, abs=1e-7)
    assert make_sigmas("linear_quadratic", 1).tolist() == [1.0, 0.0]


def test_kl_optimal_with_one_step_is_sigma_max_then_zero() -> None:
    # ComfyUI divides by zero here (NaN); one step goes from σ_max to 0.
    assert make_sigmas("kl_optimal", 1).tolist() == [1.0, 0.0]


def test_strength_keeps_the_last_part_of_the_schedule() -> None:
    sigmas = make_sigmas("simple", 30)
    assert torch.equal(strength_sigmas(sigmas, 0.5), sigmas[15:])
    assert torch.equal(strength_sigmas(sigmas, 1.0), sigmas)
    assert len(strength_sigmas(sigmas, 0.01)) == 2  # at least one step
    with pytest.raises(ConfigError, match=r"`strength` must be in \(0, 1\], got 0.0"):
        strength_sigmas(sigmas, 0.0)


@pytest.mark.parametrize(
    ("steps", "denoise", "total"),
    [(20, 0.5, 40), (20, 0.75, 26), (30, 0.3, 100), (7, 0.33, 21), (10, 0.99, 10)],
)
def test_denoise_runs_all_steps_of_a_longer_schedule(steps: int, denoise: float, total: int) -> None:
    # ComfyUI KSampler.set_steps: int(steps / denoise) steps, the last steps + 1 values kept.
    assert int(steps / denoise) == total
    sigmas = denoise_sigmas("normal", steps, denoise)
    assert len(sigmas) == steps + 1
    assert torch.equal(sigmas, make_sigmas("normal", total)[-(steps + 1) :])


def test_denoise_near_one_is_the_full_schedule_and_starts_where_strength_would() -> None:
    assert torch.equal(denoise_sigmas("simple", 30, 0.99995), make_sigmas("simple", 30))
    # Both conventions start near the same σ but take different numbers of steps.
    full = make_sigmas("simple", 40)
    assert denoise_sigmas("simple", 20, 0.5)[0] == full[20] == strength_sigmas(full, 0.5)[0]
    assert len(strength_sigmas(full, 0.5)) - 1 == 20 and len(denoise_sigmas("simple", 40, 0.5)) - 1 == 40
    with pytest.raises(ConfigError, match=r"`denoise` must be in \(0, 1\], got 1.5"):
        denoise_sigmas("simple", 30, 1.5)
