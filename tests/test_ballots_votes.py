"""Proposal votes through the services and the pages: frozen roll, one ballot per line, secrecy, proxies,
paper, closing, the result explained, and who may see and do what."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from council.accounts.models import User
from council.activity.models import Activity
from council.ballots import queries
from council.ballots import services as polls
from council.ballots.models import Basis, Channel, Poll, PollState, PublishedBallot, RollLine, SecretBallot
from council.ballots.rules import Choice, Rule
from council.exceptions import Refused
from council.extensions import db
from council.membership import services as membership
from council.membership.models import Relation
from council.notifications.models import Notification
from council.proposals import services as proposals
from council.proposals import stages
from council.proposals.models import Proposal
from council.proposals.rules import Category, ProposalState
from council.sqltypes import utcnow
from council.territory.models import Household, Place, Tenure
from council.territory.services import create_household
from tests import factories
from tests.helpers import CAST_STATEMENTS, counting

S = ProposalState
WEEK = timedelta(days=7)


def _user(username):
    return db.session.scalar(sa.select(User).where(User.username == username))


def _owner(username, household_id, relation=Relation.OWNER, adult=True):
    user = factories.person(username)
    entry = membership.request_join(user, db.session.get(Household, household_id), relation)
    entry.is_adult = adult
    membership.approve(entry, user)
    return user


def _on_agenda(world, buildings=(), category=Category.LIFT) -> Proposal:
    """A published proposal by the resident, put on the agenda by the secretary."""
    estate = db.session.get(Place, world.estate)
    resident = _user("resident")
    proposal = proposals.create(estate, resident, "1号楼加装电梯", "一楼到六楼都受益", category,
                                building_ids=list(buildings))
    proposals.publish(proposal, resident)
    proposal.eligible_at = utcnow()
    stages.put_on_agenda(proposal, _user("secretary"))
    db.session.flush()
    return proposal


@pytest.fixture
def lift(app, world):
    """Building b1 with four units (h11 resident's, h12 rented, two more), a lift proposal on the agenda."""
    with app.app_context():
        b1 = db.session.get(Place, world.b1)
        h13 = create_household(b1, "1", "201", 12000, Tenure.OWNER_OCCUPIED, None)
        h14 = create_household(b1, "1", "202", 6000, Tenure.OWNER_OCCUPIED, None)
        _owner("owner12", world.h12)
        _owner("tenant12", world.h12, Relation.TENANT)
        _owner("owner13", h13.id)
        _owner("child11", world.h11, Relation.FAMILY, adult=False)
        proposal = _on_agenda(world, buildings=[world.b1])
        db.session.commit()
        return dict(proposal=proposal.id, h13=h13.id, h14=h14.id)


def _open(app, proposal_id, rule=Rule.CIVIL_CODE_278_SPECIAL, basis=Basis.OWNERS, secret=False, now=None):
    with app.app_context():
        proposal = db.session.get(Proposal, proposal_id)
        poll = stages.open_vote(proposal, _user("secretary"), rule, basis, secret, (now or utcnow()) + WEEK, now=now)
        db.session.commit()
        return poll.id


def _line(poll_id, household_id=None, user_id=None) -> RollLine:
    clause = RollLine.household_id == household_id if household_id else RollLine.user_id == user_id
    return db.session.scalar(sa.select(RollLine).where(RollLine.poll_id == poll_id, clause))


def _cast(poll_id, username, household_id=None, choice=Choice.FOR, user_id=None, now=None):
    poll = db.session.get(Poll, poll_id)
    return polls.cast(poll, _line(poll_id, household_id, user_id), choice, _user(username), now=now)


def _close(poll_id, now=None):
    poll = db.session.get(Poll, poll_id)
    closed = polls.close(poll, None, now or poll.closes_at)
    db.session.commit()
    return closed


# ---- opening and the frozen roll --------------------------------------------------------------------

def test_art_278_roll_is_every_unit_of_the_buildings_with_its_area(app, world, lift):
    poll_id = _open(app, lift["proposal"])
    with app.app_context():
        poll = db.session.get(Poll, poll_id)
        assert (poll.rule, poll.basis, poll.secret) == (Rule.CIVIL_CODE_278_SPECIAL, Basis.OWNERS, False)
        lines = db.session.scalars(sa.select(RollLine).where(RollLine.poll_id == poll_id)).all()
        assert {line.household_id for line in lines} == {world.h11, world.h12, lift["h13"], lift["h14"]}
        assert sum(line.area_dm2 for line in lines) == 8650 + 7200 + 12000 + 6000
        assert db.session.get(Proposal, lift["proposal"]).state is S.VOTING


def test_opening_tells_followers_and_the_owners_who_can_vote(app, world, lift):
    _open(app, lift["proposal"])
    with app.app_context():
        told = set(db.session.scalars(sa.select(Notification.user_id).where(
            Notification.verb == "proposal.vote_opened")))
        owners = {_user(u).id for u in ("resident", "owner12", "owner13")}
        assert owners <= told
        assert _user("tenant12").id not in told and _user("child11").id not in told


def test_only_owners_adults_approved_before_opening_may_cast(app, world, lift):
    poll_id = _open(app, lift["proposal"])
    with app.app_context():
        with pytest.raises(Refused):  # a tenant is not an owner
            _cast(poll_id, "tenant12", world.h12)
        with pytest.raises(Refused):  # a child does not vote
            _cast(poll_id, "child11", world.h11)
        _owner("late13", lift["h13"])  # approved after the vote opened
        db.session.commit()
        with pytest.raises(Refused):
            _cast(poll_id, "late13", lift["h13"])
        db.session.rollback()
        with pytest.raises(Refused):  # someone from another estate
            _cast(poll_id, "outsider", world.h11)
        db.session.rollback()
        assert _cast(poll_id, "owner12", world.h12) is None  # named: no tracker
        db.session.commit()
        assert polls.turnout(db.session.get(Poll, poll_id)).voted == 1


def test_art_278_votes_cannot_be_secret_and_take_owners(app, world, lift):
    with app.app_context():
        proposal = db.session.get(Proposal, lift["proposal"])
        with pytest.raises(Refused):
            stages.open_vote(proposal, _user("secretary"), Rule.CIVIL_CODE_278_ORDINARY, Basis.OWNERS, True,
                             utcnow() + WEEK)
        db.session.rollback()
        with pytest.raises(Refused):  # window too short
            stages.open_vote(db.session.get(Proposal, lift["proposal"]), _user("secretary"), Rule.SIMPLE_MAJORITY,
                             Basis.HOUSEHOLDS, False, utcnow() + timedelta(minutes=30))
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count(Poll.id))) == 0


def test_only_a_proposal_on_the_agenda_is_put_to_a_vote(app, world):
    with app.app_context():
        estate = db.session.get(Place, world.estate)
        proposal = proposals.create(estate, _user("resident"), "车棚", "", Category.EBIKE_SHED)
        proposals.publish(proposal, _user("resident"))
        with pytest.raises(Refused):  # not enough co-signatures yet
            stages.put_on_agenda(proposal, _user("secretary"))
        with pytest.raises(Refused):  # open, not on the agenda
            stages.open_vote(proposal, _user("secretary"), Rule.SIMPLE_MAJORITY, Basis.HOUSEHOLDS, False,
                             utcnow() + WEEK)


# ---- casting once -------------------------------------------------------------------------------------

def test_one_ballot_per_household_the_first_counts(app, world, lift):
    poll_id = _open(app, lift["proposal"], Rule.SIMPLE_MAJORITY, Basis.HOUSEHOLDS)
    with app.app_context():
        _cast(poll_id, "owner12", world.h12, Choice.AGAINST)
        db.session.commit()
        with pytest.raises(Refused):  # the tenant of the same household comes second
            _cast(poll_id, "tenant12", world.h12, Choice.FOR)
        db.session.rollback()
        line = _line(poll_id, world.h12)
        assert (line.status, line.choice, line.cast_by_id) == (Channel.ONLINE, Choice.AGAINST, _user("owner12").id)


def test_member_basis_gives_each_adult_a_line(app, world, lift):
    poll_id = _open(app, lift["proposal"], Rule.TWO_THIRDS, Basis.MEMBERS)
    with app.app_context():
        users = set(db.session.scalars(sa.select(RollLine.user_id).where(RollLine.poll_id == poll_id)))
        assert users == {_user(u).id for u in ("resident", "owner12", "tenant12", "owner13")}


def test_after_the_window_nothing_is_recorded(app, world, lift):
    start = utcnow()
    poll_id = _open(app, lift["proposal"], now=start)
    with app.app_context():
        with pytest.raises(Refused):
            _cast(poll_id, "resident", world.h11, now=start + WEEK)  # exactly at the close: over
        db.session.rollback()
        assert _line(poll_id, world.h11).status is None
        _cast(poll_id, "resident", world.h11, now=start + WEEK - timedelta(seconds=1))
        db.session.commit()


# ---- secret ballots ----------------------------------------------------------------------------------

def test_secret_ballot_rows_hold_no_person_no_time_no_integer_id(app):
    for model in (SecretBallot, PublishedBallot):
        columns = {c.name: c for c in model.__table__.columns}
        assert set(columns) <= {"id", "poll_id", "tracker", "choice", "picks", "marks", "position"}
        assert isinstance(columns["id"].type, sa.String)
        assert all(fk.column.table.name == "polls" for c in columns.values() for fk in c.foreign_keys)
        assert model.__table__.kwargs.get("sqlite_with_rowid") is False


def test_secret_vote_tracker_shuffle_and_recount(app, world, lift):
    poll_id = _open(app, lift["proposal"], Rule.SIMPLE_MAJORITY, Basis.HOUSEHOLDS, secret=True)
    with app.app_context():
        tracker = _cast(poll_id, "resident", world.h11, Choice.FOR)
        _cast(poll_id, "owner12", world.h12, Choice.AGAINST)
        _cast(poll_id, "owner13", lift["h13"], Choice.FOR)
        db.session.commit()
        assert re.fullmatch(r"[2-9A-HJ-NP-Z]{12}", tracker)
        line = _line(poll_id, world.h11)
        assert line.status is Channel.ONLINE and line.choice is None and line.cast_by_id is None
        assert polls.stored_result(db.session.get(Poll, poll_id)) is None  # hidden while open
        assert _close(poll_id)
        assert not _close(poll_id)  # a second closer finds nothing to do
        poll = db.session.get(Poll, poll_id)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SecretBallot)) == 0
        published = db.session.scalars(sa.select(PublishedBallot).order_by(PublishedBallot.position)).all()
        assert [b.position for b in published] == [1, 2, 3]
        assert next(b for b in published if b.tracker == tracker).choice is Choice.FOR
        assert (poll.for_heads, poll.against_heads, poll.abstain_heads, poll.passed) == (2, 1, 0, True)
        assert polls.count(poll) == polls.stored_result(poll)  # anyone's recount gives the stored result
        assert db.session.get(Proposal, lift["proposal"]).state is S.PASSED


def test_no_activity_record_holds_a_choice(app, world, lift):
    poll_id = _open(app, lift["proposal"], Rule.SIMPLE_MAJORITY, Basis.HOUSEHOLDS, secret=True)
    with app.app_context():
        _cast(poll_id, "resident", world.h11, Choice.AGAINST)
        db.session.commit()
        _close(poll_id)
        texts = [f"{a.verb} {a.detail} {a.note}" for a in db.session.scalars(sa.select(Activity))]
        assert not any("against" in text for text in texts)


# ---- proxies and paper -------------------------------------------------------------------------------

def test_written_proxies_at_most_three_and_the_record_shows_them(app, world, lift):
    with app.app_context():
        b1 = db.session.get(Place, world.b1)
        extra = [create_household(b1, "2", f"{i}01", 9000, Tenure.OWNER_OCCUPIED, None).id for i in range(1, 4)]
        db.session.commit()
    poll_id = _open(app, lift["proposal"], Rule.SIMPLE_MAJORITY, Basis.HOUSEHOLDS)
    with app.app_context():
        poll, holder, teller = db.session.get(Poll, poll_id), _user("owner13"), _user("leader")
        for household_id in (world.h12, *extra[:2]):
            polls.record_proxy(poll, _line(poll_id, household_id), holder, teller)
        with pytest.raises(Refused):  # a fourth
            polls.record_proxy(poll, _line(poll_id, extra[2]), holder, teller)
        with pytest.raises(Refused):  # someone without a home in the estate
            polls.record_proxy(poll, _line(poll_id, extra[2]), _user("outsider"), teller)
        db.session.commit()
        assert queries.proxies_page(poll, 1, 20).total == 3
        assert {line.id for line in polls.lines_for(poll, holder)} >= {_line(poll_id, world.h12).id}
        _cast(poll_id, "owner13", world.h12, Choice.ABSTAIN)
        db.session.commit()
        line = _line(poll_id, world.h12)
        assert (line.status, line.cast_by_id) == (Channel.PROXY, holder.id)
        with pytest.raises(Refused):  # the owner, too late: the proxy already voted
            _cast(poll_id, "owner12", world.h12)


def test_paper_and_online_exclude_each_other(app, world, lift):
    poll_id = _open(app, lift["proposal"])
    with app.app_context():
        poll, teller = db.session.get(Poll, poll_id), _user("team")
        with pytest.raises(Refused):  # a named paper ballot needs its signed choice
            polls.check_off(poll, _line(poll_id, lift["h14"]), teller)
        polls.check_off(poll, _line(poll_id, lift["h14"]), teller, Choice.FOR)
        _cast(poll_id, "resident", world.h11)
        db.session.commit()
        with pytest.raises(Refused):
            polls.check_off(poll, _line(poll_id, world.h11), teller, Choice.AGAINST)
        db.session.rollback()
        turnout = polls.turnout(poll)
        assert (turnout.online, turnout.paper, turnout.proxy, turnout.roll) == (1, 1, 0, 4)


def test_secret_paper_batches_never_exceed_papers_issued(app, world, lift):
    poll_id = _open(app, lift["proposal"], Rule.SIMPLE_MAJORITY, Basis.HOUSEHOLDS, secret=True)
    with app.app_context():
        poll, teller = db.session.get(Poll, poll_id), _user("team")
        for household_id in (world.h12, lift["h13"]):
            polls.check_off(poll, _line(poll_id, household_id), teller)
        db.session.commit()
        with pytest.raises(Refused):
            polls.enter_paper(poll, {Choice.FOR: 2, Choice.AGAINST: 1}, teller)
        db.session.rollback()
        assert polls.enter_paper(poll, {Choice.FOR: 1}, teller) == 1
        assert polls.enter_paper(poll, {Choice.AGAINST: 1}, teller) == 1
        db.session.commit()
        with pytest.raises(Refused):
            polls.enter_paper(poll, {Choice.FOR: 1}, teller)
        db.session.rollback()
        _close(poll_id)
        poll = db.session.get(Poll, poll_id)
        assert (poll.for_heads, poll.against_heads, poll.passed) == (1, 1, False)


# ---- the Art. 278 count and the proposal after it -----------------------------------------------------

def test_art_278_special_counts_area_and_owners_and_explains(app, world, lift, login):
    poll_id = _open(app, lift["proposal"])
    with app.app_context():
        # Roll: 4 units, 33 850 dm². Three take part (h11 8 650, h12 7 200, h13 12 000 = 27 850 dm²).
        _cast(poll_id, "resident", world.h11, Choice.FOR)
        _cast(poll_id, "owner13", lift["h13"], Choice.FOR)
        polls.check_off(db.session.get(Poll, poll_id), _line(poll_id, world.h12), _user("team"), Choice.AGAINST)
        db.session.commit()
        _close(poll_id)
        result = polls.stored_result(db.session.get(Poll, poll_id))
        figures = [(t.measure.value, t.numerator, t.denominator, t.met) for t in result.thresholds]
        assert figures == [("participation_area", 27850, 33850, True), ("participation_owners", 3, 4, True),
                           ("approval_area", 20650, 27850, False), ("approval_owners", 2, 3, False)]
        assert not result.passed
        assert db.session.get(Proposal, lift["proposal"]).state is S.REJECTED
    page = login("resident").get(f"/votes/{poll_id}").get_data(as_text=True)
    assert "Not passed" in page and "at least three-quarters" in page and "at least two-thirds" in page
    assert "278.50 of 338.50 m²" in page and "74.15%" in page
    page = login("resident").get(f"/proposals/{lift['proposal']}").get_data(as_text=True)
    assert "Not passed" in page


def test_result_tells_followers_and_passed_proposals_are_carried_out(app, world, lift, login):
    poll_id = _open(app, lift["proposal"], Rule.SIMPLE_MAJORITY, Basis.HOUSEHOLDS)
    with app.app_context():
        _cast(poll_id, "resident", world.h11, Choice.FOR)
        db.session.commit()
        _close(poll_id)
        assert db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
            Notification.verb == "proposal.result", Notification.user_id == _user("resident").id)) == 1
    client = login("resident")
    assert client.post(f"/proposals/{lift['proposal']}/start").status_code == 403  # residents do not steer
    client = login("secretary")
    client.post(f"/proposals/{lift['proposal']}/start")
    client.post(f"/proposals/{lift['proposal']}/finish")
    with app.app_context():
        assert db.session.get(Proposal, lift["proposal"]).state is S.DONE


def test_cli_closes_due_votes(app, world, lift):
    start = utcnow() - timedelta(days=8)
    poll_id = _open(app, lift["proposal"], Rule.SIMPLE_MAJORITY, Basis.HOUSEHOLDS, now=start)
    result = app.test_cli_runner().invoke(args=["council", "close-votes"])
    assert "Closed and counted 1 vote(s)." in result.output
    with app.app_context():
        poll = db.session.get(Poll, poll_id)
        assert poll.state is PollState.CLOSED and poll.passed is False  # nobody voted: nothing decided


# ---- pages ---------------------------------------------------------------------------------------------

def test_secretary_opens_the_vote_through_the_page(app, world, lift, login):
    client = login("secretary")
    page = client.get(f"/proposals/{lift['proposal']}/vote")
    assert page.status_code == 200
    assert re.search(r'<input checked[^>]*value="civil_code_278_special"', page.get_data(as_text=True))
    day = (utcnow() + WEEK).date().isoformat()
    bad = client.post(f"/proposals/{lift['proposal']}/vote", data={
        "rule": "civil_code_278_ordinary", "basis": "households", "secret": "y", "closes_on": day,
        "closes_time": "20:00", "objection_days": "3", "max_choices": "1"})
    assert bad.status_code == 400 and "cannot be secret" in bad.get_data(as_text=True)
    response = client.post(f"/proposals/{lift['proposal']}/vote", data={
        "rule": "civil_code_278_ordinary", "basis": "households", "closes_on": day, "closes_time": "20:00",
        "objection_days": "3", "max_choices": "1"})
    assert response.status_code == 302
    with app.app_context():
        poll = db.session.scalar(sa.select(Poll))
        assert poll.basis is Basis.OWNERS and poll.closes_at.hour == 12  # 20:00 in Shanghai is 12:00 UTC
        assert poll.objection_days == 3
    for username in ("resident", "leader", "outsider"):
        assert login(username).get(f"/proposals/{lift['proposal']}/vote").status_code == 403


def test_voting_through_the_page_shows_the_tracker_once(app, world, lift, login):
    poll_id = _open(app, lift["proposal"], Rule.SIMPLE_MAJORITY, Basis.HOUSEHOLDS, secret=True)
    client = login("resident")
    page = client.get(f"/votes/{poll_id}").get_data(as_text=True)
    assert "Cast this ballot" in page and "Secret" in page
    with app.app_context():
        line_id = _line(poll_id, world.h11).id
    response = client.post(f"/votes/{poll_id}/lines/{line_id}/cast", data={"choice": "for"})
    text = response.get_data(as_text=True)
    shown = re.search(r'class="tracker"[^>]*>([2-9A-Z ]{14})<', text).group(1)
    tracker = shown.replace(" ", "")
    assert response.headers["Cache-Control"] == "no-store"
    again = client.get(f"/votes/{poll_id}").get_data(as_text=True)
    assert tracker not in again and "A ballot has been cast for this line." in again
    with client.session_transaction() as session:
        assert tracker not in repr(dict(session))
    twice = client.post(f"/votes/{poll_id}/lines/{line_id}/cast", data={"choice": "against"}, follow_redirects=True)
    assert "already been cast" in twice.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SecretBallot)) == 1
        _close(poll_id)
    found = client.get(f"/votes/{poll_id}/ballots?tracker={shown.lower()}").get_data(as_text=True)
    assert tracker in found and "In favour" in found
    missing = client.get(f"/votes/{poll_id}/ballots?tracker=ZZZZZZZZZZZZ").get_data(as_text=True)
    assert "No ballot has this tracker" in missing


def test_forged_and_foreign_ballots_record_nothing(app, world, lift, login):
    poll_id = _open(app, lift["proposal"], Rule.SIMPLE_MAJORITY, Basis.HOUSEHOLDS)
    with app.app_context():
        line_id, other_id = _line(poll_id, world.h11).id, _line(poll_id, world.h12).id
    client = login("resident")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert client.post(f"/votes/{poll_id}/lines/{line_id}/cast", data={"choice": "for"}).status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    client = login("resident")
    client.post(f"/votes/{poll_id}/lines/{other_id}/cast", data={"choice": "for"})  # not their household
    client.post(f"/votes/{poll_id}/lines/{line_id}/cast", data={"choice": "maybe"})  # not a choice
    assert login("outsider").post(f"/votes/{poll_id}/lines/{line_id}/cast", data={"choice": "for"}).status_code == 403
    with app.app_context():
        assert polls.turnout(db.session.get(Poll, poll_id)).voted == 0


def test_tellers_pages_inside_and_outside_the_estate(app, world, lift, login):
    poll_id = _open(app, lift["proposal"], Rule.SIMPLE_MAJORITY, Basis.HOUSEHOLDS, secret=True)
    expected = {"team": 200, "leader": 200, "secretary": 200, "committee": 200, "resident": 403,
                "outsider": 403, "leader3": 403, "admin3": 403}
    for username, status in expected.items():
        client = login(username)
        assert client.get(f"/votes/{poll_id}/roll").status_code == status, username
        paper = 403 if username == "leader" else status  # batches are for the estate's tellers
        assert client.get(f"/votes/{poll_id}/paper").status_code == paper, username
    for username, status in {"resident": 200, "leader": 200, "outsider": 403, "newcomer": 403}.items():
        assert login(username).get(f"/votes/{poll_id}").status_code == status, username
        assert login(username).get(f"/votes/{poll_id}/proxies").status_code == status, username
    assert login("resident").get(f"/votes/{poll_id}/ballots").status_code == 404  # not before the close
    assert login("resident").get("/votes/999999").status_code == 404


def test_a_building_leader_tells_for_their_own_building_only(app, world, login):
    with app.app_context():
        proposal_id = _on_agenda(world).id  # the whole estate: b1 and b2
        db.session.commit()
    poll_id = _open(app, proposal_id, Rule.SIMPLE_MAJORITY, Basis.HOUSEHOLDS)
    with app.app_context():
        h11, h21 = _line(poll_id, world.h11).id, _line(poll_id, world.h21).id
    client = login("leader")  # building leader of b1
    roll = client.get(f"/votes/{poll_id}/roll").get_data(as_text=True)
    assert "1号楼 1-101" in roll and "2号楼 1-101" not in roll
    assert client.post(f"/votes/{poll_id}/lines/{h21}/paper", data={"choice": "for"}).status_code == 403
    client.post(f"/votes/{poll_id}/lines/{h11}/paper", data={"choice": "for"})
    with app.app_context():
        assert _line(poll_id, world.h11).status is Channel.PAPER and _line(poll_id, world.h21).status is None


def test_tellers_record_proxy_check_off_and_enter_paper_through_pages(app, world, lift, login):
    poll_id = _open(app, lift["proposal"], Rule.SIMPLE_MAJORITY, Basis.HOUSEHOLDS, secret=True)
    with app.app_context():
        h12, h13 = _line(poll_id, world.h12).id, _line(poll_id, lift["h13"]).id
    client = login("team")
    client.post(f"/votes/{poll_id}/lines/{h12}/proxy", data={"holder": "owner13"})
    client.post(f"/votes/{poll_id}/lines/{h13}/paper", data={})
    bad = client.post(f"/votes/{poll_id}/paper", data={"in_favour": 2, "against": 0, "abstain": 0})
    assert bad.status_code == 400 and "more paper ballots than papers issued" in bad.get_data(as_text=True)
    client.post(f"/votes/{poll_id}/paper", data={"in_favour": 1, "against": 0, "abstain": 0})
    roll = client.get(f"/votes/{poll_id}/roll").get_data(as_text=True)
    assert "On paper" in roll and "owner13" in roll
    assert "owner13" in login("resident").get(f"/votes/{poll_id}/proxies").get_data(as_text=True)
    with app.app_context():
        poll = db.session.get(Poll, poll_id)
        assert poll.paper_entered == 1 and _line(poll_id, world.h12).proxy_id == _user("owner13").id


def test_vote_and_roll_pages_take_a_fixed_number_of_queries(app, world, lift, login):
    poll_id = _open(app, lift["proposal"], Rule.SIMPLE_MAJORITY, Basis.HOUSEHOLDS)
    client = login("team")

    def queries(url):
        with counting(app) as statements:
            assert client.get(url).status_code == 200
        return len(statements)

    before = [queries(f"/votes/{poll_id}"), queries(f"/votes/{poll_id}/roll"), queries(f"/votes/{poll_id}/proxies")]
    with app.app_context():
        poll, teller = db.session.get(Poll, poll_id), _user("team")
        b1 = db.session.get(Place, world.b1)
        for i in range(30):  # more lines, proxies and ballots on the same frozen roll's page
            db.session.add(RollLine(poll_id=poll_id, household_id=create_household(
                b1, "9", f"{i:03d}", 5000, Tenure.OWNER_OCCUPIED, None).id, label=f"x{i}", area_dm2=5000))
        db.session.flush()
        polls.record_proxy(poll, _line(poll_id, world.h12), _user("owner13"), teller)
        polls.check_off(poll, _line(poll_id, lift["h14"]), teller, Choice.FOR)
        db.session.commit()
    after = [queries(f"/votes/{poll_id}"), queries(f"/votes/{poll_id}/roll"), queries(f"/votes/{poll_id}/proxies")]
    assert after == before


def test_a_ballot_is_cast_in_a_fixed_number_of_statements(app, world, lift, login):
    """A Friday vote's peak is a whole estate casting within minutes: the first cast a process takes reads the
    poll (9 statements at most: the receipt is made before the commit, nothing is read again), and every cast
    after it, from voters it has never seen, runs the same few (`CAST_STATEMENTS`): the voter with their
    standing, the roll line's update (which also checks the line is theirs and the poll open) and the ballot."""
    poll_id = _open(app, lift["proposal"], Rule.SIMPLE_MAJORITY, Basis.HOUSEHOLDS, secret=True)
    counts = []
    for username, household in (("resident", world.h11), ("owner12", world.h12), ("owner13", lift["h13"])):
        client = login(username)
        with app.app_context():
            line_id = _line(poll_id, household).id
        with counting(app) as statements:
            response = client.post(f"/votes/{poll_id}/lines/{line_id}/cast", data={"choice": "for"})
        assert response.status_code == 200 and 'class="tracker"' in response.get_data(as_text=True)
        counts.append(len(statements))
    assert counts[0] <= 9 and counts[1] == counts[2] == CAST_STATEMENTS, counts
