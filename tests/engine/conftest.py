"""Fixtures for the engine tests: tiny official-layout checkpoint files, written once per session."""

from pathlib import Path

import pytest
import torch

from anima_engine.testing import TinyFiles, write_tiny_model

# The suite runs under pytest-xdist with one worker per core; intra-op threads on top of that only
# oversubscribe the cores (tiny tensors gain nothing from them and slow down by 10-50x under load).
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_files(tmp_path_factory: pytest.TempPathFactory) -> TinyFiles:
    return write_tiny_model(tmp_path_factory.mktemp("tiny-anima"), seed=0)


@pytest.fixture
def tiny_dir(tiny_files: TinyFiles) -> Path:
    return tiny_files.dit.parent.parent
