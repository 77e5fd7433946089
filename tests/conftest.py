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


@pytest.fixture(autouse=True)
def no_lora_folders_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """LoRA folders come only from what a test sets, never from the shell's LoRA or ComfyUI variables."""
    monkeypatch.delenv("ANIMA_LORA_DIR", raising=False)
    monkeypatch.delenv("COMFYUI_PATH", raising=False)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden", action="store_true", help="rewrite the golden files under tests/*/golden/"
    )


@pytest.fixture(scope="session")
def update_golden(request: pytest.FixtureRequest) -> bool:
    """True when `pytest --update-golden` asked for the golden files to be rewritten."""
    return bool(request.config.getoption("--update-golden"))


TEST_DATA = Path(__file__).resolve().parent / "data"
SMALL_TAG_SOURCES = (
    TEST_DATA / "tags_small.csv",
    TEST_DATA / "aliases_small.json",
    TEST_DATA / "implications_small.json",
    TEST_DATA / "artists_small.txt",
)


@pytest.fixture(scope="session")
def tag_index_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tag index built once per session from the small project-authored files in `tests/data`."""
    from anima_prompt.index.query import TagIndex

    path = tmp_path_factory.mktemp("tag_index") / "tags.sqlite"
    TagIndex.build(list(SMALL_TAG_SOURCES), path).close()
    return path


@pytest.fixture
def tag_index(tag_index_path: Path):  # type: ignore[no-untyped-def]
    """The small tag index, opened read-only."""
    from anima_prompt.index.query import TagIndex

    with TagIndex.open(tag_index_path) as index:
        yield index
