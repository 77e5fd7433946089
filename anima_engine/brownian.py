"""Brownian-tree step noise, as ComfyUI's `BrownianTreeNoiseSampler` draws it for its SDE samplers.

A Brownian path W(σ) over [σ_min, σ_max] of the schedule is generated lazily by torchsde's
`BrownianTree` (Li et al. 2020, "Scalable Gradients for Stochastic Differential Equations", the virtual
Brownian tree), seeded with the generation's seed. The noise of the step σ → σ_next is the increment
(W(σ_next) − W(σ))/√|σ_next − σ|, a standard normal whose values depend only on the seed and the two
noise levels, not on how many steps came before. The whole batch shares one tree, as in ComfyUI.
"""

import warnings
from typing import cast

import torch
import torchsde
from torch import Tensor

# torchsde stores the tree's start rounded to its tolerance and warns when a query at the schedule's smallest
# σ falls just below it, then queries from the start. ComfyUI's calls do the same, silently or not.
_END_POINT_WARNING = "Should have ta>=t0"


class BrownianNoise:
    """A `StepNoise` backed by one Brownian tree over the non-zero σ range of `sigmas`.

    Args:
        x: the sampler state; its shape, device and dtype are those of the noise.
        sigmas: the schedule as given to the sampler (before any first-σ offset).
        seed: the generation's seed (torchsde's `entropy`).
        on_cpu: build and query the tree on the CPU (ComfyUI's plain samplers) instead of x's device
            (its `_gpu` samplers). On a CPU-only run the two are the same.
    """

    def __init__(self, x: Tensor, sigmas: Tensor, seed: int, *, on_cpu: bool) -> None:
        self.device, self.dtype = x.device, x.dtype
        self.tree_device = torch.device("cpu") if on_cpu else x.device
        t0, t1 = sigmas[sigmas > 0].min(), sigmas.max()
        w0 = torch.zeros_like(x, device=self.tree_device)
        self.on_cpu = on_cpu
        t0, t1 = t0.detach().to(self.tree_device), t1.detach().to(self.tree_device)
        self.tree = torchsde.BrownianTree(t0, w0, t1, entropy=seed)

    def __call__(self, sigma: Tensor, sigma_next: Tensor) -> Tensor:
        low, high, sign = (sigma, sigma_next, 1) if sigma < sigma_next else (sigma_next, sigma, -1)
        if self.on_cpu:
            query_low, query_high = low.cpu().float(), high.cpu().float()
        else:
            query_low, query_high = low.to(self.tree_device), high.to(self.tree_device)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_END_POINT_WARNING)
            # A tensor: the tuples of torchsde's signature come only with `return_U`/`return_A`.
            increment = cast(Tensor, self.tree(query_low, query_high))
        increment = increment.to(device=self.device, dtype=self.dtype) * sign
        return increment / (high - low).sqrt()
