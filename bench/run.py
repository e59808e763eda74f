"""`make bench`: the app under gunicorn on 127.0.0.1, loaded by wrk, scenario by scenario, next to its ceiling.

For each database (SQLite, PostgreSQL or both): seed it (or reuse it when seeded with the same parameters),
find the targets in it, start the app (two sync gunicorn workers), and for each scenario warm up, then drive
wrk with 16 connections for a bounded time. Reads: anonymous (public minutes) and signed-in residents (estate
home, proposal list, a proposal with its comments, concerns ledger, meeting agenda, a posted election result).
Writes, each virtual user a distinct voter used once: a proposal ballot, a secret election ballot, a comment;
after each, the database is checked against what the voters were told, then the writes are undone. The peak: the
page of the proposal being voted on, read while its ballots are cast (both at once). The
ceiling (bench/ceiling.py), on as many workers, runs before the app's scenarios and again after them: a bare Flask +
Jinja page of the proposal page's size, and a bare INSERT + COMMIT on the same database; each ratio is to the
ceiling's faster run, and a ceiling whose two runs differ by more than 15% is flagged (the machine's speed moved).
Results: bench/results/<date>-<db>.json and a table on stdout.

Options come from the command line or the environment (the Makefile passes the environment):
BENCH_DB=sqlite|postgresql|both, BENCH_ESTATES (PostgreSQL, default the full district), BENCH_SQLITE_ESTATES,
BENCH_SEED, BENCH_HOUSEHOLDS, BENCH_SECONDS, BENCH_WARMUP, BENCH_ONLY (scenario names containing this text),
BENCH_RESEED=1 (seed again even when the stamp matches), BENCH_COUNTS=1 (also bench/counts.py's two counts),
BENCH_REDIS (the cache the app's processes share, as deployed: docs/deploy.md).
"""
from __future__ import annotations

import argparse
import os
import platform
import secrets
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # `python bench/run.py` as well as `python -m bench.run`
    sys.path.insert(0, str(HERE.parent))

from bench import ceiling, checks, report, seeding, server, sessions, wrkrun  # noqa: E402
from bench.report import CEILING_INSERT, CEILING_PAGE, PEAK_READ, PEAK_WRITE, Row  # noqa: E402

DATA = HERE / "data"
RESULTS = HERE / "results"
MAX_RATE = 400  # writes: mint sessions for at most this many voters per second of the scenario


def _env(name: str, default):
    value = os.environ.get(name)
    return type(default)(value) if value not in (None, "") else default


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default=_env("BENCH_DB", "both"))
    parser.add_argument("--estates", type=int, default=_env("BENCH_ESTATES", 600),
                        help="district size on PostgreSQL (seed-scale --estates)")
    parser.add_argument("--sqlite-estates", type=int, default=_env("BENCH_SQLITE_ESTATES", 20),
                        help="district size on SQLite (smaller: its seeding and file stay quick)")
    parser.add_argument("--seed", type=int, default=_env("BENCH_SEED", 1))
    parser.add_argument("--households", type=int, default=_env("BENCH_HOUSEHOLDS", 0),
                        help="benchmark estate households (seed-scale's default when 0)")
    parser.add_argument("--seconds", type=float, default=_env("BENCH_SECONDS", 10.0), help="per scenario")
    parser.add_argument("--warmup", type=float, default=_env("BENCH_WARMUP", 2.0), help="per scenario")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--only", default=_env("BENCH_ONLY", ""), help="run the scenarios whose name has this text")
    parser.add_argument("--counts", action="store_true", default=_flag("BENCH_COUNTS"),
                        help="also time the two big counts in process (bench/counts.py) on a scratch database")
    parser.add_argument("--reseed", action="store_true", default=_flag("BENCH_RESEED"),
                        help="seed again even when the database's stamp matches (e.g. after its votes closed)")
    parser.add_argument("--redis", default=_env("BENCH_REDIS", "redis://127.0.0.1:6379/14"),
                        help="the Redis database the app's processes share as their cache (docs/deploy.md), "
                             "emptied at the start of each database's run; '' for none")
    parser.add_argument("--results", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def bench_app(url: str, secret: str, redis_url: str = ""):
    """The app in the harness process, on the benchmark database, holding the servers' SECRET_KEY and sharing
    their cache (so the writes it undoes move the versions of the pages the servers keep)."""
    from council import create_app
    from council.config import Config

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = url
        SECRET_KEY = secret
        CACHE_REDIS_URL = redis_url
        CACHE_TYPE = "RedisCache" if redis_url else "SimpleCache"
        CACHE_SIGNED_IN_PAGES = bool(redis_url)
        RATELIMIT_STORAGE_URI = redis_url or "memory://"  # as the servers count (profile.py, instructions.py)

    return create_app(BenchConfig)


def shared_cache(redis_url: str, log=print) -> str:
    """The Redis database the app's processes share, emptied (pages kept from another run or another data
    set must not be sent); "" when there is none to use."""
    if not redis_url:
        return ""
    try:
        import redis

        redis.Redis.from_url(redis_url, socket_connect_timeout=2).flushdb()
    except Exception as error:  # noqa: BLE001 (any failure: run without, and say so)
        log(f"   ! no Redis at {redis_url} ({error}): each process keeps public pages, members' pages are not kept")
        return ""
    return redis_url


def _row_from(name: str, group: str, measured: wrkrun.Measured, **extra) -> Row:
    return Row(name=name, group=group, rate=measured.rate, p50_ms=measured.p50_ms, p95_ms=measured.p95_ms,
               p99_ms=measured.p99_ms, errors=measured.errors, cpu_ms=measured.worker_cpu_ms,
               detail=measured.to_dict(), **extra)


class Bench:
    """One database's run: servers, scenarios, checks and rows."""

    def __init__(self, kind: str, url: str, opts: argparse.Namespace, log=print):
        self.kind, self.url, self.opts, self.log = kind, url, opts, log
        self.secret = secrets.token_hex(32)
        self.redis = shared_cache(opts.redis, log)
        self.app = bench_app(url, self.secret, self.redis)
        self.run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        self.folder = DATA / "run" / kind
        self.rows: list[Row] = []
        self.page_bytes, self.page_items = 0, 0

    def wanted(self, name: str) -> bool:
        return not self.opts.only or self.opts.only.lower() in name.lower()

    def wrk(self, target, requests: list, name: str, mode: str, expect: str, seconds: float,
            connections: int | None = None, alone: bool = True):
        """wrk against `target` (a server.Server); when nothing else loads it (`alone`), the measure carries the
        workers' CPU per answered request, which varies far less from run to run than the rate."""
        path = wrkrun.write_requests(self.folder / f"{name.replace(' ', '_').replace(':', '')}.tsv", requests)
        before = target.workers_cpu_s() if alone else None
        measured, text = wrkrun.run(target.url, path, seconds=seconds, mode=mode, expect=expect,
                                    threads=self.opts.threads, connections=connections or self.opts.connections)
        if before is not None and measured.answered:
            measured.worker_cpu_ms = round((target.workers_cpu_s() - before) * 1000 / measured.answered, 2)
        return measured, text

    # ---- the app ------------------------------------------------------------------------------------

    def app_scenarios(self, targets) -> list[float]:
        from council.extensions import db

        readers = sorted({u for r in targets.reads for u in r.readers})
        with self.app.app_context():
            cookies = sessions.mint(self.app, readers)
            db.session.remove()
        # Rate limits counted in the Redis the processes share, as deployed (docs/deploy.md §1); in each
        # process's memory only when the run has no Redis.
        env = {"DATABASE_URL": self.url, "SECRET_KEY": self.secret, "RATELIMIT_STORAGE_URI": self.redis or "memory://",
               "CACHE_REDIS_URL": self.redis, "CACHE_SIGNED_IN_PAGES": "1" if self.redis else "0"}
        app_server = server.start("app:app", env, self.folder / "gunicorn-app.log", workers=self.opts.workers)
        try:
            # The ceiling's page is made as big as the app's; the ceiling then runs once before the app's
            # scenarios (the app's workers idle meanwhile) and once after them (run_one).
            self.page_bytes, self.page_items = self.proposal_page(app_server, targets, cookies)
            self.ceiling_scenarios("before the app")
            for read in targets.reads:
                if self.wanted(read.name):
                    self.read(app_server, read, cookies)
            for write in targets.writes:
                if self.wanted(write.name):
                    self.write(app_server, write)
            voting = next((w for w in targets.writes if w.name == "proposal ballot"), None)
            estate = next((r for r in targets.reads if r.name == "estate home"), None)
            if voting is not None and estate is not None and self.wanted(PEAK_READ):
                self.peak(app_server, voting, estate, cookies)
            return app_server.worker_rss_mb()
        finally:
            app_server.stop()

    def read(self, app_server, read, cookies) -> None:
        requests = sessions.read_requests(read, cookies)
        status, _body = server.fetch(app_server.url + read.path, requests[0].cookie)
        if status != 200:
            self.log(f"   ! {read.name}: {read.path} answers {status} to a reader (counted as errors below)")
        self.wrk(app_server, requests, read.name, "cycle", "status=200", self.opts.warmup)
        measured, _text = self.wrk(app_server, requests, read.name, "cycle", "status=200", self.opts.seconds)
        self.rows.append(_row_from(read.name, read.group, measured, path=read.path, note=read.note))
        self.log(f"   {read.name:<28} {measured.rate:8.1f} req/s  p95 {measured.p95_ms:7.1f} ms  "
                 f"errors {measured.errors}")

    def write(self, app_server, write) -> None:
        self._writing(app_server, write, write.name)

    def peak(self, app_server, write, read, cookies) -> None:
        """The Friday vote's peak: residents read the page of the proposal being voted on while its ballots
        are cast, both at once (12 connections reading, 4 casting): the page's rate and latency during the vote,
        and the ballots' (checked and undone as alone)."""
        from council.ballots.models import Poll
        from council.extensions import db

        with self.app.app_context():
            path = f"/proposals/{db.session.get(Poll, write.target_id).subject_id}"
            db.session.remove()
        page = read.__class__(PEAK_READ, "peak", path, read.readers, note=f"while {write.name}s are cast")
        requests = sessions.read_requests(page, cookies)
        readers = max(self.opts.connections * 3 // 4, self.opts.threads)
        casters = max(self.opts.connections - readers, self.opts.threads)
        reading: dict = {}
        self.wrk(app_server, requests, PEAK_READ + " warm", "cycle", "status=200", self.opts.warmup)

        def alongside(seconds: float) -> None:
            reading["measured"], _ = self.wrk(app_server, requests, PEAK_READ, "cycle", "status=200", seconds,
                                              connections=readers, alone=False)

        self._writing(app_server, write, PEAK_WRITE, group="peak", connections=casters, alongside=alongside)
        measured = reading["measured"]
        self.rows.append(_row_from(PEAK_READ, "peak", measured, path=path, note=page.note))
        self.log(f"   {PEAK_READ:<28} {measured.rate:8.1f} req/s  p95 {measured.p95_ms:7.1f} ms  "
                 f"errors {measured.errors}")

    def _writing(self, app_server, write, name: str, group: str = "write", connections: int | None = None,
                 alongside=None) -> None:
        """Run a write scenario (warm-up, then the measured window, with `alongside(seconds)` run at the same
        time when given), check the database against what the voters were told, and undo the writes."""
        import threading

        from council.extensions import db

        wanted = int(MAX_RATE * (self.opts.seconds + self.opts.warmup)) + 50
        voters = write.voters[:wanted]
        warm_n = min(max(len(voters) // 10, 1), int(MAX_RATE * self.opts.warmup) + 16)
        warm, main = voters[:warm_n], voters[warm_n:]
        if not main:
            self.log(f"   ! {name}: only {len(voters)} voters left: skipped")
            return
        with self.app.app_context():
            cookies = sessions.mint(self.app, [user for _line, user in voters])
            db.session.rollback()
            before = checks.snapshot(db.session, write.kind, write.target_id)
            db.session.remove()
        expect = sessions.EXPECT[write.kind]
        sent = {user if write.kind == "comment" else line for line, user in voters}
        try:
            warm_m, _ = self.wrk(app_server, sessions.write_requests(write, warm, cookies, self.run_id),
                                 name + " warm", "once", expect, self.opts.warmup, connections=connections)
            beside = threading.Thread(target=alongside, args=(self.opts.seconds,)) if alongside else None
            if beside:
                beside.start()
            try:
                measured, _ = self.wrk(app_server, sessions.write_requests(write, main, cookies, self.run_id),
                                       name, "once", expect, self.opts.seconds, connections=connections,
                                       alone=alongside is None)
            finally:
                if beside:
                    beside.join()
            self._settled(before)
            with self.app.app_context():
                db.session.rollback()
                found = checks.facts(db.session, before, sent)
                db.session.remove()
        finally:  # even when wrk failed: the seeded database must stay as seeded
            with self.app.app_context():
                db.session.rollback()
                undone = checks.undo(db.session, before, sent)
                db.session.remove()
        problems = checks.problems(write.kind, warm_m.counted + measured.counted,
                                   warm_m.unanswered + measured.unanswered, found)
        note = write.note + (" — voters ran out before the end" if measured.exhausted else "")
        row = _row_from(name, group, measured, kind=write.kind, path=write.path, note=note, check=problems)
        row.detail.update(database=found.to_dict(), told_counted=warm_m.counted + measured.counted,
                          unanswered=warm_m.unanswered + measured.unanswered, undone=undone,
                          voters_available=len(write.voters), warmup_counted=warm_m.counted)
        self.rows.append(row)
        verdict = "agrees" if not problems else "FAILED: " + "; ".join(problems)
        self.log(f"   {name:<28} {measured.rate:8.1f} req/s  p95 {measured.p95_ms:7.1f} ms  "
                 f"counted {measured.counted}/{measured.sent}  database check {verdict}")

    def _settled(self, before, seconds: float = 10.0) -> None:
        """Wait until the server has finished what it was sent: the target's counts stop moving (read 0.3 s
        apart), or `seconds` pass."""
        from council.extensions import db

        last, deadline = None, time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self.app.app_context():
                found = checks.footprint(db.session, before)
                db.session.remove()
            if found == last:
                return
            last = found
            time.sleep(0.3)

    def proposal_page(self, app_server, targets, cookies) -> tuple[int, int]:
        """The proposal page as a reader gets it, its size in bytes and how many comments it shows: the
        ceiling's page is made as big, with as many comments."""
        read = next((r for r in targets.reads if r.name == "proposal + comments"), None)
        if read is None:
            return 60_000, 0
        status, body = server.fetch(app_server.url + read.path, cookies[read.readers[0]][0])
        if status != 200:
            return 60_000, 0
        return len(body), body.count(b'id="comment-')

    # ---- the ceiling -----------------------------------------------------------------------------------

    def ceiling_scenarios(self, when: str) -> None:
        """The bare page and the bare INSERT, one run of each (`when`: said in the log and in the results)."""
        ceiling.create_table(self.url)
        env = {"DATABASE_URL": self.url, "BENCH_CEILING_BYTES": str(self.page_bytes),
               "BENCH_CEILING_ITEMS": str(self.page_items)}
        bare = server.start("bench.ceiling:create_app()", env, self.folder / "gunicorn-ceiling.log",
                            workers=self.opts.workers, probe="/page")
        try:
            for name, request, expect, path in (
                    (CEILING_PAGE, wrkrun.Request("GET", "/page"), "status=200", "/page"),
                    (CEILING_INSERT, wrkrun.Request("POST", "/insert", body="x=1"), "status=200;body=counted",
                     "/insert")):
                self.wrk(bare, [request], name, "cycle", expect, self.opts.warmup)
                measured, _ = self.wrk(bare, [request], name, "cycle", expect, self.opts.seconds)
                note = (f"{self.page_bytes:,} bytes, {self.page_items} comments" if path == "/page"
                        else "one row, one commit")
                row = _row_from(name, "ceiling", measured, path=path, note=note)
                row.detail["run"] = when
                self.rows.append(row)
                self.log(f"   {name:<28} {measured.rate:8.1f} req/s  p95 {measured.p95_ms:7.1f} ms  ({when})")
        finally:
            bare.stop()
        ceiling.create_table(self.url)  # empty again: the table never grows from run to run


def counts_on(kind: str, url: str, log=print) -> list[dict]:
    """bench/counts.py's two counts (100,000 election ballots; an Art. 278 vote of 5,000 households) on a scratch
    database of the same kind: a temporary SQLite file, or `council_bench_counts` next to `council_bench`."""
    from bench import counts

    scratch = None if kind == "sqlite" else seeding.scratch_postgres(url, "council_bench_counts")
    figures = counts.run(scratch)
    log(counts.table(figures))
    return figures


def run_one(kind: str, opts: argparse.Namespace, log=print) -> tuple[Path, list[Row], list[float]]:
    estates = opts.sqlite_estates if kind == "sqlite" else opts.estates
    plan = seeding.plan_for(estates, opts.seed, opts.households or None)
    if not plan.scale:
        log("== `flask council seed-scale` is not there yet: benchmarking the demo data (seed-demo)")
    url, seeded = seeding.prepare(kind, plan, log, force=opts.reseed)
    started = time.monotonic()
    bench = Bench(kind, url, opts, log)
    from bench.targets import discover
    from council.extensions import db

    with bench.app.app_context():
        targets = discover()
        db.session.remove()
    log(f"== {kind}: benchmark estate {targets.estate_name} ({targets.estate_id}); "
        f"{opts.connections} connections, {opts.workers} sync workers, {opts.seconds:g}s per scenario")
    for name, why in targets.skipped.items():
        log(f"   ! {name}: skipped ({why})")
    if seeded["reused"] and {"secret election ballot", "proposal ballot"} & set(targets.skipped):
        log("   ! the reused database has no open vote left (seed-scale's stay open 59 days): BENCH_RESEED=1 "
            "seeds it again")
    load = os.getloadavg()
    rss = bench.app_scenarios(targets)
    bench.ceiling_scenarios("after the app")
    rows = report.judge(report.fastest_ceilings(bench.rows))
    meta = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "db": kind, "database": seeding.safe(url),
        "seeding": seeded, "settings": {"seconds": opts.seconds, "warmup": opts.warmup, "connections": opts.connections,
                                        "gunicorn_workers": opts.workers, "worker_class": "sync",
                                        "wrk_threads": opts.threads,
                                        "cache": bench.redis or "each process"},
        "machine": {"cpus": os.cpu_count(), "load_before": [round(x, 2) for x in load],
                    "python": platform.python_version(), "platform": platform.platform()},
        "targets": targets.summary(),
    }
    if opts.counts:
        meta["counts"] = counts_on(kind, url, log)
    meta["run_seconds"] = round(time.monotonic() - started, 1)
    if opts.only:
        meta["only"] = opts.only
    path = report.write_results(report.results_path(opts.results, kind, partial=bool(opts.only)), meta, rows, rss)
    return path, rows, rss


def main(argv: list[str] | None = None) -> int:
    opts = options(argv)
    # Stopped (kill, or a CI timeout): unwind, so the servers stop and a write scenario's rows are taken back.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    kinds = ("sqlite", "postgresql") if opts.db == "both" else (opts.db,)
    started = time.monotonic()
    failed = False
    for kind in kinds:
        path, rows, rss = run_one(kind, opts)
        print()
        print(report.table(rows, rss, title=f"== {kind} (results: {os.path.relpath(path, HERE.parent)})"))
        print()
        failed |= any(r.check for r in rows)
    print(f"== bench done in {time.monotonic() - started:.0f}s"
          + ("; a database check FAILED (see above)" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
