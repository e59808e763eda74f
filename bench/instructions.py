"""Instructions per request: the figure to compare two versions of the code by on a noisy machine.

`make bench` gives requests per second and the workers' CPU per request; on a small shared machine the same code
moves by a third between runs. This counts the machine instructions the app runs to answer one request of a
scenario, with valgrind's callgrind, which counts instructions rather than time: the same code gives the same count
to a few parts in ten thousand in consecutive runs, whatever else the machine is doing (between series begun in
different states of Redis and the database, by a few per cent: compare runs of one series).
The requests are answered in process (`app.wsgi_app` with environs built beforehand, as bench/profile.py does),
so gunicorn's share is left out; the database and Redis run outside and are not counted (Redis is the app's shared
cache, as under `make bench`). Two runs under callgrind, one answering `--requests` requests and one answering
none (each after the same warm-up), and the difference divided by `--requests`: what starting the app costs cancels
out.

    .venv/bin/python bench/instructions.py --only "election ballot"            # PostgreSQL's council_bench
    .venv/bin/python bench/instructions.py --only "estate home" --requests 200
    .venv/bin/python bench/instructions.py --ceiling                            # the bare INSERT, the same way

Needs valgrind (Debian: `apt-get install valgrind`). Each run takes a minute or two (valgrind runs Python about
fifty times slower). Writes are undone afterwards as the harness undoes them (bench/checks.py)."""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.profile import DEFAULT_URL  # noqa: E402

WARM_UP = 5
COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def per_request(low: int, high: int, requests: int) -> float:
    """Instructions of one request: the two runs' totals apart, over the requests that set them apart."""
    if requests <= 0:
        raise ValueError("requests must be positive")
    return (high - low) / requests


def collected(output: str) -> int:
    """The total callgrind prints when the program ends ("Collected : 123")."""
    found = COLLECTED.findall(output)
    if not found:
        raise RuntimeError("callgrind printed no total:\n" + output[-2000:])
    return int(found[-1])


def _under_callgrind(args: list[str]) -> int:
    """Run this script's `--answer` mode under callgrind and return the instructions it counted."""
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONMALLOC": "malloc"}  # the same run gives the same count
        done = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={scratch}/out",
                               sys.executable, __file__, "--answer", *args],
                              capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"the run under callgrind failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return collected(done.stderr)


def _ceiling_calls(url: str, count: int):
    """The bare INSERT (bench/ceiling.py) `count` times, as WSGI calls."""
    from werkzeug.test import EnvironBuilder

    from bench import ceiling
    from bench.profile import wsgi_call

    os.environ["DATABASE_URL"] = url
    ceiling.create_table(url)
    app = ceiling.create_app()
    return [wsgi_call(app, EnvironBuilder(path="/insert", method="POST"), {200}) for _ in range(count)], lambda: None


def _scenario_calls(url: str, only: str, count: int, redis_url: str):
    """`count` requests of the first scenario whose name has `only`, and what undoes their writes."""
    from bench import sessions, targets
    from bench.profile import read_calls, write_calls
    from bench.run import bench_app, shared_cache
    from council.extensions import db

    app = bench_app(url, "instructions-" + "x" * 32, shared_cache(redis_url, log=lambda _line: None))
    with app.app_context():
        found = targets.discover()
        readers = sorted({u for r in found.reads for u in r.readers})
    read = next((r for r in found.reads if only.lower() in r.name.lower()), None)
    if read is not None:
        with app.app_context():
            requests = sessions.read_requests(read, sessions.mint(app, readers))
            db.session.remove()
        return read_calls(app, requests, count), lambda: None
    write = next((w for w in found.writes if only.lower() in w.name.lower()), None)
    if write is None:
        raise SystemExit(f"no scenario named like {only!r}")
    voters = write.voters[:count]
    if len(voters) < count:
        raise SystemExit(f"{write.name}: only {len(voters)} voters left (seed again: BENCH_RESEED=1 make bench)")
    return write_calls(app, write, voters, "instructions")


def answer(url: str, only: str, ceiling: bool, measured: int, prepared: int, redis_url: str) -> None:
    """What runs under callgrind: `prepared` requests made ready, the warm-up and `measured` of them answered
    (the other run prepares as many, so the two differ only by the requests answered)."""
    calls, undo = (_ceiling_calls(url, prepared) if ceiling else _scenario_calls(url, only, prepared, redis_url))
    try:
        for call in calls[:WARM_UP + measured]:
            call()
    finally:
        undo()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL, help="the benchmark database (seeded by make bench)")
    parser.add_argument("--only", default="election ballot", help="the scenario whose name has this text")
    parser.add_argument("--ceiling", action="store_true", help="count the bare INSERT instead")
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14",
                        help="the cache shared as deployed (emptied first; members' pages are kept as under make "
                             "bench); '' to keep nothing for members")
    parser.add_argument("--answer", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--measured", type=int, default=0, help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    prepared = WARM_UP + opts.requests
    if opts.answer:
        answer(opts.url, opts.only, opts.ceiling, opts.measured, prepared, opts.redis)
        return 0
    if shutil.which("valgrind") is None:
        print("instructions.py needs valgrind: apt-get install valgrind (Debian)", file=sys.stderr)
        return 2
    common = ["--url", opts.url, "--only", opts.only, "--requests", str(opts.requests), "--redis", opts.redis,
              *(["--ceiling"] if opts.ceiling else [])]
    print(f"counting {'the bare INSERT' if opts.ceiling else opts.only!r} under callgrind: "
          f"{opts.requests} requests, then none …", flush=True)
    high = _under_callgrind([*common, "--measured", str(opts.requests)])
    low = _under_callgrind([*common, "--measured", "0"])
    print(f"{'bare INSERT' if opts.ceiling else opts.only}: {per_request(low, high, opts.requests) / 1e6:.3f} "
          f"million instructions per request ({high:,} − {low:,}, over {opts.requests})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
