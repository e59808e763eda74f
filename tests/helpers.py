"""Small helpers shared by several test modules."""
from __future__ import annotations

import os
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from council import pagecache
from council.accounts import kept as kept_people
from council.extensions import cache, db
from council.permissions import forget_standings

# COUNCIL_TEST_KEEP_PAGES=1: the suite runs with members' pages kept (see conftest.py).
KEEP_PAGES = os.environ.get("COUNCIL_TEST_KEEP_PAGES") == "1"


def in_ci() -> bool:
    """Running in CI (the CI variable set, as .ci/run sets it)."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def needs_redis(url: str = "redis://127.0.0.1:6379/15") -> None:
    """Skip the test without Redis at `url`, except in CI, where Redis is part of the machine: fail there, so
    CI never goes green by skipping what it cannot reach."""
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        if in_ci():
            pytest.fail(f"no Redis at {url} in CI", pytrace=False)
        pytest.skip(f"no Redis at {url}")


def forget_kept_pages(app) -> None:
    """The next request renders its page afresh, as with nothing kept (the suite may run with members' pages
    kept: COUNCIL_TEST_KEEP_PAGES), so that what it counts is the page's rendering."""
    with app.app_context():
        cache.clear()
    pagecache.forget_local()


@contextmanager
def counting(app, afresh: bool = True):
    """Collect every SQL statement sent while the block runs (for fixed-query-count guards). Each block starts
    with no standing and no person kept (council.permissions keeps people's standing between requests, and
    council.accounts.kept the signed-in person's row), so two blocks compare the same work; `afresh=False`
    leaves them kept (to count what a request takes when they are)."""
    if afresh:
        forget_standings()
        kept_people.forget()
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


# The statements of a secret ballot cast from a kept head by a voter the process has never seen: the voter with
# their standing, the roll line's update and the ballot; on PostgreSQL, the poll's advisory lock, then the update
# and the ballot in one statement (council.ballots.casting).
CAST_STATEMENTS = 3
