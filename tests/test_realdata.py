"""Tests that read the real tag lists and tokenizers get them from a local copy, else from the toolkit's
pinned downloads, else skip with the reason (`tests/realdata.py`)."""

import os
import subprocess
import sys
from pathlib import Path

from anima_prompt.errors import DownloadError
from tests.support.realdata import REPO_ROOT, real_files

NAME = "danbooru/tags.csv"


def test_the_local_copy_is_used_when_it_holds_every_file(tmp_path: Path) -> None:
    (tmp_path / "local" / "danbooru").mkdir(parents=True)
    (tmp_path / "local" / NAME).write_text("1girl,0,1,\n")
    found = real_files((NAME,), local=tmp_path / "local", cache=tmp_path / "cache", fetches={})
    assert found == tmp_path / "local"


def test_a_missing_file_is_downloaded_once_into_the_cache(tmp_path: Path) -> None:
    calls: list[Path] = []

    def fetch(path: Path) -> None:
        calls.append(path)
        path.write_text("1girl,0,1,\n")

    for _ in range(2):
        found = real_files((NAME,), local=tmp_path / "none", cache=tmp_path / "cache", fetches={NAME: fetch})
        assert found == tmp_path / "cache"
    assert calls == [tmp_path / "cache" / NAME]


def test_without_a_copy_or_a_download_the_reason_is_given(tmp_path: Path) -> None:
    def offline(path: Path) -> None:
        raise DownloadError("https://example.invalid/tags.csv: cannot connect: no network")

    local = tmp_path / "none"
    assert real_files((NAME,), local=local, cache=tmp_path / "cache", fetches={}) == (
        f"needs {NAME}: not in {local} (set ANIMA_SHARED_DATA) and no pinned download exists for it"
    )
    assert real_files((NAME,), local=local, cache=tmp_path / "cache", fetches={NAME: offline}) == (
        f"needs {NAME}: not in {local} (set ANIMA_SHARED_DATA) and its download failed: "
        "https://example.invalid/tags.csv: cannot connect: no network"
    )


def test_a_fresh_clone_without_data_or_network_skips_instead_of_erroring(tmp_path: Path) -> None:
    """The README's test command on a clone without `../shared`, offline: skips with reasons, no errors."""
    env = {**os.environ, "ANIMA_SHARED_DATA": str(tmp_path / "no-data"), "HF_ENDPOINT": "http://127.0.0.1:9"}
    env["https_proxy"] = env["http_proxy"] = "http://127.0.0.1:9"  # any real download fails at once
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-rs",
            "tests/prompt/test_download.py::test_manifest_matches_the_shared_files",
            "tests/prompt/test_importers.py::test_real_dumps",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 skipped" in result.stdout
    assert "its download failed" in result.stdout
    assert "no pinned download exists for it" in result.stdout
