"""Choice votes through the services and pages: plan A / plan B, single or several picks, "none of these"
and abstaining, paper ballots, the count of each option by headcount and by area."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from council.ballots import choices
from council.ballots import services as polls
from council.ballots.models import Basis, Poll, PollOption, PublishedBallot
from council.ballots.rules import Choice, Rule
from council.exceptions import Refused
from council.extensions import db
from council.proposals import stages
from council.proposals.models import Proposal
from council.proposals.rules import ProposalState
from council.sqltypes import utcnow
from tests.test_ballots_register import _line, _user, estate  # noqa: F401  (fixture)

PLANS = ["东门建车棚", "北门建车棚", "两处都建小车棚"]


def _open(app, proposal_id, rule=Rule.CIVIL_CODE_278_ORDINARY, secret=False, max_choices=1, basis=Basis.OWNERS):
    with app.app_context():
        poll = stages.open_vote(db.session.get(Proposal, proposal_id), _user("secretary"), rule, basis, secret,
                                utcnow() + timedelta(days=7), options=PLANS, max_choices=max_choices)
        db.session.commit()
        return poll.id


def _cast(poll_id, username, household_id, choice=Choice.FOR, picks=()):
    poll = db.session.get(Poll, poll_id)
    return polls.cast(poll, _line(poll_id, household_id), choice, _user(username), picks=frozenset(picks))


def _close(poll_id):
    poll = db.session.get(Poll, poll_id)
    polls.close(poll, None, poll.closes_at)
    db.session.commit()
    return poll


def test_options_are_checked_when_the_vote_opens(app, world, estate):  # noqa: F811
    with app.app_context():
        proposal = db.session.get(Proposal, estate["proposal"])
        for options, most in ((["只有一个"], 1), (["甲", "甲"], 1), (["甲", "乙"], 3), (["甲", "乙"], 0)):
            with pytest.raises(Refused):
                stages.open_vote(proposal, _user("secretary"), Rule.SIMPLE_MAJORITY, Basis.HOUSEHOLDS, False,
                                 utcnow() + timedelta(days=7), options=options, max_choices=most)
            db.session.rollback()
            proposal = db.session.get(Proposal, estate["proposal"])


def test_an_owners_choice_vote_counts_each_option_by_owners_and_area(app, world, estate):  # noqa: F811
    poll_id = _open(app, estate["proposal"])
    with app.app_context():
        with pytest.raises(Refused):  # two picks in a single-choice vote
            _cast(poll_id, "resident", world.h11, picks=(1, 2))
        with pytest.raises(Refused):  # an option that does not exist
            _cast(poll_id, "resident", world.h11, picks=(7,))
        with pytest.raises(Refused):  # none of these with a pick
            _cast(poll_id, "resident", world.h11, Choice.AGAINST, picks=(1,))
        db.session.rollback()
        _cast(poll_id, "resident", world.h11, picks=(1,))  # 8 650 dm²
        _cast(poll_id, "wang", world.h12, picks=(1,))  # 王伟: 7 200 + 6 000 dm², one head
        _cast(poll_id, "li", estate["h13"], Choice.AGAINST)  # none of these, 12 000 dm²
        db.session.commit()
        poll = _close(poll_id)
        counted = polls.count_choices(poll)
        plan_a = counted.options[0]
        assert (plan_a.heads, plan_a.area_dm2) == (2, 8650 + 13200)
        assert [(t.numerator, t.denominator) for t in plan_a.thresholds] == [(21850, 33850), (2, 3)]
        assert counted.carried == (1,) and counted.none_of_these == 1
        stored = {o.position: (o.heads, o.area_dm2, o.carried) for o in choices.options_of(poll)}
        assert stored == {1: (2, 21850, True), 2: (0, 0, False), 3: (0, 0, False)}
        assert (poll.against_heads, poll.passed) == (1, True)
        assert db.session.get(Proposal, estate["proposal"]).state is ProposalState.PASSED


def test_a_secret_multi_choice_vote_with_paper_ballots(app, world, estate, login):  # noqa: F811
    poll_id = _open(app, estate["proposal"], Rule.SIMPLE_MAJORITY, secret=True, max_choices=2,
                    basis=Basis.HOUSEHOLDS)
    with app.app_context():
        poll = db.session.get(Poll, poll_id)
        line_id = _line(poll_id, world.h11).id
        polls.check_off(poll, _line(poll_id, world.h12), _user("team"))
        polls.check_off(poll, _line(poll_id, estate["h13"]), _user("team"))
        db.session.commit()
    client = login("resident")
    page = client.get(f"/votes/{poll_id}").get_data(as_text=True)
    assert 'type="checkbox" name="vote" value="1"' in page and "None of these" in page
    refused = client.post(f"/votes/{poll_id}/lines/{line_id}/cast", data={"vote": ["1", "2", "3"]},
                          follow_redirects=True)
    assert "Pick at most 2 options." in refused.get_data(as_text=True)
    receipt = client.post(f"/votes/{poll_id}/lines/{line_id}/cast", data={"vote": ["1", "3"]})
    tracker = re.search(r'class="tracker"[^>]*>([2-9A-Z ]{14})<', receipt.get_data(as_text=True)).group(1)
    teller = login("team")
    teller.post(f"/votes/{poll_id}/paper", data={"vote": ["1", "2", "3"]})  # too many: void, but taken part
    teller.post(f"/votes/{poll_id}/paper", data={"vote": ["abstain"]})
    over = teller.post(f"/votes/{poll_id}/paper", data={"vote": ["1"]}, follow_redirects=True)
    assert "more paper ballots than papers issued" in over.get_data(as_text=True)
    with app.app_context():
        poll = _close(poll_id)
        counted = polls.count_choices(poll)
        assert (counted.cast, counted.void, counted.abstain) == (3, 1, 1)
        assert [o.heads for o in counted.options] == [1, 0, 1]
        assert counted.carried == ()  # 1 of 3 is not more than half
        assert db.session.scalar(sa.select(PublishedBallot.picks).where(
            PublishedBallot.tracker == tracker.replace(" ", ""))) == "1,3"
    result = login("resident").get(f"/votes/{poll_id}").get_data(as_text=True)
    assert "No option carried" in result and "东门建车棚" in result
    listed = login("resident").get(f"/votes/{poll_id}/ballots").get_data(as_text=True)
    assert "东门建车棚、两处都建小车棚" in listed


def test_named_paper_ballots_of_a_choice_vote_are_entered_with_the_voter(app, world, estate, login):  # noqa: F811
    poll_id = _open(app, estate["proposal"])
    with app.app_context():
        line_id = _line(poll_id, estate["h13"]).id
    login("team").post(f"/votes/{poll_id}/lines/{line_id}/paper", data={"vote": ["2"]})
    with app.app_context():
        line = _line(poll_id, estate["h13"])
        assert (line.choice, line.picks) == (Choice.FOR, "2")
        assert db.session.scalar(sa.select(sa.func.count(PollOption.id))) == 3
