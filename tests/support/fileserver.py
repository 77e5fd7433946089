"""A small HTTP file server on 127.0.0.1 for download tests: it serves bytes from memory, honours `Range`,
answers `HEAD`, speaks enough of the Hugging Face hub's file API for `huggingface_hub` (with `HF_ENDPOINT`
pointing at it), can break a transfer off, serve slowly, stall or announce the wrong length, and records
each request."""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNK_BYTES = 16 * 1024
HUB_COMMIT = "0123456789abcdef0123456789abcdef01234567"
"""The commit every hub file of the server claims to come from (`X-Repo-Commit`)."""


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    range: str | None
    authorization: str | None
    host: str | None


@dataclass
class FileServer:
    """What the server serves and how it misbehaves; `base` is its URL once started."""

    base: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)  # extra headers per path
    redirects: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)  # path -> (url, headers)
    status: dict[str, int] = field(default_factory=dict)  # path -> an error status to answer with
    cut_after: int | None = None  # close the next file response after this many body bytes
    honour_range: bool = True  # False: answer every request with the whole file (200)
    chunk_delay: float = 0.0  # seconds to wait after each CHUNK_BYTES of a body (a slow server)
    stall_after: int | None = None  # stop sending after this many body bytes of the next response ...
    stall_seconds: float = 0.0  # ... for this long, then close the connection
    length_offset: int = 0  # added to the Content-Length announced (the body sent stays the file)
    requests: list[Request] = field(default_factory=list)

    def serve_like_the_hub(self, repo_path: str, body: bytes, *, etag: str, size: int | None = None) -> None:
        """Serve `body` as a large (LFS) hub file: `repo_path` redirects to a CDN path, with the sha256
        `etag` and the size in the linked headers. The CDN is the same server under another host name
        (`localhost`), so clients treat it as another host, as they treat the hub's CDN."""
        cdn = "/cdn" + repo_path
        self.files[cdn] = body
        linked = {
            "X-Linked-Etag": f'"{etag}"',
            "X-Linked-Size": str(len(body) if size is None else size),
            "X-Repo-Commit": HUB_COMMIT,
            "ETag": '"a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2"',  # the pointer file's git blob sha1
        }
        self.redirects[repo_path] = (self.cdn_base + cdn, linked)

    @property
    def cdn_base(self) -> str:
        """The server's URL under the host name `localhost`."""
        return self.base.replace("127.0.0.1", "localhost")

    def serve_small_hub_file(self, repo_path: str, body: bytes) -> None:
        """Serve `body` as a small hub file (stored in git, not LFS): no redirect, a git blob sha1 etag."""
        self.files[repo_path] = body
        etag = '"ffeeddccbbaa99887766554433221100ffeeddcc"'
        self.headers[repo_path] = {"X-Repo-Commit": HUB_COMMIT, "ETag": etag}


class _Handler(BaseHTTPRequestHandler):
    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_GET(self) -> None:
        self._answer(body=True)

    def _answer(self, *, body: bool) -> None:
        state: FileServer = self.server.state  # type: ignore[attr-defined]
        range_header = self.headers.get("Range")
        request = Request(
            self.command, self.path, range_header, self.headers.get("Authorization"), self.headers.get("Host")
        )
        state.requests.append(request)
        if self.path in state.status:
            self.send_error(state.status[self.path])
            return
        if self.path in state.redirects:
            location, headers = state.redirects[self.path]
            self.send_response(302)
            self.send_header("Location", location)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = state.files.get(self.path)
        if data is None:
            self.send_error(404, "Not Found")
            return
        self._send_file(state, data, range_header, body=body)

    def _send_file(self, state: FileServer, data: bytes, range_header: str | None, *, body: bool) -> None:
        start = 0
        if range_header and state.honour_range:
            start = int(range_header.removeprefix("bytes=").rstrip("-"))
            if start >= len(data):
                self.send_error(416, "Range Not Satisfiable")
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        for name, value in state.headers.get(self.path, {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data) - start + state.length_offset))
        self.end_headers()
        if not body:
            return
        if state.cut_after is not None:
            self.wfile.write(data[start : start + state.cut_after])
            state.cut_after = None
            self.close_connection = True
            return
        payload = data[start:]
        for offset in range(0, len(payload), CHUNK_BYTES):
            if state.stall_after is not None and offset >= state.stall_after:
                state.stall_after = None
                time.sleep(state.stall_seconds)
                self.close_connection = True
                return
            self.wfile.write(payload[offset : offset + CHUNK_BYTES])
            self.wfile.flush()
            time.sleep(state.chunk_delay)
        if state.length_offset:
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def file_server() -> Iterator[FileServer]:
    """A running server on a free port of 127.0.0.1."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    state = FileServer(base=f"http://127.0.0.1:{httpd.server_address[1]}")
    httpd.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections to it are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
