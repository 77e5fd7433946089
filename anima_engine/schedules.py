"""Sigma schedules for Anima's rectified-flow sampling (engine-spec §5.1-5.2).

A schedule maps a step count to a descending float32 tensor of noise levels σ ∈ (0, 1] followed by a final
0. Every schedule is built on the shifted time axis σ(t) = s·t / (1 + (s − 1)·t) with Anima's shift s = 3.
The discrete ones ("simple", "beta") index the same 1000-entry table ComfyUI builds,
σ_k = shift(k/1000) for k = 1…1000, computed in float32 exactly as ComfyUI does so the values agree bit
for bit.
"""

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from anima_engine.errors import ConfigError

SHIFT = 3.0
"""Anima's timestep shift (ComfyUI `sampling_settings = {"multiplier": 1.0, "shift": 3.0}`)."""

NUM_TRAIN_TIMESTEPS = 1000
"""Length of the discrete σ table (ComfyUI `ModelSamplingDiscreteFlow`, diffusers `num_train_timesteps`)."""

KARRAS_RHO = 7.0
LINEAR_QUADRATIC_THRESHOLD = 0.025
"""σ lost over the linear first half of "linear_quadratic" (ComfyUI's `threshold_noise`)."""
DENOISE_FULL = 0.9999
"""ComfyUI's KSampler treats `denoise` above this as 1 (a full schedule)."""
BETA_ALPHA = 0.6
BETA_BETA = 0.6
_CF_MAX_TERMS = 300
_BISECTION_STEPS = 64

ScheduleFn = Callable[[int, float], Tensor]
"""`(steps, shift) -> sigmas`: `steps` non-zero σ values, descending, then a final 0 (float32)."""


def time_snr_shift(shift: float, t: Tensor) -> Tensor:
    """σ(t) = s·t / (1 + (s − 1)·t); written in ComfyUI's operation order so float32 results match."""
    if shift == 1.0:
        return t
    return shift * t / (1 + (shift - 1) * t)


@lru_cache(maxsize=8)
def _sigma_table(shift: float) -> Tensor:
    # ComfyUI: ts = sigma(arange(1, 1001) / 1000 * multiplier) in float32, ascending: table[0] = σ_min.
    t = torch.arange(1, NUM_TRAIN_TIMESTEPS + 1) / NUM_TRAIN_TIMESTEPS
    return time_snr_shift(shift, t)


def sigma_table(shift: float = SHIFT) -> Tensor:
    """The ascending 1000-entry float32 table σ_k = shift(k/1000), k = 1…1000 (a fresh copy)."""
    return _sigma_table(shift).clone()


def _append_zero(sigmas: Tensor) -> Tensor:
    return torch.cat([sigmas.to(torch.float32), sigmas.new_zeros(1, dtype=torch.float32)])


def simple(steps: int, shift: float = SHIFT) -> Tensor:
    """ComfyUI "simple": every (1000/steps)-th entry of the table, from the top.

    σ_i = table[−(1 + int(i · (1000/steps)))]. The index is computed with float arithmetic, as ComfyUI
    does, so it is occasionally one below the exact ⌊i·1000/steps⌋ (for example steps = 38, i = 19).
    """
    table = _sigma_table(shift)
    stride = len(table) / steps
    picked = [table[-(1 + int(i * stride))] for i in range(steps)]
    return _append_zero(torch.stack(picked))


def normal(steps: int, shift: float = SHIFT) -> Tensor:
    """ComfyUI "normal": evenly spaced timesteps from t(σ_max) = 1 to t(σ_min), shifted again.

    The table's σ_min = shift(0.001) is used as a *timestep*, so the last non-zero σ is shift(σ_min)
    (≈ 0.0089 at shift 3), not σ_min.
    """
    table = _sigma_table(shift)
    ts = torch.linspace(float(table[-1]), float(table[0]), steps)
    return _append_zero(time_snr_shift(shift, ts))


def linear(steps: int, shift: float = SHIFT) -> Tensor:
    """diffusers' Anima schedule: σ = shift(linspace(1, 1/steps, steps)), computed as its scheduler does.

    For steps that divide 1000 this equals "simple"; otherwise the two differ by up to ~0.002.
    """
    ts = torch.from_numpy(np.linspace(1.0, 1.0 / steps, steps).astype(np.float32))
    return _append_zero(time_snr_shift(shift, ts))


def karras(steps: int, shift: float = SHIFT) -> Tensor:
    """Karras et al. (2022) ρ = 7 schedule between the table's σ_min and σ_max, as ComfyUI builds it.

    Karras' spacing was designed for variance-exploding σ ∈ [0.03, 80]; on a flow model's σ ∈ (0, 1] it
    still gives a valid descending schedule (ComfyUI offers it for Anima), but it is strongly weighted
    towards low noise: about half of the steps fall below σ = 0.1. It is kept for parity with ComfyUI
    workflows; "simple", "normal" or "beta" suit this model better.
    """
    table = _sigma_table(shift)
    sigma_min, sigma_max = float(table[0]), float(table[-1])
    ramp = torch.linspace(0, 1, steps)
    min_inv_rho = sigma_min ** (1 / KARRAS_RHO)
    max_inv_rho = sigma_max ** (1 / KARRAS_RHO)
    return _append_zero((max_inv_rho + ramp * (min_inv_rho - max_inv_rho)) ** KARRAS_RHO)


def beta(steps: int, shift: float = SHIFT) -> Tensor:
    """ComfyUI "beta" (Lee et al. 2024, arXiv:2407.12173): table entries at Beta(0.6, 0.6) quantiles.

    Table indices are round(ppf(1 − i/steps) · 999) for i = 0…steps−1 (round half to even, as numpy's
    `rint`), so steps cluster at both ends of the trajectory. Consecutive repeated indices are dropped, as
    in ComfyUI, so at large step counts the result can have fewer than `steps` non-zero values.
    """
    table = _sigma_table(shift)
    quantiles = 1.0 - np.linspace(0.0, 1.0, steps, endpoint=False)
    indices = np.rint(beta_ppf(quantiles, BETA_ALPHA, BETA_BETA) * (len(table) - 1)).astype(np.int64)
    kept = [int(k) for j, k in enumerate(indices) if j == 0 or k != indices[j - 1]]
    return _append_zero(table[kept])


def sgm_uniform(steps: int, shift: float = SHIFT) -> Tensor:
    """ComfyUI "sgm_uniform": `steps + 1` evenly spaced timesteps from t(σ_max) to t(σ_min), the last dropped.

    The spacing of Stability AI's sgm samplers (ComfyUI `normal_scheduler(sgm=True)`); as in "normal"
    the timesteps are shifted again, but the end point σ_min itself is never reached.
    """
    table = _sigma_table(shift)
    ts = torch.linspace(float(table[-1]), float(table[0]), steps + 1)[:-1]
    return _append_zero(time_snr_shift(shift, ts))


def exponential(steps: int, shift: float = SHIFT) -> Tensor:
    """k-diffusion's exponential schedule (ComfyUI "exponential"): σ evenly spaced in log σ.

    From the table's σ_max = 1 down to σ_min = shift(0.001); on a flow model this puts most steps at low
    noise, like "karras".
    """
    table = _sigma_table(shift)
    sigma_min, sigma_max = float(table[0]), float(table[-1])
    return _append_zero(torch.linspace(math.log(sigma_max), math.log(sigma_min), steps).exp())


def ddim_uniform(steps: int, shift: float = SHIFT) -> Tensor:
    """ComfyUI "ddim_uniform": every ⌊1000/steps⌋-th table entry from index 1 on, reversed (DDIM spacing).

    Song et al. (2021, arXiv:2010.02502) uniform timestep skipping. As in ComfyUI the schedule starts
    below σ = 1 (table index 1 + k·⌊1000/steps⌋) and can have a few more values than `steps`
    (31 at 30 steps), since it keeps every stride point below 1000.
    """
    table = _sigma_table(shift)
    stride = max(len(table) // steps, 1)
    picked = [float(table[k]) for k in range(1, len(table), stride)]
    return torch.tensor([*picked[::-1], 0.0], dtype=torch.float32)


def linear_quadratic(steps: int, shift: float = SHIFT) -> Tensor:
    """Mochi's linear-quadratic schedule (ComfyUI "linear_quadratic", from genmoai/models `infer.py`).

    The first half of the steps lowers σ linearly by 0.025 in all, the second half follows a quadratic to
    0; σ = 1 − schedule, scaled by the table's σ_max = 1. `shift` only enters through σ_max.
    """
    threshold, sigma_max = LINEAR_QUADRATIC_THRESHOLD, float(_sigma_table(shift)[-1])
    if steps == 1:
        return torch.tensor([1.0, 0.0]) * sigma_max
    linear_steps = steps // 2
    linear = [i * threshold / linear_steps for i in range(linear_steps)]
    step_diff = linear_steps - threshold * steps
    quadratic_steps = steps - linear_steps
    quadratic_coef = step_diff / (linear_steps * quadratic_steps**2)
    linear_coef = threshold / linear_steps - 2 * step_diff / quadratic_steps**2
    const = quadratic_coef * linear_steps**2
    quadratic = [quadratic_coef * i**2 + linear_coef * i + const for i in range(linear_steps, steps)]
    return torch.tensor([1.0 - v for v in [*linear, *quadratic, 1.0]], dtype=torch.float32) * sigma_max


def kl_optimal(steps: int, shift: float = SHIFT) -> Tensor:
    """ "Align Your Steps"' KL-optimal schedule (Sabour et al. 2024, arXiv:2404.14507; ComfyUI "kl_optimal").

    σ_i = tan((1 − i/(N−1))·atan σ_max + i/(N−1)·atan σ_min) between the table's σ_max and σ_min.
    ComfyUI divides by N − 1 = 0 at one step and gets NaN; here one step is [σ_max, 0].
    """
    table = _sigma_table(shift)
    sigma_min, sigma_max = float(table[0]), float(table[-1])
    if steps == 1:
        return _append_zero(torch.tensor([sigma_max]))
    ramp = torch.arange(steps, dtype=torch.float32).div_(steps - 1)
    return _append_zero((ramp * math.atan(sigma_min) + (1 - ramp) * math.atan(sigma_max)).tan_())


def _betainc_cf(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # Continued fraction for I_x(a, b) by the modified Lentz method; it converges quickly for
    # x < (a + 1) / (a + b + 2), and the caller uses the symmetry I_x(a, b) = 1 − I_{1−x}(b, a) otherwise.
    tiny = 1e-300

    def guard(v: np.ndarray) -> np.ndarray:
        return np.where(np.abs(v) < tiny, tiny, v)

    c = np.ones_like(x)
    d = 1.0 / guard(1.0 - (a + b) * x / (a + 1.0))
    h = d.copy()
    for m in range(1, _CF_MAX_TERMS + 1):
        even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        delta = np.ones_like(x)
        for num in (even, odd):
            d = 1.0 / guard(1.0 + num * d)
            c = guard(1.0 + num / c)
            delta = delta * d * c
        h = h * delta
        if np.all(np.abs(delta - 1.0) < 1e-15):
            break
    return h


def betainc(x: np.ndarray, a: float, b: float) -> np.ndarray:
    """Regularized incomplete beta function I_x(a, b), elementwise in float64 (no scipy needed)."""
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    direct = x < (a + 1.0) / (a + b + 2.0)
    xs = np.where(direct, x, 1.0 - x)
    p, q = np.where(direct, a, b), np.where(direct, b, a)
    inner = np.maximum(xs, 1e-300)  # keeps the logs finite; the endpoints are set exactly below
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + p * np.log(inner) + q * np.log1p(-inner)
    )
    tail = np.exp(log_front) * _betainc_cf(inner, p, q) / p
    value = np.where(direct, tail, 1.0 - tail)
    return np.where(x <= 0.0, 0.0, np.where(x >= 1.0, 1.0, value))


def beta_ppf(q: np.ndarray, a: float, b: float) -> np.ndarray:
    """Quantile function of Beta(a, b): bisection on `betainc` to float64 resolution."""
    q = np.asarray(q, dtype=np.float64)
    lo, hi = np.zeros_like(q), np.ones_like(q)
    for _ in range(_BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        below = betainc(mid, a, b) < q
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    if a == b:  # exact median of a symmetric distribution, so 0.5·999 rounds as scipy's ppf does
        hi = np.where(q == 0.5, 0.5, hi)
    return np.where(q <= 0.0, 0.0, np.where(q >= 1.0, 1.0, hi))


SCHEDULES: dict[str, ScheduleFn] = {
    "simple": simple,
    "normal": normal,
    "beta": beta,
    "karras": karras,
    "linear": linear,
    "sgm_uniform": sgm_uniform,
    "exponential": exponential,
    "ddim_uniform": ddim_uniform,
    "linear_quadratic": linear_quadratic,
    "kl_optimal": kl_optimal,
}


def make_sigmas(name: str, steps: int, *, shift: float = SHIFT, drop_penultimate: bool = False) -> Tensor:
    """Build the named schedule: `steps` descending σ values and a 0.

    "beta" can have fewer values at large step counts and "ddim_uniform" a few more (see each).

    Args:
        name: a key of `SCHEDULES`.
        steps: number of sampling steps, at least 1.
        shift: the flow shift; Anima uses 3.0.
        drop_penultimate: build `steps + 1` steps and drop the next-to-last σ, as ComfyUI's KSampler
            does for some samplers (`samplers.DISCARD_PENULTIMATE_SIGMA`).

    Returns:
        A float32 tensor on the CPU, descending from σ_max = 1.0 (a little less for "ddim_uniform") to 0.0.

    Raises:
        ConfigError: unknown schedule name, steps < 1 or shift <= 0.
    """
    if name not in SCHEDULES:
        raise ConfigError(f"unknown scheduler {name!r}; expected one of {', '.join(SCHEDULES)}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ConfigError(f"`steps` must be an integer >= 1, got {steps!r}")
    if not shift > 0:
        raise ConfigError(f"`shift` must be > 0, got {shift!r}")
    if drop_penultimate:
        sigmas = SCHEDULES[name](steps + 1, shift)
        return torch.cat([sigmas[:-2], sigmas[-1:]])
    return SCHEDULES[name](steps, shift)


def strength_sigmas(sigmas: Tensor, strength: float) -> Tensor:
    """img2img with diffusers' `strength`: the last ⌈strength·N⌉ steps of the N-step schedule (at least one).

    The start index is int(N − N·strength), as diffusers computes it.

    Raises:
        ConfigError: `strength` outside (0, 1].
    """
    if not 0.0 < strength <= 1.0:
        raise ConfigError(f"`strength` must be in (0, 1], got {strength}")
    steps = len(sigmas) - 1
    return sigmas[int(steps - steps * strength) :]


def denoise_sigmas(
    name: str, steps: int, denoise: float, *, shift: float = SHIFT, drop_penultimate: bool = False
) -> Tensor:
    """img2img with ComfyUI's KSampler `denoise`: all `steps` steps, taken from the end of a longer schedule.

    The schedule is built for int(steps / denoise) steps (truncated, as ComfyUI does) and its last
    `steps + 1` values are kept, so the run starts at a σ near `denoise`'s point of the full schedule and
    still takes `steps` steps. `denoise` above 0.9999 is a full schedule, as in ComfyUI.

    Raises:
        ConfigError: `denoise` outside (0, 1], or what `make_sigmas` raises.
    """
    if not 0.0 < denoise <= 1.0:
        raise ConfigError(f"`denoise` must be in (0, 1], got {denoise}")
    total = steps if denoise > DENOISE_FULL else int(steps / denoise)
    return make_sigmas(name, total, shift=shift, drop_penultimate=drop_penultimate)[-(steps + 1) :]
