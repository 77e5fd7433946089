"""`transfer`: the checks every download passes, and the pinned download (redirects, resume, refusals)."""

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from anima_prompt.errors import DownloadError
from anima_prompt.transfer import Expected, download, kept, move_into_place, verify
from tests.support.fileserver import FileServer, closed_port, file_server

BODY = bytes(range(256)) * 300
DIGEST = hashlib.sha256(BODY).hexdigest()


@pytest.fixture
def server() -> Iterator[FileServer]:
    with file_server() as running:
        yield running


def test_verify_names_what_it_checked(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(BODY)
    assert verify(tmp_path / "f", Expected()) == ()
    assert verify(tmp_path / "f", Expected(DIGEST, len(BODY), lambda path: None)) == (
        "size",
        "sha256 (pinned)",
        "content",
    )
    assert verify(tmp_path / "f", Expected(DIGEST, pinned=False)) == ("sha256 (from the server)",)


@pytest.mark.parametrize(
    ("expected", "message"),
    [
        (Expected(size=1), f"got {len(BODY)} bytes, the pin says 1"),
        (Expected(size=1, pinned=False), f"got {len(BODY)} bytes, the server announced 1"),
        (Expected("0" * 64), f"sha256 {DIGEST} does not match the pinned {'0' * 64}"),
        (
            Expected("0" * 64, pinned=False),
            f"sha256 {DIGEST} does not match the {'0' * 64} the server advertised",
        ),
        (Expected(check=lambda path: "not a tokenizer"), "not a tokenizer"),
    ],
)
def test_verify_stops_at_the_first_failed_check(tmp_path: Path, expected: Expected, message: str) -> None:
    (tmp_path / "f").write_bytes(BODY)
    with pytest.raises(DownloadError) as error:
        verify(tmp_path / "f", expected)
    assert str(error.value) == message


def test_a_failed_file_is_discarded_not_moved(tmp_path: Path) -> None:
    (tmp_path / "f.part").write_bytes(BODY)
    with pytest.raises(
        DownloadError, match=r"^https://x/f: sha256 .* the pinned 0{64}; the file was discarded$"
    ):
        move_into_place("https://x/f", tmp_path / "f.part", tmp_path / "f", Expected("0" * 64))
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "f.part").write_bytes(BODY)
    done = move_into_place("https://x/f", tmp_path / "f.part", tmp_path / "f", Expected(DIGEST))
    assert (done.path, done.fetched, [p.name for p in tmp_path.iterdir()]) == (tmp_path / "f", True, ["f"])


def test_kept_needs_no_server(tmp_path: Path) -> None:
    assert kept(tmp_path / "f", Expected(DIGEST)) is None
    (tmp_path / "f").write_bytes(BODY)
    assert kept(tmp_path / "f", Expected(DIGEST)) is not None
    # Without a pinned digest the content check decides.
    found = kept(tmp_path / "f", Expected(check=lambda path: None))
    assert found is not None and (found.fetched, found.checks) == (False, ("content",))


@pytest.mark.parametrize(
    ("expected", "reason"),
    [
        (Expected("0" * 64), "does not match the pinned"),
        (Expected(check=lambda path: "a VAE, not a DiT"), "a VAE"),
    ],
)
def test_a_file_that_is_not_the_download_is_left_alone(
    tmp_path: Path, expected: Expected, reason: str
) -> None:
    (tmp_path / "f").write_bytes(b"the user's own file")
    with pytest.raises(
        DownloadError, match=rf"f is there but is not the file to download \(.*{reason}.*\); it is left"
    ):
        kept(tmp_path / "f", expected)
    assert (tmp_path / "f").read_bytes() == b"the user's own file"


def test_redirects_are_followed(server: FileServer, tmp_path: Path) -> None:
    server.files["/cdn/f.bin"] = BODY
    server.redirects["/f.bin"] = (f"{server.base}/cdn/f.bin", {})
    seen: list[tuple[int, int | None]] = []
    result = download(
        f"{server.base}/f.bin", tmp_path / "f.bin", sha256=DIGEST, progress=lambda d, t: seen.append((d, t))
    )
    assert result.path.read_bytes() == BODY and result.checks == ("sha256 (pinned)",)
    assert seen[-1] == (len(BODY), len(BODY))


def test_content_check_refuses_before_the_final_name(server: FileServer, tmp_path: Path) -> None:
    server.files["/f.bin"] = BODY
    checked: list[Path] = []

    def check(path: Path) -> str | None:
        checked.append(path)
        return "not what was asked for"

    with pytest.raises(DownloadError, match=r"/f.bin: not what was asked for; the file was discarded$"):
        download(f"{server.base}/f.bin", tmp_path / "f.bin", sha256=DIGEST, check=check)
    assert checked == [tmp_path / "f.bin.part"]
    assert list(tmp_path.iterdir()) == []


def test_a_complete_partial_file_is_finished_after_a_416(server: FileServer, tmp_path: Path) -> None:
    server.files["/f.bin"] = BODY
    (tmp_path / "f.bin.part").write_bytes(BODY)
    result = download(f"{server.base}/f.bin", tmp_path / "f.bin", sha256=DIGEST)
    assert result.path.read_bytes() == BODY
    assert server.requests[-1].range == f"bytes={len(BODY)}-"


def test_errors_are_one_line(server: FileServer, tmp_path: Path) -> None:
    server.status["/secret.bin"] = 401
    with pytest.raises(DownloadError, match=r"secret.bin: HTTP 401") as error:
        download(f"{server.base}/secret.bin", tmp_path / "s.bin", sha256=DIGEST)
    assert error.value.status == 401
    with pytest.raises(DownloadError, match=r"cannot connect") as refused:
        download(f"http://127.0.0.1:{closed_port()}/f.bin", tmp_path / "f.bin", sha256=DIGEST, timeout=5)
    assert "\n" not in str(refused.value)
    with pytest.raises(DownloadError, match="only http"):
        download("file:///etc/passwd", tmp_path / "p", sha256=DIGEST)
