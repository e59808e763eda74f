"""Versions of places' data: a kept page built from a place's data is good until one of the versions it was
built at moves on.

Every place has two versions (random tokens in `council.extensions.cache`, shared by every app process through
Redis): `place:<id>`, for anything in or beneath it, and `at:<id>`, for what belongs to the place itself; the
district as a whole has one too (`EVERYTHING`). A transaction that changes a row belonging to a place moves on,
*after it commits*, that place's two versions and the `place:` version of each place above it (a new comment on
a proposal moves its estate's, grid's, community's and street's); a change this module cannot place moves
`EVERYTHING`. A page of a place is kept under its `place:` version and the `at:` versions of the places above
it (their names in the breadcrumbs, their staff): a change in the estate next door moves neither.
A page kept under the versions it read before reading its data is therefore never sent after a change to that
data: a reader who got the old version read its data before the new version was set, and nobody asks for the old
version again (council/pagecache.py).

How a row is placed: by its table's foreign keys, followed to `places` (a proposal by its estate, a comment by
its proposal, a ballot by its poll, a household by its building...). Rows no kept page shows (a person's inbox,
the audit chain, claim codes; a person's own record, whose name on kept pages may lag CACHE_DEFAULT_TIMEOUT) move
nothing. Statements run without the ORM (`session.execute(sa.update(...))`) cannot be placed row by row: they move
`EVERYTHING`, unless the caller has placed them with `touch(...)` and marked them `execution_options(**PLACED)`.
Statements run on a bare connection, outside the session (bulk seeding, restoring a backup), must call
`move_everything()` themselves.

People have versions too: `person:<id>` moves with every change to the person's row or to their inbox (their
unread count), and `people` with a statement on those tables that names nobody, so an app process may keep a
signed-in person's row between requests (council/accounts/kept.py). Statements on them that know whom they
change say so with `for_people(...)`.
"""
from __future__ import annotations

import functools
import logging
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from weakref import WeakKeyDictionary

import sqlalchemy as sa
from cachetools import LRUCache
from flask import current_app, g, has_app_context, has_request_context, request
from flask_sqlalchemy.session import Session

from council.extensions import cache, db

log = logging.getLogger(__name__)

EVERYTHING = "all"
PEOPLE = "people"
PLACED = {"council_placed": True}
_CHANGED = "council.versions.changed"
# Rows that no kept page shows: changing them moves no version of a place.
UNSHOWN = frozenset({"notifications", "audit_log", "audit_head", "claim_codes", "users", "bench_stamp",
                     "bench_ceiling", "alembic_version"})
# Rows a kept person shows (council/accounts/kept.py), by the column naming the person: changing them moves
# that person's version.
PERSONAL = {"users": "id", "notifications": "user_id"}


def key(scope) -> str:
    return f"ver:{scope}"


# ---- reading ---------------------------------------------------------------------------------------

def stamp(lineage: Sequence[int]) -> str:
    """The versions a page of the last place of `lineage` (ids from the top down) is good for, read now, as
    one string for a cache key: everything's, the place's (anything in or beneath it), and, for each place
    above it, what is attached to that place itself (its name, its staff, its meetings), not what is beside.
    A version nobody has set yet (or that the store lost) is set here: pages kept under it are built after."""
    *above, place_id = lineage
    return ".".join(_tokens([EVERYTHING, f"place:{place_id}", *(f"at:{pid}" for pid in above)]))


def person_stamp(user_id: int) -> tuple[str, str]:
    """The versions a kept row of this person is good for, read now. In the same round trip to the store, the
    versions the page at this address read the last time this process sent it (`_read`): the page will most
    likely want them again, and reading them this early is as good as reading them before its data."""
    return tuple(_tokens([PEOPLE, f"person:{user_id}"], prefetch=True))


# Per request path, the version keys its page read last time in this process: asked for with the person's.
_wanted: LRUCache = LRUCache(maxsize=20_000)
_PREFETCHED = "council_versions"


def _read(keys: list[str], prefetch: bool = False, fresh: dict[str, str] | None = None) -> list:
    """The values of these keys in the store, in one round trip: taken from what this request read already
    when it read them all (earlier in the request: still before the data the page shows); with `prefetch`, the
    keys this request's page read last time are read along, for later; with `fresh` (key → a new token), each of
    those keys the store has not is set to its token in the same round trip (`_fetch`), so none is None."""
    if not has_request_context():
        return _fetch(keys, fresh)
    fetched = g.get(_PREFETCHED)
    if fetched is not None and all(k in fetched and (fresh is None or fetched[k] is not None) for k in keys):
        return [fetched[k] for k in keys]
    path = request.path
    more = [k for k in _wanted.get(path, ()) if k not in keys] if prefetch else []
    values = _fetch([*keys, *more], fresh)
    fetched = g.setdefault(_PREFETCHED, {})
    fetched.update(zip([*keys, *more], values, strict=True))
    if not prefetch:
        _wanted[path] = tuple(dict.fromkeys((*_wanted.get(path, ()), *keys)))[-16:]
    return values[:len(keys)]


def _fetch(keys: list[str], fresh: dict[str, str] | None) -> list:
    """The store's values of `keys`; each key of `fresh` that the store has not is set to its token first. With
    Redis, one command (READ_OR_SET, a script: what a kept page sends when nothing is missing costs no more than
    a plain MGET); with another store (the tests' in-process one), a read, then a write of what was missing."""
    if not fresh:
        return list(cache.get_many(*keys))
    redis = _redis()
    if redis is None:
        values = list(cache.get_many(*keys))
        missing = {k: fresh[k] for k, value in zip(keys, values, strict=True) if value is None and k in fresh}
        if missing:
            cache.set_many(missing, timeout=0)
        return [missing.get(k, value) for k, value in zip(keys, values, strict=True)]
    client, prefix, serializer = redis
    ordered = [*fresh, *(k for k in keys if k not in fresh)]  # the script sets the first len(ARGV) keys
    found = dict(zip(ordered, _script(client)(keys=[prefix + k for k in ordered],
                                              args=[serializer.dumps(fresh[k]) for k in fresh]), strict=True))
    return [serializer.loads(found[k]) for k in keys]


def _set_all(tokens: dict[str, str]) -> None:
    """Set these versions, with no expiry. With Redis, one MSET, whatever their number: a comment moves the
    versions of everyone following the thread, minutes published those of everyone in the estate (thousands), and
    cachelib's set_many pipelines one SET per key, each built in Python."""
    redis = _redis()
    if redis is None:
        cache.set_many(tokens, timeout=0)
        return
    client, prefix, serializer = redis
    client.mset({prefix + k: serializer.dumps(v) for k, v in tokens.items()})


def _redis():
    """(client, key prefix, serializer) of the cache's Redis, to send it one command where cachelib would send
    several, keys and values stored as cachelib's RedisCache stores them; None with another store."""
    backend = cache.cache
    client = getattr(backend, "_write_client", None)
    if client is None or not hasattr(client, "register_script"):
        return None
    return client, backend._get_prefix(), backend.serializer


# KEYS: the versions to read; ARGV: the tokens to set the first #ARGV of them to where they are missing.
READ_OR_SET = """
local found = redis.call('MGET', unpack(KEYS))
for i, token in ipairs(ARGV) do
  if not found[i] then
    redis.call('SET', KEYS[i], token)
    found[i] = token
  end
end
return found
"""
_scripts: WeakKeyDictionary = WeakKeyDictionary()


def _script(client):
    """READ_OR_SET registered with this Redis client (sent by its SHA; loaded again if Redis lost it)."""
    script = _scripts.get(client)
    if script is None:
        script = _scripts[client] = client.register_script(READ_OR_SET)
    return script


def _tokens(scopes: list[str], prefetch: bool = False) -> list[str]:
    """The versions of these scopes now; one nobody has set yet (or that the store lost) is set here, in the
    same round trip."""
    keys = [key(s) for s in scopes]
    return _read(keys, prefetch, fresh={k: secrets.token_hex(6) for k in keys})


@dataclass(frozen=True)
class PlaceHead:
    """What a kept page needs of its place before it is asked for: enough to check who may see it and to name
    the versions (`lineage_ids` as on Place, so `can` and `require` take it)."""
    id: int
    kind: object
    name: str
    address: str | None
    lineage_ids: tuple[int, ...]
    path: str = ""

    @property
    def shown(self) -> tuple:
        """What of it a page shows: for the page's variant, as the place was read before the page's versions."""
        return (self.name, self.address, str(self.kind))


_heads: LRUCache = LRUCache(maxsize=20_000)  # place id → (head, tokens of everything and of the place itself)
_heads_lock = threading.Lock()


def head_stamp(ident: tuple, load, place_id: int | None = None) -> tuple:
    """The head of what a page shows (a place, or a row of a place: a proposal, a meeting) and the page's stamp.

    `load()` reads the head (with `lineage_ids`: the place's, or the row's place's) or aborts with 404. A
    process that has read it since it last changed asks the store once and the database not at all: any change
    to the row moves the version of its place's own (`at:`). Else it reads that version, then the head (for a
    row, whose place it learns by reading it a first time: rows never move), then the stamp."""
    with _heads_lock:
        cached = _heads.get(ident)
    if cached is not None:
        head, tokens = cached
        *above, own = head.lineage_ids
        keys = [key(EVERYTHING), key(f"place:{own}"), *(key(f"at:{pid}") for pid in above), key(f"at:{own}")]
        found = _read(keys)
        if None not in found and (found[0], found[-1]) == tokens:
            return head, ".".join(found[:-1])
    if place_id is None:
        place_id = load().lineage_ids[-1]
    tokens = _tokens([EVERYTHING, f"at:{place_id}"])  # before the head: a change after them moves them again
    head = load()
    with _heads_lock:
        _heads[ident] = (head, tuple(tokens))
    return head, stamp(head.lineage_ids)


def head_of(place) -> PlaceHead:
    return PlaceHead(place.id, place.kind, place.name, place.address, place.lineage_ids, place.path)


def place_head(place_id: int, kind, name: str, address: str | None, path: str) -> PlaceHead:
    """A place's head from its columns (as read beside a row of it: a proposal's estate, a meeting's place)."""
    return PlaceHead(place_id, kind, name, address, tuple(int(p) for p in path.strip("/").split("/") if p), path)


def forget_heads() -> None:
    with _heads_lock:
        _heads.clear()


def good_until(moment: datetime | None) -> None:
    """What is being rendered for keeping changes by itself at `moment`, with nothing written (the next meeting
    starts, a phase of an election ends, a deadline passes at midnight): the kept page is not sent after it."""
    if moment is not None and has_request_context() and g.get("council_keeping"):
        earlier = g.get("council_good_until")
        g.council_good_until = moment if earlier is None or moment < earlier else earlier


# ---- writing ---------------------------------------------------------------------------------------

def _enabled() -> bool:
    return has_app_context() and bool(current_app.config.get("CACHE_SIGNED_IN_PAGES"))


def touch(*place_ids: int | None) -> None:
    """Move these places' versions (and their ancestors') when the current transaction commits."""
    if not _enabled():
        return
    changed = db.session.info.setdefault(_CHANGED, set())
    for place_id in place_ids:
        if place_id is not None:
            changed.update(_lineage(db.session, place_id) or {EVERYTHING})


def placed(statement, *place_ids: int | None):
    """`statement` (an UPDATE, INSERT or DELETE run through the session), having moved these places'
    versions (and their ancestors') when the transaction commits: it then moves nothing else."""
    touch(*place_ids)
    return statement.execution_options(**PLACED)


def touch_people(*user_ids: int | None) -> None:
    """Move these people's versions when the current transaction commits."""
    if _enabled():
        db.session.info.setdefault(_CHANGED, set()).update(f"person:{uid}" for uid in user_ids if uid is not None)


def for_people(statement, *user_ids: int | None):
    """`statement` (on users or notifications, run through the session), having moved these people's versions
    when the transaction commits: it then moves nobody else's (a caller that learns whom it changed from the
    statement itself touches them afterwards)."""
    touch_people(*user_ids)
    return statement.execution_options(**PLACED)


def shown_live(statement):
    """`statement` (an UPDATE, INSERT or DELETE run through the session) changes nothing a kept page shows but
    through its live parts (council.pagecache.live: a ballot, which only moves a vote's turnout): it moves no
    version, so the pages of a place being voted in stay kept."""
    return statement.execution_options(**PLACED)


def move_everything() -> None:
    """Every kept page and person is out of date now (after a bulk change outside the session: seeding, a
    restore)."""
    _move({EVERYTHING, PEOPLE})


def _lineage(session, place_id: int) -> set[str] | None:
    from council.territory.models import Place

    with session.no_autoflush:
        place = session.get(Place, place_id)
    if place is None:
        return None
    return {f"at:{place_id}", *(f"place:{pid}" for pid in (place.lineage_ids or (place_id,)))}


def _target_of(column: sa.Column) -> sa.Table:
    return next(iter(column.foreign_keys)).column.table


@functools.cache  # per table: asked for every row of every flush
def _route(table: sa.Table) -> tuple[list[sa.Column], list[sa.Column]]:
    """The foreign keys that lead this table's rows to a place: those to `places`, and those to other tables
    that themselves lead to a place (never to people, `users`, nor to the table itself)."""
    direct = [c for c in table.columns if c.foreign_keys and _target_of(c).name == "places"]
    onward = [c for c in table.columns if c.foreign_keys
              and _target_of(c).name not in ("places", "users", table.name)]
    return direct, onward


@functools.cache
def _mapper_for(table: sa.Table):
    for mapper in db.Model.registry.mappers:
        if mapper.local_table is table:
            return mapper
    return None


def places_of(session, obj, depth: int = 0) -> set[str] | None:
    """The version scopes a change to `obj` moves: its place's lineage; empty for unshown rows; None when it
    cannot be placed (then everything moves)."""
    from council.territory.models import Place

    mapper = sa.inspect(obj).mapper
    table = mapper.local_table
    if table.name in UNSHOWN:
        return set()
    if isinstance(obj, Place):  # itself (a new one: beneath its parent), and beneath a parent it left
        scopes = set()
        for pid in (obj.id, obj.parent_id, *_old_values(obj, "parent_id")):
            if pid is not None:
                found = _lineage(session, pid) or set()
                scopes |= found if pid == obj.id else {s for s in found if s.startswith("place:")}
        return scopes or None
    if depth > 6:
        return None
    direct, onward = _route(table)
    scopes: set[str] = set()
    # Every place the row names (a concern's place and the place holding it after an escalation); failing
    # those, the first row it belongs to that has a place (a comment's proposal, a ballot's poll).
    for column in direct or onward:
        attribute = mapper.get_property_by_column(column).key
        values = {getattr(obj, attribute), *_old_values(obj, attribute)} - {None}
        target = _target_of(column)
        for value in values:
            if target.name == "places":
                found = _lineage(session, value)
            else:
                target_mapper = _mapper_for(target)
                with session.no_autoflush:
                    parent = session.get(target_mapper.class_, value) if target_mapper else None
                found = places_of(session, parent, depth + 1) if parent is not None else None
            if found is None:
                return None
            scopes |= found
        if values and not direct:
            return scopes
    return scopes or None


def _old_values(obj, attribute: str) -> list:
    history = sa.inspect(obj).attrs[attribute].history
    return [v for v in (history.deleted or ()) if v is not None]


@sa.event.listens_for(Session, "before_flush")
def _note_changes(session, _context, _instances) -> None:
    if not _enabled():
        return
    changed = session.info.setdefault(_CHANGED, set())
    for obj in (*session.new, *session.deleted, *(o for o in session.dirty if session.is_modified(o))):
        scopes = places_of(session, obj)
        changed.update({EVERYTHING} if scopes is None else scopes)


@sa.event.listens_for(Session, "after_flush")
def _note_people(session, _context) -> None:
    """The people whose kept row a flush changes (in after_flush: a new row has its id by then)."""
    if not _enabled():
        return
    changed = session.info.setdefault(_CHANGED, set())
    for obj in (*session.new, *session.deleted, *(o for o in session.dirty if session.is_modified(o))):
        mapper = sa.inspect(obj).mapper
        column = PERSONAL.get(mapper.local_table.name)
        if column is not None:
            attribute = mapper.get_property_by_column(mapper.local_table.c[column]).key
            changed.update(f"person:{uid}" for uid in {getattr(obj, attribute), *_old_values(obj, attribute)}
                           if uid is not None)


@sa.event.listens_for(Session, "do_orm_execute")
def _note_statement(state) -> None:
    if not _enabled() or not (state.is_insert or state.is_update or state.is_delete):
        return
    if state.execution_options.get("council_placed") or state.statement.get_execution_options().get("council_placed"):
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name in PERSONAL:
        state.session.info.setdefault(_CHANGED, set()).add(PEOPLE)
    elif name not in UNSHOWN:
        state.session.info.setdefault(_CHANGED, set()).add(EVERYTHING)


@sa.event.listens_for(Session, "after_commit")
def _after_commit(session) -> None:
    changed = session.info.pop(_CHANGED, None)
    if changed:
        _move(changed)


@sa.event.listens_for(Session, "after_rollback")
def _after_rollback(session) -> None:
    session.info.pop(_CHANGED, None)


def _move(scopes: set[str]) -> None:
    if not _enabled():
        return
    try:
        _set_all({key(s): secrets.token_hex(6) for s in scopes})
    except Exception:  # committed all the same: the kept pages expire after CACHE_DEFAULT_TIMEOUT
        log.error("page cache unreachable: %d versions not moved on", len(scopes), exc_info=True)
