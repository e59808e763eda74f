"""Drive wrk with bench/scenario.lua and read what it measured.

wrk (C, one event loop per thread) keeps the load generator light on a 2-core machine; the Lua script
counts good answers per thread and prints one `BENCH_RESULT {json}` line. The parsing and the arithmetic
here are pure, so tests/test_bench_harness.py checks them without wrk or a server.
"""
from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SCRIPT = Path(__file__).with_name("scenario.lua")
# wrk may run this much longer than the sending window, so requests in flight are answered (it is stopped as soon
# as they all are, so the grace costs nothing on a healthy run)
GRACE_SECONDS = 20


@dataclass(frozen=True)
class Request:
    """One line of a request file: what a virtual user sends (a write's cookie and body are its own)."""

    method: str
    path: str
    cookie: str = ""
    body: str = ""

    def line(self) -> str:
        for part in (self.method, self.path, self.cookie, self.body):
            if "\t" in part or "\n" in part:
                raise ValueError(f"a request field may not hold a tab or a newline: {part[:40]!r}")
        return "\t".join((self.method, self.path, self.cookie, self.body))


def write_requests(path: Path, requests: list[Request]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(r.line() + "\n" for r in requests), encoding="utf-8")
    return path


@dataclass
class Measured:
    """One wrk run: rate over the sending window, latency percentiles (ms), and what the answers said."""

    requests: int
    seconds: float
    rate: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    sent: int
    answered: int
    counted: int
    refused: int
    failed: int
    socket_errors: int
    exhausted: bool
    first_status: int
    threads: list[dict] = field(default_factory=list)
    wrk_latency_ms: dict[str, float] = field(default_factory=dict)  # wrk's own --latency table, to cross-check
    worker_cpu_ms: float | None = None  # the server's workers' CPU per answered request (bench/run.py)

    @property
    def unanswered(self) -> int:
        """Requests sent that wrk saw no answer to (a socket error or a timeout): the server may or may
        not have acted on them."""
        return max(self.sent - self.answered, 0)

    @property
    def errors(self) -> int:
        """What the table calls errors: 5xx and unexpected answers, socket errors and timeouts, and requests
        never answered before wrk stopped."""
        return self.failed + self.refused + self.socket_errors + self.unanswered

    def to_dict(self) -> dict:
        data = dict(self.__dict__)
        data.update(unanswered=self.unanswered, errors=self.errors)
        return data


def parse_result(output: str) -> dict:
    """The JSON that scenario.lua's done() printed (the last BENCH_RESULT line)."""
    found = [line for line in output.splitlines() if line.startswith("BENCH_RESULT ")]
    if not found:
        raise ValueError("wrk printed no BENCH_RESULT line (did the Lua script fail?):\n" + output[-2000:])
    return json.loads(found[-1][len("BENCH_RESULT "):])


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_latency_text(output: str) -> dict[str, float]:
    """wrk's own --latency table ("50%  12.34ms"), in ms: a cross-check of what the Lua script reports."""
    found = {}
    for percent, value, unit in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M):
        found[f"p{percent}"] = float(value) * _UNITS[unit]
    return found


def measured(result: dict) -> Measured:
    """Sum the threads; the rate is answers over the window from the first request sent to the last answer
    (the same clock for reads and writes, and exact when a write scenario stops early for want of voters)."""
    threads = result["threads"]
    total = {key: sum(int(t[key]) for t in threads) for key in ("sent", "answered", "counted", "refused", "failed")}
    starts = [t["first_sent_ms"] for t in threads if t["first_sent_ms"] > 0]
    ends = [t["last_answer_ms"] for t in threads if t["last_answer_ms"] > 0]
    seconds = (max(ends) - min(starts)) / 1000 if starts and ends else 0.0
    latency = result["latency_us"]
    errors = result["errors"]
    return Measured(
        requests=int(result["requests"]), seconds=round(seconds, 3),
        rate=round(total["answered"] / seconds, 1) if seconds > 0 else 0.0,
        p50_ms=round(latency["p50"] / 1000, 2), p95_ms=round(latency["p95"] / 1000, 2),
        p99_ms=round(latency["p99"] / 1000, 2), max_ms=round(latency["max"] / 1000, 2),
        socket_errors=sum(int(errors[k]) for k in ("connect", "read", "write", "timeout")),
        exhausted=any(t["exhausted"] for t in threads),
        first_status=next((int(t["first_status"]) for t in threads if t["first_status"]), 0),
        threads=threads, **total)


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk).")
    return found


def run(url: str, request_file: Path, *, seconds: float, mode: str, expect: str, threads: int = 2,
        connections: int = 16, timeout_s: int = 10) -> tuple[Measured, str]:
    """Run one scenario: `seconds` of sending, then up to GRACE_SECONDS for the answers still on their way.
    wrk itself always waits out its -d, so once every thread has marked itself finished (scenario.lua), wrk is
    interrupted: it then prints its summary as at the end of -d."""
    markers = [Path(f"{request_file}.done-{t}") for t in range(threads)]
    for stale in (*markers, *request_file.parent.glob(request_file.name + ".unexpected-*")):
        stale.unlink(missing_ok=True)
    command = [wrk_binary(), f"-t{threads}", f"-c{connections}", f"-d{int(seconds + GRACE_SECONDS) + 1}s",
               f"--timeout={timeout_s}s", "--latency", "-s", str(SCRIPT), url, "--", str(request_file), mode,
               str(int(seconds * 1000)), expect, str(threads)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + seconds + GRACE_SECONDS + 60
    while process.poll() is None and time.monotonic() < deadline:
        if all(m.exists() for m in markers):
            process.send_signal(signal.SIGINT)
            break
        time.sleep(0.05)
    try:
        stdout, stderr = process.communicate(timeout=max(deadline - time.monotonic(), 5))
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
    if process.returncode not in (0, -signal.SIGINT):
        raise RuntimeError(f"wrk failed ({process.returncode}): {stderr.strip() or stdout[-1000:]}")
    Path(str(request_file) + ".stdout").write_text(stdout + "\n---\n" + stderr)
    found = measured(parse_result(stdout))
    found.wrk_latency_ms = parse_latency_text(stdout)
    return found, stdout
