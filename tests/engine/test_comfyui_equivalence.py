"""With `noise="comfyui"` the engine's latents equal ComfyUI's for the same seed (CPU, analytic denoiser).

Two checks per sampler, at batch 1 and 3: the engine against the plain reference in `comfyui_reference`
(within 1e-5 relative), and that reference against values printed once by ComfyUI's own code
(`COMFYUI_VALUES`; docs/comfyui.md gives the procedure and the ComfyUI commit).
"""

from functools import partial

import pytest
import torch
from torch import Tensor

from anima_engine.noise import ComfyNoise, latent_shape, make_noise, noised
from anima_engine.samplers import SAMPLERS
from anima_engine.schedules import denoise_sigmas, make_sigmas
from tests.engine import comfyui_reference as ref
from tests.engine.test_samplers import gaussian_denoiser

SEED, STEPS, WIDTH, HEIGHT = 42, 8, 48, 32  # latents (B, 16, 1, 4, 6)

REFERENCES = {
    "euler": (ref.euler, "default"),
    "euler_ancestral": (ref.euler_ancestral, "default"),
    "er_sde": (ref.er_sde, "default"),
    "dpmpp_2m_sde": (ref.dpmpp_2m_sde, "brownian"),
    "dpmpp_2m_sde_gpu": (ref.dpmpp_2m_sde, "brownian"),
    "dpmpp_2m_sde_heun": (partial(ref.dpmpp_2m_sde, heun=True), "brownian"),
    "dpmpp_2m_sde_heun_gpu": (partial(ref.dpmpp_2m_sde, heun=True), "brownian"),
    "res_multistep": (ref.res_multistep, "default"),
}

# Printed by ComfyUI's `comfy.sample.prepare_noise`, `comfy.samplers.calculate_sigmas` ("simple", 8 steps)
# and `comfy.k_diffusion.sampling.sample_<name>` for Anima's model sampling and the Gaussian denoiser of
# test_samplers, seed 42: every 97th value of the flattened (B, 16, 1, 4, 6) result, and the sum.
COMFYUI_VALUES = {
    "euler/1": ([0.955442488, 0.46599412, 0.627378523, 0.149984881], 121.850706),
    "euler/3": ([0.955442488, 0.46599412, 0.627378523, 0.149984881, 0.800125599, 0.0896198303, 0.150248334,
                 0.105495051, 0.478018999, 0.0976396352, 0.143752694, 0.168401778], 352.107305),
    "euler_ancestral/1": ([0.377083838, 0.475895882, -0.427469194, 0.268992364], 112.228218),
    "euler_ancestral/3": ([0.248921111, 0.0232010186, 0.100018412, -0.102431536, -0.415240824, 0.0314925611,
                           0.430651039, 0.304176807, -0.143507808, 0.339303017, 0.373223037, -0.158838123],
                          335.91711),
    "er_sde/1": ([0.842775583, 0.305672139, -0.393800974, 0.662960649], 109.708928),
    "er_sde/3": ([0.320730984, 0.0336674154, 0.00727555156, -0.0151145756, -0.35712111, -0.496250689,
                  0.540961504, 0.268733382, 0.199206531, 0.642207265, 0.443181068, -0.299556494], 330.316376),
    "dpmpp_2m_sde/1": ([0.0134211779, 0.102503031, 0.457531095, 0.4596802], 121.153438),
    "dpmpp_2m_sde/3": ([0.0134211779, 0.102503031, 0.457531095, 0.4596802, 1.31824136, 0.0072941184,
                        0.110182896, 0.656270266, 0.100158826, 0.402937263, 0.379095227, 0.118283853],
                       347.76376),
    "dpmpp_2m_sde_heun/1": ([0.00625514984, 0.104240298, 0.475981653, 0.469265193], 121.167745),
    "dpmpp_2m_sde_heun/3": ([0.00625514984, 0.104240298, 0.475981653, 0.469265193, 1.36157298, 0.00673121214,
                             0.0982061476, 0.679362655, 0.0870480388, 0.424117446, 0.381826937, 0.10959354],
                            347.434416),
    "res_multistep/1": ([1.03547907, 0.486263752, 0.667354941, 0.131666437], 122.662832),
    "res_multistep/3": ([1.03547907, 0.486263752, 0.667354941, 0.131666437, 0.86119628, 0.0639301687,
                         0.131962076, 0.0817439258, 0.499756992, 0.072929278, 0.124673232, 0.152332217],
                        352.901927),
    # comfy.extra_samplers.uni_pc.sample_unipc(_bh2) on KSampler's schedule for it: "simple" built for
    # 9 steps, the next-to-last σ dropped
    "uni_pc/1": ([0.785973251, 0.423080474, 0.542735994, 0.188781008], 120.133758),
    "uni_pc/3": ([0.785973251, 0.423080474, 0.542735994, 0.188781008, 0.670816243, 0.144024372, 0.188976347,
                  0.155794814, 0.431996107, 0.149970591, 0.184160292, 0.202435896], 350.432862),
    "uni_pc_bh2/1": ([0.784695208, 0.422756791, 0.542097569, 0.189073548], 120.120792),
    "uni_pc_bh2/3": ([0.784695208, 0.422756791, 0.542097569, 0.189073548, 0.669841051, 0.144434631,
                      0.189268395, 0.156174093, 0.43164894, 0.150365114, 0.184464917, 0.202692464],
                     350.420174),
    # KSampler denoise 0.6, "normal", 8 steps, seed 7, euler_ancestral, from x0 = linspace(−1, 1) (3 images)
    "img2img/euler_ancestral/3": ([-0.0966890752, 0.0965111405, -0.0632478893, 0.118738994, -0.161410093,
                                   -0.295382321, 0.11973016, -0.281326771, 0.220107794, 0.21226418,
                                   0.185460955, 0.309491366], 331.936289),
}  # fmt: skip


def reference_model(x: Tensor, sigma: float) -> Tensor:
    return gaussian_denoiser(x, torch.full((x.shape[0],), sigma, dtype=x.dtype))


def reference_run(name: str, batch: int) -> Tensor:
    sampler, noise_kind = REFERENCES[name]
    sigmas = ref.simple_sigmas(STEPS)
    x = ref.initial_noise(SEED, (batch, 16, 1, HEIGHT // 8, WIDTH // 8)) * sigmas[0]
    noise = ref.brownian_noise(SEED, x, sigmas) if noise_kind == "brownian" else ref.default_noise(SEED, x)
    return sampler(reference_model, x, sigmas, noise)


def engine_run(name: str, batch: int) -> Tensor:
    noise = make_noise("comfyui", SEED, batch)
    sigmas = make_sigmas("simple", STEPS)
    x = noised(None, noise.initial(latent_shape(batch, WIDTH, HEIGHT)), sigmas[0])
    return SAMPLERS[name](gaussian_denoiser, x, sigmas, noise=noise)


def relative(a: Tensor, b: Tensor) -> float:
    return ((a.double() - b.double()).norm() / b.double().norm()).item()


def check_against_comfyui(out: Tensor, key: str) -> None:
    values, total = COMFYUI_VALUES[key]
    flat = out.double().flatten()
    assert flat[::97].tolist() == pytest.approx(values, rel=1e-5, abs=1e-6)
    assert flat.sum().item() == pytest.approx(total, rel=1e-5)


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_engine_equals_the_comfyui_algorithm(name: str, batch: int) -> None:
    ours, theirs = engine_run(name, batch), reference_run(name, batch)
    assert ours.shape == theirs.shape == (batch, 16, 1, 4, 6)
    assert relative(ours, theirs) < 1e-5


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_the_reference_reproduces_comfyuis_own_numbers(name: str, batch: int) -> None:
    check_against_comfyui(reference_run(name, batch), f"{name.removesuffix('_gpu')}/{batch}")


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("name", ["uni_pc", "uni_pc_bh2"])
def test_uni_pc_on_ksamplers_schedule_equals_comfyui(name: str, batch: int) -> None:
    noise = make_noise("comfyui", SEED, batch)
    sigmas = make_sigmas("simple", STEPS, drop_penultimate=True)
    x = noised(None, noise.initial(latent_shape(batch, WIDTH, HEIGHT)), sigmas[0])
    check_against_comfyui(SAMPLERS[name](gaussian_denoiser, x, sigmas, noise=noise), f"{name}/{batch}")


def test_img2img_with_comfyui_denoise_equals_comfyui() -> None:
    x0 = torch.linspace(-1, 1, 3 * 16 * 4 * 6).reshape(3, 16, 1, 4, 6)
    noise = ComfyNoise(7)
    sigmas = denoise_sigmas("normal", 8, 0.6)
    x = noised(x0, noise.initial(x0.shape), sigmas[0])
    out = SAMPLERS["euler_ancestral"](gaussian_denoiser, x, sigmas, noise=noise)
    check_against_comfyui(out, "img2img/euler_ancestral/3")


def test_the_anima_convention_differs_from_comfyui_beyond_image_zero() -> None:
    noise = make_noise("anima", SEED, 3)
    sigmas = make_sigmas("simple", STEPS)
    x = noised(None, noise.initial(latent_shape(3, WIDTH, HEIGHT)), sigmas[0])
    anima = SAMPLERS["euler"](gaussian_denoiser, x, sigmas, noise=noise)
    comfy = engine_run("euler", 3)
    assert torch.equal(anima[0], comfy[0])  # image 0: the same draw from the same seed
    assert relative(anima[1:], comfy[1:]) > 0.1
