"""The secret ballot of an election (DESIGN invariant 3), through the services: the ballot tables hold no
person and no time, a voter's ballot goes in the box once however often it is submitted at once, refused
votes leave nothing behind, no log line puts a voter next to a ballot, the published order is not the
order of voting, nothing is counted while voting is open, and the two tellers enter the paper ballots."""
from __future__ import annotations

import logging
import multiprocessing
import os
import re
import threading
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import Forbidden

from council.accounts.models import User
from council.ballots import services as polls
from council.ballots.models import Channel, Poll, PublishedBallot, RollLine, SecretBallot
from council.elections import counting, services, voting
from council.elections.models import Election, ElectionRound, PaperBatch, PaperEntry
from council.elections.rules import Mark, Marks, Phase, encode
from council.exceptions import Refused
from council.extensions import db
from tests.election_helpers import appoint_tellers, call_election, slate, user
from tests.test_ballots_concurrency import _race

POSTGRES = os.environ.get("COUNCIL_TEST_DB") == "postgresql"
BALLOT_TABLES = ("poll_box", "poll_ballots", "election_paper_entries")
# What a ballot row may point to: its poll, or (a teller's typed entry) its batch. Never a person or a roll line.
BALLOT_PARENTS = {"polls", "election_paper_batches"}
PERSONAL_WORDS = ("user", "voter", "author", "time", "date", "created", "household", "person", "member", "name",
                  "proxy", "teller")
SUBMITS = 50


def _for(*people, against=(), abstain=(), write_ins=()) -> Marks:
    marks = {p.id: Mark.FOR for p in people}
    marks.update({p.id: Mark.AGAINST for p in against})
    marks.update({p.id: Mark.ABSTAIN for p in abstain})
    return Marks(marks, frozenset(p.id for p in write_ins))


def _line(round_: ElectionRound, person: User) -> RollLine | None:
    poll = services.poll_of(round_)
    return db.session.scalar(sa.select(RollLine).where(RollLine.poll_id == poll.id, RollLine.user_id == person.id))


def _box(poll: Poll) -> list[str | None]:
    return list(db.session.scalars(sa.select(SecretBallot.marks).where(SecretBallot.poll_id == poll.id)))


def _personal_name(column: str) -> bool:
    """A column name that suggests a person or a time: user_id, voter, created, cast_by, opened_at..."""
    words = column.lower().split("_")
    return (any(word in column.lower() for word in PERSONAL_WORDS) or "by" in words or "at" in words
            or "when" in words)


def _is_time(sql_type) -> bool:
    try:
        python_type = sql_type.python_type
    except NotImplementedError:
        python_type = None
    return python_type in (datetime, date, time, timedelta) or isinstance(
        sql_type, sa.DateTime | sa.Date | sa.Time | sa.Interval) or any(
        word in str(sql_type).upper() for word in ("TIME", "DATE", "INTERVAL"))


# ---- a. the schema -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", BALLOT_TABLES)
def test_ballot_tables_hold_no_person_and_no_time_in_the_models(name):
    table = db.metadata.tables[name]
    for column in table.columns:
        assert not _personal_name(column.name), f"{name}.{column.name} names a person or a time"
        assert not _is_time(column.type), f"{name}.{column.name} is a date or time"
        for key in column.foreign_keys:
            assert key.column.table.name in BALLOT_PARENTS, f"{name}.{column.name} points to {key.column.table.name}"
        assert column.server_default is None, f"{name}.{column.name} has a server default (a time, a sequence...)"
    primary = list(table.primary_key.columns)
    assert primary and all(isinstance(c.type, sa.String) for c in primary), f"{name}: the key must be random text"
    # No rowid on SQLite either: its order would be the order in which ballots arrived.
    assert table.dialect_options["sqlite"]["with_rowid"] is False


@pytest.mark.parametrize("name", BALLOT_TABLES)
def test_ballot_tables_hold_no_person_and_no_time_in_the_database(app, name):
    with app.app_context():
        inspector = sa.inspect(db.engine)
        columns = inspector.get_columns(name)
        assert columns, f"{name} is missing from the database"
        for column in columns:
            assert not _personal_name(column["name"]), f"{name}.{column['name']} names a person or a time"
            assert not _is_time(column["type"]), f"{name}.{column['name']} is a date or time"
        for key in inspector.get_foreign_keys(name):
            assert key["referred_table"] in BALLOT_PARENTS, f"{name} points to {key['referred_table']}"
        primary = inspector.get_pk_constraint(name)["constrained_columns"]
        types = {c["name"]: c["type"] for c in columns}
        assert primary and all(isinstance(types[c], sa.String) for c in primary), f"{name}: integer key"
        if db.engine.dialect.name == "sqlite":
            ddl = db.session.scalar(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :n"),
                                    {"n": name})
            assert "WITHOUT ROWID" in ddl.upper()


def test_the_checks_above_see_a_person_and_a_time_where_there_is_one():
    """The same checks on the roll (who voted, and for named polls who cast it and when) do find them."""
    roll = db.metadata.tables["poll_roll"]
    assert {c.name for c in roll.columns if _personal_name(c.name)} >= {"user_id", "household_id", "proxy_id",
                                                                          "cast_by_id", "cast_at", "declined_at"}
    assert {c.name for c in roll.columns if _is_time(c.type)} == {"cast_at", "declined_at"}
    assert {k.column.table.name for c in roll.columns for k in c.foreign_keys} - BALLOT_PARENTS >= {"users"}


def test_the_roll_does_not_point_to_a_ballot(app):
    """Who voted is kept apart from what was voted: the roll has no tracker and no link to a ballot table."""
    with app.app_context():
        inspector = sa.inspect(db.engine)
        for name in ("poll_roll", "election_paper_batches"):
            assert "tracker" not in {c["name"] for c in inspector.get_columns(name)}
            assert not {k["referred_table"] for k in inspector.get_foreign_keys(name)} & set(BALLOT_TABLES)


# ---- b. concurrent submits -----------------------------------------------------------------------------

def _committed_election(app, world, voters: int = 9, tellers: tuple[str, ...] = ()) -> dict:
    """An election with a published slate of 8 (voters 0-7), committed so other sessions see it."""
    with app.app_context():
        setup = call_election(world, voters=voters)
        appoint_tellers(setup, *tellers)
        candidates = slate(setup, 8)
        round_ = services.latest_round(setup.election)
        db.session.commit()
        return dict(election=setup.election.id, round=round_.id, poll=services.poll_of(round_).id,
                    voters=[v.id for v in setup.voters], candidates=[c.id for c in candidates],
                    lines={v.id: _line(round_, v).id for v in setup.voters},
                    voting=setup.at("voting"), counting=setup.at("counting"))


def _cast_from_ids(ids: dict, voter_id: int) -> str:
    """One submit of voter `voter_id`'s ballot (for candidates 0-2), in the caller's own session."""
    election, round_ = db.session.get(Election, ids["election"]), db.session.get(ElectionRound, ids["round"])
    voter = db.session.get(User, voter_id)
    line = db.session.get(RollLine, ids["lines"][voter_id])
    ballot = Marks({c: Mark.FOR for c in ids["candidates"][:3]})
    return voting.cast(election, round_, line, ballot, voter, now=ids["voting"])


def _exactly_one_ballot(app, ids: dict, voter_id: int, outcomes: list[str]) -> None:
    trackers = [o for o in outcomes if o != "refused"]
    assert len(outcomes) == SUBMITS and len(trackers) == 1, outcomes
    with app.app_context():
        poll = db.session.get(Poll, ids["poll"])
        assert db.session.scalars(sa.select(SecretBallot.tracker).where(SecretBallot.poll_id == poll.id)).all() == (
            trackers)
        assert db.session.get(RollLine, ids["lines"][voter_id]).status is Channel.ONLINE
        turnout = polls.turnout(poll)
        assert (turnout.online, turnout.proxy, turnout.paper) == (1, 0, 0)


def test_fifty_concurrent_submits_in_threads_leave_one_ballot(app, world):
    ids = _committed_election(app, world)
    voter = ids["voters"][8]
    outcomes = _race(app, lambda: _cast_from_ids(ids, voter), n=SUBMITS)
    _exactly_one_ballot(app, ids, voter, outcomes)


def _submit_in_process(app, ids, voter_id, barrier, results) -> None:
    """A forked worker: its own connections (the parent's are left alone), one submit, its outcome queued."""
    with app.app_context():
        db.engine.dispose(close=False)
        try:
            barrier.wait(timeout=60)
            tracker = _cast_from_ids(ids, voter_id)
            db.session.commit()
            results.put(tracker)
        except Refused:
            db.session.rollback()
            results.put("refused")
        except Exception as error:  # reported to the parent, which fails the test
            results.put(f"error: {error!r}")
        finally:
            db.session.remove()


@pytest.mark.skipif(not POSTGRES, reason="separate processes racing need PostgreSQL (COUNCIL_TEST_DB=postgresql)")
def test_fifty_concurrent_submits_in_processes_leave_one_ballot(app, world):
    ids = _committed_election(app, world)
    voter = ids["voters"][8]
    with app.app_context():
        db.session.remove()
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(SUBMITS), context.Queue()
    workers = [context.Process(target=_submit_in_process, args=(app, ids, voter, barrier, results))
               for _ in range(SUBMITS)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert not [o for o in outcomes if o.startswith("error")], outcomes
    _exactly_one_ballot(app, ids, voter, outcomes)


# ---- c. refused votes -----------------------------------------------------------------------------------

def test_refused_votes_leave_nothing_in_the_box(app, world):
    with app.app_context():
        setup = call_election(world, voters=10)
        candidates = slate(setup, 8)
        election = setup.election
        round_ = services.latest_round(election)
        poll = services.poll_of(round_)
        voter, neighbour = setup.voters[8], setup.voters[9]
        line = _line(round_, voter)
        outsider, committee = user("outsider"), user("committee")
        assert _line(round_, outsider) is None and _line(round_, committee) is None
        at = setup.at("voting")
        attempts = [
            ("after the close", voter, line, _for(*candidates[:3]), setup.at("counting")),
            ("at the very close", voter, line, _for(*candidates[:3]), poll.closes_at),
            ("before the opening", voter, line, _for(*candidates[:3]), setup.at("candidates")),
            ("not on the roll", outsider, line, _for(*candidates[:3]), at),
            ("staff, not on the roll", committee, line, _for(*candidates[:3]), at),
            ("someone else's line", neighbour, line, _for(*candidates[:3]), at),
            ("more names than seats", voter, line, _for(*candidates[:8]), at),
            ("seats printed names and a write-in", voter, line,
             _for(*candidates[:7], write_ins=[neighbour]), at),
            ("a write-in not on the roll", voter, line, _for(write_ins=[outsider]), at),
        ]
        for why, person, target, ballot, when in attempts:
            with pytest.raises(Refused):
                voting.cast(election, round_, target, ballot, person, now=when)
            # Nothing was written before the refusal (the page rolls back too, but it need not).
            assert _box(poll) == [], why
            assert db.session.get(RollLine, target.id).status is None, why
        # The voter can still vote, exactly seats names; then no more.
        voting.cast(election, round_, line, _for(*candidates[:7]), voter, now=at)
        with pytest.raises(Refused):
            voting.cast(election, round_, line, _for(*candidates[:1]), voter, now=at)
        assert len(_box(poll)) == 1


# ---- d. logs ----------------------------------------------------------------------------------------------

def _identities(person: User, line: RollLine) -> list[re.Pattern]:
    """How a log line could name a voter: their username or name, their user id or roll line id as a value."""
    return [re.compile(rf"(?<![\w]){re.escape(person.username)}(?![\w])"),
            re.compile(re.escape(person.display_name)),
            re.compile(rf"\b(?:user_id|voter\w*|proxy_id|cast_by_id|author_id|actor_id|target_user_id)\w*['\"]?"
                       rf"\s*[:=]\s*{person.id}\b"),
            re.compile(rf"\b(?:line_id|line|poll_roll_id|poll_roll\.id|id_1|id)['\"]?\s*[:=]\s*{line.id}\b")]


def test_no_log_record_puts_a_voter_next_to_a_ballot(app, world, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
    with app.app_context():
        setup = call_election(world, voters=12)
        first_teller, second_teller = appoint_tellers(setup, "leader", "team")
        candidates = slate(setup, 8)
        election = setup.election
        round_ = services.latest_round(election)
        db.session.commit()  # the next transaction starts on a connection that logs at DEBUG
        voters, paper = setup.voters[:9], setup.voters[9:12]
        identities, ballots, casting = [], [], []
        for i, person in enumerate(voters):
            line = _line(round_, person)
            identities.append((person.username, _identities(person, line)))
            ballot = _for(candidates[i % 8], candidates[(i + 1) % 8], against=[candidates[(i + 3) % 8]],
                          abstain=[candidates[(i + 5) % 8]], write_ins=[paper[i % 3]] if i % 2 else [])
            start = len(caplog.records)
            tracker = voting.cast(election, round_, line, ballot, person, now=setup.at("voting"))
            db.session.commit()
            casting.append(caplog.records[start:])
            ballots += [encode(ballot), tracker]
        for person in paper:
            line = _line(round_, person)
            identities.append((person.username, _identities(person, line)))
            voting.check_off(election, round_, line, first_teller, now=setup.at("voting"))
            db.session.commit()
        at = setup.at("counting")
        batch = voting.start_batch(election, round_, 3, first_teller, now=at)
        voting.join_batch(election, round_, batch, second_teller, now=at)
        paper_ballots = [_for(candidates[6], against=[candidates[0]]), _for(candidates[7], abstain=[candidates[1]]),
                         _for(candidates[5], write_ins=[voters[8]])]
        for teller in (first_teller, second_teller):
            for ballot in paper_ballots:
                voting.enter(election, round_, batch, ballot, teller, now=at)
        db.session.commit()
        ballots += [encode(b) for b in paper_ballots]
        counting.count(election, round_, user("committee"), now=at)
        db.session.commit()
        assert round_.returned == 12

    messages = [record.getMessage() for record in caplog.records]
    # The engine's statements were logged: the test looks at something.
    assert any("INSERT INTO poll_box" in m for m in messages) and any("UPDATE poll_roll" in m for m in messages)
    seen = {"named": 0, "shown": 0}
    for message in messages:
        named = [who for who, patterns in identities if any(p.search(message) for p in patterns)]
        shown = [token for token in ballots if token in message]
        assert not (named and shown), f"a log record names {named} next to a ballot {shown}: {message[:300]}"
        seen["named"] += bool(named)
        seen["shown"] += bool(shown)
    # Both are in the logs (DEBUG shows the rows read: roll lines with names, the ballots being counted), apart.
    assert seen["named"] and seen["shown"]
    # What one cast logs, taken together (the roll line it marks, then the ballot it adds), shows no ballot.
    for records in casting:
        for record in records:
            message = record.getMessage()
            shown = [token for token in ballots if token in message]
            assert not shown, f"casting logged a ballot: {message[:300]}"


# ---- e. the published order ------------------------------------------------------------------------------

def test_the_published_order_is_not_the_order_of_casting(app, world):
    with app.app_context():
        setup = call_election(world, voters=30)
        candidates = slate(setup, 8)
        election = setup.election
        round_ = services.latest_round(election)
        poll = services.poll_of(round_)
        trackers, marks = [], []
        for i, person in enumerate(setup.voters):
            ballot = _for(candidates[i % 8], against=[candidates[(i + 1) % 8]])
            trackers.append(voting.cast(election, round_, _line(round_, person), ballot, person,
                                        now=setup.at("voting")))
            marks.append(encode(ballot))
        assert len(set(trackers)) == 30
        counting.count(election, round_, user("committee"), now=setup.at("counting"))
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SecretBallot)) == 0  # the box is emptied
        published = db.session.execute(sa.select(PublishedBallot.position, PublishedBallot.tracker,
                                                 PublishedBallot.marks).where(
            PublishedBallot.poll_id == poll.id).order_by(PublishedBallot.position)).all()
    assert [p for p, _t, _m in published] == list(range(1, 31))
    order = [t for _p, t, _m in published]
    assert sorted(order) == sorted(trackers)  # exactly the ballots cast, each once
    assert sorted(m for _p, _t, m in published) == sorted(marks)
    assert {t: m for _p, t, m in published} == dict(zip(trackers, marks, strict=True))  # each tracker its ballot
    assert order != trackers and order != trackers[::-1] and order != sorted(trackers)
    # A shuffled list keeps about one ballot in its casting place (P(15 or more) < 1e-12).
    assert sum(a == b for a, b in zip(order, trackers, strict=True)) < 15


@pytest.mark.skipif(POSTGRES, reason="a PostgreSQL heap keeps rows in insertion order; see the report")
def test_the_box_read_as_stored_is_not_in_the_order_of_casting(app, world):
    """SQLite: the box has no rowid, so its rows come back in the order of their random keys."""
    with app.app_context():
        setup = call_election(world, voters=20)
        candidates = slate(setup, 8)
        round_ = services.latest_round(setup.election)
        trackers = [voting.cast(setup.election, round_, _line(round_, p), _for(candidates[0]), p,
                                now=setup.at("voting")) for p in setup.voters]
        db.session.commit()
        stored = list(db.session.execute(sa.text("SELECT tracker FROM poll_box")).scalars())
    assert sorted(stored) == sorted(trackers) and stored != trackers


@pytest.mark.skipif(not POSTGRES, reason="xmin is a PostgreSQL system column")
@pytest.mark.xfail(strict=True, reason="PostgreSQL stamps the roll line's update and the ballot's insert with the "
                   "same transaction id (xmin): while the box is open, anyone reading the database can join them")
def test_the_database_does_not_link_a_roll_line_to_its_ballot(app, world):
    with app.app_context():
        setup = call_election(world, voters=10)
        candidates = slate(setup, 8)
        round_ = services.latest_round(setup.election)
        db.session.commit()
        for person in setup.voters[8:10]:  # each ballot in its own transaction, as from the ballot page
            voting.cast(setup.election, round_, _line(round_, person), _for(candidates[0]), person,
                        now=setup.at("voting"))
            db.session.commit()
        linked = db.session.execute(sa.text(
            "SELECT r.user_id, b.tracker FROM poll_roll r JOIN poll_box b ON r.xmin::text = b.xmin::text")).all()
    assert linked == []  # today: exactly the two voters, each with their own ballot's tracker


# ---- f. no live results -------------------------------------------------------------------------------------

def test_nothing_is_counted_while_voting_is_open(app, world):
    with app.app_context():
        setup = call_election(world, voters=12)
        candidates = slate(setup, 8)
        election = setup.election
        round_ = services.latest_round(election)
        poll = services.poll_of(round_)
        committee = user("committee")
        for person in setup.voters:
            voting.cast(election, round_, _line(round_, person), _for(*candidates[:2]), person, now=setup.at("voting"))
        for when in (setup.at("candidates"), setup.at("voting"), poll.closes_at - timedelta(microseconds=1)):
            assert services.phase(election, when) in (Phase.CANDIDATES, Phase.VOTING)
            with pytest.raises(Refused):
                counting.count(election, round_, committee, now=when)
            assert not polls.close(poll, committee, when)  # nor closed by the poll machinery
            assert not polls.close_if_due(poll, when)
        db.session.refresh(round_)
        db.session.refresh(poll)
        rows = counting.table(round_)
        assert rows and all(r.votes is None and r.against is None and not r.elected for r in rows)
        assert (round_.returned, round_.valid, round_.void, round_.status, round_.counted_at) == (None,) * 5
        assert poll.roll_heads is None and poll.for_heads is None and poll.passed is None
        assert polls.stored_result(poll) is None
        assert counting.plan(election) is None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PublishedBallot)) == 0
        assert len(_box(poll)) == 12
        # Once voting has closed, the committee counts.
        counting.count(election, round_, committee, now=poll.closes_at)
        assert round_.returned == 12 and {r.user_id: r.votes for r in counting.table(round_) if r.votes} == {
            candidates[0].id: 12, candidates[1].id: 12}


# ---- g. two tellers ------------------------------------------------------------------------------------------

def test_two_tellers_enter_paper_ballots_in_batches(app, world):
    with app.app_context():
        setup = call_election(world, voters=12)
        first, second, third = appoint_tellers(setup, "leader", "team", "secretary")
        candidates = slate(setup, 8)
        election = setup.election
        round_ = services.latest_round(election)
        poll = services.poll_of(round_)
        for person in setup.voters[:3]:
            voting.cast(election, round_, _line(round_, person), _for(candidates[0]), person, now=setup.at("voting"))
        for person in setup.voters[8:12]:
            voting.check_off(election, round_, _line(round_, person), first, now=setup.at("voting"))
        assert polls.paper_issued(poll) == 4
        at = setup.at("counting")
        resident = user("resident")
        with pytest.raises(Forbidden):  # not a teller
            voting.start_batch(election, round_, 1, resident, now=at)
        with pytest.raises(Refused):  # not before voting closes
            voting.start_batch(election, round_, 1, first, now=setup.at("voting"))

        # Batches share the papers issued, whoever starts them.
        big = voting.start_batch(election, round_, 3, first, now=at)
        with pytest.raises(Refused):
            voting.start_batch(election, round_, 2, third, now=at)
        small = voting.start_batch(election, round_, 1, third, now=at)
        with pytest.raises(Refused):
            voting.start_batch(election, round_, 1, first, now=at)
        assert sum(b.size for b in voting.batches(round_)) == 4

        voting.join_batch(election, round_, big, second, now=at)
        voting.join_batch(election, round_, small, first, now=at)  # first in one batch, second in another
        a, b, c, d = (_for(candidates[1]), _for(candidates[2], against=[candidates[3]]),
                      _for(candidates[4], write_ins=[setup.voters[11]]), _for(candidates[5]))
        for outsider in (third, resident, user("committee")):  # not one of this batch's two tellers
            with pytest.raises(Forbidden):
                voting.enter(election, round_, big, a, outsider, now=at)

        # The second teller misreads one ballot: both entries are complete, they disagree, nothing goes in.
        box_before = sorted(_box(poll), key=str)
        for ballot in (a, b, c):
            assert not voting.enter(election, round_, big, ballot, first, now=at)
        for ballot in (a, b, d):
            assert not voting.enter(election, round_, big, ballot, second, now=at)
        assert voting.differences(big) == {encode(c): (1, 0), encode(d): (0, 1)}
        with pytest.raises(Refused):  # each teller enters the batch's size, no more
            voting.enter(election, round_, big, c, second, now=at)
        db.session.refresh(big)
        db.session.refresh(poll)
        assert big.accepted_at is None and poll.paper_entered == 0
        assert sorted(_box(poll), key=str) == box_before
        with pytest.raises(Refused):  # and the count waits for every batch
            counting.count(election, round_, user("committee"), now=at)

        # Corrected: both agree, and exactly the batch's ballots go in the box.
        wrong = next(e for e in voting.entries(big, 2) if e.marks == encode(d))
        voting.remove_entry(big, wrong.id, second)
        assert voting.enter(election, round_, big, c, second, now=at)
        db.session.refresh(poll)
        assert poll.paper_entered == 3
        added = sorted(_box(poll), key=str)
        for old in box_before:
            added.remove(old)
        assert sorted(added) == sorted(encode(x) for x in (a, b, c))
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SecretBallot).where(
            SecretBallot.poll_id == poll.id, SecretBallot.tracker.is_(None))) == 3  # paper ballots: no tracker
        # The typed entries are gone once accepted: nothing says which teller typed which ballot.
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PaperEntry).where(
            PaperEntry.batch_id == big.id)) == 0
        with pytest.raises(Refused):
            voting.enter(election, round_, big, a, first, now=at)

        assert not voting.enter(election, round_, small, d, third, now=at)
        assert voting.enter(election, round_, small, d, first, now=at)
        db.session.refresh(poll)
        assert poll.paper_entered == 4 == polls.paper_issued(poll)
        counting.count(election, round_, user("committee"), now=at)
        assert round_.returned == 7  # 3 online and 4 on paper


def test_two_tellers_starting_batches_at_once_never_exceed_the_papers_issued(app, world, monkeypatch):
    """Each teller asks for 3 of the 4 papers at once. The test tries to make both read what is taken before
    either commits (a barrier in `paper_issued`); `polls.hold` takes the poll for writing first, so the second
    teller waits for the first and is refused, on SQLite and PostgreSQL alike. (Without that lock both got a
    batch of 3, and the count waited for ever on a batch that could never be accepted.)"""
    ids = _committed_election(app, world, voters=12, tellers=("leader", "team"))
    with app.app_context():
        election, round_ = db.session.get(Election, ids["election"]), db.session.get(ElectionRound, ids["round"])
        for voter_id in ids["voters"][8:12]:
            voting.check_off(election, round_, db.session.get(RollLine, ids["lines"][voter_id]), user("leader"),
                             now=ids["voting"])
        db.session.commit()
        tellers = {"first": user("leader").id, "second": user("team").id}
    both_read, first_done = threading.Barrier(2, timeout=10), threading.Event()
    issued = polls.paper_issued

    def paper_issued(poll):  # start_batch asks for the papers issued after reading what is taken
        found = issued(poll)
        try:
            both_read.wait(timeout=2)
        except threading.BrokenBarrierError:  # the other teller is waiting for the poll: no race to force
            return found
        if threading.current_thread().name == "second":  # both read what is taken: let the first commit
            first_done.wait(10)
        return found

    monkeypatch.setattr(polls, "paper_issued", paper_issued)
    outcomes = {}

    def start(name):
        with app.app_context():
            try:
                election = db.session.get(Election, ids["election"])
                round_ = db.session.get(ElectionRound, ids["round"])
                voting.start_batch(election, round_, 3, db.session.get(User, tellers[name]), now=ids["counting"])
                db.session.commit()
                outcomes[name] = "ok"
            except (Refused, IntegrityError):  # IntegrityError: both took the same batch number
                db.session.rollback()
                outcomes[name] = "refused"
            finally:
                db.session.remove()
                if name == "first":
                    first_done.set()

    threads = [threading.Thread(target=start, args=(name,), name=name) for name in tellers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with app.app_context():
        sizes = list(db.session.scalars(sa.select(PaperBatch.size).where(PaperBatch.round_id == ids["round"])))
    assert sum(sizes) <= 4, f"batches of {sizes} for 4 papers issued"
    assert sorted(outcomes.values()) == ["ok", "refused"], outcomes
