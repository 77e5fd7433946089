"""Samplers on a closed-form case: Gaussian data, whose exact denoiser and exact ODE end point are known.

Data x0 ~ N(μ, s²) per element, x_σ = (1 − σ)·x0 + σ·ε. With α = 1 − σ and v = α²s² + σ²:
E[x0 | x_σ] = μ + α·s²/v·(x_σ − α·μ), the marginal of x_σ is N(α·μ, v), and the probability-flow ODE
carries x(1) = ε to x(0) = μ + s·ε.
"""

import itertools
import math

import pytest
import torch
from torch import Tensor

from anima_engine.noise import GeneratorNoise, make_generators
from anima_engine.samplers import (
    SAMPLERS,
    Step,
    StepCallback,
    sample_dpmpp_2m_sde,
    sample_er_sde,
    sample_euler,
    sample_euler_ancestral,
    sample_res_multistep,
    sample_uni_pc,
)
from anima_engine.schedules import make_sigmas

MU, S = 0.3, 0.5
SNR_FIRST_SIGMA = 3 * (1 - 1e-4) / (1 + 2 * (1 - 1e-4))


def gaussian_denoiser(x: Tensor, sigma: Tensor) -> Tensor:
    sigma = sigma.reshape(-1, *([1] * (x.ndim - 1))).to(x.dtype)
    alpha = 1 - sigma
    return MU + alpha * S**2 / (alpha**2 * S**2 + sigma**2) * (x - alpha * MU)


def ode_solution(eps: Tensor, sigma: float) -> Tensor:
    alpha = 1 - sigma
    return alpha * MU + math.sqrt(alpha**2 * S**2 + sigma**2) * eps


def lambda_uniform_sigmas(steps: int, dtype: torch.dtype = torch.float64) -> Tensor:
    # σ from 0.99 to 0.02, evenly spaced in log-SNR, then 0: every solver step has the same h.
    lam = torch.linspace(-math.log(99), math.log(49), steps, dtype=dtype)
    return torch.cat([torch.sigmoid(-lam), torch.zeros(1, dtype=dtype)])


def eps_batch(n: int = 256, dtype: torch.dtype = torch.float64) -> Tensor:
    return torch.randn(n, 1, 1, 2, 2, generator=torch.Generator().manual_seed(0), dtype=dtype)


def error_before_last_step(name: str, steps: int) -> float:
    """Max error of x at the last non-zero σ against the exact ODE solution there (fp64)."""
    sigmas = lambda_uniform_sigmas(steps)
    eps = eps_batch()
    x_start = ode_solution(eps, float(sigmas[0]))
    seen: list[Step] = []
    options = {"dpmpp_2m_sde": {"eta": 0.0}, "er_sde": {"noise_scaler": lambda lam: lam}}
    options["dpmpp_2m_sde_heun"] = options["dpmpp_2m_sde"]
    SAMPLERS[name](gaussian_denoiser, x_start, sigmas, callback=seen.append, **options.get(name, {}))
    last = seen[-1]
    return (last.x - ode_solution(eps, last.sigma)).abs().max().item()


def observed_order(name: str, steps: int) -> float:
    return math.log2(error_before_last_step(name, steps) / error_before_last_step(name, 2 * steps))


def test_euler_is_first_order() -> None:
    for steps in (20, 40):
        assert 0.9 < observed_order("euler", steps) < 1.1


@pytest.mark.parametrize("name", ["dpmpp_2m_sde", "dpmpp_2m_sde_heun", "res_multistep"])
def test_second_order_multistep_solvers(name: str) -> None:
    # DPM-Solver++(2M) without noise (midpoint and Heun coefficients) and RES multistep.
    for steps in (40, 80):
        assert 1.85 < observed_order(name, steps) < 2.15


def test_res_multistep_first_two_steps_by_hand() -> None:
    x = torch.tensor([[[[[0.7]]]]], dtype=torch.float64)
    sigmas = torch.tensor([0.8, 0.4, 0.2], dtype=torch.float64)
    seen: list[Step] = []
    sample_res_multistep(gaussian_denoiser, x, sigmas, callback=seen.append)
    # Step 1 is Euler: x1 = x + (x − x̂0(x, 0.8))/0.8 · (0.4 − 0.8).
    d0 = gaussian_denoiser(x, torch.tensor([0.8], dtype=torch.float64)).item()
    x1 = 0.7 + (0.7 - d0) / 0.8 * (0.4 - 0.8)
    assert seen[1].x.item() == pytest.approx(x1, abs=1e-12)
    # Step 2 (the last, σ_next = 0.2 > 0) is the multistep update in t = −log σ: h = log 2, c2 = −1,
    # φ1(−h) = (1 − e^{−h})/h, φ2(−h) = (φ1(−h) − 1)/(−h).
    d1 = gaussian_denoiser(seen[1].x, torch.tensor([0.4], dtype=torch.float64)).item()
    h = math.log(2)
    phi1 = (1 - math.exp(-h)) / h
    phi2 = (phi1 - 1) / -h
    b1, b2 = phi1 - phi2 / -1, phi2 / -1
    out = sample_res_multistep(gaussian_denoiser, x, sigmas)
    assert out.item() == pytest.approx(math.exp(-h) * x1 + h * (b1 * d1 + b2 * d0), abs=1e-12)


def test_dpmpp_2m_sde_heun_differs_from_midpoint_only_after_the_first_step() -> None:
    x = eps_batch(4)
    sigmas = lambda_uniform_sigmas(3)
    runs = {}
    for solver in ("midpoint", "heun"):
        seen: list[Step] = []
        sample_dpmpp_2m_sde(gaussian_denoiser, x, sigmas, eta=0.0, solver=solver, callback=seen.append)
        runs[solver] = seen
    assert torch.equal(runs["midpoint"][1].x, runs["heun"][1].x)
    assert not torch.allclose(runs["midpoint"][2].x, runs["heun"][2].x)


def test_er_sde_with_identity_noise_scaler_is_at_least_second_order() -> None:
    # Third-order stages, but the first-order start-up steps make the global order two.
    for steps in (20, 40):
        assert observed_order("er_sde", steps) > 1.8


def test_euler_global_error_halves_when_steps_double_on_the_real_schedule() -> None:
    eps = eps_batch()
    errors = []
    for steps in (10, 20, 40, 80):
        out = sample_euler(gaussian_denoiser, eps, make_sigmas("simple", steps).double())
        errors.append((out - (MU + S * eps)).abs().max().item())
    ratios = [a / b for a, b in itertools.pairwise(errors)]
    assert all(1.7 < r < 2.2 for r in ratios), ratios


def test_one_euler_step_is_the_denoised_estimate() -> None:
    x = eps_batch(8, torch.float32)
    out = sample_euler(gaussian_denoiser, x, torch.tensor([1.0, 0.0]))
    # x + (x − x̂0)/1·(0 − 1) = x̂0, and at σ = 1 the exact x̂0 is the data mean.
    assert torch.allclose(out, torch.full_like(x, MU), atol=1e-6)


def test_two_euler_steps_by_hand() -> None:
    x = torch.tensor([[[[[0.7]]]]], dtype=torch.float64)
    out = sample_euler(gaussian_denoiser, x, torch.tensor([1.0, 0.5, 0.0], dtype=torch.float64))
    # Step 1 at σ=1: x̂0 = μ, d = (0.7 − 0.3)/1 = 0.4, x = 0.7 − 0.5·0.4 = 0.5.
    # Step 2 at σ=0.5: x̂0 = 0.3 + 0.5·0.25/(0.0625 + 0.25)·(0.5 − 0.15) = 0.44,
    # d = (0.5 − 0.44)/0.5 = 0.12, x = 0.5 − 0.5·0.12 = 0.44.
    assert out.item() == pytest.approx(0.44, abs=1e-12)


def test_ancestral_step_by_hand() -> None:
    x = torch.tensor([[[[[0.7]]]]], dtype=torch.float64)
    sigmas = torch.tensor([1.0, 0.5, 0.0], dtype=torch.float64)
    seen: list[Step] = []
    out = sample_euler_ancestral(
        gaussian_denoiser,
        x,
        sigmas,
        noise=GeneratorNoise(torch.Generator().manual_seed(5)),
        callback=seen.append,
    )
    eps = torch.randn((1, 1, 1, 1, 1), generator=torch.Generator().manual_seed(5)).item()
    # σ_d = 0.25; DDIM to σ_d: 0.25·0.7 + 0.75·0.3 = 0.4; re-noise: α_next/α_d = 0.5/0.75,
    # noise std √(0.25 − 0.0625·0.25/0.5625) = √(2/9).
    x_mid = 0.4 * 2 / 3 + eps * math.sqrt(2 / 9)
    assert seen[1].x.item() == pytest.approx(x_mid, abs=1e-7)
    assert out.item() == pytest.approx(gaussian_denoiser(seen[1].x, torch.tensor([0.5])).item(), abs=1e-12)


@pytest.mark.parametrize("name", ["dpmpp_2m_sde", "er_sde"])
def test_snr_samplers_offset_the_first_sigma(name: str) -> None:
    seen: list[float] = []

    def recording(x: Tensor, sigma: Tensor) -> Tensor:
        seen.append(sigma[0].item())
        return gaussian_denoiser(x, sigma)

    x = eps_batch(4, torch.float32)
    out = SAMPLERS[name](
        recording, x, torch.tensor([1.0, 0.0]), noise=GeneratorNoise(torch.Generator().manual_seed(0))
    )
    assert seen == [pytest.approx(SNR_FIRST_SIGMA, abs=1e-7)]
    assert pytest.approx(0.99996667, abs=1e-8) == SNR_FIRST_SIGMA
    assert torch.allclose(out, gaussian_denoiser(x, torch.tensor([SNR_FIRST_SIGMA])))


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_every_sampler_reports_every_step_and_keeps_float32_state(name: str) -> None:
    x = eps_batch(2, torch.bfloat16)
    sigmas = make_sigmas("simple", 5)
    seen: list[Step] = []
    out = SAMPLERS[name](
        gaussian_denoiser, x, sigmas, noise=GeneratorNoise(torch.Generator()), callback=seen.append
    )
    assert out.dtype == torch.float32 and out.shape == x.shape
    assert [s.index for s in seen] == list(range(5)) and {s.total for s in seen} == {5}
    assert all(s.x.dtype == torch.float32 for s in seen)
    assert torch.isfinite(out).all()


STOCHASTIC = ["euler_ancestral", "dpmpp_2m_sde", "dpmpp_2m_sde_heun", "er_sde"]


@pytest.mark.parametrize("name", STOCHASTIC)
def test_stochastic_samplers_are_deterministic_for_a_fixed_generator(name: str) -> None:
    x = eps_batch(4, torch.float32)
    sigmas = make_sigmas("simple", 6)

    def run(seed: int) -> Tensor:
        return SAMPLERS[name](
            gaussian_denoiser, x, sigmas, noise=GeneratorNoise(torch.Generator().manual_seed(seed))
        )

    assert torch.equal(run(1), run(1))
    assert not torch.equal(run(1), run(2))


@pytest.mark.parametrize("name", STOCHASTIC)
def test_per_image_generators_make_batch_element_k_equal_a_single_run(name: str) -> None:
    x = eps_batch(3, torch.float32)
    sigmas = make_sigmas("simple", 6)
    batch = SAMPLERS[name](gaussian_denoiser, x, sigmas, noise=GeneratorNoise(make_generators(10, 3)))
    for k in range(3):
        single = SAMPLERS[name](
            gaussian_denoiser, x[k : k + 1], sigmas, noise=GeneratorNoise(make_generators(10 + k))
        )
        assert torch.equal(batch[k : k + 1], single)


def marginal_run(
    name: str, steps: int, samples: int, callback: StepCallback | None = None
) -> tuple[Tensor, float]:
    """Sample `samples` scalars; return them and the exact variance of x̂0 at the last non-zero σ."""
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(samples, 1, 1, 1, 1, generator=generator)
    sigmas = make_sigmas("simple", steps)
    out = SAMPLERS[name](gaussian_denoiser, x, sigmas, noise=GeneratorNoise(generator), callback=callback)
    # The last step returns x̂0 at σ_last, whose variance is s²·α²s²/v, slightly below s².
    sigma_last = float(sigmas[-2])
    alpha = 1 - sigma_last
    return out, S**2 * alpha**2 * S**2 / (alpha**2 * S**2 + sigma_last**2)


@pytest.mark.parametrize("name", ["euler_ancestral", "dpmpp_2m_sde", "er_sde"])
def test_stochastic_samplers_follow_the_marginals(name: str) -> None:
    def check(step: Step) -> None:
        if step.sigma >= 0.3:  # the noisy part, where the discretisation error is small at 100 steps
            alpha = 1 - step.sigma
            assert abs(step.x.mean().item() - alpha * MU) < 0.01, step.sigma
            assert step.x.var().item() / (alpha**2 * S**2 + step.sigma**2) == pytest.approx(1, abs=0.03)

    out, _ = marginal_run(name, 100, 50_000, check)
    assert abs(out.mean().item() - MU) < 0.01


def test_er_sde_reaches_the_data_variance_at_100_steps() -> None:
    out, target = marginal_run("er_sde", 100, 100_000)
    assert out.var().item() == pytest.approx(target, rel=0.02)


@pytest.mark.parametrize("name", ["euler_ancestral", "dpmpp_2m_sde"])
def test_ancestral_and_dpmpp_sde_converge_to_the_data_variance(name: str) -> None:
    # Their variance error at 100 steps is 5-12 %; it must shrink with more steps.
    errors = []
    for steps in (100, 300):
        out, target = marginal_run(name, steps, 100_000)
        assert abs(out.mean().item() - MU) < 0.01
        errors.append(abs(out.var().item() / target - 1))
    assert errors[1] < 0.06 and errors[1] < 0.5 * errors[0], errors


def test_samplers_share_one_signature() -> None:
    import inspect

    shared = ["denoise", "x", "sigmas", "noise", "callback"]
    for fn in SAMPLERS.values():
        params = inspect.signature(fn).parameters
        assert list(params)[:5] == shared
        assert all(p.default is not inspect.Parameter.empty for p in list(params.values())[3:])
    assert set(SAMPLERS) == {
        "euler",
        "euler_ancestral",
        "er_sde",
        "dpmpp_2m_sde",
        "dpmpp_2m_sde_gpu",
        "dpmpp_2m_sde_heun",
        "dpmpp_2m_sde_heun_gpu",
        "res_multistep",
        "uni_pc",
        "uni_pc_bh2",
    }
    assert sample_er_sde is SAMPLERS["er_sde"] and sample_dpmpp_2m_sde is SAMPLERS["dpmpp_2m_sde"]


@pytest.mark.parametrize("name", ["uni_pc", "uni_pc_bh2"])
def test_uni_pc_is_high_order(name: str) -> None:
    # Order-3 predictor plus corrector (UniPC-3 with UniC): about fourth order once the start-up is amortised.
    for steps in (20, 40):
        assert 3.5 < observed_order(name, steps) < 4.5


def test_one_uni_pc_step_by_hand() -> None:
    x = torch.tensor([[[[[0.7]]]]], dtype=torch.float32)
    out = sample_uni_pc(gaussian_denoiser, x, torch.tensor([1.0, 0.0]))
    # One first-order step from σ = 1 to ComfyUI's final σ = 0.001 in the exponential integrator:
    # x' = (σ'/σ)·x + (1 − σ'/σ)·x̂0 with x̂0 = μ at σ = 1, then divided by 1 − 0.001.
    expected = (0.001 * 0.7 + 0.999 * MU) / 0.999
    assert out.item() == pytest.approx(expected, abs=1e-4)  # float32 VP rounding at σ = 0.001


def test_uni_pc_takes_the_schedule_ksampler_builds_for_it() -> None:
    full = make_sigmas("simple", 9)
    assert torch.equal(make_sigmas("simple", 8, drop_penultimate=True), torch.cat([full[:-2], full[-1:]]))
