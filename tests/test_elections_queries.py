"""Invariant 8 for election pages: the number of queries does not grow with the roll, the ballots, the
nominations or the objections (every list is paginated or bounded)."""
from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
import sqlalchemy as sa

from council.ballots.models import Objection, PublishedBallot, RollLine
from council.elections import counting, services, voting
from council.elections.models import Nomination, NominationSupport, RollObjection
from council.elections.rules import Mark, Marks, RollObjectionKind
from council.extensions import db
from council.sqltypes import utcnow
from tests.election_helpers import call_election, slate, user
from tests.factories import person
from tests.helpers import counting as counting_queries


def _counted_election(world) -> tuple[int, int]:
    setup = call_election(world, voters=10, start=utcnow() - timedelta(days=12))
    candidates = slate(setup, 8)
    election = setup.election
    round_ = services.latest_round(election)
    poll = services.poll_of(round_)
    for person_ in setup.voters:
        line = db.session.scalar(sa.select(RollLine).where(RollLine.poll_id == poll.id,
                                                           RollLine.user_id == person_.id))
        voting.cast(election, round_, line, Marks({c.id: Mark.FOR for c in candidates[:7]}), person_,
                    now=setup.at("voting"))
    counting.count(election, round_, user("committee"), now=setup.at("counting"))
    db.session.commit()
    return election.id, poll.id


def _grow(app, election_id: int, poll_id: int, offset: int, count: int) -> None:
    """More of everything the pages list: roll lines with proxies, published ballots naming written-in
    members, nominations with nominators, objections to the roll and to the result."""
    with app.app_context():
        people = [person(f"more{offset + i}", f"居民{offset + i}") for i in range(count)]
        now = utcnow()
        db.session.execute(sa.insert(RollLine), [
            dict(poll_id=poll_id, user_id=p.id, label=f"{p.display_name} (2号楼)", sort_key=f"z{p.id:08d}",
                 area_dm2=0, proxy_id=people[0].id if i < 3 else None) for i, p in enumerate(people)])
        start = db.session.scalar(sa.select(sa.func.max(PublishedBallot.position)).where(
            PublishedBallot.poll_id == poll_id)) or 0
        db.session.execute(sa.insert(PublishedBallot), [
            dict(id=secrets.token_urlsafe(16), poll_id=poll_id, position=start + i + 1, tracker=None,
                 choice="for", marks=f"w{p.id}" if i % 2 else "void") for i, p in enumerate(people)])
        for i, p in enumerate(people):
            nomination = Nomination(election_id=election_id, user_id=p.id, proposed_by_id=people[0].id,
                                    created_at=now)
            db.session.add(nomination)
            db.session.flush()
            db.session.add(NominationSupport(nomination_id=nomination.id, user_id=people[(i + 1) % count].id))
            db.session.add(RollObjection(election_id=election_id, author_id=p.id, kind=RollObjectionKind.MISSING,
                                         body="我漏登了", created_at=now))
            db.session.add(Objection(poll_id=poll_id, author_id=p.id, body="有异议", created_at=now))
        db.session.commit()


PAGES = [
    ("resident", "/elections/{e}"), ("resident", "/elections/{e}/roll"), ("resident", "/elections/{e}/nominations"),
    ("resident", "/elections/{e}/rounds/1/results"), ("resident", "/elections/{e}/rounds/1/ballots"),
    ("resident", "/elections/{e}/rounds/1/notice"), ("resident", "/elections/{e}/rounds/1/proxies"),
    ("resident", "/estates/{estate}/elections"), ("resident", "/places/{estate}"),
    ("committee", "/elections/{e}/rounds/1/desk"), ("committee", "/elections/{e}/rounds/1/batches"),
    ("committee", "/elections/{e}/officials"),
]


@pytest.mark.parametrize("username, template", PAGES)
def test_election_pages_do_not_grow(app, world, login, username, template):
    with app.app_context():
        election_id, poll_id = _counted_election(world)
    url = template.format(e=election_id, estate=world.estate)
    client = login(username)
    _grow(app, election_id, poll_id, 0, 5)
    with counting_queries(app) as small:
        assert client.get(url).status_code == 200
    _grow(app, election_id, poll_id, 100, 60)
    with counting_queries(app) as large:
        assert client.get(url).status_code == 200
    assert len(large) == len(small), (url, len(small), len(large))
