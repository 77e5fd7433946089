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


USER_VARIABLES = (
    "ANIMA_LORA_DIR",
    "COMFYUI_PATH",
    "ANIMA_MODEL_DIR",
    "ANIMA_TOKENIZERS",
    "ANIMA_TAG_INDEX",
    "HF_TOKEN",
    "HF_ENDPOINT",
)
"""Variables that point the toolkit at the user's own folders, index or accounts."""


@pytest.fixture(autouse=True)
def no_user_folders(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests see only the folders they set up: an empty home, user data and cache folders of their own
    (so no tag index, hash cache or ComfyUI installation of the user's), and none of the shell's model,
    tokenizer, index, LoRA, ComfyUI or hub variables."""
    home = tmp_path_factory.getbasetemp() / "home"
    monkeypatch.setenv("HOME", str(home))
    for name, sub in (("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache"), ("XDG_CONFIG_HOME", "config")):
        monkeypatch.setenv(name, str(home / sub))
    for name in USER_VARIABLES:
        monkeypatch.delenv(name, raising=False)


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
