"""`flask council backup` / `restore`: a populated database round-trips exactly (SQLite, and PostgreSQL with
pg_dump / pg_restore when COUNCIL_TEST_DB=postgresql); refused during an open secret vote, over data without
--yes, and from a file that is not a sound Council backup, which changes nothing."""
from __future__ import annotations

import os
import re
import sqlite3
from datetime import timedelta
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from council import create_app
from council.backup import _libpq, open_secret_polls
from council.ballots.models import Basis, Channel, Poll, PollState, RollLine
from council.ballots.rules import Rule
from council.config import TestConfig
from council.demo import seed
from council.extensions import db
from council.sqltypes import utcnow

POSTGRES = os.environ.get("COUNCIL_TEST_DB") == "postgresql"
SUFFIX = "dump" if POSTGRES else "sqlite3"


def _new_database(tmp_path_factory, worker_id: str, name: str) -> str:
    """An empty database of this test module's own (never the session app's)."""
    if not POSTGRES:
        return f"sqlite:///{tmp_path_factory.mktemp(name) / 'council.db'}"
    base = make_url(os.environ["TEST_DATABASE_URL"])
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{base.database}_{name}_{worker_id}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{base.database}_{name}_{worker_id}"'))
    engine.dispose()
    return base.set(database=f"{base.database}_{name}_{worker_id}").render_as_string(hide_password=False)


def _drop_database(url: str) -> None:
    if POSTGRES:
        base = make_url(os.environ["TEST_DATABASE_URL"])
        engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
        engine.dispose()


def _app(url: str, instance: Path):
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    application = create_app(Config)
    application.instance_path = str(instance)  # default backup folder: never the repository's instance/
    return application


def rows_of(application) -> dict[str, list[tuple]]:
    """Every row of every table (and the schema revision), ordered by primary key."""
    with application.app_context(), db.engine.connect() as conn:
        rows = {table.name: [tuple(row) for row in conn.execute(
            sa.select(table).order_by(*table.primary_key.columns))] for table in db.metadata.sorted_tables}
        tables = sa.inspect(conn).get_table_names()
        rows["alembic_version"] = (conn.scalars(sa.text("SELECT version_num FROM alembic_version")).all()
                                   if "alembic_version" in tables else [])
    return rows


def run(application, *args: str):
    return application.test_cli_runner().invoke(args=["council", *args])


def execute(application, *statements: str) -> None:
    with application.app_context(), db.engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))


@pytest.fixture(scope="module")
def seeded(tmp_path_factory, worker_id):
    """A migrated database with the whole demo street (rows in nearly every table), its rows, and a backup."""
    url = _new_database(tmp_path_factory, worker_id, "backup")
    application = _app(url, tmp_path_factory.mktemp("instance"))
    with application.app_context():
        flask_migrate.upgrade()
        seed()
        db.session.commit()
    backup = tmp_path_factory.mktemp("backups") / f"seeded.{SUFFIX}"
    result = run(application, "backup", str(backup), "--force")  # the demo has open secret votes
    assert result.exit_code == 0, result.output
    yield application, backup, rows_of(application)
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    _drop_database(url)


def test_the_demo_fills_most_tables(seeded):
    _, _, rows = seeded
    filled = [name for name, table_rows in rows.items() if table_rows]
    assert len(filled) >= 35 and len(rows["households"]) > 1000


def test_backup_is_refused_during_an_open_secret_vote_unless_forced(seeded):
    application, _, _ = seeded
    backups = Path(application.instance_path) / "backups"

    refused = run(application, "backup")
    assert refused.exit_code == 1
    assert "A secret vote is open" in refused.output and "--force" in refused.output
    assert "送变电家园第一届综合治理服务队选举" in refused.output  # the open election, with its voters so far
    assert not backups.exists()

    forced = run(application, "backup", "--force")
    assert forced.exit_code == 0, forced.output
    assert "WARNING" in forced.output
    written = list(backups.iterdir())
    assert [p.name for p in written] == [re.search(r"council-\d{8}-\d{6}\.\w+", forced.output).group()]
    assert written[0].suffix == f".{SUFFIX}"


def test_the_summary_gives_file_size_and_every_table_count(seeded, tmp_path):
    application, _, rows = seeded
    result = run(application, "backup", str(tmp_path / f"b.{SUFFIX}"), "--force")
    assert result.exit_code == 0, result.output
    assert f"Backup written: {tmp_path / f'b.{SUFFIX}'}" in result.output and "Size: " in result.output
    for name, table_rows in rows.items():
        assert re.search(rf"^  {name} +{len(table_rows)}$", result.output, re.M), name
    assert re.search(r"^Took \d+\.\d s\.$", result.output, re.M)
    assert (tmp_path / f"b.{SUFFIX}").stat().st_mode & 0o077 == 0  # the owner's eyes only
    assert not run(application, "backup", str(tmp_path / f"b.{SUFFIX}"), "--force").exit_code == 0  # no overwrite


def test_round_trip_restores_every_row_exactly(seeded):
    application, backup, before = seeded
    execute(application, "DELETE FROM concern_supports", "DELETE FROM notifications",
            "UPDATE users SET display_name = 'changed'", "UPDATE polls SET title = 'changed'")
    changed = rows_of(application)
    assert changed != before

    refused = run(application, "restore", str(backup))
    assert refused.exit_code == 1
    held = sum(len(table_rows) for name, table_rows in changed.items() if name != "alembic_version")
    assert f"The database holds {held} rows" in refused.output and "--yes" in refused.output
    assert rows_of(application) == changed

    restored = run(application, "restore", str(backup), "--yes")
    assert restored.exit_code == 0, restored.output
    assert "the code's current one" in restored.output
    assert re.search(rf"^  users +{len(before['users'])}$", restored.output, re.M)
    assert rows_of(application) == before
    # The app goes on working on the restored database.
    assert application.test_client().get("/", headers={"Accept-Language": "en"}).status_code == 200


def test_restore_into_an_empty_database_needs_no_yes(seeded, tmp_path_factory, worker_id):
    _, backup, before = seeded
    url = _new_database(tmp_path_factory, worker_id, "backup_empty")
    fresh = _app(url, tmp_path_factory.mktemp("instance"))
    try:
        result = run(fresh, "restore", str(backup))
        assert result.exit_code == 0, result.output
        assert rows_of(fresh) == before
    finally:
        with fresh.app_context():
            db.engine.dispose()
        _drop_database(url)


def _foreign_files(tmp_path: Path, backup: Path) -> dict[str, Path]:
    text = tmp_path / "notes.txt"
    text.write_text("not a backup\n", encoding="utf-8")
    truncated = tmp_path / f"truncated.{SUFFIX}"
    truncated.write_bytes(backup.read_bytes()[: backup.stat().st_size * 9 // 10])  # its PostgreSQL list still reads
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE things (id INTEGER PRIMARY KEY)")
    conn.close()
    damaged = tmp_path / f"damaged.{SUFFIX}"
    data = bytearray(backup.read_bytes())
    data[len(data) // 2: len(data) // 2 + 8192] = b"\xff" * 8192
    damaged.write_bytes(bytes(data))
    return {"text": text, "truncated": truncated, "other database": other, "damaged": damaged}


def test_a_file_that_is_not_a_sound_backup_is_refused_and_nothing_changes(seeded, tmp_path):
    application, backup, before = seeded
    for kind, path in _foreign_files(tmp_path, backup).items():
        result = run(application, "restore", str(path), "--yes")
        assert result.exit_code == 1, (kind, result.output)
        if POSTGRES and kind == "truncated":  # pg_restore stops halfway: its single transaction is undone
            assert "pg_restore failed; nothing was changed" in result.output, result.output
        else:
            assert f"Error: {path} is " in result.output, (kind, result.output)
        assert rows_of(application) == before, kind


def test_restoring_an_older_backup_says_to_upgrade(seeded, tmp_path):
    application, _, before = seeded
    head = before["alembic_version"][0]
    execute(application, "UPDATE alembic_version SET version_num = '0011'")
    try:
        older = tmp_path / f"older.{SUFFIX}"
        assert run(application, "backup", str(older), "--force").exit_code == 0
        result = run(application, "restore", str(older), "--yes")
        assert result.exit_code == 0, result.output
        assert f"revision 0011 is older than the code's {head}: run `flask db upgrade`" in result.output
    finally:
        execute(application, f"UPDATE alembic_version SET version_num = '{head}'")
    assert rows_of(application) == before


def test_pg_tools_get_the_password_from_the_environment_never_the_command_line():
    url, env = _libpq(make_url("postgresql+psycopg://council:s3cr%40t@db.example:5433/council?sslmode=require"))
    assert url == "postgresql://council@db.example:5433/council?sslmode=require"
    assert env["PGPASSWORD"] == "s3cr@t"


# ---- which secret polls block a backup (the session app) ----------------------------------------------

def _poll(world, number: int, *, secret=True, state=PollState.OPEN, starts=-1, ends=1, voted=False) -> int:
    now = utcnow()
    poll = Poll(place_id=world.estate, subject_type="test", subject_id=number, title=f"poll {number}",
                rule=Rule.SIMPLE_MAJORITY, basis=Basis.MEMBERS, secret=secret, state=state,
                opened_at=now + timedelta(days=starts), closes_at=now + timedelta(days=ends))
    db.session.add(poll)
    db.session.flush()
    db.session.add(RollLine(poll_id=poll.id, user_id=world.users["resident"], label="resident",
                            status=Channel.ONLINE if voted else None))
    db.session.flush()
    return poll.id


def test_only_open_secret_polls_with_votes_or_in_their_window_block_a_backup(app, world, tmp_path):
    with app.app_context():
        blocking = {_poll(world, 1), _poll(world, 2, voted=True), _poll(world, 3, starts=-3, ends=-1, voted=True)}
        _poll(world, 4, starts=-3, ends=-1)  # its window is over and nobody voted
        _poll(world, 5, starts=1, ends=3)  # voting has not started
        _poll(world, 6, secret=False, voted=True)  # a named vote
        _poll(world, 7, state=PollState.CLOSED, starts=-3, ends=-1, voted=True)  # counted and published
        db.session.commit()
        assert {poll.id for poll, _ in open_secret_polls()} == blocking
        assert [voted for _, voted in open_secret_polls()] == [0, 1, 1]

        db.session.execute(sa.delete(RollLine).where(RollLine.poll_id.in_(blocking)))
        db.session.execute(sa.delete(Poll).where(Poll.id.in_(blocking)))
        db.session.commit()
    result = run(app, "backup", str(tmp_path / f"quiet.{SUFFIX}"))
    assert result.exit_code == 0, result.output
    assert "WARNING" not in result.output and "Tables: " in result.output
