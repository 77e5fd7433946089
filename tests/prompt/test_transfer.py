"""`transfer.download`: redirects, hub-advertised sha256 and size, credentials, content checks."""

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from anima_prompt.errors import DownloadError
from anima_prompt.transfer import download, etag_sha256
from tests.support.fileserver import FileServer, closed_port, file_server

BODY = bytes(range(256)) * 300
DIGEST = hashlib.sha256(BODY).hexdigest()


@pytest.fixture
def server() -> Iterator[FileServer]:
    with file_server() as running:
        yield running


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f'"{DIGEST}"', DIGEST),
        (f'W/"{DIGEST}"', DIGEST),
        (DIGEST.upper(), DIGEST),
        ('"0123456789abcdef0123456789abcdef01234567"', None),  # a git blob sha1
        ('"d41d8cd98f00b204e9800998ecf8427e-3"', None),  # an S3 multipart md5
        (None, None),
    ],
)
def test_etag_sha256(header: str | None, expected: str | None) -> None:
    assert etag_sha256(header) == expected


def test_hub_redirect_is_verified_against_the_linked_etag(server: FileServer, tmp_path: Path) -> None:
    server.serve_like_the_hub("/repo/resolve/main/f.bin", BODY, etag=DIGEST)
    seen: list[tuple[int, int | None]] = []
    result = download(
        f"{server.base}/repo/resolve/main/f.bin",
        tmp_path / "f.bin",
        use_advertised=True,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert result.path.read_bytes() == BODY
    assert result.checks == ("size", "sha256 (from the server)")
    assert result.fetched
    assert seen[-1] == (len(BODY), len(BODY))
    assert [r.path for r in server.requests] == ["/repo/resolve/main/f.bin", "/cdn/repo/resolve/main/f.bin"]


def test_a_wrong_linked_etag_discards_the_file(server: FileServer, tmp_path: Path) -> None:
    server.serve_like_the_hub("/f.bin", BODY, etag="1" * 64)
    with pytest.raises(
        DownloadError, match=f"sha256 {DIGEST} does not match the 1{{64}} the server advertised"
    ):
        download(f"{server.base}/f.bin", tmp_path / "f.bin", use_advertised=True)
    assert list(tmp_path.iterdir()) == []


def test_a_wrong_linked_size_discards_the_file(server: FileServer, tmp_path: Path) -> None:
    server.serve_like_the_hub("/f.bin", BODY, etag=DIGEST, size=len(BODY) + 1)
    with pytest.raises(DownloadError, match=f"got {len(BODY)} bytes, the server announced {len(BODY) + 1}"):
        download(f"{server.base}/f.bin", tmp_path / "f.bin", use_advertised=True)
    assert list(tmp_path.iterdir()) == []


def test_plain_etag_of_the_answering_server_counts(server: FileServer, tmp_path: Path) -> None:
    server.files["/f.bin"] = BODY
    server.headers["/f.bin"] = {"ETag": '"' + "2" * 64 + '"'}
    with pytest.raises(DownloadError, match=r"the 2{64} the server advertised"):
        download(f"{server.base}/f.bin", tmp_path / "f.bin", use_advertised=True)


def test_etag_of_a_redirect_target_is_not_taken_for_a_sha256(server: FileServer, tmp_path: Path) -> None:
    # A CDN's own ETag says nothing about the file's sha256; only the linked headers do.
    server.files["/cdn/f.bin"] = BODY
    server.headers["/cdn/f.bin"] = {"ETag": '"' + "3" * 64 + '"'}
    server.redirects["/f.bin"] = (f"{server.base}/cdn/f.bin", {})
    assert download(f"{server.base}/f.bin", tmp_path / "f.bin", use_advertised=True).checks == ()


def test_credentials_do_not_follow_a_redirect_to_another_host(server: FileServer, tmp_path: Path) -> None:
    port = server.base.rsplit(":", 1)[1]
    server.files["/cdn/f.bin"] = BODY
    server.redirects["/same.bin"] = (f"{server.base}/cdn/f.bin", {})
    server.redirects["/other.bin"] = (f"http://localhost:{port}/cdn/f.bin", {})
    auth = {"Authorization": "Bearer secret"}
    download(f"{server.base}/same.bin", tmp_path / "a.bin", headers=auth)
    download(f"{server.base}/other.bin", tmp_path / "b.bin", headers=auth)
    sent = [(r.host, r.authorization) for r in server.requests]
    assert sent[:2] == [(f"127.0.0.1:{port}", "Bearer secret")] * 2
    assert sent[2] == (f"127.0.0.1:{port}", "Bearer secret")
    assert sent[3] == (f"localhost:{port}", None)


def test_resume_across_a_redirect_keeps_the_range(server: FileServer, tmp_path: Path) -> None:
    server.serve_like_the_hub("/f.bin", BODY, etag=DIGEST)
    server.cut_after = 5000
    with pytest.raises(DownloadError, match="broke off after 5000 of"):
        download(f"{server.base}/f.bin", tmp_path / "f.bin", use_advertised=True)
    assert not (tmp_path / "f.bin").exists()
    result = download(f"{server.base}/f.bin", tmp_path / "f.bin", use_advertised=True)
    assert result.path.read_bytes() == BODY
    assert server.requests[-1].range == "bytes=5000-"
    assert not (tmp_path / "f.bin.part").exists()


def test_a_complete_partial_file_is_finished_after_a_416(server: FileServer, tmp_path: Path) -> None:
    server.serve_like_the_hub("/f.bin", BODY, etag=DIGEST)
    (tmp_path / "f.bin.part").write_bytes(BODY)
    result = download(f"{server.base}/f.bin", tmp_path / "f.bin", use_advertised=True)
    assert result.checks == ("size", "sha256 (from the server)")
    assert server.requests[-1].range == f"bytes={len(BODY)}-"


def test_content_check_refuses_before_the_final_name(server: FileServer, tmp_path: Path) -> None:
    server.files["/f.bin"] = BODY
    checked: list[Path] = []

    def check(path: Path) -> str | None:
        checked.append(path)
        return "not what was asked for"

    with pytest.raises(DownloadError, match=r"/f.bin: not what was asked for; the file was discarded$"):
        download(f"{server.base}/f.bin", tmp_path / "f.bin", check=check)
    assert checked == [tmp_path / "f.bin.part"]
    assert list(tmp_path.iterdir()) == []


def test_a_file_in_place_that_passes_the_checks_is_kept(server: FileServer, tmp_path: Path) -> None:
    (tmp_path / "f.bin").write_bytes(BODY)
    result = download(f"{server.base}/f.bin", tmp_path / "f.bin", size=len(BODY), check=lambda path: None)
    assert (result.fetched, result.checks) == (False, ("size", "content"))
    assert server.requests == []


def test_a_file_in_place_that_fails_the_check_is_fetched_again(server: FileServer, tmp_path: Path) -> None:
    server.files["/f.bin"] = BODY
    (tmp_path / "f.bin").write_bytes(b"old")
    result = download(
        f"{server.base}/f.bin",
        tmp_path / "f.bin",
        check=lambda path: None if path.stat().st_size > 3 else "short",
    )
    assert result.fetched and result.path.read_bytes() == BODY


def test_errors_are_one_line(server: FileServer, tmp_path: Path) -> None:
    server.status["/secret.bin"] = 401
    with pytest.raises(DownloadError, match=r"secret.bin: HTTP 401") as error:
        download(f"{server.base}/secret.bin", tmp_path / "s.bin")
    assert error.value.status == 401
    with pytest.raises(DownloadError, match=r"cannot connect") as refused:
        download(f"http://127.0.0.1:{closed_port()}/f.bin", tmp_path / "f.bin", timeout=5)
    assert "\n" not in str(refused.value)
    with pytest.raises(DownloadError, match="only http"):
        download("file:///etc/passwd", tmp_path / "p")


def test_advertised_digests_are_ignored_unless_asked_for(server: FileServer, tmp_path: Path) -> None:
    # Not every server means a file's sha256 by a 64-digit ETag; only the hub's headers are trusted.
    server.serve_like_the_hub("/f.bin", BODY, etag="1" * 64, size=1)
    assert download(f"{server.base}/f.bin", tmp_path / "f.bin").checks == ()


def test_a_pin_takes_precedence_over_the_advertised_digest(server: FileServer, tmp_path: Path) -> None:
    server.serve_like_the_hub("/f.bin", BODY, etag=DIGEST)
    result = download(f"{server.base}/f.bin", tmp_path / "f.bin", sha256=DIGEST, use_advertised=True)
    assert result.checks == ("size", "sha256 (pinned)")
