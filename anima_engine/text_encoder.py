"""Prompt -> Qwen3-0.6B hidden states, T5 ids and per-T5-token weights (engine-spec §2.1, §2.2).

Tokenization follows ComfyUI's `AnimaTokenizer`: no chat template, no BOS/EOS on the Qwen side; T5 ids get
`</s>` (1) appended. The empty prompt is the single pad token `<|endoftext|>` (151643) as in ComfyUI;
diffusers instead encodes an empty, fully masked sequence (engine-spec §2.2). A weighted prompt is a
sequence of `(text, weight)` segments of plain text (weight syntax parsed, escapes removed); like ComfyUI
(`sd1_clip.tokenize_with_weights`), both tokenizers see each segment separately, the T5 tokens carry their
segment's weight and the Qwen weights are all 1. The states are Qwen3's last hidden state, after the
final RMSNorm (`qwen3.Qwen3`).
"""

from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from anima_engine.config import TextEncoderParams
from anima_engine.errors import CheckpointError
from anima_engine.qwen3 import Qwen3
from anima_prompt.places import TOKENIZER_FILES

if TYPE_CHECKING:
    from tokenizers import Tokenizer

QWEN_PAD_TOKEN = "<|endoftext|>"
T5_EOS_TOKEN = "</s>"

TextInput = str | Sequence[tuple[str, float]]


@dataclass(frozen=True, slots=True)
class Tokens:
    """The token ids of one prompt for both tokenizers."""

    qwen_ids: tuple[int, ...]
    t5_ids: tuple[int, ...]
    t5_weights: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class TextFeatures:
    """What the LLM adapter needs for one prompt.

    Attributes:
        qwen_states: (1, Lq, Ds) Qwen3 last hidden states, in the encoder's dtype.
        t5_ids: (1, Lt) int64 T5 ids, EOS included.
        t5_weights: (1, Lt) float32 weight of each T5 token.
    """

    qwen_states: Tensor
    t5_ids: Tensor
    t5_weights: Tensor


@dataclass(frozen=True, slots=True, eq=False)
class Tokenizers:
    """The Qwen3 and T5 tokenizers and their special ids, read from the files."""

    qwen: "Tokenizer"
    t5: "Tokenizer"
    qwen_pad_id: int
    t5_eos_id: int


def _special_id(tokenizer: "Tokenizer", token: str, path: Path) -> int:
    token_id = tokenizer.token_to_id(token)
    if token_id is None:
        raise CheckpointError(f"{path}: tokenizer has no {token!r} token")
    return token_id


def _read_tokenizer(path: Path) -> "Tokenizer":
    from tokenizers import Tokenizer

    if not path.is_file():
        raise CheckpointError(f"{path}: tokenizer file not found")
    try:
        return Tokenizer.from_file(str(path))
    except Exception as error:  # the tokenizers library raises a bare Exception for bad files
        raise CheckpointError(f"{path}: unreadable tokenizer file ({error})") from None


def load_tokenizers(directory: str | Path) -> Tokenizers:
    """Read `qwen3/tokenizer.json` and `t5/tokenizer.json` under `directory` (never from a hub).

    Raises:
        CheckpointError: a file is missing or unreadable, or lacks its pad/EOS token.
    """
    directory = Path(directory)
    qwen_path, t5_path = (directory / TOKENIZER_FILES[name] for name in ("qwen3", "t5"))
    qwen, t5 = _read_tokenizer(qwen_path), _read_tokenizer(t5_path)
    return Tokenizers(
        qwen=qwen,
        t5=t5,
        qwen_pad_id=_special_id(qwen, QWEN_PAD_TOKEN, qwen_path),
        t5_eos_id=_special_id(t5, T5_EOS_TOKEN, t5_path),
    )


def tokenize(tokenizers: Tokenizers, prompt: TextInput) -> Tokens:
    """Token ids of a prompt given as plain text or as `(text, weight)` segments.

    Example:
        >>> tokenize(tokenizers, "Hello world").t5_ids
        (8774, 296, 1)
    """
    segments = [(prompt, 1.0)] if isinstance(prompt, str) else list(prompt)
    qwen_ids: list[int] = []
    t5_ids: list[int] = []
    t5_weights: list[float] = []
    for text, weight in segments:
        if not text:
            continue
        qwen_ids.extend(tokenizers.qwen.encode(text, add_special_tokens=False).ids)
        ids = tokenizers.t5.encode(text, add_special_tokens=False).ids
        t5_ids.extend(ids)
        t5_weights.extend([float(weight)] * len(ids))
    return Tokens(
        qwen_ids=tuple(qwen_ids) or (tokenizers.qwen_pad_id,),
        t5_ids=(*t5_ids, tokenizers.t5_eos_id),
        t5_weights=(*t5_weights, 1.0),
    )


def encode_tokens(model: Qwen3, tokens: Tokens) -> TextFeatures:
    """Run Qwen3 on the Qwen ids (one unpadded prompt, causal attention) and pack the T5 side."""
    device = model.embed_tokens.weight.device
    ids = torch.tensor([tokens.qwen_ids], dtype=torch.long, device=device)
    with torch.no_grad():
        states = model(ids)  # (1, Lq, Ds)
    return TextFeatures(
        qwen_states=states,
        t5_ids=torch.tensor([tokens.t5_ids], dtype=torch.long, device=device),
        t5_weights=torch.tensor([tokens.t5_weights], dtype=torch.float32, device=device),
    )


@dataclass(frozen=True, slots=True, eq=False)
class TextEncoder:
    """Qwen3-0.6B and both tokenizers; `encode(prompt)` gives the adapter's inputs."""

    model: Qwen3
    tokenizers: Tokenizers
    params: TextEncoderParams

    def encode(self, prompt: TextInput) -> TextFeatures:
        """Features of one prompt, plain text or `(text, weight)` segments."""
        return encode_tokens(self.model, tokenize(self.tokenizers, prompt))


ENCODED_TEXTS_KEPT = 32
"""Encoded prompts a pipeline keeps: a prompt file's shared negative prompt is encoded once, not once per
image (one Qwen3 forward an image, issue 13)."""


@dataclass(slots=True, eq=False)
class EncodedTexts:
    """The Qwen3 features of recently encoded prompts, by their weighted segments, least recent dropped
    first. Only valid for the encoder's own weights: encodes under a LoRA that patches the text encoder
    must neither read nor fill it (`generation.encode_texts`)."""

    kept: int = ENCODED_TEXTS_KEPT
    _features: "OrderedDict[Hashable, TextFeatures]" = field(default_factory=OrderedDict)

    def get(self, key: Hashable) -> TextFeatures | None:
        """The features stored under `key`, marked as recently used, or None."""
        features = self._features.get(key)
        if features is not None:
            self._features.move_to_end(key)
        return features

    def put(self, key: Hashable, features: TextFeatures) -> None:
        """Store `features` under `key`, dropping the least recently used beyond `kept`."""
        self._features[key] = features
        self._features.move_to_end(key)
        while len(self._features) > self.kept:
            self._features.popitem(last=False)

    def __len__(self) -> int:
        return len(self._features)
