"""Weight updates of one layer: low-rank (LoRA), Kronecker (LyCORIS LoKr) and DoRA's renormalisation.

Scaling rules:
* LoRA: ΔW = (alpha / rank) · up @ down, with rank = down.shape[0]; no alpha, or alpha 0, means
  alpha = rank (Kohya sd-scripts and LyCORIS read alpha 0 as "no scaling").
* LoKr: ΔW = scale · kron(w1, w2), where w1 = w1_a @ w1_b and w2 = w2_a @ w2_b when factorised. When
  either factor is factorised, scale = alpha / rank with rank the inner size of the factorisation;
  when both are full matrices the scale is 1 and alpha is ignored (LyCORIS `functional/lokr.py`
  `diff_weight`, and `LokrModule`: "use scale = 1"; ComfyUI `weight_adapter/lokr.py` does the same).

DoRA (weight decomposition, Liu et al. 2024, "DoRA: Weight-Decomposed Low-Rank Adaptation"), as
LyCORIS applies a stored `dora_scale` m (`LokrModule.apply_weight_decompose`):

    W' = m · (W + ΔW) / (‖W + ΔW‖ + eps)

with the norm taken per input column (m of shape (1, in), LyCORIS' layout) or per output row
(m of shape (out, 1), LyCORIS' `wd_on_out`), chosen by m's shape as ComfyUI does; eps is float32's
machine epsilon. A strength s interpolates between the original and the decomposed weight,
W + s · (W' − W), as ComfyUI's `weight_decompose` does (LyCORIS instead scales the factor m/‖·‖ towards
1, which keeps ΔW at strength 0). For the output-row layout ComfyUI divides by the norm of W instead of
W + ΔW; we follow LyCORIS and the DoRA paper (the norm of the updated weight) there.

Everything here works in float32.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor


def _scalar(alpha: float | None, rank: int) -> float:
    return float(rank) if alpha is None or alpha == 0 else float(alpha)


@dataclass(frozen=True, slots=True, eq=False)
class LowRank:
    """A LoRA update ΔW = (alpha / rank) · up @ down."""

    down: Tensor  # (r, in)
    up: Tensor  # (out, r)
    alpha: float | None = None

    @property
    def rank(self) -> int:
        return self.down.shape[0]

    @property
    def shape(self) -> tuple[int, int]:
        return self.up.shape[0], self.down.shape[1]

    @property
    def scale(self) -> float:
        return _scalar(self.alpha, self.rank) / self.rank

    def delta(self) -> Tensor:
        """ΔW (out, in) in float32, scale included."""
        return self.scale * (self.up.float() @ self.down.float())

    def to(self, device: torch.device, dtype: torch.dtype) -> "LowRank":
        return LowRank(self.down.to(device, dtype), self.up.to(device, dtype), self.alpha)

    def apply(self, x: Tensor) -> Tensor:
        """ΔW x without forming ΔW: (…, in) -> (…, out), in the factors' dtype."""
        return F.linear(F.linear(x, self.down), self.up) * self.scale


@dataclass(frozen=True, slots=True, eq=False)
class LoKr:
    """A LyCORIS LoKr update ΔW = scale · kron(w1, w2); each factor full or as a product a @ b."""

    w1: Tensor | None = None  # (a, b)
    w1_a: Tensor | None = None  # (a, r)
    w1_b: Tensor | None = None  # (r, b)
    w2: Tensor | None = None  # (c, d)
    w2_a: Tensor | None = None  # (c, r)
    w2_b: Tensor | None = None  # (r, d)
    alpha: float | None = None

    @property
    def rank(self) -> int | None:
        """Inner size of the factorisation, None when both factors are full (ComfyUI reads w2's first)."""
        if self.w2_b is not None:
            return self.w2_b.shape[0]
        return self.w1_b.shape[0] if self.w1_b is not None else None

    @property
    def scale(self) -> float:
        rank = self.rank
        return 1.0 if rank is None else _scalar(self.alpha, rank) / rank

    def factors(self) -> tuple[Tensor, Tensor]:
        """(w1, w2) with factorised parts multiplied out, in the stored dtype."""
        w1 = self.w1 if self.w1 is not None else self.w1_a @ self.w1_b  # type: ignore[operator]
        w2 = self.w2 if self.w2 is not None else self.w2_a @ self.w2_b  # type: ignore[operator]
        return w1, w2

    @property
    def shape(self) -> tuple[int, int]:
        (a, b), (c, d) = (
            self._shape(self.w1, self.w1_a, self.w1_b),
            self._shape(self.w2, self.w2_a, self.w2_b),
        )
        return a * c, b * d

    @staticmethod
    def _shape(full: Tensor | None, left: Tensor | None, right: Tensor | None) -> tuple[int, int]:
        if full is not None:
            return full.shape[0], full.shape[1]
        assert left is not None and right is not None
        return left.shape[0], right.shape[1]

    def delta(self) -> Tensor:
        """ΔW (out, in) in float32, scale included."""
        w1, w2 = self.factors()
        return self.scale * torch.kron(w1.float(), w2.float())

    def to(self, device: torch.device, dtype: torch.dtype) -> "LoKr":
        def move(tensor: Tensor | None) -> Tensor | None:
            return None if tensor is None else tensor.to(device, dtype)

        return LoKr(
            *(move(t) for t in (self.w1, self.w1_a, self.w1_b, self.w2, self.w2_a, self.w2_b)),
            alpha=self.alpha,
        )

    def apply(self, x: Tensor) -> Tensor:
        """ΔW x without forming ΔW: kron(w1, w2) x = w1 · X · w2ᵀ with x viewed as X (b, d)."""
        w1, w2 = self.factors()
        grid = x.unflatten(-1, (w1.shape[1], w2.shape[1]))  # (…, b, d)
        out = w1 @ (grid @ w2.transpose(0, 1))  # (…, b, c) -> (…, a, c)
        return out.flatten(-2) * self.scale


Update = LowRank | LoKr


def decompose(weight: Tensor, delta: Tensor, magnitude: Tensor, strength: float) -> Tensor:
    """DoRA in float32: W + s · (m · (W + ΔW) / (‖W + ΔW‖ + eps) − W); see the module docstring.

    Args:
        weight: (out, in) the weight before this update.
        delta: (out, in) the update ΔW, its own scale included.
        magnitude: the stored `dora_scale`, (1, in) for per-column norms or (out, 1) for per-row norms.
        strength: s.
    """
    weight, merged = weight.float(), weight.float() + delta.float()
    per_row = magnitude.shape == (weight.shape[0], 1) and magnitude.shape != (1, weight.shape[1])
    norm = merged.norm(dim=1, keepdim=True) if per_row else merged.norm(dim=0, keepdim=True)
    decomposed = merged * (magnitude.float() / (norm + torch.finfo(torch.float32).eps))
    return weight + strength * (decomposed - weight)
