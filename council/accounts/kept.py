"""The signed-in person's row, kept by each app process between requests under the person's versions.

Every signed-in request starts by reading who is signed in: their row, with the header's unread count. On a
page kept for members (council/pagecache.py) that read was the only query left, and on PostgreSQL it cost a
connection check, BEGIN, the SELECT and ROLLBACK. So each process keeps what it read of a person, under the
versions of that person's data in the store every process shares (council/versions.py: `person:<id>` moves
with every committed change to their row or their inbox, `people` with a change it cannot place), and builds
the person from it, with no query, while neither has moved.

What makes this safe:
- the versions are read, in one round trip, before the row and on every request that may use a kept row (all
  but the first this process gets from the person): a password change, a sign-out everywhere, a new message,
  committed by any process, is seen on the person's next request;
- a kept row is used for at most PERSON_SECONDS even if nothing moved (a version that could not be moved
  because the store was unreachable at the commit is thus out of date for no longer than that);
- only where members' pages are kept (CACHE_SIGNED_IN_PAGES: a store every process shares); with the store
  down, the row is read as before.
"""
from __future__ import annotations

import logging
import threading
from functools import cache

import sqlalchemy as sa
from cachetools import TTLCache
from flask import current_app, has_request_context
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict
from sqlalchemy.orm.util import identity_key

from council import pagecache, permissions, versions
from council.accounts.models import User
from council.extensions import db

log = logging.getLogger(__name__)
PERSON_SECONDS = 60
_people: TTLCache = TTLCache(maxsize=50_000, ttl=PERSON_SECONDS)  # id → (versions, column values)
_lock = threading.Lock()
_SEEN = (None, None)  # seen once, nothing kept yet (no stamp is None)


def person(user_id: int) -> User | None:
    """The person with this id, in this request's session: from this process's memory when their versions
    have not moved since it was read, else read (with the "per_request" group: the header's unread count).
    The first request this process gets from someone (a voter casting their one ballot) only reads them: asking
    the store for their versions is worth it from their second request on, when the row read then is kept."""
    if not (has_request_context() and current_app.config.get("CACHE_SIGNED_IN_PAGES")):
        return _read(user_id)
    with _lock:
        found = _people.get(user_id)
    if found is None:
        with _lock:
            _people[user_id] = _SEEN
        return _read(user_id)
    try:
        stamp = versions.person_stamp(user_id)
    except Exception:  # the store (Redis) is down: read the person as if nothing were kept
        log.warning("page cache unreachable: reading person %s", user_id, exc_info=True)
        return _read(user_id)
    if found[0] == stamp:
        return _attached(found[1])
    user = _read(user_id)
    if user is not None:
        values = sa.inspect(user).dict
        with _lock:
            _people[user_id] = (stamp, {key: values[key] for key in _columns() if key in values})
    return user


@pagecache.forgets
def forget() -> None:
    """Drop every kept person (the tests do, between tests: ids start again from 1)."""
    with _lock:
        _people.clear()


def _read(user_id: int) -> User | None:
    """The person, read now with the header's unread count (the "per_request" group) unless this request's
    session has them already; their standing (council.permissions) comes in the same statement and is kept for
    the request to find: nearly every request asks for it next."""
    found = db.session.identity_map.get(identity_key(User, user_id))
    if found is not None:
        return found
    rows = db.session.execute(_statement(), {"person_id": user_id}).all()
    if not rows:
        return None
    width = len(_columns())
    user = _attached(dict(zip(_columns(), rows[0][:width], strict=True)))
    permissions.keep_standing(user.id, user.standing_version, permissions.standing_of(
        (row[width:] for row in rows if row[width + 1] is not None), bool(user.is_site_admin)))
    return user


@cache
def _statement() -> sa.Select:
    """Every column of a person as the ORM loads them, in `_columns()` order, then the rows of their standing
    (none: one row of nulls), built once on the tables (Core: an ORM get costs twice as much in Python)."""
    standing = permissions.STANDING.subquery("standing")
    users = User.__table__
    return (sa.select(*(attr.columns[0] for attr in sa.inspect(User).column_attrs), *standing.c)
            .select_from(users.outerjoin(standing, sa.true()))
            .where(users.c.id == sa.bindparam("person_id")))


@cache
def _columns() -> tuple[str, ...]:
    return tuple(prop.key for prop in sa.inspect(User).column_attrs)


def _attached(values: dict) -> User:
    """A User in this request's session as if just loaded with these values (no query; clean, so a change to
    it is flushed as usual)."""
    found = db.session.identity_map.get(identity_key(User, values["id"]))
    if found is not None:
        return found
    user = sa.inspect(User).class_manager.new_instance()
    instance_dict(user).update(values)
    make_transient_to_detached(user)  # every value committed, as if loaded (what set_committed_value does, at once)
    db.session.add(user)
    return user
