"""The benchmark's databases: where they live, how they are seeded, and when a seeded one can be reused.

Seeding the full district takes minutes, so a database is seeded once per set of parameters and reused: a
stamp table (`bench_stamp`) records the seed command with its parameters and a digest of the migrations (the
schema the data was written in). `make bench` reuses the database when the stamp matches and starts afresh when
it does not (or when a seeding was interrupted: the stamp is written last). The seeder's own code is not in the
stamp: seed-scale is deterministic, and a change that only makes it faster must not cost a reseed; after a change
to what it generates, BENCH_RESEED=1 (bench/run.py --reseed) seeds again.

- SQLite: one file per set of parameters under bench/data/ (gitignored).
- PostgreSQL: the database `council_bench` on 127.0.0.1 (BENCH_PG_URL to change), created when missing and
  dropped and created again when its stamp does not match. The database `test` is never touched.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/council_bench"
FORBIDDEN_DATABASES = {"test", "postgres", "template0", "template1"}
STAMP = sa.Table("bench_stamp", sa.MetaData(), sa.Column("name", sa.String(32), primary_key=True),
                 sa.Column("value", sa.Text))


@dataclass(frozen=True)
class Plan:
    """How a benchmark database is seeded: the CLI arguments after `flask council`, and what they depend on."""

    args: tuple[str, ...]

    @property
    def scale(self) -> bool:
        return self.args[0] == "seed-scale"

    def stamp(self) -> str:
        """What must match for a seeded database to be reused: the command and the schema it wrote into."""
        return json.dumps({"args": list(self.args), "schema": schema_digest()}, sort_keys=True)

    def slug(self) -> str:
        """The SQLite file's name: "scale-estates-20-seed-1" for `seed-scale --estates 20 --seed 1`."""
        return "-".join(a.lstrip("-") for a in self.args).removeprefix("seed-")


def schema_digest() -> str:
    """A digest of the migrations: a new or changed one means the seeded tables are not the app's any more."""
    files = sorted((ROOT / "migrations" / "versions").glob("*.py"))
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def has_seed_scale() -> bool:
    """Is `flask council seed-scale` there yet? (Until it is, the benchmark runs on the demo data.)"""
    from council.cli import council_cli

    return "seed-scale" in council_cli.commands


def plan_for(estates: int, seed: int, households: int | None) -> Plan:
    if not has_seed_scale():
        return Plan(("seed-demo",))
    args = ["seed-scale", "--estates", str(estates), "--seed", str(seed)]
    if households:
        args += ["--benchmark-households", str(households)]
    return Plan(tuple(args))


def database_url(kind: str, plan: Plan) -> str:
    if kind == "sqlite":
        return f"sqlite:///{DATA / f'council-{plan.slug()}.db'}"
    url = os.environ.get("BENCH_PG_URL", DEFAULT_PG_URL)
    name = make_url(url).database
    if not name or name in FORBIDDEN_DATABASES:
        raise SystemExit(f"BENCH_PG_URL names the database {name!r}: the benchmark uses a database of its own.")
    return url


def read_stamp(url: str) -> str | None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("bench_stamp"):
                return None
            return conn.scalar(sa.select(STAMP.c.value).where(STAMP.c.name == "seed"))
    except sa.exc.OperationalError:
        return None
    finally:
        engine.dispose()


def write_stamp(url: str, value: str) -> None:
    engine = sa.create_engine(url)
    STAMP.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(STAMP.delete())
        conn.execute(STAMP.insert().values(name="seed", value=value))
    engine.dispose()


def _server_url(url: str) -> sa.URL:
    return make_url(url).set(database="postgres")


def _recreate_postgres(url: str) -> None:
    name = make_url(url).database
    assert name not in FORBIDDEN_DATABASES
    engine = sa.create_engine(_server_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def scratch_postgres(url: str, name: str) -> str:
    """An empty database `name` on the same server as `url` (dropped first if it exists), e.g. for bench/counts.py."""
    scratch = make_url(url).set(database=name).render_as_string(hide_password=False)
    _recreate_postgres(scratch)
    return scratch


def _remove_sqlite(url: str) -> None:
    path = Path(make_url(url).database)
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def flask(args: list[str], url: str) -> None:
    """`flask --app app ...` against the benchmark database, its progress shown on the terminal."""
    command = [sys.executable, "-m", "flask", "--app", "app", *args]
    env = {**os.environ, "DATABASE_URL": url}
    env.pop("SERVER_NAME", None)
    done = subprocess.run(command, cwd=ROOT, env=env)
    if done.returncode != 0:
        raise SystemExit(f"`flask {' '.join(args)}` failed ({done.returncode}) on {safe(url)}")


def safe(url: str) -> str:
    """The URL without its password, and a SQLite file relative to the checkout."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database.startswith(str(ROOT)):
        return "sqlite:///" + str(Path(parsed.database).relative_to(ROOT))
    return parsed.render_as_string(hide_password=True)


def prepare(kind: str, plan: Plan, log=print, force: bool = False) -> tuple[str, dict]:
    """The benchmark database for `kind`, seeded by `plan` (reused when its stamp matches, unless `force`).
    Returns its URL and what happened (reused or seeded, seconds taken)."""
    url = database_url(kind, plan)
    wanted = plan.stamp()
    if not force and read_stamp(url) == wanted:
        log(f"== {kind}: reusing {safe(url)} (seeded with: flask council {' '.join(plan.args)})")
        return url, {"reused": True, "seed_seconds": 0.0, "seed": " ".join(plan.args)}
    log(f"== {kind}: seeding {safe(url)} with: flask council {' '.join(plan.args)}")
    started = time.monotonic()
    if kind == "sqlite":
        _remove_sqlite(url)
    else:
        _recreate_postgres(url)
    flask(["db", "upgrade"], url)
    flask(["council", *plan.args], url)
    write_stamp(url, wanted)
    seconds = round(time.monotonic() - started, 1)
    log(f"== {kind}: seeded in {seconds:.0f}s")
    return url, {"reused": False, "seed_seconds": seconds, "seed": " ".join(plan.args)}
