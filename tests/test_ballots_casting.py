"""Casting through the pages with what the process keeps of a poll (council/ballots/casting.py, elections.voting).

A cast reads the poll (or the election's round) once per process and keeps it a while; whether the poll takes
the ballot is decided by the cast's own statement. So a kept head never lets a ballot in after the close, a
line that is not the voter's records nothing, a written proxy is cast as such, and a head is kept only while
its poll takes ballots.
"""
from __future__ import annotations

import re

import sqlalchemy as sa

from council.ballots import casting
from council.ballots import services as polls
from council.ballots.models import Basis, Channel, Poll, RollLine, SecretBallot
from council.ballots.rules import Rule
from council.elections import services as elections
from council.elections import voting
from council.extensions import db
from council.sqltypes import utcnow
from tests.election_helpers import slate
from tests.test_ballots_votes import _close, _line, _open, _user, lift  # noqa: F401  (lift: the fixture)
from tests.test_elections_pages import VOTING, _call, _line_id


def _box(poll_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(SecretBallot)
                             .where(SecretBallot.poll_id == poll_id))


def _tracker(response) -> str | None:
    found = re.search(r'class="tracker"[^>]*>([2-9A-Z ]{14})<', response.get_data(as_text=True))
    return found.group(1) if found else None


def test_a_kept_poll_never_takes_a_ballot_after_its_close(app, world, lift, login):  # noqa: F811
    poll_id = _open(app, lift["proposal"], Rule.SIMPLE_MAJORITY, Basis.HOUSEHOLDS, secret=True)
    with app.app_context():
        first, second = _line(poll_id, world.h11).id, _line(poll_id, world.h12).id
    assert _tracker(login("resident").post(f"/votes/{poll_id}/lines/{first}/cast", data={"choice": "for"}))
    with app.app_context():
        assert casting.kept_head(poll_id, utcnow()).closed is False  # kept: the close below does not touch it
        db.session.execute(sa.update(Poll).where(Poll.id == poll_id).values(closes_at=utcnow()))  # its window ends
        assert _close(poll_id, utcnow())
    refused = login("owner12").post(f"/votes/{poll_id}/lines/{second}/cast", data={"choice": "for"},
                                    follow_redirects=True)
    assert "This vote is closed." in refused.get_data(as_text=True) and _tracker(refused) is None
    with app.app_context():
        assert db.session.get(RollLine, second).status is None
        assert db.session.get(Poll, poll_id).roll_heads is not None  # counted with the one ballot cast


def test_only_the_voters_own_line_or_one_they_hold_a_proxy_for_is_cast(app, world, lift, login):  # noqa: F811
    poll_id = _open(app, lift["proposal"], Rule.SIMPLE_MAJORITY, Basis.HOUSEHOLDS, secret=True)
    with app.app_context():
        own, theirs, proxied = (_line(poll_id, h).id for h in (world.h11, world.h12, lift["h13"]))
        polls.record_proxy(db.session.get(Poll, poll_id), db.session.get(RollLine, proxied), _user("resident"),
                           _user("secretary"))
        db.session.commit()
    client = login("resident")
    refused = client.post(f"/votes/{poll_id}/lines/{theirs}/cast", data={"choice": "for"}, follow_redirects=True)
    assert "You are not on the roll for this line." in refused.get_data(as_text=True)
    assert client.post(f"/votes/{poll_id}/lines/999999/cast", data={"choice": "for"}).status_code == 404
    assert _tracker(client.post(f"/votes/{poll_id}/lines/{proxied}/cast", data={"choice": "against"}))
    assert _tracker(client.post(f"/votes/{poll_id}/lines/{own}/cast", data={"choice": "for"}))
    twice = client.post(f"/votes/{poll_id}/lines/{own}/cast", data={"choice": "for"}, follow_redirects=True)
    assert "already been cast" in twice.get_data(as_text=True)
    with app.app_context():
        statuses = {line: db.session.get(RollLine, line).status for line in (own, theirs, proxied)}
        assert statuses == {own: Channel.ONLINE, theirs: None, proxied: Channel.PROXY}
        assert _box(poll_id) == 2


def test_receipts_kept_for_every_voter_show_each_their_own_tracker_and_line(app, world, lift, login):  # noqa: F811
    poll_id = _open(app, lift["proposal"], Rule.SIMPLE_MAJORITY, Basis.HOUSEHOLDS, secret=True)
    with app.app_context():
        lines = {username: _line(poll_id, h).id for username, h in (("resident", world.h11), ("owner12", world.h12))}
    receipts = {username: login(username).post(f"/votes/{poll_id}/lines/{line}/cast", data={"choice": "for"})
                for username, line in lines.items()}
    first, second = (r.get_data(as_text=True) for r in receipts.values())
    assert _tracker(receipts["resident"]) != _tracker(receipts["owner12"])
    assert "1号楼 1-101" in first and "1-101" not in second and "周丽华" in first and "周丽华" not in second
    assert "@@council" not in first + second
    with app.app_context():
        trackers = set(db.session.scalars(sa.select(SecretBallot.tracker).where(SecretBallot.poll_id == poll_id)))
    assert {_tracker(r).replace(" ", "") for r in receipts.values()} == trackers


def test_a_kept_election_round_never_takes_a_ballot_after_voting_closes(app, world, login):
    with app.app_context():
        setup = _call(world, VOTING)
        candidates = [c.id for c in slate(setup, 8)]
        voters = [(_line_id(setup, person), person.username) for person in setup.voters[-2:]]
        db.session.commit()
        election_id = setup.election.id
        poll_id = elections.poll_of(elections.latest_round(setup.election)).id
    ballot = {f"mark-{c}": "+" for c in candidates[:7]}
    (first, first_voter), (second, second_voter) = voters
    cast = login(first_voter).post(f"/elections/{election_id}/rounds/1/ballot", data={"line_id": first, **ballot})
    assert _tracker(cast)
    with app.app_context():
        assert voting.kept_head(election_id, 1, utcnow()).may_vote_now(utcnow())
        db.session.execute(sa.update(Poll).where(Poll.id == poll_id).values(closes_at=utcnow()))
        db.session.commit()
    refused = login(second_voter).post(f"/elections/{election_id}/rounds/1/ballot",
                                       data={"line_id": second, **ballot})
    assert refused.status_code == 400 and _tracker(refused) is None
    with app.app_context():
        assert db.session.get(RollLine, second).status is None and _box(poll_id) == 1


def test_a_round_not_open_yet_is_not_kept(app, world, login):
    with app.app_context():
        setup = _call(world, VOTING - 1)  # the candidates' phase: voting opens in a day
        slate(setup, 8)
        db.session.commit()
        assert not voting.kept_head(setup.election.id, 1, utcnow()).may_vote_now(utcnow())
        assert voting._heads.get((setup.election.id, 1)) is None
