"""`flask council backup` and `flask council restore`: consistent snapshots of the database (SQLite's online
backup API, or pg_dump / pg_restore for PostgreSQL), refused while a secret vote is open.

Why not during a secret vote (DESIGN invariant 3): two snapshots taken while a secret poll is open can be
compared; the voters checked off the roll between them and the ballots that appeared in the box between
them are the same people, so a few snapshots a day would undo the secret.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import URL

from council import versions
from council.ballots.models import Poll, PollState, RollLine
from council.extensions import db
from council.sqltypes import utcnow

SQLITE_HEADER = b"SQLite format 3\x00"
PG_DUMP_HEADER = b"PGDMP"
STEP_PAGES = 1024  # pages copied per step of the SQLite backup (4 MB with the default page size)
MUST_HAVE = ("users", "places")  # tables every Council database has had since the first migration


class BackupError(click.ClickException):
    """A refusal or failure: the message is shown and the command exits with status 1."""


def open_secret_polls(now: datetime | None = None) -> list[tuple[Poll, int]]:
    """Open secret polls (proposals' and elections' rounds) that hold votes or are in their voting window,
    each with how many voters have been checked off its roll so far."""
    now = now or utcnow()
    voted = (sa.select(sa.func.count(RollLine.id)).where(RollLine.poll_id == Poll.id, RollLine.status.is_not(None))
             .scalar_subquery())
    rows = db.session.execute(
        sa.select(Poll, voted).where(Poll.secret.is_(True), Poll.state == PollState.OPEN).order_by(Poll.id)).all()
    return [(poll, count) for poll, count in rows if count or poll.opened_at <= now < poll.closes_at]


def _local(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).strftime("%Y-%m-%d %H:%M")


def _size(path: Path) -> str:
    size = float(path.stat().st_size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return ""  # not reached


def _echo_counts(counts: dict[str, int]) -> None:
    click.echo(f"Tables: {len(counts)}, rows: {sum(counts.values())}")
    width = max((len(name) for name in counts), default=0)
    for name, count in sorted(counts.items()):
        click.echo(f"  {name:<{width}} {count:>9}")


def _sqlite_file(url: URL) -> Path | None:
    """The configured SQLite file, or None for an in-memory database."""
    return Path(url.database).resolve() if url.database and url.database != ":memory:" else None


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq URL for pg_dump / pg_restore (no `+psycopg`), and an environment holding the password:
    a password on the command line would show in `ps` to every user of the machine."""
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    # URL.set(password=None) would keep the password (None means "unchanged"); _replace removes it.
    return url.set(drivername="postgresql")._replace(password=None).render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} was not found; install the PostgreSQL client tools (postgresql-client).")
    return found


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, capture_output=True, encoding="utf-8", errors="replace", check=False)


def _sqlite_counts(conn: sqlite3.Connection) -> dict[str, int]:
    names = [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}


def _live_counts(conn: sa.Connection) -> dict[str, int]:
    names = sa.inspect(conn).get_table_names()
    return {name: conn.scalar(sa.text(f'SELECT count(*) FROM "{name}"')) for name in names}


def _sqlite_copy(source: sqlite3.Connection, target: sqlite3.Connection, label: str) -> None:
    """Copy `source` into `target` page by page with a progress bar; the API restarts the copy if another
    connection writes to the source meanwhile, so the result is one consistent state."""
    pages = source.execute("PRAGMA page_count").fetchone()[0]
    with click.progressbar(length=max(pages, 1), label=label, file=sys.stderr) as bar:
        def progress(_status, remaining, total):
            bar.length = max(total, 1)
            bar.update(max(0, total - remaining - bar.pos))
        source.backup(target, pages=STEP_PAGES, progress=progress, sleep=0)
        bar.update(max(0, bar.length - bar.pos))


def _check_sqlite(path: Path) -> dict[str, int]:
    """Open a SQLite backup read-only, check its integrity and that it is a Council database; its row counts."""
    with path.open("rb") as stream:
        head = stream.read(len(SQLITE_HEADER))
    if head.startswith(PG_DUMP_HEADER):
        raise BackupError(f"{path} is a PostgreSQL dump, but the configured database is SQLite.")
    if head != SQLITE_HEADER:
        raise BackupError(f"{path} is not a SQLite database: not a Council backup.")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise BackupError(f"{path} is damaged (integrity check: {'; '.join(problems[:3])}).")
        counts = _sqlite_counts(conn)
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is damaged or incomplete ({error}).") from None
    finally:
        conn.close()
    if not all(name in counts for name in MUST_HAVE):
        raise BackupError(f"{path} is a SQLite database but not a Council backup (no users or places).")
    return counts


def _check_dump(path: Path, env: dict[str, str]) -> set[str]:
    """List a pg_dump archive with pg_restore; the tables whose data it holds."""
    with path.open("rb") as stream:
        head = stream.read(len(SQLITE_HEADER))
    if head == SQLITE_HEADER:
        raise BackupError(f"{path} is a SQLite backup, but the configured database is PostgreSQL.")
    if not head.startswith(PG_DUMP_HEADER):
        raise BackupError(f"{path} is not a pg_dump archive (custom format): not a Council backup.")
    listed = _run([_tool("pg_restore"), "--list", str(path)], env)
    if listed.returncode != 0:
        raise BackupError(f"{path} is damaged or incomplete ({listed.stderr.strip()}).")
    # e.g. "215; 0 16390 TABLE DATA public users postgres": schema, name, owner after "TABLE DATA".
    tables = {line.split(" TABLE DATA ", 1)[1].split()[1] for line in listed.stdout.splitlines()
              if not line.startswith(";") and " TABLE DATA " in line}
    if not all(name in tables for name in MUST_HAVE):
        raise BackupError(f"{path} is a pg_dump archive but not a Council backup (no users or places).")
    return tables


def _schema_note(version: str | None) -> str:
    """How the restored schema compares with this code's migrations."""
    script = ScriptDirectory(current_app.extensions["migrate"].directory)
    heads = set(script.get_heads())
    if version in heads:
        return f"Schema: revision {version}, the code's current one."
    if version is None:
        return "Schema: no alembic_version in the backup; check it with `flask db current`."
    try:
        script.get_revision(version)
    except CommandError:
        return (f"Schema: revision {version} is unknown to this code (a newer version of Council made the "
                f"backup?): run the code the backup came from.")
    return f"Schema: revision {version} is older than the code's {', '.join(sorted(heads))}: run `flask db upgrade`."


@click.command("backup")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Back up even during an open secret vote (see the README).")
@with_appcontext
def backup_command(path: Path | None, force: bool) -> None:
    """Write a consistent snapshot of the database (never during an open secret vote; cron nightly)."""
    started = time.monotonic()
    polls = open_secret_polls()
    if polls:
        lines = "\n".join(f"  poll {poll.id} “{poll.title}”: open until {_local(poll.closes_at)}, {voted} voted"
                          for poll, voted in polls)
        message = ("A secret vote is open. Two copies taken during a secret vote can be compared to match "
                   "the voters checked off between them with the ballots that appeared between them.\n"
                   f"{lines}")
        if not force:
            raise BackupError(message + "\nBack up after the count, or add --force to go ahead anyway.")
        click.echo(f"WARNING: {message}\nGoing ahead (--force): keep this copy as safe as the ballot box and "
                   "delete it once the votes are counted.", err=True)
    url = db.engine.url
    postgres = url.get_backend_name() == "postgresql"
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise BackupError(f"Backups of {url.get_backend_name()} databases are not supported.")
    if path is None:
        stamp = datetime.now(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).strftime("%Y%m%d-%H%M%S")
        path = Path(current_app.instance_path) / "backups" / f"council-{stamp}.{'dump' if postgres else 'sqlite3'}"
    if path.exists():
        raise BackupError(f"{path} already exists; give another name.")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    db.session.remove()
    try:
        partial.touch(mode=0o600)  # readable by its owner only: it holds password hashes and the ballot box
        counts = _backup_postgres(url, partial) if postgres else _backup_sqlite(url, partial)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    click.echo(f"Backup written: {path}")
    click.echo(f"Size: {_size(path)}")
    _echo_counts(counts)
    click.echo(f"Took {time.monotonic() - started:.1f} s.")


def _backup_sqlite(url: URL, target_path: Path) -> dict[str, int]:
    source_path = _sqlite_file(url)
    if source_path is None or not source_path.exists():
        raise BackupError("The configured SQLite database is in memory or missing: nothing to back up.")
    source = sqlite3.connect(source_path)
    target = sqlite3.connect(target_path)
    try:
        _sqlite_copy(source, target, "Copying the database")
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file: no -wal or -shm beside it
    finally:
        target.close()
        source.close()
    return _check_sqlite(target_path)


def _backup_postgres(url: URL, target_path: Path) -> dict[str, int]:
    """pg_dump in the very snapshot where the rows are counted (an exported REPEATABLE READ snapshot)."""
    dburl, env = _libpq(url)
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = conn.scalar(sa.text("SELECT pg_export_snapshot()"))
            counts = _live_counts(conn)
            click.echo("Running pg_dump...", err=True)
            dumped = _run([_tool("pg_dump"), "--format=custom", "--no-owner", f"--snapshot={snapshot}",
                           f"--file={target_path}", f"--dbname={dburl}"], env)
    if dumped.returncode != 0:
        raise BackupError(f"pg_dump failed: {dumped.stderr.strip()}")
    tables = _check_dump(target_path, env)
    if missing := sorted(set(counts) - tables):
        raise BackupError(f"The dump lacks the data of {', '.join(missing)}; no backup was written.")
    return counts


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace the data the database holds now.")
@with_appcontext
def restore_command(path: Path, yes: bool) -> None:
    """Bring back a backup made by `flask council backup`, replacing everything in the database."""
    started = time.monotonic()
    url = db.engine.url
    postgres = url.get_backend_name() == "postgresql"
    dburl, env = _libpq(url) if postgres else ("", {})
    tables = _check_dump(path, env) if postgres else set(_check_sqlite(path))
    target = None if postgres else _sqlite_file(url)
    if not postgres and target is None:
        raise BackupError("The configured SQLite database is in memory: set DATABASE_URL to a file.")
    with db.engine.connect() as conn:
        present = {name: count for name, count in _live_counts(conn).items() if name != "alembic_version"}
    db.session.remove()
    rows = sum(present.values())
    if rows and not yes:
        raise BackupError(f"The database holds {rows} rows in {sum(1 for c in present.values() if c)} tables; "
                          f"restoring replaces all of them. Add --yes to go ahead.")
    db.engine.dispose()  # no pooled connection may hold the file or a lock while it is replaced
    if postgres:
        click.echo("Running pg_restore...", err=True)
        restored = _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
                         f"--dbname={dburl}", str(path)], env)
        if restored.returncode != 0:
            raise BackupError(f"pg_restore failed; nothing was changed (one transaction): {restored.stderr.strip()}")
    else:
        source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        destination = sqlite3.connect(target, timeout=30)
        try:
            _sqlite_copy(source, destination, "Restoring the database")
        finally:
            destination.close()
            source.close()
    with db.engine.connect() as conn:
        counts = _live_counts(conn)
        version = (conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
                   if "alembic_version" in counts else None)
    versions.move_everything()  # every kept page was built from the data just replaced
    click.echo(f"Restored {path} into the configured {'PostgreSQL' if postgres else 'SQLite'} database.")
    _echo_counts(counts)
    if postgres and (left := sorted(set(counts) - tables - {"alembic_version"})):
        click.echo(f"Tables not in the backup were left as they were: {', '.join(left)}.")
    click.echo(_schema_note(version))
    click.echo(f"Took {time.monotonic() - started:.1f} s.")
