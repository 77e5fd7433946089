"""`anima lsp` start-up: answer `initialize` at once, load the server meanwhile, then hand over to it.

Importing pygls and lsprotocol (about a thousand protocol classes) takes some 0.3 s of CPU, longer than
an editor should wait for `initialize`. So the first message is read here with the standard library and
answered from `CAPABILITIES`, a fixed table, while another thread imports the server and builds the
parser and the rule table. The same `initialize` parameters are then given to pygls, which sets up its
workspace as if it had answered (a test checks that it computes the same capabilities), and pygls reads
every later message from the same streams.
"""

import json
import threading
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any, BinaryIO, cast

SERVER_NAME = "anima"
POSITION_ENCODINGS = ("utf-16", "utf-8", "utf-32")  # what `editor.positions.LineIndex` counts
SERVER_NOT_INITIALIZED = -32002  # JSON-RPC error code of the protocol

CAPABILITIES: dict[str, Any] = {
    "textDocumentSync": {  # change 2: incremental
        "openClose": True,
        "change": 2,
        "willSave": False,
        "willSaveWaitUntil": False,
        "save": True,
    },
    "completionProvider": {"triggerCharacters": ["@"]},
    "hoverProvider": True,
    "codeActionProvider": {"codeActionKinds": ["quickfix", "source.fixAll"]},
    "documentFormattingProvider": True,
    "executeCommandProvider": {"commands": []},
    "workspace": {"workspaceFolders": {"supported": True, "changeNotifications": True}, "fileOperations": {}},
}
"""What the server offers, as pygls computes it from the registered features (`server.build_server`) for
editors that declare their document synchronisation capabilities (all of them in practice)."""


def read_message(stream: BinaryIO) -> dict[str, Any] | None:
    """The next JSON-RPC message of a `Content-Length` framed stream, or None at its end."""
    length = None
    while True:
        header = stream.readline()
        if not header:
            return None
        if not header.strip():
            if length is not None:
                break
            continue
        name, _, value = header.decode("ascii", "replace").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    body = stream.read(length)
    message: object = json.loads(body)
    if not isinstance(message, dict):
        raise ValueError("a JSON-RPC message must be an object")
    return cast("dict[str, Any]", message)


def write_message(stream: BinaryIO, message: dict[str, Any]) -> None:
    """Send one JSON-RPC message, framed."""
    body = json.dumps(message, separators=(",", ":")).encode("utf-8")
    stream.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    stream.flush()


def position_encoding(params: dict[str, Any]) -> str:
    """The encoding pygls will choose: the editor's first offered one that the server counts, else UTF-16."""
    capabilities: Any = params.get("capabilities") or {}
    general: Any = capabilities.get("general") or {}
    for encoding in general.get("positionEncodings") or ():
        if encoding in POSITION_ENCODINGS:
            return str(encoding)
    return "utf-16"


def initialize_result(params: dict[str, Any]) -> dict[str, Any]:
    """The answer to `initialize`."""
    return {
        "capabilities": {"positionEncoding": position_encoding(params), **CAPABILITIES},
        "serverInfo": {"name": SERVER_NAME, "version": toolkit_version()},
    }


def toolkit_version() -> str:
    """The installed toolkit's version."""
    try:
        return version("anima-toolkit")
    except PackageNotFoundError:
        return "0.0.0"


Start = Callable[[dict[str, Any]], Callable[[], None]]
"""Given the `initialize` request, sets the server up and returns the function that runs it."""


def serve(stdin: BinaryIO, stdout: BinaryIO, *, load: Callable[[], Start]) -> int:
    """Answer `initialize`, then run the server that `load` (called on another thread) makes.

    Before `initialize`, requests are refused with the protocol's "server not initialized" error and
    notifications are dropped, as the protocol asks; `exit` ends the process with status 1.

    Returns:
        The exit status: 0, or 1 when the input ended or `exit` came before `initialize`.
    """
    loaded: list[Start] = []
    failed: list[BaseException] = []

    def work() -> None:
        try:
            loaded.append(load())
        except BaseException as error:  # raised again on the main thread
            failed.append(error)

    loader = threading.Thread(target=work, name="anima-lsp-load", daemon=True)
    loader.start()
    while True:
        message = read_message(stdin)
        if message is None or message.get("method") == "exit":
            return 1
        if message.get("method") == "initialize" and "id" in message:
            break
        if "id" in message and "method" in message:
            error = {"code": SERVER_NOT_INITIALIZED, "message": "the server has not been initialized"}
            write_message(stdout, {"jsonrpc": "2.0", "id": message["id"], "error": error})
    params: dict[str, Any] = message.get("params") or {}
    write_message(stdout, {"jsonrpc": "2.0", "id": message["id"], "result": initialize_result(params)})
    loader.join()
    if failed:
        raise failed[0]
    loaded[0](message)()
    return 0
