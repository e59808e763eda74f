"""Owners' votes taken from the owner register: an owner of several units is one head with their areas
added, a co-owned unit is one vote cast by the named co-owner, parking is left out, a unit sold during
the vote is cast by its new owner, and both Art. 278 denominators are the right ones."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from council.accounts.models import User
from council.ballots import services as polls
from council.ballots.models import Basis, Channel, Poll, RollLine
from council.ballots.rules import Choice, Measure, Rule
from council.exceptions import Refused
from council.extensions import db
from council.owners.services import OwnerEntry, record_owners
from council.proposals import services as proposals
from council.proposals import stages
from council.proposals.rules import Category
from council.sqltypes import utcnow
from council.territory.models import Household, Place, Tenure, UnitKind
from council.territory.services import create_household
from tests import factories

WANG, LI, ZHAO, NEW = "13900000001", "13900000002", "13900000003", "13900000004"


def _user(username):
    return db.session.scalar(sa.select(User).where(User.username == username))


@pytest.fixture
def estate(app, world):
    """b1: h11 (resident, 86.50 m²), h12 and h14 (王伟 owns both), h13 (李强 and 赵敏, 李强 casts),
    a parking space of 王伟; a lift proposal for b1 on the agenda."""
    with app.app_context():
        b1 = db.session.get(Place, world.b1)
        h13 = create_household(b1, "1", "201", 12000, Tenure.OWNER_OCCUPIED, None)
        h14 = create_household(b1, "1", "202", 6000, Tenure.OWNER_OCCUPIED, None)
        p1 = create_household(b1, "P", "001", 1200, Tenure.OWNER_OCCUPIED, None)
        for username, mobile in (("wang", WANG), ("li", LI), ("zhao", ZHAO), ("buyer", NEW)):
            factories.person(username, mobile=mobile)
        staff = _user("committee")
        record_owners(db.session.get(Household, world.h11), [OwnerEntry("周丽华", "13800138000")], "C-11", staff)
        record_owners(db.session.get(Household, world.h12), [OwnerEntry("王伟", WANG)], "C-12", staff)
        record_owners(h14, [OwnerEntry("王伟", WANG)], "C-14", staff)
        record_owners(h13, [OwnerEntry("李强", LI, caster=True), OwnerEntry("赵敏", ZHAO)], "C-13", staff)
        record_owners(p1, [OwnerEntry("王伟", WANG)], "C-P1", staff, kind=UnitKind.PARKING)
        resident = _user("resident")
        proposal = proposals.create(db.session.get(Place, world.estate), resident, "加装电梯", "", Category.LIFT,
                                    building_ids=[world.b1])
        proposals.publish(proposal, resident)
        proposal.eligible_at = utcnow()
        stages.put_on_agenda(proposal, _user("secretary"))
        db.session.commit()
        return dict(proposal=proposal.id, h13=h13.id, h14=h14.id, p1=p1.id)


def _open(app, proposal_id, rule=Rule.CIVIL_CODE_278_ORDINARY):
    with app.app_context():
        poll = stages.open_vote(db.session.get(proposals.Proposal, proposal_id), _user("secretary"), rule,
                                Basis.OWNERS, False, utcnow() + timedelta(days=7))
        db.session.commit()
        return poll.id


def _line(poll_id, household_id) -> RollLine:
    return db.session.scalar(sa.select(RollLine).where(RollLine.poll_id == poll_id,
                                                       RollLine.household_id == household_id))


def _cast(poll_id, username, household_id, choice=Choice.FOR):
    polls.cast(db.session.get(Poll, poll_id), _line(poll_id, household_id), choice, _user(username))


def test_the_roll_follows_the_register(app, world, estate):
    poll_id = _open(app, estate["proposal"])
    with app.app_context():
        poll = db.session.get(Poll, poll_id)
        assert poll.by_register
        lines = {line.household_id: line for line in db.session.scalars(
            sa.select(RollLine).where(RollLine.poll_id == poll_id))}
        assert set(lines) == {world.h11, world.h12, estate["h13"], estate["h14"]}  # parking left out
        assert lines[world.h12].voter_key == lines[estate["h14"]].voter_key == f"m{WANG}"
        assert lines[estate["h13"]].voter_key == f"m{LI}+m{ZHAO}"
        result = polls.count(poll)
        assert (result.roll_heads, result.roll_area_dm2) == (3, 8650 + 7200 + 12000 + 6000)


def test_an_owner_of_several_units_votes_once_for_all_of_them(app, world, estate):
    poll_id = _open(app, estate["proposal"])
    with app.app_context():
        _cast(poll_id, "wang", world.h12, Choice.AGAINST)
        db.session.commit()
        assert _line(poll_id, estate["h14"]).status is Channel.ONLINE  # the same owner's other unit
        with pytest.raises(Refused):
            _cast(poll_id, "wang", estate["h14"], Choice.FOR)
        db.session.rollback()
        result = polls.count(db.session.get(Poll, poll_id))
        assert (result.heads.against, result.area_dm2.against) == (1, 7200 + 6000)


def test_a_co_owned_unit_is_cast_by_the_named_co_owner_only(app, world, estate):
    poll_id = _open(app, estate["proposal"])
    with app.app_context():
        with pytest.raises(Refused):
            _cast(poll_id, "zhao", estate["h13"])
        db.session.rollback()
        assert polls.lines_for(db.session.get(Poll, poll_id), _user("zhao")) == []
        _cast(poll_id, "li", estate["h13"])
        db.session.commit()
        assert _line(poll_id, estate["h13"]).cast_by_id == _user("li").id


def test_a_unit_sold_during_the_vote_is_cast_by_its_new_owner(app, world, estate):
    poll_id = _open(app, estate["proposal"])
    with app.app_context():
        record_owners(db.session.get(Household, world.h11), [OwnerEntry("新业主", NEW)], "C-11-NEW",
                      _user("committee"))
        db.session.commit()
        with pytest.raises(Refused):  # the seller no longer votes
            _cast(poll_id, "resident", world.h11)
        db.session.rollback()
        _cast(poll_id, "buyer", world.h11)
        db.session.commit()
        assert _line(poll_id, world.h11).voter_key == f"m{NEW}"
        assert polls.count(db.session.get(Poll, poll_id)).heads.in_favour == 1


def test_a_vote_already_cast_stays_when_the_unit_is_sold(app, world, estate):
    poll_id = _open(app, estate["proposal"])
    with app.app_context():
        _cast(poll_id, "resident", world.h11, Choice.AGAINST)
        record_owners(db.session.get(Household, world.h11), [OwnerEntry("新业主", NEW)], "C-11-NEW",
                      _user("committee"))
        db.session.commit()
        with pytest.raises(Refused):
            _cast(poll_id, "buyer", world.h11)
        db.session.rollback()
        assert _line(poll_id, world.h11).choice is Choice.AGAINST


def test_opening_is_refused_while_a_unit_has_no_owner_on_the_register(app, world, estate):
    with app.app_context():
        create_household(db.session.get(Place, world.b1), "1", "301", 9000, Tenure.OWNER_OCCUPIED, None)
        db.session.commit()
        proposal = db.session.get(proposals.Proposal, estate["proposal"])
        with pytest.raises(Refused, match="1-301"):
            stages.open_vote(proposal, _user("secretary"), Rule.CIVIL_CODE_278_ORDINARY, Basis.OWNERS, False,
                             utcnow() + timedelta(days=7))


def test_both_art_278_denominators(app, world, estate):
    """Participation over the WHOLE roll; approval over those who TOOK PART (mixing them is the usual bug)."""
    poll_id = _open(app, estate["proposal"])
    with app.app_context():
        _cast(poll_id, "wang", world.h12, Choice.FOR)  # 13 200 dm², one head
        _cast(poll_id, "li", estate["h13"], Choice.AGAINST)  # 12 000 dm², one head
        db.session.commit()
        poll = db.session.get(Poll, poll_id)
        polls.close(poll, None, poll.closes_at)
        result = polls.stored_result(poll)
        t = {item.measure: (item.numerator, item.denominator, item.met) for item in result.thresholds}
        assert t[Measure.PARTICIPATION_AREA] == (25200, 33850, True)  # 74.4% ≥ 2/3
        assert t[Measure.PARTICIPATION_OWNERS] == (2, 3, True)  # exactly 2/3 counts
        assert t[Measure.APPROVAL_AREA] == (13200, 25200, True)  # 52.4% > 1/2
        assert t[Measure.APPROVAL_OWNERS] == (1, 2, False)  # exactly half is not more than half
        assert not result.passed


def test_two_units_of_one_owner_submitted_at_once_make_one_ballot(app, world, estate):
    poll_id = _open(app, estate["proposal"])
    barrier, outcomes = threading.Barrier(2), []

    def vote(household_id):
        with app.app_context():
            try:
                barrier.wait()
                _cast(poll_id, "wang", household_id)
                db.session.commit()
                outcomes.append("ok")
            except Refused:
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=vote, args=(h,)) for h in (world.h12, estate["h14"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["ok", "refused"]
    with app.app_context():
        result = polls.count(db.session.get(Poll, poll_id))
        assert (result.heads.cast, result.area_dm2.cast) == (1, 13200)


def test_import_owners_from_the_command_line(app, world, tmp_path):
    csv_file = tmp_path / "owners.csv"
    csv_file.write_text(
        "building,unit,room,certificate_no,owner_name,owner_mobile,caster,kind\n"
        f"1号楼,1,101,A-1,周丽华,13800138000,,\n"
        f"1号楼,1,102,A-2,王伟,{WANG},y,\n"
        f"1号楼,1,102,A-2,王芳,,,\n"
        f"2号楼,1,101,A-3,王伟,{WANG},,\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["council", "import-owners", str(csv_file), "--estate", "化肥厂小区"])
    assert result.exit_code == 0, result.output
    assert "Recorded 4 owner(s) of 3 unit(s)" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("building,unit,room,certificate_no,owner_name\n1号楼,9,909,B-1,某人\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["council", "import-owners", str(bad), "--estate", "化肥厂小区"])
    assert result.exit_code != 0 and "line 2" in result.output and "nothing was imported" in result.output


def test_an_owner_living_elsewhere_reads_the_proposal_and_votes_online(app, world, estate, login):
    poll_id = _open(app, estate["proposal"])
    with app.app_context():
        line_id = _line(poll_id, estate["h14"]).id
    client = login("wang")  # owns two flats in b1, lives elsewhere, not a member of any household
    assert client.get(f"/proposals/{estate['proposal']}").status_code == 200
    assert "Cast this ballot" in client.get(f"/votes/{poll_id}").get_data(as_text=True)
    client.post(f"/votes/{poll_id}/lines/{line_id}/cast", data={"choice": "for"})
    with app.app_context():
        assert _line(poll_id, world.h12).choice is Choice.FOR  # both flats, one ballot
    assert login("outsider").get(f"/votes/{poll_id}").status_code == 403
    assert login("zhao").get(f"/votes/{poll_id}").status_code == 200  # a co-owner sees it, but casts nothing
    assert "You have no ballot" in login("zhao").get(f"/votes/{poll_id}").get_data(as_text=True)
