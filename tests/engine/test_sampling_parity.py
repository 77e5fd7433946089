"""Euler + CFG trajectory against diffusers' FlowMatchEulerDiscreteScheduler, with a tiny random Cosmos DiT.

Both loops call the same velocity model (diffusers' `CosmosTransformer3DModel`, which Anima's DiT is), so
this checks the schedule ("linear" is diffusers' Anima schedule), the Euler update and the guidance.
Differences that are set explicitly (engine-spec §6): the timestep is σ in float32 (diffusers' pipeline
quantises σ·1000 to the model dtype first), and the padding-mask channel is appended here as zeros
because diffusers resizes its mask with torchvision.
"""

import numpy as np
import pytest
import torch
from torch import Tensor

from anima_engine._tiny import randomize
from anima_engine.config import DiTParams
from anima_engine.dit import DiT
from anima_engine.guidance import cfg
from anima_engine.noise import ComfyNoise, latent_shape
from anima_engine.samplers import sample_euler
from anima_engine.schedules import make_sigmas
from tests.support.reference import reference_dit, reference_velocity

diffusers = pytest.importorskip("diffusers")

STEPS = 6
SCALE = 4.0


def tiny_cosmos() -> torch.nn.Module:
    # Head dim 24, so the RoPE split is non-trivial; 16 latent channels like the real model.
    params = DiTParams(model_channels=48, num_blocks=2, num_heads=2, mlp_channels=96, context_channels=16,
                       adaln_lora_dim=4)  # fmt: skip
    return reference_dit(params, randomize(DiT(params), seed=0).state_dict()).float()


def test_euler_with_cfg_reproduces_the_diffusers_trajectory() -> None:
    model = tiny_cosmos()

    reference = reference_velocity(model)

    @torch.no_grad()
    def velocity(x: Tensor, sigma: Tensor, context: Tensor) -> Tensor:
        return reference(x, sigma.float(), context)

    g = torch.Generator().manual_seed(1)
    cond, uncond = torch.randn(2, 512, 16, generator=g), torch.randn(2, 512, 16, generator=g)
    cond[:, 20:] = 0  # adapter outputs: a few text rows, zero-padded to 512
    uncond[:, 3:] = 0
    noise = ComfyNoise(42).initial(latent_shape(2, 64, 48))  # (2, 16, 1, 6, 8)

    ours = sample_euler(cfg(velocity, cond, uncond, SCALE), noise, make_sigmas("linear", STEPS))

    scheduler = diffusers.FlowMatchEulerDiscreteScheduler(shift=3.0)
    scheduler.set_timesteps(sigmas=np.linspace(1.0, 1 / STEPS, STEPS))
    theirs = noise.clone()
    for i, t in enumerate(scheduler.timesteps):
        sigma = scheduler.sigmas[i].expand(2)
        v_cond, v_uncond = velocity(theirs, sigma, cond), velocity(theirs, sigma, uncond)
        theirs = scheduler.step(v_uncond + SCALE * (v_cond - v_uncond), t, theirs).prev_sample

    assert ours.shape == theirs.shape == noise.shape
    relative = ((ours - theirs).norm() / theirs.norm()).item()
    assert relative < 1e-5, relative
    assert (ours - noise).abs().mean() > 0.1  # the trajectory actually moved
