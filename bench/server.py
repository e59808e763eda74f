"""Start and stop gunicorn for the benchmark (the app or the ceiling), and read its workers' memory.

Both servers run the same way: sync workers on 127.0.0.1, a port of their own, no access log. Only one runs at
a time, so they do not share the two cores.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn_command(target: str, port: int, workers: int) -> list[str]:
    """gunicorn from the venv that runs the harness (the `bench` extra installs it)."""
    return [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--worker-class", "sync",
            "--bind", f"127.0.0.1:{port}", "--timeout", "60", "--graceful-timeout", "5",
            "--log-level", "warning", target]


@dataclass
class Server:
    """A running gunicorn: its master process, address and log file."""

    process: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        import psutil

        return [child.pid for child in psutil.Process(self.process.pid).children()]

    def worker_rss_mb(self) -> list[float]:
        """Resident memory of each worker (VmRSS, what the 150 MB target is about), in MB."""
        import psutil

        found = []
        for pid in self.worker_pids():
            try:
                found.append(round(psutil.Process(pid).memory_info().rss / 2**20, 1))
            except psutil.NoSuchProcess:
                continue
        return found

    def workers_cpu_s(self) -> float:
        """CPU seconds (user and system) the workers have used so far."""
        import psutil

        total = 0.0
        for pid in self.worker_pids():
            try:
                times = psutil.Process(pid).cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(target: str, env: dict[str, str], log: Path, workers: int = 2, probe: str = "/",
          wait_s: float = 60) -> Server:
    """Start gunicorn serving `target` (e.g. "app:app") and wait until `probe` answers."""
    port = free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    handle = log.open("ab")
    process = subprocess.Popen(gunicorn_command(target, port, workers), cwd=ROOT, env={**os.environ, **env},
                               stdout=handle, stderr=subprocess.STDOUT)
    handle.close()
    server = Server(process, port, log)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn {target} exited ({process.returncode}); see {log}:\n"
                               + log.read_text(errors="replace")[-2000:])
        try:
            with urllib.request.urlopen(server.url + probe, timeout=5) as answer:
                answer.read()
            if len(server.worker_pids()) >= workers:
                return server
        except urllib.error.HTTPError:
            return server  # it answers: a 3xx/4xx on the probe still means it is up
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"gunicorn {target} did not answer within {wait_s:.0f}s; see {log}")


def fetch(url: str, cookie: str = "") -> tuple[int, bytes]:
    """One GET (with a session cookie), without following redirects: status and body."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers={"Cookie": cookie, "User-Agent": "council-bench"})
    try:
        with opener.open(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
