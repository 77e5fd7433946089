"""The test suite never reads or writes the user's own cache, data or configuration folders."""

import os
import subprocess
import sys
from pathlib import Path

import platformdirs

from anima_prompt.index.query import default_index_path
from tests.conftest import CLEARED_VARIABLES, ISOLATED_VARIABLES, TEST_DATA, USER_FOLDERS


def _isolated_root() -> Path:
    return Path(os.environ["HOME"]).parent


def test_user_folders_point_into_a_temporary_root() -> None:
    root = _isolated_root()
    assert root.name.startswith("anima-tests-home-")
    for folder in (
        platformdirs.user_cache_path("anima-toolkit"),
        platformdirs.user_data_path("anima-toolkit"),
        platformdirs.user_config_path("anima-toolkit"),
        default_index_path(),
        Path("~").expanduser(),
    ):
        assert folder.is_relative_to(root), folder
    for name in ISOLATED_VARIABLES:
        before = USER_FOLDERS[name]
        assert before is None or not Path(os.environ[name]).is_relative_to(before), name
    assert not any(name in os.environ for name in CLEARED_VARIABLES)


def test_the_hash_cache_and_default_index_land_in_the_temporary_root(tmp_path: Path) -> None:
    from anima_prompt.hashing import cached_file_sha256

    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"weights")
    cached_file_sha256(weights)
    assert (platformdirs.user_cache_path("anima-toolkit") / "sha256.json").is_file()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "anima_prompt",
            "index",
            "build",
            "--source",
            str(TEST_DATA / "tags_small.csv"),
        ],
        check=True,
        capture_output=True,
    )
    assert default_index_path().is_file()
    assert default_index_path().is_relative_to(_isolated_root())
