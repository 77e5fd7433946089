"""Fixtures shared by every test suite."""

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path:
    """The real tag lists and tokenizer files; `ANIMA_SHARED_DATA` points elsewhere than `../shared/data`."""
    return Path(os.environ.get("ANIMA_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not path.is_dir():
        pytest.fail(f"shared test data not found at {path}; set ANIMA_SHARED_DATA")
    return path
