"""Minutes: drafted from the console, corrected by attendees, approved by the chair, published for
everyone without signing in, never changed (a correction is a new revision showing its differences),
printed on A4 with a QR code, found in the archive; party meetings' minutes stay with party members."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from council.exceptions import Refused
from council.extensions import db
from council.meetings import cobuilding, console, minutes
from council.meetings import services as meetings
from council.meetings.models import CoBuildingTask, Meeting, Minutes
from council.meetings.rules import MeetingKind, MinutesState
from council.membership import services as membership
from council.sqltypes import utcnow
from council.territory.models import Place
from tests.test_meetings import _meeting, _user


@pytest.fixture
def held(app, world):
    """A published Friday meeting chaired by the secretary, with the resident present and a decision taken."""
    with app.app_context():
        meeting = _meeting(world)
        item = meetings.add_free(meeting, "楼道堆放杂物清理", "服务队", 10)
        meetings.publish(meeting, _user("secretary"))
        console.check_in(meeting, _user("secretary"), _user("resident"))
        console.check_in(meeting, _user("secretary"), name="物业张经理", unit="物业公司")
        console.save_item(meeting, item, "二单元楼道纸箱很多", "本周六集中清理", (15, 1, 2))
        console.add_action(meeting, _user("secretary"), "组织志愿者清理", utcnow().date() + timedelta(days=5),
                           owner=_user("team"), item=item)
        db.session.commit()
        return meeting.id


def test_the_draft_is_written_from_the_console(app, held):
    with app.app_context():
        meeting = db.session.get(Meeting, held)
        draft = minutes.draft(meeting, _user("secretary"))
        for text in ("周丽华", "物业张经理（物业公司）", "楼道堆放杂物清理", "本周六集中清理", "15", "组织志愿者清理"):
            assert text in draft.body
        with pytest.raises(Refused):  # one draft at a time
            minutes.draft(meeting, _user("secretary"))


def test_from_draft_to_published_and_a_correcting_revision(app, world, held, client, login):
    secretary = login("secretary")
    secretary.post(f"/meetings/{held}/minutes")
    with app.app_context():
        draft_id = db.session.scalar(sa.select(Minutes.id))
    assert login("outsider").get(f"/minutes/{draft_id}").status_code == 403  # drafts are not public
    resident = login("resident")  # present at the meeting
    resident.post(f"/minutes/{draft_id}/corrections", data={"body": "清理时间是周六上午九点。"})
    assert login("leader").post(f"/minutes/{draft_id}/corrections", data={"body": "x"}).status_code == 403
    with app.app_context():
        correction = minutes.corrections(db.session.get(Minutes, draft_id))[0]
        with pytest.raises(Refused):  # a suggestion still waits
            minutes.approve(db.session.get(Minutes, draft_id), _user("secretary"))
        db.session.rollback()
        correction_id = correction.id
    secretary = login("secretary")
    secretary.post(f"/minutes/{draft_id}/corrections/{correction_id}/accept")
    secretary.post(f"/minutes/{draft_id}/edit", data={"body": "相约星期五\n决定：本周六上午九点集中清理楼道。"})
    secretary.post(f"/minutes/{draft_id}/approve")
    secretary.post(f"/minutes/{draft_id}/publish")
    with app.app_context():
        published = db.session.get(Minutes, draft_id)
        assert published.state is MinutesState.PUBLISHED
        with pytest.raises(Refused):  # never changed afterwards
            minutes.edit(published, "改过的内容")
    assert secretary.post(f"/minutes/{draft_id}/edit", data={"body": "改"}).status_code == 400
    client.post("/logout")
    anonymous = app.test_client()
    page = anonymous.get(f"/minutes/{draft_id}")
    assert page.status_code == 200 and "上午九点" in page.get_data(as_text=True)
    printed = anonymous.get(f"/minutes/{draft_id}/print").get_data(as_text=True)
    assert "<svg" in printed and f"/minutes/{draft_id}" in printed
    archive = anonymous.get(f"/places/{world.estate}/minutes?q=九点").get_data(as_text=True)
    assert f"/minutes/{draft_id}" in archive
    assert f"/minutes/{draft_id}" not in anonymous.get(f"/places/{world.estate}/minutes?q=不存在").get_data(
        as_text=True)
    # A correction after publication is a new revision that shows what changed.
    secretary = login("secretary")
    refused = secretary.post(f"/meetings/{held}/minutes", data={"change_note": ""}, follow_redirects=True)
    assert "Say what the new revision corrects." in refused.get_data(as_text=True)
    secretary.post(f"/meetings/{held}/minutes", data={"change_note": "时间改为十点"})
    with app.app_context():
        revision = db.session.scalar(sa.select(Minutes).where(Minutes.revision == 2))
        minutes.edit(revision, "相约星期五\n决定：本周六上午十点集中清理楼道。")
        minutes.approve(revision, _user("secretary"))
        minutes.publish(revision, _user("secretary"))
        db.session.commit()
        assert ("+", "决定：本周六上午十点集中清理楼道。") in minutes.differences(revision)
        revision_id = revision.id
        assert db.session.get(Minutes, draft_id).body.endswith("九点集中清理楼道。\n")  # revision 1 unchanged
    page = anonymous.get(f"/minutes/{revision_id}").get_data(as_text=True)
    assert "时间改为十点" in page and "上午九点" in page  # the difference shows the old line too


def test_only_the_chair_approves(app, held):
    with app.app_context():
        draft = minutes.draft(db.session.get(Meeting, held), _user("secretary"))
        with pytest.raises(Refused):
            minutes.approve(draft, _user("committee"))
        with pytest.raises(Refused):  # not approved yet
            minutes.publish(draft, _user("secretary"))


def test_party_meeting_minutes_stay_with_party_members(app, world, login):
    with app.app_context():
        meeting = _meeting(world, kind=MeetingKind.PARTY)
        meetings.publish(meeting, _user("secretary"))
        estate = db.session.get(Place, world.estate)
        membership.record_party_member(_user("resident"), estate, False, _user("secretary"))
        draft = minutes.draft(meeting, _user("secretary"))
        minutes.approve(draft, _user("secretary"))
        minutes.publish(draft, _user("secretary"))
        db.session.commit()
        minutes_id = draft.id
    assert app.test_client().get(f"/minutes/{minutes_id}").status_code == 302  # sign in first
    assert login("resident").get(f"/minutes/{minutes_id}").status_code == 200
    assert login("leader").get(f"/minutes/{minutes_id}").status_code == 403
    assert f"/minutes/{minutes_id}" not in app.test_client().get(f"/places/{world.estate}/minutes").get_data(
        as_text=True)


# ---- the co-building list (共建清单) -------------------------------------------------------------------------

def test_co_building_tasks_are_offered_claimed_once_and_done(app, world, login):
    with app.app_context():
        friday = _meeting(world)
        with pytest.raises(Refused):  # only at a joint meeting
            cobuilding.offer(friday, _user("secretary"), "x")
        joint = _meeting(world, kind=MeetingKind.JOINT)
        meetings.publish(joint, _user("secretary"))
        db.session.commit()
        joint_id, year = joint.id, joint.starts_at.year
    secretary = login("secretary")
    secretary.post(f"/meetings/{joint_id}/cobuilding", data={"title": "为独居老人上门检查燃气"})
    secretary.post(f"/meetings/{joint_id}/cobuilding", data={"title": "周末开放单位停车场"})
    with app.app_context():
        first, second = db.session.scalars(sa.select(CoBuildingTask).order_by(CoBuildingTask.id)).all()
        ids = (first.id, second.id)
    gas = login("outsider")  # any signed-in unit representative may claim
    gas.post(f"/cobuilding/{ids[0]}/claim", data={"unit": "燃气公司"})
    taken = login("resident").post(f"/cobuilding/{ids[0]}/claim", data={"unit": "别的单位"}, follow_redirects=True)
    assert "already claimed" in taken.get_data(as_text=True)
    assert login("resident").post(f"/cobuilding/{ids[0]}/done").status_code == 403
    login("outsider").post(f"/cobuilding/{ids[0]}/done", data={"note": "42户已查"})
    page = login("resident").get(f"/places/{world.estate}/cobuilding?year={year}").get_data(as_text=True)
    assert "Offered 2, claimed 1, done 1." in page and "燃气公司" in page and "Outside unit" in page
    with app.app_context():
        assert cobuilding.year_summary(db.session.get(Place, world.estate), year)[3][0].unit == "燃气公司"
