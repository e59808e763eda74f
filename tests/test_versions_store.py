"""Versions in Redis, as deployed (council/versions.py): read, and set where missing, in one round trip.

A voter the processes have never seen has no version yet: reading it and setting it used to take two round trips
to the store on their first request (a cast). With Redis it is one command, a script (versions.READ_OR_SET): MGET,
then SET for each version asked for that was missing. Skipped without Redis on 127.0.0.1:6379, except in CI,
where they fail (tests.helpers.needs_redis).
"""
from __future__ import annotations

import pytest
import redis

from council import versions
from council.extensions import cache
from tests.helpers import needs_redis

STORE = "redis://127.0.0.1:6379/12"


@pytest.fixture
def store(app, monkeypatch):
    """The app's cache in Redis database 12 (emptied), and the round trips made to it: each command sent alone
    and each pipeline sent."""
    needs_redis(STORE)
    saved = dict(app.extensions["cache"])
    cache.init_app(app, config={"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": STORE,
                                "CACHE_KEY_PREFIX": "council-test:"})
    monkeypatch.setitem(app.config, "CACHE_SIGNED_IN_PAGES", True)
    trips = []
    alone, piped = redis.Redis.execute_command, redis.client.Pipeline.execute
    monkeypatch.setattr(redis.Redis, "execute_command", lambda self, *args, **kw: (
        trips.append(args[0]) if not isinstance(self, redis.client.Pipeline) else None) or alone(self, *args, **kw))
    monkeypatch.setattr(redis.client.Pipeline, "execute", lambda self, *args, **kw: (
        trips.append(f"pipeline of {len(self.command_stack)}"), piped(self, *args, **kw))[1])
    with app.app_context():
        cache.clear()
        versions._fetch(["warm"], {"warm": "up"})  # the script loaded into Redis (once per Redis)
        cache.clear()
    trips.clear()
    yield trips
    with app.app_context():
        cache.clear()
    app.extensions["cache"].clear()
    app.extensions["cache"].update(saved)


def _person_stamp(app, user_id: int, trips: list) -> tuple[tuple[str, str], list]:
    """The person's versions read in a request of their own, and the round trips it took."""
    trips.clear()
    with app.test_request_context("/places/1"):
        found = versions.person_stamp(user_id)
    return found, list(trips)


def test_versions_never_set_are_set_and_read_in_one_round_trip(app, store):
    first, trips = _person_stamp(app, 7, store)
    assert trips == ["EVALSHA"]  # READ_OR_SET: people and person:7 read, and set as neither was there
    assert None not in first and len(set(first)) == 2
    again, trips = _person_stamp(app, 7, store)
    assert again == first and trips == ["EVALSHA"]  # what is there stays
    with app.app_context():
        assert cache.get(versions.key("person:7")) == first[1]


def test_a_moved_version_is_read_as_moved(app, store):
    before, _ = _person_stamp(app, 8, store)
    with app.app_context():
        versions._move({"person:8"})
    redis.Redis.from_url(STORE).script_flush()  # Redis restarted, say: the script is sent again
    after, trips = _person_stamp(app, 8, store)
    assert after[0] == before[0] and after[1] != before[1]
    assert trips[0] == "EVALSHA" and "EVALSHA" in trips[1:]


def test_a_place_stamp_and_the_person_read_earlier_in_the_request_ask_nothing_again(app, store):
    with app.test_request_context("/places/3"):
        versions.person_stamp(9)
        store.clear()
        stamp = versions.stamp([1, 2, 3])
        assert store == ["EVALSHA"] and stamp.count(".") == 3  # 4 versions, set where missing
        store.clear()
        assert versions.stamp([1, 2, 3]) == stamp and versions.person_stamp(9) and store == []


def test_many_versions_move_in_one_command_and_are_read_as_moved(app, store):
    """A comment moves the versions of everyone following the thread, published minutes those of a whole estate:
    one MSET, however many, stored as the cache stores any value (read back through it and through the script)."""
    people = range(100, 1100)
    with app.app_context():
        before = {uid: cache.get(versions.key(f"person:{uid}")) for uid in (100, 1099)}
        store.clear()
        versions._move({f"person:{uid}" for uid in people} | {versions.PEOPLE})
        assert store == ["MSET"]
        moved = cache.get_many(*(versions.key(f"person:{uid}") for uid in people))
    assert None not in moved and len(set(moved)) == len(moved)  # each its own new token
    assert all(before[uid] is None for uid in before)  # (the store was empty: each is new)
    again, trips = _person_stamp(app, 1099, store)
    assert again[1] == moved[-1] and trips == ["EVALSHA"]  # the script reads what MSET wrote


def test_versions_move_in_a_store_without_mset_too(app):
    """The tests' in-process cache (and any store but Redis) takes them through the cache's own set_many."""
    with app.app_context():
        saved = dict(app.extensions["cache"])
        cache.init_app(app, config={"CACHE_TYPE": "SimpleCache"})
        try:
            with pytest.MonkeyPatch.context() as patch:
                patch.setitem(app.config, "CACHE_SIGNED_IN_PAGES", True)
                versions._move({"person:5", "person:6"})
                first = cache.get_many(versions.key("person:5"), versions.key("person:6"))
                versions._move({"person:5"})
                assert None not in first and cache.get(versions.key("person:5")) != first[0]
                assert cache.get(versions.key("person:6")) == first[1]
        finally:
            app.extensions["cache"].clear()
            app.extensions["cache"].update(saved)
