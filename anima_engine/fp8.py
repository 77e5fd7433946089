"""fp8 (e4m3) matrix multiplies for the DiT's large linear layers, an opt-in speed mode for Hopper GPUs.

Weights are quantised once, per output channel; activations per row (token) at every call, and the
product runs through `torch._scaled_mm` with both scales applied in its epilogue, accumulating in fp32
and writing bf16. Only the block linears whose inputs have one row per image token or context row are
converted; the AdaLN-LoRA linears (two rows per call) and the patch and final projections stay in bf16.
The conversion replaces modules, so apply LoRAs before it. Its cost in accuracy is reported by
`benchmarks/engine_bench.py --fp8`.
"""

import torch
from torch import Tensor, nn

from anima_engine.dit import DiT

E4M3_MAX = 448.0
_CONVERTED = ("self_attn", "cross_attn", "mlp")


def _quantize_rows(x: Tensor) -> tuple[Tensor, Tensor]:
    """(M, K) -> e4m3 values and (M, 1) float32 scales with x ≈ values · scales."""
    scale = x.abs().amax(dim=1, keepdim=True).float().clamp(min=1e-12) / E4M3_MAX
    return (x.float() / scale).to(torch.float8_e4m3fn), scale


class Fp8Linear(nn.Module):
    """A bias-free `nn.Linear` replacement computing x·Wᵀ with e4m3 operands and a bf16 result."""

    weight_t: Tensor  # (K, N) e4m3, a buffer
    weight_scale: Tensor  # (1, N) float32, a buffer

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        if linear.bias is not None:
            raise ValueError("Fp8Linear takes bias-free layers (every DiT linear is bias-free)")
        values, scale = _quantize_rows(linear.weight.detach())  # (N, K), (N, 1)
        # `_scaled_mm` wants the second operand column-major: keep Wᵀ as a transposed view of W.
        self.register_buffer("weight_t", values.t())  # (K, N)
        self.register_buffer("weight_scale", scale.t().contiguous())  # (1, N)
        self.out_dtype = linear.weight.dtype

    def forward(self, x: Tensor) -> Tensor:
        rows = x.reshape(-1, x.shape[-1])  # (M, K)
        values, scale = _quantize_rows(rows)
        # torch has `_scaled_mm` under this name only, and its stubs do not export it.
        out = torch._scaled_mm(  # pyright: ignore[reportPrivateImportUsage]
            values, self.weight_t, scale_a=scale, scale_b=self.weight_scale, out_dtype=self.out_dtype
        )  # (M, N)
        return out.reshape(*x.shape[:-1], out.shape[-1])


def convert_to_fp8(dit: DiT) -> DiT:
    """Replace the attention and MLP linears of every block by `Fp8Linear`, in place; returns `dit`."""
    for block in dit.blocks:
        for part in _CONVERTED:
            sub = getattr(block, part)
            for name, child in list(sub.named_children()):
                if isinstance(child, nn.Linear):
                    setattr(sub, name, Fp8Linear(child))
    return dit
