"""fp8 linears: close to the bf16 product, in place of the block linears, the DiT still close to float32."""

import torch
from torch import nn

from anima_engine._tiny import TINY_DIT, randomize
from anima_engine.dit import DiT
from anima_engine.fp8 import Fp8Linear, convert_to_fp8


def relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    return ((got.float() - want.float()).norm() / want.float().norm()).item()


def test_fp8_linear_is_close_to_the_exact_product() -> None:
    generator = torch.Generator().manual_seed(0)
    linear = nn.Linear(64, 48, bias=False)
    with torch.no_grad():
        linear.weight.copy_(torch.randn(48, 64, generator=generator))
    x = torch.randn(2, 5, 64, generator=generator)
    got = Fp8Linear(linear)(x)
    assert got.shape == (2, 5, 48)
    # e4m3 keeps 3 mantissa bits: a few percent per product, far from a wrong layout (error ~1).
    assert relative_error(got, linear(x)) < 0.06


def test_convert_replaces_only_the_block_linears() -> None:
    dit = randomize(DiT(TINY_DIT), seed=1).eval()
    generator = torch.Generator().manual_seed(2)
    x = torch.randn(2, TINY_DIT.in_channels, 1, 8, 6, generator=generator)
    sigma = torch.rand(2, generator=generator)
    context = torch.randn(2, 512, TINY_DIT.context_channels, generator=generator)
    with torch.no_grad():
        want = dit(x, sigma, context)
        convert_to_fp8(dit)
        got = dit(x, sigma, context)
    block = dit.blocks[0]
    assert isinstance(block.self_attn.q_proj, Fp8Linear) and isinstance(block.mlp.layer2, Fp8Linear)
    assert isinstance(block.adaln_modulation_mlp[1], nn.Linear)
    assert isinstance(dit.final_layer.linear, nn.Linear)
    assert relative_error(got, want) < 0.1
