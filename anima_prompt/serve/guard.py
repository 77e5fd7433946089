"""The request checks in front of every route of `anima serve`, as one ASGI middleware.

1. The `Host` header must name this server (a loopback name, or the address it was bound to), so a page
   on another site cannot reach it through DNS rebinding. With `--allow-remote` on a wildcard address any
   host name is accepted.
2. Requests that change something (every method but GET, HEAD and OPTIONS) from a browser must come from
   this server's own page: an `Origin` header, when present, must be `http://<Host>`.
3. Bodies larger than `max_body` bytes are refused with 413 before the route sees them.

Refusals are JSON `{"error": message}` like every other error of the API.
"""

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Every response: no framing by other sites, no content sniffing, scripts and connections to this server
# only (CodeMirror adds its styles at run time, hence inline styles).
SECURITY_HEADERS = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
        b"frame-ancestors 'none'",
    ),
)
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def host_name(host_header: str) -> str:
    """The name part of a `Host` header: `127.0.0.1:8000` → `127.0.0.1`, `[::1]:80` → `::1`."""
    if host_header.startswith("["):
        return host_header[1:].split("]", 1)[0]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


class RequestGuard:
    """ASGI middleware that checks `Host`, `Origin` and body size (see the module docstring).

    Args:
        app: the application behind it.
        hosts: host names accepted in `Host`; None accepts any (remote access on a wildcard address).
        max_body: the largest request body accepted, in bytes.
    """

    def __init__(self, app: ASGIApp, *, hosts: frozenset[str] | None, max_body: int) -> None:
        self.app = app
        self.hosts = hosts
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        refusal = self._refusal(scope["method"], headers)
        if refusal is not None:
            await _error(send, *refusal)
            return
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            await _error(send, 413, f"request body over the limit of {self.max_body} bytes")
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if len(body) > self.max_body:
                await _error(send, 413, f"request body over the limit of {self.max_body} bytes")
                return
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, replay, send_with_headers)

    def _refusal(self, method: str, headers: dict[str, str]) -> tuple[int, str] | None:
        host = headers.get("host", "")
        if self.hosts is not None and host_name(host) not in self.hosts:
            return 421, f"unknown Host header {host!r}; open the page through the address the server printed"
        origin = headers.get("origin")
        if method not in SAFE_METHODS and origin is not None and origin != f"http://{host}":
            return 403, f"cross-origin request refused: Origin {origin!r} is not this server"
        return None


async def _error(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *SECURITY_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
