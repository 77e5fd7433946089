"""What the fault-injection suite tried, and `docs/reliability.md`, the table generated from it.

Every fault class is declared once in `FAULTS`: where it strikes and what the user sees. Its test runs the
fault a fixed number of times (seeded), counts the runs that lost data (an old file changed or unreadable,
a partial file under a real name) and the runs that printed a traceback, and hands a `FaultReport` to the
`reliability` fixture. That fixture fails the test unless both counts are 0, and checks the report's row in
`docs/reliability.md`; `pytest tests/faults --update-reliability` rewrites the row instead.
"""

import fcntl
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from anima_prompt.safewrite import write_bytes

DOC = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"


@dataclass(frozen=True, slots=True)
class Fault:
    """A fault class: `title` (the table's first column), where it strikes, and what the user sees."""

    key: str
    title: str
    where: str
    user_sees: str


@dataclass(frozen=True, slots=True)
class FaultReport:
    """The outcome of one fault class's runs."""

    key: str
    runs: int
    data_lost: int
    tracebacks: int


FAULTS: tuple[Fault, ...] = (
    Fault(
        "kill-index-build",
        "SIGKILL at a random point",
        "`anima index build` over an existing index",
        "nothing (the process is gone); the old index is intact and answers queries; the next build removes "
        "the temporary file",
    ),
    Fault(
        "term-index-build",
        "SIGTERM at a random point",
        "`anima index build` over an existing index",
        "`anima index build: terminated` (exit 143), or the finished build; no temporary file is left",
    ),
    Fault(
        "kill-lint-fix",
        "SIGKILL or SIGTERM at a random point",
        "`anima lint --fix --file` on a 1,500-line prompt file",
        "nothing, or `terminated` (exit 143); the file holds either its old text or the whole fixed text",
    ),
    Fault(
        "kill-download",
        "SIGKILL or SIGTERM at a random point",
        "`anima index download --url ... --sha256 ...` of a slowly served tag list",
        "nothing, or `terminated` (exit 143); nothing under the real name until the whole file passed its "
        "sha256; the next run resumes the partial file (`Range`) and verifies it",
    ),
    Fault(
        "kill-model-download",
        "SIGKILL or SIGTERM at a random point",
        "`anima models download --what vae` from a slow hub mirror (`HF_ENDPOINT`)",
        "nothing, or `terminated` (exit 143); nothing under the real name until the file passed the hub's "
        "sha256 and the content check; the next run fetches and verifies it",
    ),
    Fault(
        "full-disk-index",
        "full disk (`RLIMIT_FSIZE` of 4-512 KiB)",
        "`anima index build` over an existing index",
        "`anima index build: error: cannot write the tag index <db>: database or disk is full; check the "
        "free space and the folder's permissions, then run again (the previous index is unchanged)` (or "
        "`disk I/O error`, `File too large`; exit 1); the old index is intact, no temporary file is left",
    ),
    Fault(
        "full-disk-fix",
        "full disk (`RLIMIT_FSIZE` below the new file's size)",
        "`anima lint --fix --file`",
        "`anima lint: error: <file>: File too large; free some space (or raise the file size limit) and run "
        "again` (exit 1); the file is unchanged",
    ),
    Fault(
        "full-disk-download",
        "full disk (`RLIMIT_FSIZE` below the file's size)",
        "`anima index download`",
        "`anima index download: error: <url>: transfer broke off after <n> bytes ([Errno 27] File too "
        "large); run again to resume` (exit 1); nothing under the real name",
    ),
    Fault(
        "read-only-index",
        "read-only folder",
        "`anima index build --db` into it, over an existing index",
        "`anima index build: error: cannot write the tag index <db>: Permission denied; check the free space "
        "and the folder's permissions, then run again (the previous index is unchanged)` (exit 1)",
    ),
    Fault(
        "read-only-fix",
        "read-only folder, or read-only file",
        "`anima lint --fix --file`",
        "`anima lint: error: <file>: Permission denied; check the permissions of the file and its folder` or "
        "`<file>: the file is read-only; make it writable to fix it` (exit 1); the file is unchanged",
    ),
    Fault(
        "vanish-or-change",
        "file deleted or edited while being fixed",
        "`anima lint --fix --file` (between reading and writing)",
        "`anima lint: error: <file>: vanished before it could be fixed` or `<file>:<line>: the file changed "
        "while being fixed; nothing was written, run again` (exit 1), the other writer's text kept; when "
        "only other lines changed, the fix is applied and their edits kept",
    ),
    Fault(
        "vanish-source",
        "source file deleted or replaced by garbage while the index is built",
        "`anima index build --source`",
        "`anima index build: error: <file>: cannot read: No such file or directory` or a one-line message "
        "naming the file and line (exit 1); the old index is intact",
    ),
    Fault(
        "corrupt-index",
        "index file overwritten with garbage, truncated, or with random bytes flipped",
        "`anima tags search`, `anima lint --db`",
        "`<command>: error: <db> is not an anima tag index (...); rebuild it with `anima index build`` or "
        "`<db>: query failed (...)` (exit 1), or correct results when the damage missed every page read",
    ),
    Fault(
        "corrupt-hash-cache",
        "hash cache overwritten with garbage, truncated JSON, wrong types, deep nesting",
        "model file hashing (`sha256.json` in the user cache)",
        "nothing: the hash is computed again and the cache rewritten whole",
    ),
    Fault(
        "server-garbage",
        "server sends other bytes, fewer or more than announced, or an error status",
        "`anima index download --url ... --sha256 ...`",
        "`anima index download: error: <url>: sha256 ... does not match the pinned ...; the file was "
        "discarded`, `<url>: HTTP 500 ...` or `<url>: transfer broke off after <n> of <m> bytes; run again "
        "to resume` (exit 1); nothing under the real name",
    ),
    Fault(
        "server-stall-or-cut",
        "server stalls mid-transfer or closes the connection early",
        "tag list download (`download.fetch` with a 0.5 s read timeout)",
        "`<url>: transfer broke off after <n> bytes (...); run again to resume`; the next run resumes the "
        "partial file and verifies it",
    ),
    Fault(
        "foreign-target",
        "a file not written by the toolkit (edited, cut short, empty) under a download's name",
        "`anima index download`, `anima models download`",
        "`anima index download: error: <file> is there but is not the file to download (sha256 ... does "
        "not match the pinned ...); it is left alone: move it away and run again` (exit 1); the file is "
        "unchanged",
    ),
    Fault(
        "fuzz-cli",
        "arbitrary arguments, options and standard input (hypothesis)",
        "every prompt-side command",
        "a result, or one error line; exit 0, 1 or 2",
    ),
)
FAULT_KEYS = {fault.key: fault for fault in FAULTS}

HEADER = """# Reliability: faults tried and what the user sees

Generated by the fault-injection suite (`tests/faults/`): `python -m pytest tests/faults
--update-reliability` rewrites the table, and the suite fails when it is out of date. Each fault is run the
number of times shown (seeded, so every run of the suite tries the same cases); *data lost* counts runs
after which an old file was changed or unreadable, or a partial file lay under a real name; *tracebacks*
counts runs that printed one. Both must be 0 for the suite to pass.

| Fault | Where | Runs | Data lost | Tracebacks | What the user sees |
|---|---|---|---|---|---|
"""


def row(fault: Fault, report: FaultReport) -> str:
    """The table row of one fault class."""
    return (
        f"| {fault.title} | {fault.where} | {report.runs} | {report.data_lost} | {report.tracebacks} | "
        f"{fault.user_sees} |"
    )


def _key_of(line: str) -> str | None:
    cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
    for fault in FAULTS:
        if cells[:2] == [fault.title, fault.where]:
            return fault.key
    return None


def rows_in_doc(text: str) -> dict[str, str]:
    """Fault key -> its row, for the rows of `text` that belong to a declared fault class."""
    found = {}
    for line in text.splitlines():
        key = _key_of(line) if line.startswith("| ") else None
        if key is not None:
            found[key] = line
    return found


def table_lines(text: str) -> list[str]:
    """The table's body rows in `text` (after the header's separator line)."""
    body = text.split("|---|---|---|---|---|---|\n", 1)[-1]
    return [line for line in body.splitlines() if line.startswith("| ")]


def render(rows: dict[str, str]) -> str:
    """The whole document, rows in `FAULTS` order (classes without a row yet are left out)."""
    return HEADER + "".join(rows[fault.key] + "\n" for fault in FAULTS if fault.key in rows)


@contextmanager
def _locked() -> Iterator[None]:
    with open(Path(tempfile.gettempdir()) / "anima-reliability-doc.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def update_row(report: FaultReport) -> None:
    """Write `report`'s row into `docs/reliability.md` (several test processes may do so at once)."""
    with _locked():
        text = DOC.read_text(encoding="utf-8") if DOC.exists() else HEADER
        rows = rows_in_doc(text)
        rows[report.key] = row(FAULT_KEYS[report.key], report)
        write_bytes(DOC, render(rows).encode("utf-8"))
