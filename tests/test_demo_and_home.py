"""Demo data (idempotent, every role, printed sign-ins) and what the home page shows."""
from __future__ import annotations

import sqlalchemy as sa

from council.accounts.models import User
from council.ballots import services as polls
from council.ballots.models import Poll, PollState
from council.ballots.rules import Rule
from council.demo import DEMO_PASSWORD
from council.extensions import db
from council.meetings import services as meetings
from council.meetings.models import Meeting, Minutes
from council.meetings.rules import ItemKind, MeetingState, MinutesState
from council.membership.models import Membership
from council.proposals.models import Proposal
from council.proposals.rules import ProposalState
from council.roles.models import Role, RoleGrant
from council.territory.models import Household, Place, PlaceKind


def counts(app):
    with app.app_context():
        return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(model))
                     for model in (Place, Household, User, Membership, RoleGrant))


def test_seed_demo_is_idempotent_and_complete(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["council", "seed-demo"])
    assert result.exit_code == 0, result.output
    assert "secretary" in result.output and DEMO_PASSWORD in result.output
    first = counts(app)
    assert first[1] > 5000  # 青和居 alone has about 5,200 households
    again = runner.invoke(args=["council", "seed-demo"])
    assert again.exit_code == 0 and "already present" in again.output
    assert counts(app) == first
    assert "not added" in runner.invoke(args=["council", "seed-demo", "--if-empty"]).output
    with app.app_context():
        held = set(db.session.scalars(sa.select(RoleGrant.role)))
        assert held == set(Role)
        names = set(db.session.scalars(sa.select(Place.name).where(Place.kind == PlaceKind.ESTATE)))
        assert {"化肥厂小区", "香林美域", "翰林学苑", "青和居", "送变电家园"} <= names
        qinghe = db.session.scalar(sa.select(Place).where(Place.name == "青和居"))
        assert db.session.scalar(sa.select(sa.func.count(Place.id)).where(Place.parent_id == qinghe.id)) == 19
        # The lift of 送变电家园 10号楼: an Art. 278 owners' vote online, by proxy and on paper, passed.
        lift = db.session.scalar(sa.select(Poll).where(Poll.title == "10号楼加装电梯"))
        assert (lift.state, lift.rule, lift.passed) == (PollState.CLOSED, Rule.CIVIL_CODE_278_SPECIAL, True)
        turnout = polls.turnout(lift)
        # 24 flats (parking spaces left out); sbd01 owns two flats and voted once for both.
        assert (turnout.online, turnout.proxy, turnout.paper, turnout.roll) == (13, 2, 4, 24)
        assert lift.by_register and polls.stored_result(lift).roll_heads == 23
        assert polls.count(lift) == polls.stored_result(lift)
        # 化肥厂小区's Friday meeting: a weekly series whose next agenda is published from the concerns list.
        held = db.session.scalar(sa.select(Minutes).where(Minutes.state == MinutesState.PUBLISHED))
        assert held is not None and "楼道照明改造方案" in held.body and "物业公司刘经理" in held.body
        assert "两个方案都交全体住户投票决定" in held.body  # the e-bike shed proposal, then its vote
        friday = db.session.scalar(sa.select(Meeting).where(Meeting.state == MeetingState.PUBLISHED,
                                                            Meeting.series_id.is_not(None)))
        kinds = [item.kind for item in meetings.agenda(friday)]
        assert kinds[0] is ItemKind.FOLLOW_UP and kinds.count(ItemKind.CONCERN) == 3 and ItemKind.PROPOSAL in kinds
        proposal = db.session.get(Proposal, lift.subject_id)
        assert proposal.state is ProposalState.PASSED and proposal.eligible_at is not None


def test_demo_logins_work(app, client):
    app.test_cli_runner().invoke(args=["council", "seed-demo"])
    response = client.post("/login", data={"login": "resident", "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert "化肥厂小区" in client.get("/").text


def test_home_for_a_newcomer_points_to_joining(world, login):
    page = login("newcomer").get("/").text
    assert "/join" in page


def test_home_for_staff_lists_roles(world, login):
    page = login("leader").get("/").text
    assert f"/places/{world.b1}" in page


def test_site_admin_creates_a_street(app, world, login):
    client = login("siteadmin")
    assert client.post("/streets/new", data={"name": "工人村街道"}).status_code == 302
    assert login("street_admin").post("/streets/new", data={"name": "另一个街道"}).status_code == 403
