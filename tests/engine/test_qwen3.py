"""Our Qwen3 text encoder against transformers' `Qwen3Model` (the reference; transformers is a test extra)."""

import pytest
import torch

from anima_engine._tiny import TINY_TEXT_ENCODER, randomize
from anima_engine.config import TextEncoderParams
from anima_engine.qwen3 import Qwen3

PARAMS = TextEncoderParams(
    vocab_size=300,
    hidden_size=48,
    intermediate_size=96,
    num_layers=3,
    num_heads=4,
    num_kv_heads=2,
    head_dim=16,
)


def reference_qwen3(
    params: TextEncoderParams, state: dict[str, torch.Tensor], dtype: torch.dtype
) -> torch.nn.Module:
    transformers = pytest.importorskip("transformers")
    config = transformers.Qwen3Config(
        vocab_size=params.vocab_size,
        hidden_size=params.hidden_size,
        intermediate_size=params.intermediate_size,
        num_hidden_layers=params.num_layers,
        num_attention_heads=params.num_heads,
        num_key_value_heads=params.num_kv_heads,
        head_dim=params.head_dim,
        rope_theta=params.rope_theta,
        rms_norm_eps=params.norm_eps,
        max_position_embeddings=params.max_positions,
        attention_bias=False,
        tie_word_embeddings=False,
        use_cache=False,
        attn_implementation="sdpa",
    )
    model = transformers.Qwen3Model(config).eval()
    model.load_state_dict(state, strict=True)
    model.to(dtype)
    # `.to(dtype)` also rounds the rotary frequencies; rebuild them in float32, as the engine used them
    model.rotary_emb = type(model.rotary_emb)(config)
    return model


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("length", [1, 7, 40])
def test_last_hidden_state_matches_transformers(dtype: torch.dtype, length: int) -> None:
    ours = randomize(Qwen3(PARAMS), seed=3).eval()
    reference = reference_qwen3(PARAMS, ours.state_dict(), dtype)
    ours = ours.to(dtype)
    ids = torch.randint(0, PARAMS.vocab_size, (2, length), generator=torch.Generator().manual_seed(length))
    with torch.no_grad():
        got = ours(ids)
        expected = reference(input_ids=ids).last_hidden_state
    assert got.dtype == expected.dtype == dtype
    if dtype == torch.float32:
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    else:  # the same operations in the same order and dtypes
        torch.testing.assert_close(got, expected, rtol=0, atol=0)


def test_attention_is_causal() -> None:
    model = randomize(Qwen3(PARAMS), seed=4).eval()
    ids = torch.tensor([[5, 9, 200, 17, 3]])
    changed = ids.clone()
    changed[0, 3:] = torch.tensor([250, 251])
    with torch.no_grad():
        a, b = model(ids), model(changed)
    assert torch.equal(a[:, :3], b[:, :3])  # earlier positions never see later tokens
    assert not torch.allclose(a[:, 3:], b[:, 3:])


def test_state_dict_names_are_the_checkpoint_names() -> None:
    with torch.device("meta"):
        names = list(Qwen3(TINY_TEXT_ENCODER).state_dict())
    assert names[:2] == ["embed_tokens.weight", "layers.0.self_attn.q_proj.weight"]
    assert "layers.1.mlp.gate_proj.weight" in names and names[-1] == "norm.weight"
    assert len(names) == 1 + 11 * TINY_TEXT_ENCODER.num_layers + 1


def test_bad_ids_are_refused() -> None:
    with pytest.raises(ValueError, match=r"got ids of shape \(3,\), expected \(B, L\)"):
        Qwen3(TINY_TEXT_ENCODER)(torch.tensor([1, 2, 3]))
