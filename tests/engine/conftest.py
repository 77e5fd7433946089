"""Fixtures for the engine tests: tiny official-layout checkpoint files, written once per session."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from anima_engine._tiny import TinyFiles, write_tiny_model
from tests.engine.hub_helpers import HUB_FILES, QWEN_TOKENIZER, sha256
from tests.support.fileserver import FileServer, file_server

# The suite runs under pytest-xdist with one worker per core; intra-op threads on top of that only
# oversubscribe the cores (tiny tensors gain nothing from them and slow down by 10-50x under load).
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_files(tmp_path_factory: pytest.TempPathFactory) -> TinyFiles:
    return write_tiny_model(tmp_path_factory.mktemp("tiny-anima"), seed=0)


@pytest.fixture
def tiny_dir(tiny_files: TinyFiles) -> Path:
    return tiny_files.dit.parent.parent


@pytest.fixture
def hub(tiny_files: TinyFiles) -> Iterator[FileServer]:
    """The tiny model served under the official hub paths, with linked sha256 headers like the hub's."""
    with file_server() as server:
        files = {"dit": tiny_files.dit, "text-encoder": tiny_files.text_encoder, "vae": tiny_files.vae}
        for part, path in HUB_FILES.items():
            data = files[part].read_bytes()
            server.serve_like_the_hub(path, data, etag=sha256(data))
        qwen = (tiny_files.tokenizer_dir / "qwen3" / "tokenizer.json").read_bytes()
        server.serve_small_hub_file(QWEN_TOKENIZER, qwen)
        server.files["/t5/tokenizer.json"] = (tiny_files.tokenizer_dir / "t5" / "tokenizer.json").read_bytes()
        yield server
