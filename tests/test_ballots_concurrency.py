"""Concurrent double submits and a close racing the last ballots, with real threads, on SQLite and on
PostgreSQL (the suite runs on both): exactly one ballot per roll line, and nothing left behind in the box."""
from __future__ import annotations

import threading
from datetime import timedelta

import sqlalchemy as sa

from council.accounts.models import User
from council.ballots import services as polls
from council.ballots.models import Basis, Channel, Poll, PollState, PublishedBallot, RollLine, SecretBallot
from council.ballots.rules import Choice, Rule
from council.exceptions import Refused
from council.extensions import db
from council.proposals import services as proposals
from council.proposals import stages
from council.proposals.rules import Category
from council.sqltypes import utcnow
from council.territory.models import Place

THREADS = 6


def _secret_poll(app, world, secret=True) -> tuple[int, int, int]:
    with app.app_context():
        resident = db.session.scalar(sa.select(User).where(User.username == "resident"))
        secretary = db.session.scalar(sa.select(User).where(User.username == "secretary"))
        proposal = proposals.create(db.session.get(Place, world.estate), resident, "电动车棚", "", Category.EBIKE_SHED)
        proposals.publish(proposal, resident)
        proposal.eligible_at = utcnow()
        stages.put_on_agenda(proposal, secretary)
        poll = stages.open_vote(proposal, secretary, Rule.SIMPLE_MAJORITY, Basis.HOUSEHOLDS, secret,
                                utcnow() + timedelta(days=1))
        db.session.commit()
        line = db.session.scalar(sa.select(RollLine).where(RollLine.poll_id == poll.id,
                                                           RollLine.household_id == world.h11))
        return poll.id, line.id, resident.id


def _race(app, work, n=THREADS) -> list[str]:
    """Run `work()` in n threads released together; each returns 'ok' or 'refused'."""
    barrier, outcomes = threading.Barrier(n), []

    def run():
        with app.app_context():
            try:
                barrier.wait()
                outcomes.append(work())
                db.session.commit()
            except Refused:
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_concurrent_double_submits_leave_exactly_one_secret_ballot(app, world):
    poll_id, line_id, user_id = _secret_poll(app, world)

    def vote():
        poll, line = db.session.get(Poll, poll_id), db.session.get(RollLine, line_id)
        user = db.session.get(User, user_id)
        polls.cast(poll, line, Choice.FOR, user)
        return "ok"

    outcomes = _race(app, vote)
    assert sorted(outcomes) == ["ok"] + ["refused"] * (THREADS - 1)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SecretBallot)) == 1
        assert db.session.get(RollLine, line_id).status is Channel.ONLINE


def test_concurrent_double_submits_of_a_named_ballot_keep_the_first(app, world):
    poll_id, line_id, user_id = _secret_poll(app, world, secret=False)
    choices = iter([Choice.FOR, Choice.AGAINST, Choice.ABSTAIN] * THREADS)
    lock = threading.Lock()

    def vote():
        with lock:
            choice = next(choices)
        poll, line = db.session.get(Poll, poll_id), db.session.get(RollLine, line_id)
        user = db.session.get(User, user_id)
        polls.cast(poll, line, choice, user)
        return choice.value

    outcomes = _race(app, vote)
    winners = [o for o in outcomes if o != "refused"]
    assert len(winners) == 1
    with app.app_context():
        assert db.session.get(RollLine, line_id).choice.value == winners[0]


def test_closing_while_ballots_arrive_loses_none_and_strands_none(app, world):
    """Every cast either lands before the count (and is published) or is refused; the box ends empty."""
    poll_id, line_id, user_id = _secret_poll(app, world)
    with app.app_context():
        closes_at = db.session.get(Poll, poll_id).closes_at  # the closer acts as if the window had ended
    tasks = iter(["close"] + ["vote"] * (THREADS - 1))
    lock = threading.Lock()

    def work():
        with lock:
            task = next(tasks)
        poll = db.session.get(Poll, poll_id)
        if task == "close":
            return "closed" if polls.close(poll, None, closes_at) else "refused"
        line = db.session.get(RollLine, line_id)
        polls.cast(poll, line, Choice.FOR, db.session.get(User, user_id))
        return "ok"

    _race(app, work)
    with app.app_context():
        poll = db.session.get(Poll, poll_id)
        assert poll.state is PollState.CLOSED
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SecretBallot)) == 0
        published = db.session.scalar(sa.select(sa.func.count()).select_from(PublishedBallot))
        voted = db.session.scalar(sa.select(sa.func.count(RollLine.id)).where(
            RollLine.poll_id == poll_id, RollLine.status.is_not(None)))
        assert published == voted == poll.for_heads <= 1


def test_a_close_waits_for_a_cast_half_done(app, world, monkeypatch):
    """A cast whose roll line is marked but whose ballot is not yet in the box holds the close back (PostgreSQL:
    the poll's advisory lock; SQLite: its one writer): the ballot is counted, never stranded in the box."""
    from council.ballots import casting

    poll_id, line_id, user_id = _secret_poll(app, world)
    with app.app_context():
        closes_at = db.session.get(Poll, poll_id).closes_at
    marked, go_on, closed = threading.Event(), threading.Event(), threading.Event()
    tracker = casting.new_tracker

    def paused_tracker():  # called after the roll line's update, before the ballot's insert
        marked.set()
        go_on.wait(timeout=30)
        return tracker()

    monkeypatch.setattr(casting, "new_tracker", paused_tracker)

    def cast():
        with app.app_context():
            polls.cast(db.session.get(Poll, poll_id), db.session.get(RollLine, line_id), Choice.FOR,
                       db.session.get(User, user_id))
            db.session.commit()
            db.session.remove()

    def close():
        with app.app_context():
            assert polls.close(db.session.get(Poll, poll_id), None, closes_at)
            db.session.commit()
            closed.set()
            db.session.remove()

    caster = threading.Thread(target=cast)
    caster.start()
    assert marked.wait(timeout=30)
    closer = threading.Thread(target=close)
    closer.start()
    assert not closed.wait(timeout=1.5), "the close counted while a cast was half done"
    go_on.set()
    caster.join(timeout=30)
    closer.join(timeout=30)
    assert closed.is_set()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SecretBallot)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PublishedBallot)) == 1
        assert db.session.get(Poll, poll_id).for_heads == 1
