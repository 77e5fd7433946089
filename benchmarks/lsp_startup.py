"""`anima lsp` start-up: how soon `initialize` is answered and the first file's diagnostics arrive.

Each run starts `python -m anima_prompt lsp --db DB` as an editor does and times, from the client's side:

1. `initialize`: from starting the process to the answer (wall), with the server's CPU time at that moment
   (from /proc, so the machine's other load shows up only in the wall time);
2. first diagnostics, cold: `initialized` and `didOpen` sent right after the answer, as an editor that was
   started for the file does; until `publishDiagnostics` (the server is still loading then);
3. first diagnostics, idle: a new server, the file opened once it has finished starting (1.5 s later), as
   when a file is opened in an editor that runs the server already (the index is opened on this first use);
4. a change: `didChange` of one character in the open file, until its diagnostics;
5. for comparison, `initialize` of a bare pygls server with one feature (`BARE_SERVER`).

Medians and maxima over `--runs` runs. Usage: python benchmarks/lsp_startup.py [--db tags.sqlite] [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from anima_prompt.lsp.launch import read_message, write_message  # noqa: E402

CAPTION = (
    "safe, 1girl, hatsune_miku, vocaloid, @wlop, solo, long hair, twintails, aqua eyes, aqua hair, smile, "
    "looking at viewer, detached sleeves, necktie, skirt, thighhighs, outdoors, cherry blossoms, sky, "
    "upper body, hand up, open mouth, blush, hair ornament, very long hair, masterpiece, best quality"
)
IDLE_SECONDS = 1.5
BARE_SERVER = """
from lsprotocol import types
from pygls.lsp.server import LanguageServer

server = LanguageServer("bare", "0")


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls, params):
    return None


server.start_io()
"""
"""A pygls server with one feature, for comparison: what answering `initialize` costs with pygls loaded."""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Session:
    """One server process and a plain JSON-RPC client for it."""

    def __init__(self, db: Path, folder: Path, command: list[str] | None = None) -> None:
        self.started = time.perf_counter()
        command = command or [sys.executable, "-m", "anima_prompt", "lsp", "--db", str(db)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=folder)
        self.uri = (folder / "caption.txt").as_uri()

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        write_message(self.process.stdin, {"jsonrpc": "2.0", **message})

    def wait_for(self, method: str | None = None, ident: int | None = None) -> dict[str, Any]:
        assert self.process.stdout is not None
        while True:
            message = read_message(self.process.stdout)
            assert message is not None, "the server ended"
            if (method is not None and message.get("method") == method) or (
                ident is not None and message.get("id") == ident
            ):
                return message

    def initialize(self) -> tuple[float, float]:
        """Wall seconds from the start to the answer, and the server's CPU seconds then."""
        self.send({"id": 1, "method": "initialize", "params": {"processId": os.getpid(), "capabilities": {}}})
        self.wait_for(ident=1)
        wall = time.perf_counter() - self.started
        cpu = cpu_seconds(self.process.pid)
        self.send({"method": "initialized", "params": {}})
        return wall, cpu

    def open_file(self) -> float:
        """Seconds from `didOpen` to the file's diagnostics."""
        started = time.perf_counter()
        document = {"uri": self.uri, "languageId": "anima", "version": 1, "text": CAPTION}
        self.send({"method": "textDocument/didOpen", "params": {"textDocument": document}})
        self.wait_for("textDocument/publishDiagnostics")
        return time.perf_counter() - started

    def change(self) -> float:
        """Seconds from a one-character `didChange` to the file's diagnostics."""
        started = time.perf_counter()
        edit = {
            "range": {"start": {"line": 0, "character": 5}, "end": {"line": 0, "character": 5}},
            "text": " ",
        }
        document = {"uri": self.uri, "version": 2}
        self.send(
            {
                "method": "textDocument/didChange",
                "params": {"textDocument": document, "contentChanges": [edit]},
            }
        )
        self.wait_for("textDocument/publishDiagnostics")
        return time.perf_counter() - started

    def close(self) -> None:
        self.send({"id": 99, "method": "shutdown"})
        self.wait_for(ident=99)
        self.send({"method": "exit"})
        self.process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--db", type=Path, help="tag index (default: built from --data into a temp folder)")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        if args.db is None:
            sys.path.insert(0, str(ROOT / "benchmarks"))
            from lint_bench import build_index

            args.db = build_index(args.data, folder)
        timings: dict[str, list[float]] = {
            "initialize": [],
            "server CPU at initialize": [],
            "cold": [],
            "idle": [],
            "change": [],
            "bare": [],
            "bare CPU": [],
        }
        bare = folder / "bare_server.py"
        bare.write_text(BARE_SERVER, encoding="utf-8")
        for _ in range(args.runs):
            cold = Session(args.db, folder)
            wall, cpu = cold.initialize()
            timings["initialize"].append(wall)
            timings["server CPU at initialize"].append(cpu)
            timings["cold"].append(cold.open_file())
            cold.close()
            idle = Session(args.db, folder)
            idle.initialize()
            time.sleep(IDLE_SECONDS)
            timings["idle"].append(idle.open_file())
            timings["change"].append(idle.change())
            idle.close()
            plain = Session(args.db, folder, [sys.executable, str(bare)])
            wall, cpu = plain.initialize()
            timings["bare"].append(wall)
            timings["bare CPU"].append(cpu)
            plain.close()
    names = {
        "initialize": "initialize answered (from process start)",
        "server CPU at initialize": "server CPU time when initialize was answered",
        "cold": "first diagnostics, didOpen right after initialize",
        "idle": "first diagnostics, didOpen 1.5 s after initialize",
        "change": "diagnostics after a one-character change",
        "bare": "a bare pygls server: initialize answered (from process start)",
        "bare CPU": "a bare pygls server: CPU time when initialize was answered",
    }
    load = os.getloadavg()[0]
    print(f"{args.runs} runs, load average {load:.1f}, {os.cpu_count()} CPUs")
    for key, values in timings.items():
        print(
            f"{names[key]}: median {1000 * statistics.median(values):.0f} ms, max {1000 * max(values):.0f} ms"
        )


if __name__ == "__main__":
    main()
