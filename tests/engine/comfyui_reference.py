"""ComfyUI's sampling algorithm for Anima, written out plainly as the reference for the comfyui convention.

This follows ComfyUI's published code (comfy/sample.py `prepare_noise`, comfy/samplers.py `KSampler`,
comfy/model_sampling.py `ModelSamplingDiscreteFlow` + `CONST`, comfy/k_diffusion/sampling.py) step by
step, but is written independently of the engine: the schedule arithmetic is done in Python floats, each
sampler is one flat loop, and nothing is imported from `anima_engine`. docs/comfyui.md describes it.
"""

import math
from collections.abc import Callable

import torch
import torchsde
from torch import Tensor

Denoiser = Callable[[Tensor, float], Tensor]
NoiseFn = Callable[[float, float], Tensor]

SHIFT = 3.0


def shift(t: float) -> float:
    """ComfyUI `time_snr_shift(3, t)` for Anima's multiplier 1."""
    return SHIFT * t / (1 + (SHIFT - 1) * t)


def simple_sigmas(steps: int) -> list[float]:
    """ComfyUI `simple_scheduler` over the float32 table shift(k/1000), k = 1…1000, as floats."""
    table = (
        SHIFT * (torch.arange(1, 1001) / 1000) / (1 + (SHIFT - 1) * (torch.arange(1, 1001) / 1000))
    ).tolist()
    stride = 1000 / steps
    return [table[-(1 + int(i * stride))] for i in range(steps)] + [0.0]


def initial_noise(seed: int, shape: tuple[int, ...]) -> Tensor:
    """`prepare_noise`: one `torch.randn` of the whole latent shape from a CPU generator seeded `seed`."""
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def default_noise(seed: int, like: Tensor) -> NoiseFn:
    """`default_noise_sampler`: a generator on the latent's device, seeded seed + 1 on the CPU."""
    generator = torch.Generator().manual_seed(seed + 1)  # these tests run on the CPU
    return lambda sigma, sigma_next: torch.randn(like.shape, generator=generator)


def brownian_noise(seed: int, like: Tensor, sigmas: list[float]) -> NoiseFn:
    """`BrownianTreeNoiseSampler` over [min non-zero σ, max σ]: the normalised increment of one tree."""
    low, high = min(s for s in sigmas if s > 0), max(sigmas)
    tree = torchsde.BrownianTree(torch.tensor(low), torch.zeros_like(like), torch.tensor(high), entropy=seed)

    def draw(sigma: float, sigma_next: float) -> Tensor:
        a, b = sorted((sigma, sigma_next))
        sign = 1.0 if sigma < sigma_next else -1.0
        return sign * tree(torch.tensor(a), torch.tensor(b)) / math.sqrt(b - a)

    return draw


def snr_offset(sigmas: list[float]) -> list[float]:
    """`offset_first_sigma_for_snr`: σ = 1 becomes percent_to_sigma(1e-4) = shift(1 − 1e-4)."""
    return [shift(1 - 1e-4), *sigmas[1:]] if sigmas[0] >= 1 else list(sigmas)


def euler(model: Denoiser, x: Tensor, sigmas: list[float], noise: NoiseFn) -> Tensor:
    for i in range(len(sigmas) - 1):
        d = (x - model(x, sigmas[i])) / sigmas[i]
        x = x + d * (sigmas[i + 1] - sigmas[i])
    return x


def euler_ancestral(model: Denoiser, x: Tensor, sigmas: list[float], noise: NoiseFn) -> Tensor:
    """`sample_euler_ancestral_RF` with η = 1."""
    for i in range(len(sigmas) - 1):
        s, s_next = sigmas[i], sigmas[i + 1]
        denoised = model(x, s)
        if s_next == 0:
            x = denoised
            continue
        s_down = s_next * s_next / s
        a_next, a_down = 1 - s_next, 1 - s_down
        x = (s_down / s) * x + (1 - s_down / s) * denoised
        x = (a_next / a_down) * x + noise(s, s_next) * math.sqrt(
            s_next**2 - s_down**2 * a_next**2 / a_down**2
        )
    return x


def er_sde(model: Denoiser, x: Tensor, sigmas: list[float], noise: NoiseFn) -> Tensor:
    """`sample_er_sde`: ER-SDE-Solver-3 with ns(λ) = λ(e^{λ^0.3} + 10) and 200-point sums."""
    sigmas = snr_offset(sigmas)
    lams = [s / (1 - s) for s in sigmas]

    def ns(lam: float) -> float:
        return lam * (math.exp(lam**0.3) + 10)

    previous: list[Tensor] = []  # denoised estimates
    first_differences: list[Tensor] = []
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        if sigmas[i + 1] == 0:
            return denoised
        lam, lam_next = lams[i], lams[i + 1]
        a, a_next = 1 - sigmas[i], 1 - sigmas[i + 1]
        r = ns(lam_next) / ns(lam)
        x = (a_next / a) * r * x + a_next * (1 - r) * denoised
        dt = lam_next - lam
        width = -dt / 200
        points = [lam_next + k * width for k in range(200)]
        if i >= 1:
            d1 = (denoised - previous[-1]) / (lam - lams[i - 1])
            s = sum(1 / ns(p) for p in points) * width
            x = x + a_next * (dt + s * ns(lam_next)) * d1
            if i >= 2:
                s_u = sum((p - lam) / ns(p) for p in points) * width
                d2 = (d1 - first_differences[-1]) / ((lam - lams[i - 2]) / 2)
                x = x + a_next * (dt**2 / 2 + s_u * ns(lam_next)) * d2
            first_differences.append(d1)
        scale = math.sqrt(max(lam_next**2 - lam**2 * r**2, 0.0))
        x = x + a_next * noise(sigmas[i], sigmas[i + 1]) * scale
        previous.append(denoised)
    return x


def dpmpp_2m_sde(
    model: Denoiser, x: Tensor, sigmas: list[float], noise: NoiseFn, heun: bool = False
) -> Tensor:
    """`sample_dpmpp_2m_sde` with η = 1, midpoint or Heun correction."""
    sigmas = snr_offset(sigmas)
    old: Tensor | None = None
    h_last = 0.0
    for i in range(len(sigmas) - 1):
        s, s_next = sigmas[i], sigmas[i + 1]
        denoised = model(x, s)
        if s_next == 0:
            return denoised
        lam, lam_next = math.log((1 - s) / s), math.log((1 - s_next) / s_next)
        h = lam_next - lam
        a_next = 1 - s_next
        x = (s_next / s) * math.exp(-h) * x + a_next * -math.expm1(-2 * h) * denoised
        if old is not None:
            weight = math.expm1(-2 * h) / (2 * h) + 1 if heun else 0.5 * -math.expm1(-2 * h)
            x = x + a_next * weight * (h / h_last) * (denoised - old)
        x = x + noise(s, s_next) * s_next * math.sqrt(-math.expm1(-2 * h))
        old, h_last = denoised, h
    return x


def res_multistep(model: Denoiser, x: Tensor, sigmas: list[float], noise: NoiseFn) -> Tensor:
    """`sample_res_multistep` (η = 0): Euler first and last, the RES 2-step update in between."""
    old: Tensor | None = None
    for i in range(len(sigmas) - 1):
        s, s_next = sigmas[i], sigmas[i + 1]
        denoised = model(x, s)
        if s_next == 0 or old is None:
            x = x + (x - denoised) / s * (s_next - s)
        else:
            h = math.log(s) - math.log(s_next)
            c2 = (math.log(s) - math.log(sigmas[i - 1])) / h
            phi1 = -math.expm1(-h) / h
            phi2 = (phi1 - 1) / -h
            x = math.exp(-h) * x + h * ((phi1 - phi2 / c2) * denoised + (phi2 / c2) * old)
        old = denoised
    return x
