"""Flask extensions, created unbound and initialised in create_app."""
import logging
import sqlite3
from functools import lru_cache, wraps

from flask import abort, current_app, request
from flask_babel import Babel
from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from limits import parse_many
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

log = logging.getLogger(__name__)

# Stable constraint names, so migrations can refer to (and drop) them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
babel = Babel()
csrf = CSRFProtect()
# Rendered public pages (council.pagecache): in this process, or in Redis when CACHE_REDIS_URL names one.
cache = Cache()


def person_or_address() -> str:
    """Rate limits count a signed-in person wherever they post from, and anyone else by address."""
    if current_user and current_user.is_authenticated:
        return f"user:{current_user.id}"
    return get_remote_address()


# All the POSTs of one person together are limited (POST_LIMIT); sign-in and sign-up add limits of their own.
# Casting a ballot has its own instead (VOTE_LIMIT, lower; each line casts once anyway), counted by
# `casting_limited`: one counter per cast, not three, at the peak of a vote. Counters live in memory, or in Redis
# when RATELIMIT_STORAGE_URI names one (several app processes then share them).
CASTING = frozenset({"ballots.cast", "elections.ballot"})
limiter = Limiter(key_func=person_or_address,
                  application_limits=[lambda: current_app.config["POST_LIMIT"]])


@limiter.request_filter
def _not_counted_here() -> bool:
    """Every limit is on posting: a page read is never counted (and the limiter is not even asked); nor is a cast
    here, which `casting_limited` counts."""
    return request.method in ("GET", "HEAD", "OPTIONS") or request.endpoint in CASTING


@lru_cache(maxsize=16)
def _limits(text: str) -> tuple:
    """The parts of a limit such as "10 per minute;3 per hour", in the order they are counted: parsed and sorted
    once per text, not per cast."""
    return tuple(sorted(parse_many(text)))


def _within_vote_limit() -> bool:
    """Count this cast; False past any part of VOTE_LIMIT. With the counters' store unreachable, the POST fails
    as Flask-Limiter's do (a 500), unless RATELIMIT_SWALLOW_ERRORS says to let it through."""
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX", "")
    identifiers = (*((prefix,) if prefix else ()), person_or_address(), request.endpoint)
    try:
        return all(limiter.limiter.hit(item, *identifiers) for item in _limits(current_app.config["VOTE_LIMIT"]))
    except Exception:
        if not current_app.config.get("RATELIMIT_SWALLOW_ERRORS"):
            raise
        log.exception("rate limit store unreachable: a cast let through uncounted")
        return True


def casting_limited(view):
    """A cast's view, counted against VOTE_LIMIT for the person (or the address) and this form of ballot before
    anything else, and refused (429) past it: one hit of each of the limit's counters, through the limiter's own
    strategy and storage (`limiter.limiter`), so it is shared, reset and configured as every other limit. Not
    through `limiter.limit`: resolving a route's limits, twice a request, cost a cast more CPU than the rest of
    its rate limiting and about a sixth of its whole work."""
    @wraps(view)
    def counted(*args, **kwargs):
        if request.method == "POST" and limiter.enabled and not _within_vote_limit():
            abort(429)
        return view(*args, **kwargs)
    return counted


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """Foreign keys on, WAL journal and a busy timeout for every SQLite connection."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()
