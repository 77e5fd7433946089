"""Load on `anima serve`: 50 concurrent clients typing, each sending `complete` and `lint` requests.

Starts `anima serve --no-generate` with the full Danbooru index (built from the shared data into a
temporary folder, or `--db`) on a free loopback port, then runs `--clients` clients for `--seconds`
seconds in one asyncio process, each on its own keep-alive connection (a minimal HTTP/1.1 client on
asyncio streams, so the load generator takes little of the CPU the server needs). Each client types its
own 600-character prompt (`editor_bench.long_prompts`) as the page does: one `POST /api/complete` at the
cursor per keystroke, and `POST /api/lint` of the text so far once the typist pauses for the page's lint
delay (200 ms). Pauses between keystrokes are drawn uniformly from 0.5-1.5 x `--think` seconds (0.2 s:
about 5 characters a second, so about half the keystrokes are followed by a lint); `--think 0` sends
both requests at every keystroke with no pause, the server's saturation. Reports p50 and p99 latency
per route, the request rate, and errors. Target: p99 <= 50 ms for both routes with 50 clients.

The clients and the server share the machine's cores; the figures include both.

Usage: python benchmarks/serve_load.py [--db tags.sqlite] [--clients 50] [--seconds 20] [--think 0.2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from editor_bench import ROOT, build_index, long_prompts

LINT_DELAY = 0.2  # the page lints this long after the last keystroke (web/src/main.js)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux `/proc`), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(db: Path) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "anima_prompt", "serve", "--port", "0", "--db", str(db), "--no-generate"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r"http://\S+", line)
    if found is None:
        process.kill()
        raise SystemExit(f"anima serve did not start: {line}")
    return process, found.group().rstrip("/")


class Connection:
    """One keep-alive HTTP/1.1 connection that posts JSON and reads the status and body."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, value: object) -> tuple[int, bytes]:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        body = json.dumps(value).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, text = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(text)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def client(
    connection: Connection, prompt: str, deadline: float, think: float, timings: dict[str, list[float]]
) -> int:
    errors = 0
    position = random.randrange(1, len(prompt))

    async def send(route: str, body: dict[str, object]) -> None:
        nonlocal errors
        started = time.perf_counter()
        status, _ = await connection.post(route, body)
        timings[route].append(time.perf_counter() - started)
        errors += status != 200

    while time.perf_counter() < deadline:
        text = prompt[:position]
        await send("/api/complete", {"text": text, "offset": len(text), "limit": 20})
        pause = think * random.uniform(0.5, 1.5)
        if pause <= LINT_DELAY and think:
            await asyncio.sleep(pause)
        else:
            await asyncio.sleep(LINT_DELAY if think else 0)
            started = time.perf_counter()
            await send("/api/lint", {"prompt": text})
            await asyncio.sleep(max(0.0, pause - LINT_DELAY - (time.perf_counter() - started)))
        position = position % len(prompt) + 1
    connection.close()
    return errors


async def run(url: str, clients: int, seconds: float, think: float, pid: int) -> None:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    prompts = long_prompts(clients)
    timings: dict[str, list[float]] = {"/api/complete": [], "/api/lint": []}
    probe = Connection(host, int(port))
    await probe.post("/api/lint", {"prompt": "1girl"})
    probe.close()
    await asyncio.sleep(3)  # let the server's warm-up of short completion prefixes finish
    deadline = time.perf_counter() + seconds
    cpu_before = cpu_seconds(pid)
    errors = await asyncio.gather(
        *(client(Connection(host, int(port)), p, deadline, think, timings) for p in prompts)
    )
    total = sum(len(values) for values in timings.values())
    server_cpu = cpu_seconds(pid) - cpu_before
    print(
        f"{clients} clients, {seconds:.0f} s, think {think * 1000:.0f} ms: {total / seconds:.0f} requests/s, "
        f"{sum(errors)} errors; server CPU {server_cpu / total * 1000:.2f} ms per request "
        f"({server_cpu / seconds * 100:.0f} % of one core)"
    )
    for route, values in timings.items():
        ordered = sorted(values)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        print(
            f"  {route:14} n={len(ordered):6}  p50 {statistics.median(ordered) * 1000:6.1f} ms  "
            f"p99 {p99 * 1000:6.1f} ms  max {ordered[-1] * 1000:6.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--db", type=Path)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--think", type=float, default=0.2, help="mean pause between keystrokes, seconds")
    args = parser.parse_args()
    random.seed(1)
    with tempfile.TemporaryDirectory() as scratch:
        db = args.db or build_index(args.data, Path(scratch))
        process, url = start_server(db)
        try:
            asyncio.run(run(url, args.clients, args.seconds, args.think, process.pid))
        finally:
            process.terminate()
            process.wait(10)
    print(f"load average after the run: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
