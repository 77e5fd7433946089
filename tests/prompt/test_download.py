import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from anima_prompt.download import PinnedSource, fetch, load_manifest
from anima_prompt.errors import TagIndexError
from anima_prompt.index.sources import FORMATS
from tests.conftest import RealData
from tests.support.fileserver import FileServer, file_server

PAYLOAD = b"".join(b"tag_%05d,0,%d,\n" % (i, 1000 - i) for i in range(2000))


@pytest.fixture
def server() -> Iterator[tuple[str, FileServer]]:
    with file_server() as state:
        state.files["/tags.csv"] = PAYLOAD
        yield state.base, state


def pin(base: str, *, sha256: str | None = None, size: int | None = len(PAYLOAD)) -> PinnedSource:
    digest = sha256 or hashlib.sha256(PAYLOAD).hexdigest()
    return PinnedSource("test", f"{base}/tags.csv", "tags.csv", digest, size, "danbooru-csv")


def test_fetch_verifies_and_reports_progress(server: tuple[str, FileServer], tmp_path: Path) -> None:
    base, _ = server
    seen: list[tuple[int, int | None]] = []
    path = fetch(pin(base), tmp_path, progress=lambda done, total: seen.append((done, total)))
    assert path == tmp_path / "tags.csv"
    assert path.read_bytes() == PAYLOAD
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_wrong_checksum_is_refused_and_discarded(server: tuple[str, FileServer], tmp_path: Path) -> None:
    base, _ = server
    with pytest.raises(TagIndexError, match=r"sha256 [0-9a-f]{64} does not match the pinned 0{64}"):
        fetch(pin(base, sha256="0" * 64), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_wrong_size_is_refused(server: tuple[str, FileServer], tmp_path: Path) -> None:
    base, _ = server
    with pytest.raises(TagIndexError, match=f"got {len(PAYLOAD)} bytes, the pin says 12"):
        fetch(pin(base, size=12), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_transfer_resumes(server: tuple[str, FileServer], tmp_path: Path) -> None:
    base, behaviour = server
    behaviour.cut_after = 10_000
    with pytest.raises(TagIndexError, match=r"broke off after 10000 .*run again to resume"):
        fetch(pin(base), tmp_path)
    assert (tmp_path / "tags.csv.part").stat().st_size == 10_000
    path = fetch(pin(base), tmp_path)
    assert path.read_bytes() == PAYLOAD
    assert (behaviour.requests[-1].path, behaviour.requests[-1].range) == ("/tags.csv", "bytes=10000-")
    assert not (tmp_path / "tags.csv.part").exists()


def test_server_ignoring_range_restarts(server: tuple[str, FileServer], tmp_path: Path) -> None:
    base, behaviour = server
    behaviour.honour_range = False
    (tmp_path / "tags.csv.part").write_bytes(b"garbage that is not a prefix")
    assert fetch(pin(base), tmp_path).read_bytes() == PAYLOAD


def test_complete_partial_file_is_verified_without_refetching(
    server: tuple[str, FileServer], tmp_path: Path
) -> None:
    base, behaviour = server
    (tmp_path / "tags.csv.part").write_bytes(PAYLOAD)
    assert fetch(pin(base), tmp_path).read_bytes() == PAYLOAD
    assert behaviour.requests == []


def test_verified_file_is_not_fetched_again(server: tuple[str, FileServer], tmp_path: Path) -> None:
    base, behaviour = server
    fetch(pin(base), tmp_path)
    fetch(pin(base), tmp_path)
    assert len(behaviour.requests) == 1


def test_http_errors_are_one_line(server: tuple[str, FileServer], tmp_path: Path) -> None:
    base, _ = server
    missing = PinnedSource("x", f"{base}/missing.csv", "missing.csv", "a" * 64, None, "danbooru-csv")
    with pytest.raises(TagIndexError, match=r"missing.csv: HTTP 404"):
        fetch(missing, tmp_path)


def test_unreachable_server(tmp_path: Path) -> None:
    source = PinnedSource("x", "http://127.0.0.1:9/none.csv", "none.csv", "a" * 64, None, "danbooru-csv")
    with pytest.raises(TagIndexError, match="cannot connect"):
        fetch(source, tmp_path, timeout=2)


def test_pins_are_validated() -> None:
    with pytest.raises(TagIndexError, match="sha256 must be 64 lowercase hex digits"):
        PinnedSource("x", "https://example.org/a.csv", "a.csv", "abc", None, "danbooru-csv")
    with pytest.raises(TagIndexError, match="unknown format"):
        PinnedSource("x", "https://example.org/a.csv", "a.csv", "a" * 64, None, "csv")
    with pytest.raises(TagIndexError, match="must be http"):
        PinnedSource("x", "file:///etc/passwd", "a.csv", "a" * 64, None, "danbooru-csv")


def test_manifest_pins_the_danbooru_list() -> None:
    pins = {p.name: p for p in load_manifest()}
    danbooru = pins["danbooru-tags"]
    assert danbooru.default
    assert "86a7fa41eca978c32039a87c9f4a46a76c5aea40" in danbooru.url
    assert danbooru.sha256 == "c3f80081281d56350046208792f29cbf55870657083116a16465545c183d7459"
    assert danbooru.size == 3787201
    assert all(p.format in FORMATS and p.licence for p in pins.values())


def test_manifest_matches_the_shared_files(real_data: RealData) -> None:
    # The local copies are byte-identical to the pinned upstream files.
    for source in load_manifest():
        relative = f"{FORMATS[source.format][0]}/{source.filename}"
        local = real_data(relative) / relative
        assert hashlib.sha256(local.read_bytes()).hexdigest() == source.sha256
        assert local.stat().st_size == source.size
