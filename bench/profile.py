"""Where a scenario's time goes: the benchmark's pages and writes run in process, timed and profiled.

`make bench` says how fast; this says why. On the same database and with the same targets and signed-in
virtual users as the harness, each scenario is requested through the app's test client (no server, no wrk):
the milliseconds of one request (median and p90 of `--requests`; and the median CPU time of this process, which
varies less from run to run than the clock), the SQL statements it runs and their time,
and with `--profile` a pyinstrument profile of all the requests together.

    .venv/bin/python bench/profile.py                          # PostgreSQL's council_bench, every scenario
    .venv/bin/python bench/profile.py --only "estate" --profile
    .venv/bin/python bench/profile.py --url sqlite:///bench/data/<file>.db --only ballot

Writes are undone afterwards exactly as the harness undoes them (bench/checks.py).
"""
from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from werkzeug.test import EnvironBuilder  # noqa: E402

from bench import checks, sessions, targets  # noqa: E402
from bench.run import bench_app, shared_cache  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/council_bench"
ENVIRON = {"REMOTE_ADDR": sessions.CLIENT_ADDRESS}


class Statements:
    """Counts the SQL statements the engine runs, and their time, between start() and stop()."""

    def __init__(self, engine: sa.Engine):
        self.count, self.seconds, self._started = 0, 0.0, {}
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, *_args):
        self._started[id(conn)] = time.perf_counter()

    def _after(self, conn, *_args):
        self.count += 1
        self.seconds += time.perf_counter() - self._started.pop(id(conn), time.perf_counter())

    def reset(self) -> None:
        self.count, self.seconds = 0, 0.0


def _headers(cookie: str = "", **more) -> dict:
    """What wrk sends: the harness's User-Agent (the session's `_id` is computed for it) and the cookie."""
    return {"User-Agent": sessions.USER_AGENT, **({"Cookie": cookie} if cookie else {}), **more}


def wsgi_call(app, built: EnvironBuilder, expected: set[int]):
    """One request, its WSGI environ built beforehand: what is timed is the app answering it (as under gunicorn),
    not the test client building the request and reading the response."""
    environ = built.get_environ()
    body = environ["wsgi.input"].read()

    def call():
        status = []
        answer = app.wsgi_app({**environ, "wsgi.input": io.BytesIO(body)},
                              lambda line, _headers, _info=None: status.append(int(line[:3])))
        try:
            for _chunk in answer:
                pass
        finally:
            getattr(answer, "close", lambda: None)()
        if status[0] not in expected:
            raise SystemExit(f"{environ['PATH_INFO']} answered {status[0]}")
    return call


def read_calls(app, requests, count: int):
    """`count` page reads by the signed-in virtual users of `requests` in turn, as wrk sends them."""
    return [wsgi_call(app, EnvironBuilder(path=r.path, headers=_headers(r.cookie), environ_base=ENVIRON), {200})
            for r in (requests[i % len(requests)] for i in range(count))]


def write_calls(app, write, voters, label: str):
    """One POST of `write` per voter (each with a session of their own), and what undoes them afterwards as the
    harness does (bench/checks.py)."""
    from council.extensions import db

    with app.app_context():
        minted = sessions.mint(app, [user for _line, user in voters])
        db.session.rollback()
        before = checks.snapshot(db.session, write.kind, write.target_id)
        db.session.remove()
    sent = {user if write.kind == "comment" else line for line, user in voters}

    def undo():
        with app.app_context():
            db.session.rollback()
            checks.undo(db.session, before, sent)
            db.session.remove()

    form = {"Content-Type": "application/x-www-form-urlencoded"}
    return [wsgi_call(app, EnvironBuilder(path=r.path, method="POST", data=r.body, environ_base=ENVIRON,
                                          headers=_headers(r.cookie, **form)), {200, 302, 303})
            for r in sessions.write_requests(write, voters, minted, label)], undo


def measure(app, statements: Statements, name: str, calls, profile: bool) -> dict:
    """Run `calls` (each a callable making one request), after three warm-up calls, and report."""
    for call in calls[:3]:
        call()
    calls = calls[3:]
    statements.reset()
    times, cpu = [], []
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
    for call in calls:
        started, started_cpu = time.perf_counter(), time.process_time()
        call()
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    if profiler:
        profiler.stop()
    n = len(times)
    figures = {"name": name, "requests": n, "median_ms": statistics.median(times),
               "p90_ms": sorted(times)[int(n * 0.9) - 1 if n > 1 else 0],
               "cpu_ms": statistics.median(cpu), "queries": statements.count / n,
               "sql_ms": statements.seconds * 1000 / n}
    print(f"{name:<28} {figures['median_ms']:7.1f} ms median  {figures['p90_ms']:7.1f} p90  "
          f"{figures['cpu_ms']:7.1f} ms CPU  {figures['queries']:5.1f} queries  {figures['sql_ms']:6.1f} ms in SQL")
    if profiler:
        print(profiler.output_text(unicode=True, color=False, show_all=False))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL, help="the benchmark database (seeded by make bench)")
    parser.add_argument("--only", default="", help="the scenarios whose name has this text")
    parser.add_argument("--requests", type=int, default=40, help="per scenario (writes: as many voters)")
    parser.add_argument("--profile", action="store_true", help="print a pyinstrument profile per scenario")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14",
                        help="the cache shared as deployed (emptied first); '' to keep nothing for members")
    opts = parser.parse_args(argv)

    from council.extensions import db

    app = bench_app(opts.url, "profile-" + "x" * 32, shared_cache(opts.redis))
    with app.app_context():
        found = targets.discover()
        statements = Statements(db.engine)
        readers = sorted({u for r in found.reads for u in r.readers})
        cookies = sessions.mint(app, readers)
        db.session.remove()

    wanted = [r for r in found.reads if opts.only.lower() in r.name.lower()]
    for read in wanted:
        requests = sessions.read_requests(read, cookies)
        measure(app, statements, read.name, read_calls(app, requests, opts.requests + 3), opts.profile)

    for write in (w for w in found.writes if opts.only.lower() in w.name.lower()):
        calls, undo = write_calls(app, write, write.voters[:opts.requests + 3], "profile")
        try:
            measure(app, statements, write.name, calls, opts.profile)
        finally:
            undo()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
