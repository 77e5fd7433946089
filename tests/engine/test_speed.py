"""Speed options: validation, and the plain and graph paths computing exactly the plain forward on CPU.

Compilation and CUDA graphs are exercised on a GPU by benchmarks/engine_bench.py, which checks the fast
forward against float32 on every run.
"""

import pytest
import torch

import anima_engine.speed as speed
from anima_engine._tiny import TINY_DIT, randomize
from anima_engine.dit import DiT
from anima_engine.errors import ConfigError
from anima_engine.speed import PLAIN, GraphedVelocity, SpeedOptions, accelerate, attention_backend


@pytest.mark.parametrize(
    ("field", "value"), [("attention", "fastest"), ("compile", "everything"), ("mode", "turbo")]
)
def test_unknown_option_values_are_refused(field: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"{field}: got '{value}', expected one of"):
        SpeedOptions(**{field: value})


def _inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2, TINY_DIT.in_channels, 1, 8, 6, generator=generator)
    sigma = torch.rand(2, generator=generator)
    context = torch.randn(2, 512, TINY_DIT.context_channels, generator=generator)
    return x, sigma, context


def test_plain_options_run_the_module_as_is() -> None:
    dit = randomize(DiT(TINY_DIT), seed=0).eval()
    inputs = _inputs()
    with torch.no_grad():
        assert torch.equal(accelerate(dit, PLAIN)(*inputs), dit(*inputs))


def test_graphed_velocity_calls_through_off_cuda() -> None:
    dit = randomize(DiT(TINY_DIT), seed=0).eval()
    graphed = GraphedVelocity(dit)
    inputs = _inputs()
    with torch.no_grad():
        assert torch.equal(graphed(*inputs), dit(*inputs))
    assert graphed.graphs == {}


def test_math_attention_backend_gives_the_same_forward() -> None:
    dit = randomize(DiT(TINY_DIT), seed=0).eval()
    inputs = _inputs()
    with torch.no_grad(), attention_backend("math"):
        got = dit(*inputs)
    with torch.no_grad():
        torch.testing.assert_close(got, dit(*inputs))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("attention", ["auto", "default"])
def test_the_warm_up_operations_run_on_any_device(dtype: torch.dtype, attention: str) -> None:
    speed.run_warm_up(torch.device("cpu"), dtype, attention=attention)


def test_the_warm_up_is_for_cuda_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speed, "run_warm_up", lambda *args, **kwargs: pytest.fail("warmed up the CPU"))
    speed.warm_up_kernels(torch.device("cpu"), torch.float32)
