"""`gpu_profile.py --final`: issue 13's targets measured in one run of under five minutes, weights included.

Every command runs as a user runs it, in a fresh process, with the engine's stage log on (each stage
waits for the GPU at its end, so the stages' times are their own), in this order:

  1. warm-up: one image `--compile never`, which hashes the files once and fills the page cache;
  2. one image `--compile never`; 3. one image with the default `--compile auto`; 4. one image
     `--low-vram`;
  5. one image `--compile always` on an empty kernel cache, which fills it;
  6. the N-prompt file (default 20) with the default `--compile auto` on that warm cache;
  7. one image `--compile always` on the warm cache.

A command gets at most its own cap and what is left of `--budget`, and is killed with its process group
when it runs over; a command that does not fit is skipped. Each result is printed as it comes; at the end
the timelines (but the warm-up's), then the table against the targets (last, so a cut-off output keeps
it). Everything is also written to `final.md` in the details folder, with each command's events, stdout
and stderr.
"""

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cold_start import PROMPT, child_env, prompt_file  # this script's folder

STAGE_LINE = re.compile(r"^(?P<stage>.*): (?P<seconds>\d+\.\d+) s(?: \((?P<extra>.*)\))?$")
RATE_LINE = re.compile(r"(?P<images>\d+) images? in (?P<seconds>[\d.]+) s \((?P<rate>[\d.]+) images/s")
RESERVE = 5.0
"""Seconds of the budget kept for the report after the last command."""


@dataclass(frozen=True)
class Scenario:
    """One command of the final run."""

    name: str
    title: str
    extra: tuple[str, ...]
    cache: str
    cap: float
    images: int = 1
    target: str = ""
    fresh_cache: bool = False


@dataclass
class Result:
    """What a command did: its wall time (None: did not finish), stage rows, the command's own summary."""

    scenario: Scenario
    wall: float | None = None
    rows: list[list[str]] = field(default_factory=list)
    reported: str = ""
    note: str = ""


def scenarios(prompts: int) -> list[Scenario]:
    one = (PROMPT,)
    return [
        Scenario("warm-up", "warm-up (hashes the files, fills the page cache)", (*one, "--compile", "never"),
                 "none", 90),
        Scenario("never", "one image, --compile never", (*one, "--compile", "never"), "none", 45,
                 target="≤ 8 s"),
        Scenario("auto", "one image, --compile auto (default)", one, "none", 45, target="≤ 8 s"),
        Scenario("low-vram", "one image, --low-vram", (*one, "--low-vram"), "none", 45, target="≤ 12 s"),
        Scenario("prefill", "one image, --compile always, empty kernel cache (fills it)",
                 (*one, "--compile", "always"), "final", 120, fresh_cache=True),
        Scenario("file", f"{prompts}-prompt file, --compile auto, warm kernel cache", ("--file", "{file}"),
                 "final", 150, images=prompts, target="≥ 0.45 images/s"),
        Scenario("compiled", "one image, --compile always, warm kernel cache", (*one, "--compile", "always"),
                 "final", 60),
    ]  # fmt: skip


def run_scenario(
    scenario: Scenario, cli: list[str], env: dict[str, str], details: Path, wrapper: str, timeout: float
) -> Result:
    """Run the CLI in `wrapper` (a fresh interpreter), its output into files; the wall time ends when the
    process itself exits. Past `timeout` its whole process group is killed."""
    events = details / f"final-{scenario.name}.events.jsonl"
    stdout, stderr = (details / f"final-{scenario.name}.{part}.txt" for part in ("stdout", "stderr"))
    result = Result(scenario)
    started = time.time()
    with stdout.open("w") as out, stderr.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-c", wrapper, str(events), *cli],
            env=env,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        ended = time.time()
        end_group(process)
    text = stderr.read_text(errors="replace")
    found = [json.loads(line) for line in events.read_text().splitlines()] if events.is_file() else []
    for event in found:
        event["t"] -= started
    result.rows = timeline(found, ended - started)
    result.reported = next((line for line in reversed(text.splitlines()) if RATE_LINE.search(line)), "")
    if code is None:
        result.note = f"killed after {timeout:.0f} s"
    elif code != 0:
        last = text.strip().splitlines()[-1] if text.strip() else ""
        result.note = f"exit status {code}: {last[:200]}"
    else:
        result.wall = ended - started
    return result


def end_group(process: subprocess.Popen[bytes]) -> None:
    """Kill what is left of the command's process group (all of it past its time; after a normal exit,
    inductor's compile workers, which would otherwise linger into the next command for a second)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def timeline(events: list[dict[str, Any]], wall: float) -> list[list[str]]:
    """Rows (stage, ended at, took s, peak GiB, note): each event in order; a stage seen again (the jobs
    of a prompt file) is folded into one row at the end with its count, total and mean."""
    rows: list[list[str]] = []
    repeats: dict[str, list[float]] = {}
    previous = 0.0
    for event in events:
        at, peak = event["t"], event.get("peak_gib")
        match = STAGE_LINE.match(event["event"])
        if match:
            stage, seconds, extra = match["stage"], float(match["seconds"]), match["extra"] or ""
        else:
            stage, seconds, extra = event["event"], at - previous, "gap"
        previous = at
        repeats.setdefault(stage, []).append(seconds)
        if len(repeats[stage]) == 1:
            rows.append([stage, f"{at:.2f}", f"{seconds:.3f}", "" if peak is None else f"{peak:.2f}", extra])
    rows.append(["process exited", f"{wall:.2f}", f"{wall - previous:.3f}", "", "gap"])
    for stage, times in repeats.items():
        if len(times) > 1:
            total = sum(times)
            rows.append(
                [f"{stage} (all {len(times)})", "", f"{total:.3f}", "", f"mean {total / len(times):.3f}"]
            )
    return rows


def markdown(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def summary_row(result: Result) -> list[str]:
    scenario = result.scenario
    if result.wall is None:
        return [scenario.title, "—", scenario.target, "—", result.note or "skipped"]
    rate = f"{scenario.images / result.wall:.2f}" if scenario.images > 1 else ""
    if scenario.target.startswith("≤"):
        met = "met" if result.wall <= float(scenario.target.split()[1]) else "missed"
    elif scenario.target.startswith("≥"):
        met = "met" if scenario.images / result.wall >= float(scenario.target.split()[1]) else "missed"
    else:
        met = ""
    reported = result.reported.strip()
    return [scenario.title, f"{result.wall:.2f}", f"{scenario.target} {met}".strip(), rate, reported]


def run_final(args: argparse.Namespace, wrapper: str, details: Path, deadline: float) -> list[str]:
    """Run the scenarios (see the module doc) until `deadline` (a `time.monotonic()` value); returns the
    report's lines."""
    from gpu_profile import generate_command  # the parent module; imported here to avoid a cycle

    details.mkdir(parents=True, exist_ok=True)
    scratch = args.directory / "final-out"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    file = prompt_file(scratch, args.prompts)
    results: list[Result] = []
    for scenario in scenarios(args.prompts):
        left = deadline - time.monotonic() - RESERVE
        if left < min(scenario.cap, 10):
            results.append(Result(scenario, note="skipped: out of time"))
            print(f"{scenario.title}: skipped, out of time", flush=True)
            continue
        cache = args.directory / "compile-caches" / scenario.cache
        if scenario.fresh_cache:
            shutil.rmtree(cache, ignore_errors=True)
        extra = [str(file) if part == "{file}" else part for part in scenario.extra]
        cli = generate_command(args, scratch / scenario.name, *extra)
        env = child_env(args.directory, cache)
        result = run_scenario(scenario, cli, env, details, wrapper, min(scenario.cap, left))
        results.append(result)
        wall = f"{result.wall:.2f} s" if result.wall is not None else result.note
        print(f"{scenario.title}: {wall}  {result.reported}".rstrip(), flush=True)
    lines = ["", "## Timelines (seconds from the process start; stage log on)"]
    for result in results:
        if result.rows and result.scenario.name != "warm-up":  # its events stay in the details folder
            lines += ["", f"### {result.scenario.title}", ""]
            lines += markdown(["stage", "ended at", "took s", "peak GiB", ""], result.rows)
    lines += ["", f"## Whole commands, {args.size}², {args.steps} steps, files in the page cache", ""]
    lines += markdown(
        ["command", "wall s", "target", "images/s (wall)", "reported by the command"],
        [summary_row(result) for result in results],
    )
    (details / "final.md").write_text("\n".join(lines) + "\n")
    return lines
