"""Faults survived without losing a vote (issue #8, item 6), on SQLite and on PostgreSQL (the suite runs on both):

- a worker killed (SIGKILL) in the middle of casting leaves the roll and the box consistent: both or neither;
- 200 voters casting at once through the web pages end with exactly one ballot for each voter who was shown
  "counted", and no server error;
- every database connection of the app dropped in the middle of a voting run (what a PostgreSQL restart does
  to it) loses no committed vote, and the app recovers by itself (pool pre-ping).
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from council.ballots.models import Channel, RollLine, SecretBallot
from council.elections import nominations, services
from council.extensions import db
from council.sqltypes import utcnow
from tests.election_helpers import call_election, slate

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = os.environ.get("COUNCIL_TEST_DB") == "postgresql"


def _voting_election(app, world, voters: int) -> dict:
    """An election in its voting window with `voters` extra members, committed; ids for the workers."""
    with app.app_context():
        setup = call_election(world, voters=voters, start=utcnow() - timedelta(days=8, hours=12))
        candidates = slate(setup, 8)
        round_ = services.latest_round(setup.election)
        poll = services.poll_of(round_)
        lines = dict(db.session.execute(sa.select(RollLine.user_id, RollLine.id).where(
            RollLine.poll_id == poll.id)).all())
        found = dict(election=setup.election.id, round=round_.id, poll=poll.id, number=round_.number,
                     candidates=[c.id for c in candidates], voters=[(v.id, v.get_id()) for v in setup.voters],
                     lines=lines)
        db.session.commit()
        return found


def _box_and_roll(app, poll_id: int) -> tuple[int, int]:
    with app.app_context():
        box = db.session.scalar(sa.select(sa.func.count(SecretBallot.id)).where(SecretBallot.poll_id == poll_id))
        voted = db.session.scalar(sa.select(sa.func.count(RollLine.id)).where(
            RollLine.poll_id == poll_id, RollLine.status.is_not(None)))
        db.session.remove()
        return box, voted


# ---- SIGKILL in the middle of a cast -------------------------------------------------------------

WORKER = """
import sys, time
from council import create_app
from council.config import TestConfig
from council.ballots import casting
from council.elections import services, voting
from council.elections.models import Election, ElectionRound
from council.elections.rules import Mark, Marks
from council.accounts.models import User
from council.ballots.models import RollLine
from council.extensions import db

class Config(TestConfig):
    SQLALCHEMY_DATABASE_URI = {uri!r}

app = create_app(Config)
where = {where!r}

def stop_here():
    print("ready", flush=True)
    time.sleep(60)  # killed here

with app.app_context():
    if where == "after_roll_update":
        original = casting.new_tracker
        def tracker():  # called after the roll line's conditional update, before the ballot's insert
            stop_here()
            return original()
        casting.new_tracker = tracker
    election, round_ = db.session.get(Election, {election}), db.session.get(ElectionRound, {round_id})
    voter, line = db.session.get(User, {voter}), db.session.get(RollLine, {line})
    voting.cast(election, round_, line, Marks({{{candidate}: Mark.FOR}}), voter)
    if where == "before_commit":
        stop_here()
    db.session.commit()
    print("committed", flush=True)
"""


@pytest.mark.parametrize("where", ["after_roll_update", "before_commit", "after_commit"])
def test_a_worker_killed_mid_cast_leaves_both_or_neither(app, world, database_uri, where):
    ids = _voting_election(app, world, voters=9)
    voter_id = ids["voters"][8][0]
    code = textwrap.dedent(WORKER).format(uri=database_uri, where=where, election=ids["election"],
                                          round_id=ids["round"], voter=voter_id, line=ids["lines"][voter_id],
                                          candidate=ids["candidates"][0])
    worker = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env={**os.environ})
    first = worker.stdout.readline().strip()
    assert first in ("ready", "committed"), worker.stderr.read()
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    box, voted = _box_and_roll(app, ids["poll"])
    assert box == voted == (1 if where == "after_commit" else 0)
    # The voter was not counted, so may vote again; a counted voter may not.
    with app.app_context():
        from council.accounts.models import User
        from council.elections import voting
        from council.elections.models import Election, ElectionRound
        from council.elections.rules import Mark, Marks
        from council.exceptions import Refused
        election, round_ = db.session.get(Election, ids["election"]), db.session.get(ElectionRound, ids["round"])
        line = db.session.get(RollLine, ids["lines"][voter_id])
        ballot = Marks({ids["candidates"][1]: Mark.FOR})
        if where == "after_commit":
            with pytest.raises(Refused):
                voting.cast(election, round_, line, ballot, db.session.get(User, voter_id))
        else:
            assert voting.cast(election, round_, line, ballot, db.session.get(User, voter_id))
            db.session.commit()
        db.session.remove()
    assert _box_and_roll(app, ids["poll"]) == (1, 1)


# ---- 200 voters at once ---------------------------------------------------------------------------

def _ballot_form(ids, voter_id) -> dict:
    return {"line_id": ids["lines"][voter_id], **{f"mark-{c}": "+" for c in ids["candidates"][:7]}}


def _cast_through_the_page(app, ids, voter_id, session_id) -> str:
    """One voter's POST of the ballot page, signed in by their session; what the page told them."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = session_id, True
    response = client.post(f"/elections/{ids['election']}/rounds/{ids['number']}/ballot",
                           data=_ballot_form(ids, voter_id))
    if response.status_code >= 500:
        return "error"
    if response.status_code == 200 and re.search(r"[2-9A-HJ-NP-Z]{4} [2-9A-HJ-NP-Z]{4} [2-9A-HJ-NP-Z]{4}",
                                                 response.text):
        return "counted"
    return f"refused {response.status_code}"


def test_two_hundred_voters_at_once(app, world):
    ids = _voting_election(app, world, voters=200)
    start = threading.Barrier(20)

    def vote(voter):
        voter_id, session_id = voter
        if voter_id in {v for v, _s in ids["voters"][:20]}:
            start.wait(timeout=30)  # the first twenty leave together
        return _cast_through_the_page(app, ids, voter_id, session_id)

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(vote, ids["voters"]))
    assert outcomes.count("error") == 0
    box, voted = _box_and_roll(app, ids["poll"])
    assert outcomes.count("counted") == box == voted == 200, {o: outcomes.count(o) for o in set(outcomes)}


# ---- the database drops every connection mid-run --------------------------------------------------

@pytest.mark.skipif(not POSTGRES, reason="a server restart is a PostgreSQL event (SQLite has no server)")
def test_connections_dropped_mid_run_lose_no_committed_vote(app, world):
    """Half the voters vote, then the server ends every connection of this database (as a restart does),
    then the other half vote: every "counted" is in the box, and nobody sees a server error."""
    ids = _voting_election(app, world, voters=40)
    first, second = ids["voters"][:20], ids["voters"][20:]
    with ThreadPoolExecutor(max_workers=5) as pool:
        before = list(pool.map(lambda v: _cast_through_the_page(app, ids, *v), first))
    with app.app_context():
        url = db.engine.url
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        ended = conn.scalar(sa.text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                    "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": url.database})
    admin.dispose()
    assert ended >= 1  # the app's pooled connections were there, and are gone
    with ThreadPoolExecutor(max_workers=5) as pool:
        after = list(pool.map(lambda v: _cast_through_the_page(app, ids, *v), second))
    outcomes = before + after
    assert outcomes.count("error") == 0, outcomes
    box, voted = _box_and_roll(app, ids["poll"])
    assert box == voted == outcomes.count("counted") == 40
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(RollLine.id)).where(
            RollLine.poll_id == ids["poll"], RollLine.status == Channel.ONLINE)) == 40
        assert nominations.printed(ids["round"])  # the app reads normally again
