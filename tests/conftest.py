"""Fixtures shared by every test suite, and the isolation of the tests from the user's own files."""

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.realdata import CACHE_NAME, pinned_downloads, real_files, shared_data_dir

RealData = Callable[..., Path]


ISOLATED_VARIABLES = ("HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME")
"""Pointed into a temporary folder for the whole run, so nothing reads or writes the user's cache, data or
configuration folders (the hash cache, the default tag index, compiled kernels), subprocesses included."""
CLEARED_VARIABLES = (
    "ANIMA_TAG_INDEX",
    "ANIMA_MODEL_DIR",
    "ANIMA_TOKENIZERS",
    "ANIMA_COMPILE_CACHE",
    "ANIMA_LORA_DIR",
    "ANIMA_DEBUG",
    "COMFYUI_PATH",
    "HF_ENDPOINT",
    "HF_TOKEN",
    "HF_HOME",
)
"""Settings of the user's shell that would change what the toolkit finds."""
USER_FOLDERS: dict[str, str | None] = {}
"""The isolated variables as they were before the run (for the test that checks the isolation)."""


def pytest_configure(config: pytest.Config) -> None:
    root = Path(tempfile.mkdtemp(prefix="anima-tests-home-"))
    config.stash[_ISOLATED_ROOT] = root
    for name in ISOLATED_VARIABLES:
        USER_FOLDERS[name] = os.environ.get(name)
    (root / "home").mkdir()
    os.environ["HOME"] = str(root / "home")
    for name in ISOLATED_VARIABLES[1:]:
        os.environ[name] = str(root / name.lower())
    for name in CLEARED_VARIABLES:
        os.environ.pop(name, None)


def pytest_unconfigure(config: pytest.Config) -> None:
    root = config.stash.get(_ISOLATED_ROOT, None)
    if root is not None:
        shutil.rmtree(root, ignore_errors=True)


_ISOLATED_ROOT = pytest.StashKey[Path]()


@pytest.fixture(scope="session")
def real_data(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> RealData:
    """`real_data(*paths)`: a folder holding these real files (`danbooru/...`, `tokenizers/...`), from the
    local copy or downloaded from the toolkit's pins (`tests/realdata.py`); the test skips, saying why, when
    neither works."""
    cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    folder = cache.mkdir(CACHE_NAME) if cache is not None else tmp_path_factory.mktemp(CACHE_NAME)
    fetches = pinned_downloads()
    outcomes: dict[tuple[str, ...], Path | str] = {}

    def get(*relatives: str) -> Path:
        if relatives not in outcomes:
            outcomes[relatives] = real_files(
                relatives, local=shared_data_dir(), cache=folder, fetches=fetches
            )
        found = outcomes[relatives]
        if isinstance(found, str):
            pytest.skip(found)
        return found

    return get


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden", action="store_true", help="rewrite the golden files under tests/*/golden/"
    )
    parser.addoption(
        "--update-reliability",
        action="store_true",
        help="rewrite docs/reliability.md from the fault-injection suite's runs (tests/faults)",
    )
    parser.addoption(
        "--update-screenshot",
        action="store_true",
        help="save the browser test's screenshot of the playground as docs/playground.png",
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
