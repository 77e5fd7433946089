"""Tokenization with the real Qwen3 and T5 tokenizer files, and Qwen3 encoding through the tiny files."""

from pathlib import Path

import pytest
import torch

from anima_engine._tiny import TinyFiles
from anima_engine.errors import CheckpointError
from anima_engine.loading import load_text_encoder
from anima_engine.text_encoder import Tokenizers, load_tokenizers, tokenize
from tests.conftest import RealData


@pytest.fixture(scope="module")
def tokenizers(real_data: RealData) -> Tokenizers:
    return load_tokenizers(
        real_data("tokenizers/qwen3/tokenizer.json", "tokenizers/t5/tokenizer.json") / "tokenizers"
    )


def test_special_ids_come_from_the_files(tokenizers: Tokenizers) -> None:
    assert (tokenizers.qwen_pad_id, tokenizers.t5_eos_id) == (151643, 1)


def test_published_t5_vectors(tokenizers: Tokenizers) -> None:
    assert tokenize(tokenizers, "Hello world").t5_ids == (8774, 296, 1)
    sentence = "Studies have been shown that owning a dog is good for you"
    expected = (6536, 43, 118, 2008, 24, 293, 53, 3, 9, 1782, 19, 207, 21, 25, 1)
    assert tokenize(tokenizers, sentence).t5_ids == expected


def test_qwen_side_has_no_special_tokens(tokenizers: Tokenizers) -> None:
    tokens = tokenize(tokenizers, "Hello world")
    assert tokens.qwen_ids == (9707, 1879)  # "Hello", " world": no BOS, EOS or chat template
    assert tokens.t5_weights == (1.0, 1.0, 1.0)


def test_empty_prompt(tokenizers: Tokenizers) -> None:
    tokens = tokenize(tokenizers, "")
    assert tokens.qwen_ids == (151643,)  # the pad token, as ComfyUI encodes the empty prompt
    assert tokens.t5_ids == (1,) and tokens.t5_weights == (1.0,)
    assert tokenize(tokenizers, [("", 1.3)]) == tokens


def test_segments_are_tokenized_separately_with_their_weights(tokenizers: Tokenizers) -> None:
    segments = [("1girl, ", 1.0), ("blue hair", 1.3), (", smile", 1.0)]
    tokens = tokenize(tokenizers, segments)
    parts = [tokenize(tokenizers, text) for text, _ in segments]
    assert tokens.t5_ids == (*[i for part in parts for i in part.t5_ids[:-1]], 1)
    assert tokens.qwen_ids == tuple(i for part in parts for i in part.qwen_ids)
    weights = [weight for (_, weight), part in zip(segments, parts, strict=True) for _ in part.t5_ids[:-1]]
    assert tokens.t5_weights == (*weights, 1.0)
    assert 1.3 in tokens.t5_weights
    # Tokenizing segments separately differs from tokenizing the joined text, as in ComfyUI.
    assert tokens.t5_ids != tokenize(tokenizers, "1girl, blue hair, smile").t5_ids


def test_missing_tokenizer_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"qwen3/tokenizer\.json: tokenizer file not found"):
        load_tokenizers(tmp_path)


def test_corrupt_tokenizer_file(tiny_files: TinyFiles, tmp_path: Path) -> None:
    for name in ("qwen3", "t5"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "tokenizer.json").write_text("{not json")
    with pytest.raises(CheckpointError, match=r"qwen3/tokenizer\.json: unreadable tokenizer file"):
        load_tokenizers(tmp_path)


def test_tokenizer_without_eos(tiny_files: TinyFiles, tmp_path: Path) -> None:
    for name in ("qwen3", "t5"):
        (tmp_path / name).mkdir()
        source = tiny_files.tokenizer_dir / "qwen3" / "tokenizer.json"  # a Qwen file on the T5 side
        (tmp_path / name / "tokenizer.json").write_bytes(source.read_bytes())
    with pytest.raises(CheckpointError, match=r"t5/tokenizer\.json: tokenizer has no '</s>' token"):
        load_tokenizers(tmp_path)


def test_encode_runs_qwen3_on_the_raw_ids(tiny_files: TinyFiles) -> None:
    encoder = load_text_encoder(tiny_files.text_encoder, tokenizer_dir=tiny_files.tokenizer_dir)
    features = encoder.encode([("a cat", 1.0), ("sitting", 1.2)])
    tokens = tokenize(encoder.tokenizers, [("a cat", 1.0), ("sitting", 1.2)])
    assert features.qwen_states.shape == (1, len(tokens.qwen_ids), encoder.params.hidden_size)
    assert features.t5_ids.tolist() == [list(tokens.t5_ids)]
    assert features.t5_weights.dtype == torch.float32
    assert torch.equal(features.t5_weights, torch.tensor([tokens.t5_weights]))
    with torch.no_grad():
        direct = encoder.model(torch.tensor([tokens.qwen_ids]))
    assert torch.equal(features.qwen_states, direct)
    # the last hidden state is after the final RMSNorm: per-token RMS follows the norm weight
    norm_weight = encoder.model.norm.weight
    rms = (features.qwen_states / norm_weight).pow(2).mean(-1).sqrt()
    torch.testing.assert_close(rms, torch.ones_like(rms), rtol=1e-3, atol=1e-3)


def test_empty_prompt_encodes_one_pad_token(tiny_files: TinyFiles) -> None:
    encoder = load_text_encoder(tiny_files.text_encoder, tokenizer_dir=tiny_files.tokenizer_dir)
    features = encoder.encode("")
    assert features.qwen_states.shape == (1, 1, encoder.params.hidden_size)
    assert torch.isfinite(features.qwen_states).all()
    assert features.t5_ids.tolist() == [[1]]
