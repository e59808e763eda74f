"""Meetings: a weekly Friday series (skip or move one date), single meetings of every kind, the agenda from
this week's concerns and from proposals, publishing to members, party meetings, RSVPs, calendar files."""
from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from icalendar import Calendar

from council.accounts.models import User
from council.concerns import services as concerns
from council.concerns.models import Concern
from council.concerns.rules import Category as ConcernCategory
from council.exceptions import Refused
from council.extensions import db
from council.meetings import console, rules
from council.meetings import services as meetings
from council.meetings.models import ActionItem, AgendaItem, Meeting, MeetingSeries, Rsvp
from council.meetings.rules import ItemKind, MeetingKind, MeetingState
from council.membership import services as membership
from council.notifications.models import Notification
from council.proposals import services as proposals
from council.proposals.models import Proposal
from council.proposals.rules import Category, ProposalState
from council.sqltypes import utcnow
from council.territory.models import Place
from tests.helpers import counting

NEXT_WEEK = timedelta(days=7)


def _user(username):
    return db.session.scalar(sa.select(User).where(User.username == username))


def _meeting(world, kind=MeetingKind.FRIDAY, when=None, **extra) -> Meeting:
    estate = db.session.get(Place, world.estate)
    return meetings.schedule(estate, _user("secretary"), kind, "相约星期五", when or utcnow() + NEXT_WEEK, "居委会议室",
                             **extra)


# ---- pure rules ------------------------------------------------------------------------------------

@given(st.integers(0, 6), st.dates(date(2020, 1, 1), date(2030, 1, 1)), st.integers(0, 60))
def test_series_dates_fall_on_the_weekday_a_week_apart(weekday, start, days):
    dates = rules.series_dates(weekday, start, start + timedelta(days=days))
    assert all(d.weekday() == weekday and start <= d <= start + timedelta(days=days) for d in dates)
    assert all(b - a == timedelta(days=7) for a, b in zip(dates, dates[1:], strict=False))
    assert len(dates) in (days // 7, days // 7 + 1)


def test_a_friday_start_is_its_own_first_date():
    friday = date(2026, 11, 27)
    assert rules.series_dates(rules.FRIDAY, friday, friday) == [friday]
    assert rules.series_dates(rules.FRIDAY, friday + timedelta(days=1), friday + timedelta(days=7)) == \
        [friday + timedelta(days=7)]


@given(st.lists(st.integers(1, 1000), min_size=1, max_size=12, unique=True), st.data())
def test_moving_keeps_every_item_once(order, data):
    item = data.draw(st.sampled_from(order))
    step = data.draw(st.integers(-20, 20))
    after = rules.moved(order, item, step)
    assert sorted(after) == sorted(order)
    assert after.index(item) == max(0, min(len(order) - 1, order.index(item) + step))


@pytest.mark.parametrize("kind", list(MeetingKind))
def test_who_sees_a_meeting(kind):
    for state in MeetingState:
        assert rules.may_see(kind, state, organiser=True, member=False, party_member=False)
        assert not rules.may_see(kind, MeetingState.DRAFT, organiser=False, member=True, party_member=True)
    expected = kind is not MeetingKind.PARTY
    assert rules.may_see(kind, MeetingState.PUBLISHED, False, member=True, party_member=False) is expected
    assert rules.may_see(kind, MeetingState.PUBLISHED, False, member=False, party_member=True) is (not expected)


# ---- the weekly series -------------------------------------------------------------------------------

def test_a_weekly_series_skips_or_moves_one_date_without_breaking(app, world):
    monday = date(2026, 11, 23)
    with app.app_context():
        estate = db.session.get(Place, world.estate)
        series = meetings.start_series(estate, _user("secretary"), "相约星期五", today=monday)
        dates = list(db.session.scalars(sa.select(Meeting.series_date).where(Meeting.series_id == series.id)
                                        .order_by(Meeting.series_date)))
        assert dates == [date(2026, 11, 27) + timedelta(weeks=i) for i in range(4)]
        first = db.session.scalar(sa.select(Meeting).where(Meeting.series_date == date(2026, 11, 27)))
        assert (first.starts_at.hour, first.starts_at.minute) == (11, 30)  # Friday 19:30 in Shanghai
        meetings.cancel(first, _user("secretary"))
        second = db.session.scalar(sa.select(Meeting).where(Meeting.series_date == date(2026, 12, 4)))
        meetings.move(second, _user("secretary"), second.starts_at + timedelta(days=1), "小区凉亭",
                      now=datetime(2026, 11, 23, tzinfo=second.starts_at.tzinfo))
        db.session.commit()
        assert meetings.extend_series(series, None, monday) == 0  # the skipped date is not recreated
        assert meetings.extend_series(series, None, monday + timedelta(weeks=1)) == 1  # one more week ahead
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count(Meeting.id)).where(Meeting.series_id == series.id)) == 5
        assert db.session.get(Meeting, second.id).series_date == date(2026, 12, 4)  # moved, still in the series


def test_only_a_place_and_a_future_time(app, world):
    with app.app_context():
        building = db.session.get(Place, world.b1)
        with pytest.raises(Refused):
            meetings.schedule(building, _user("secretary"), MeetingKind.BUILDING, "一楼见", utcnow() + NEXT_WEEK)
        with pytest.raises(Refused):
            _meeting(world, when=utcnow() - timedelta(hours=1))
        with pytest.raises(Refused):
            meetings.start_series(db.session.get(Place, world.estate), _user("secretary"), " ")


# ---- the agenda ----------------------------------------------------------------------------------------

@pytest.fixture
def week(app, world):
    """Two open concerns at the estate, one at another estate, and a proposal with enough co-signatures."""
    with app.app_context():
        estate, resident = db.session.get(Place, world.estate), _user("resident")
        leaky = concerns.report(estate, resident, "楼道灯不亮", "三楼到五楼", ConcernCategory.FACILITIES, True)
        parking = concerns.report(estate, resident, "消防通道停车", "", ConcernCategory.SAFETY, True)
        elsewhere = concerns.report(db.session.get(Place, world.estate2), _user("leader3"), "别的小区", "",
                                    ConcernCategory.OTHER, True)
        proposal = proposals.create(estate, resident, "建电动车棚", "", Category.EBIKE_SHED)
        proposals.publish(proposal, resident)
        proposal.eligible_at = utcnow()
        db.session.commit()
        return dict(leaky=leaky.id, parking=parking.id, elsewhere=elsewhere.id, proposal=proposal.id)


def test_the_agenda_from_concerns_and_a_proposal_with_a_follow_up(app, world, week):
    with app.app_context():
        earlier = _meeting(world, when=utcnow() + timedelta(days=1))
        assert meetings.agenda(earlier) == []  # the first meeting has nothing to follow up
        meeting = _meeting(world)
        assert [i.kind for i in meetings.agenda(meeting)] == [ItemKind.FOLLOW_UP]
        concerns_now, proposals_now = meetings.candidates(meeting, meetings.Standing(
            member_places=frozenset({world.estate}), roles=frozenset()))
        assert {c.id for c in concerns_now} >= {week["leaky"], week["parking"]}
        assert week["elsewhere"] not in {c.id for c in concerns_now}
        assert [p.id for p in proposals_now] == [week["proposal"]]
        meetings.add_concern(meeting, db.session.get(Concern, week["leaky"]))
        with pytest.raises(Refused):
            meetings.add_concern(meeting, db.session.get(Concern, week["leaky"]))  # once
        with pytest.raises(Refused):
            meetings.add_concern(meeting, db.session.get(Concern, week["elsewhere"]))  # another estate
        meetings.add_proposal(meeting, db.session.get(Proposal, week["proposal"]), _user("secretary"))
        meetings.add_free(meeting, "物业费收缴情况通报", "物业公司", 15)
        db.session.commit()
        assert db.session.get(Proposal, week["proposal"]).state is ProposalState.ON_AGENDA
        items = meetings.agenda(meeting)
        assert [i.position for i in items] == [1, 2, 3, 4]
        meetings.move_item(meeting, items[3], -2)
        meetings.remove_item(meeting, meetings.agenda(meeting)[0])
        db.session.commit()
        assert [i.title for i in meetings.agenda(meeting)] == ["物业费收缴情况通报", "楼道灯不亮", "建电动车棚"]
        assert [i.position for i in meetings.agenda(meeting)] == [1, 2, 3]


# ---- publishing, party meetings, answers, calendars ---------------------------------------------------------

def _published_pair(app, world) -> dict:
    """An open Friday meeting and a party members' meeting, both published; the resident is a party member."""
    with app.app_context():
        open_meeting = _meeting(world)
        party = _meeting(world, kind=MeetingKind.PARTY)
        estate = db.session.get(Place, world.estate)
        membership.record_party_member(_user("secretary"), estate, False, _user("secretary"))
        membership.record_party_member(_user("resident"), estate, False, _user("secretary"))
        assert meetings.publish(open_meeting, _user("secretary")) >= 1
        assert meetings.publish(party, _user("secretary")) == 1  # the resident (the secretary is the actor)
        with pytest.raises(Refused):
            meetings.publish(party, _user("secretary"))
        db.session.commit()
        told = set(db.session.scalars(sa.select(Notification.subject_id).where(
            Notification.user_id == _user("resident").id, Notification.verb == "meeting.published")))
        assert told == {open_meeting.id, party.id}
        return dict(open_meeting=open_meeting.id, party=party.id)


def test_publishing_tells_members_and_party_meetings_stay_with_party_members(app, world):
    ids = _published_pair(app, world)
    assert ids["open_meeting"] != ids["party"]


def test_meeting_pages_inside_and_outside(app, world, login):
    ids = _published_pair(app, world)
    with app.app_context():
        draft = _meeting(world).id
        db.session.commit()
    cases = {"resident": (200, 200, 403), "leader": (200, 403, 403), "secretary": (200, 200, 200),
             "committee": (200, 200, 200), "outsider": (403, 403, 403), "leader3": (403, 403, 403)}
    for username, expected in cases.items():
        client = login(username)
        got = tuple(client.get(f"/meetings/{mid}").status_code for mid in (ids["open_meeting"], ids["party"], draft))
        assert got == expected, username
    assert login("resident").post(f"/meetings/{draft}/publish").status_code == 403
    assert login("team").post(f"/meetings/{draft}/publish").status_code == 403  # not an organiser
    assert login("secretary").get("/meetings/999999").status_code == 404


def test_answers_count_once_and_change(app, world, login):
    with app.app_context():
        meeting = _meeting(world)
        meetings.publish(meeting, _user("secretary"))
        db.session.commit()
        meeting_id = meeting.id
    client = login("resident")
    client.post(f"/meetings/{meeting_id}/rsvp", data={"coming": "yes"})
    client.post(f"/meetings/{meeting_id}/rsvp", data={"coming": "yes"})
    client.post(f"/meetings/{meeting_id}/rsvp", data={"coming": "no"})
    with app.app_context():
        rows = db.session.execute(sa.select(Rsvp.user_id, Rsvp.coming).where(Rsvp.meeting_id == meeting_id)).all()
        assert rows == [(_user("resident").id, False)]


def test_calendar_files(app, world, client, login):
    with app.app_context():
        meeting = _meeting(world)
        meetings.add_free(meeting, "电梯加装意见征集", minutes=30)
        meetings.publish(meeting, _user("secretary"))
        party = _meeting(world, kind=MeetingKind.PARTY)
        meetings.publish(party, _user("secretary"))
        db.session.commit()
        meeting_id, party_id = meeting.id, party.id
    one = Calendar.from_ical(login("resident").get(f"/meetings/{meeting_id}.ics").data)
    event = one.walk("VEVENT")[0]
    assert str(event["summary"]) == "相约星期五" and "电梯加装意见征集" in str(event["description"])
    assert event["dtend"].dt - event["dtstart"].dt == timedelta(minutes=30)
    client.post("/logout")
    feed = Calendar.from_ical(client.get(f"/places/{world.estate}/meetings.ics").data)  # no sign-in needed
    uids = {str(e["uid"]) for e in feed.walk("VEVENT")}
    assert f"meeting-{meeting_id}@council" in uids and f"meeting-{party_id}@council" not in uids


def test_scheduling_through_the_pages(app, world, login):
    client = login("secretary")
    assert client.get(f"/places/{world.estate}/meetings/new").status_code == 200
    day = (utcnow() + NEXT_WEEK).date().isoformat()
    bad = client.post(f"/places/{world.estate}/meetings/new", data={"kind": "friday", "title": "", "day": day,
                                                                    "at": "19:30"})
    assert bad.status_code == 400
    response = client.post(f"/places/{world.estate}/meetings/new", data={
        "kind": "forum", "title": "车棚选址恳谈会", "day": day, "at": "19:30", "location": "居委会",
        "chair": "committee", "invited_units": "物业公司、供电所"})
    assert response.status_code == 302
    client.post(f"/places/{world.estate}/meetings/new", data={"kind": "friday", "title": "相约星期五", "day": day,
                                                              "at": "19:30", "weekly": "y"})
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(MeetingSeries.id))) == 1
        forum = db.session.scalar(sa.select(Meeting).where(Meeting.title == "车棚选址恳谈会"))
        assert forum.chair_id == _user("committee").id and forum.state is MeetingState.DRAFT
    assert login("resident").get(f"/places/{world.estate}/meetings/new").status_code == 403
    listing = login("secretary").get(f"/places/{world.estate}/meetings").get_data(as_text=True)
    assert "车棚选址恳谈会" in listing
    assert "车棚选址恳谈会" not in login("resident").get(f"/places/{world.estate}/meetings").get_data(as_text=True)


def test_meeting_page_queries_do_not_grow_with_the_agenda(app, world, login, week):
    with app.app_context():
        meeting = _meeting(world)
        db.session.commit()
        meeting_id = meeting.id
    client = login("secretary")

    def queries():
        with counting(app) as statements:
            assert client.get(f"/meetings/{meeting_id}").status_code == 200
        return len(statements)

    before = queries()
    with app.app_context():
        meeting = db.session.get(Meeting, meeting_id)
        for i in range(12):
            meetings.add_free(meeting, f"议题{i}")
        db.session.commit()
    assert queries() == before
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AgendaItem.id))) == 12  # the first meeting: no follow-up


# ---- the live meeting and its action items ------------------------------------------------------------------

def test_is_overdue_the_day_after_the_deadline():
    due = date(2026, 12, 1)
    assert not rules.is_overdue(rules.ActionStatus.OPEN, due, due)
    assert rules.is_overdue(rules.ActionStatus.OPEN, due, due + timedelta(days=1))
    assert not rules.is_overdue(rules.ActionStatus.DONE, due, due + timedelta(days=30))


def test_the_console_checks_in_once_saves_items_and_sets_actions(app, world, week, login):
    with app.app_context():
        meeting = _meeting(world)
        item = meetings.add_concern(meeting, db.session.get(Concern, week["leaky"]))
        proposal_item = meetings.add_proposal(meeting, db.session.get(Proposal, week["proposal"]), _user("secretary"))
        meetings.publish(meeting, _user("secretary"))
        db.session.commit()
        ids = dict(meeting=meeting.id, item=item.id, proposal_item=proposal_item.id)
    client = login("secretary")
    page = client.get(f"/meetings/{ids['meeting']}/console")
    assert page.status_code == 200 and "楼道灯不亮" in page.get_data(as_text=True)
    for _ in range(2):
        client.post(f"/meetings/{ids['meeting']}/check-in", data={"login": "resident", "kind": "resident"})
    client.post(f"/meetings/{ids['meeting']}/check-in", data={"name": "物业张经理", "kind": "unit", "unit": "物业公司"})
    client.post(f"/meetings/{ids['meeting']}/check-in", data={"name": "物业张经理", "kind": "unit", "unit": "物业公司"})
    client.post(f"/meetings/{ids['meeting']}/items/{ids['item']}/notes", data={
        "notes": "三楼到五楼声控灯坏了", "decision": "物业一周内更换", "hands_for": "12", "hands_against": "0",
        "hands_abstain": "1"})
    due = (utcnow() + NEXT_WEEK).date().isoformat()
    client.post(f"/meetings/{ids['meeting']}/actions", data={"item_id": ids["item"], "what": "更换楼道灯",
                                                             "owner": "team", "due": due})
    refused = client.post(f"/meetings/{ids['meeting']}/actions", data={"what": "没人负责", "due": due},
                          follow_redirects=True)
    assert "Name who does it" in refused.get_data(as_text=True)
    with app.app_context():
        present = meetings_console_rows(ids["meeting"])
        assert sorted(present) == ["周丽华", "物业张经理"]
        item = db.session.get(AgendaItem, ids["item"])
        assert (item.decision, item.hands_for, item.hands_against, item.hands_abstain) == ("物业一周内更换", 12, 0, 1)
        action = db.session.scalar(sa.select(ActionItem))
        assert (action.owner_id, action.concern_id) == (_user("team").id, ids_concern(ids["item"]))
        told = db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
            Notification.user_id == _user("team").id, Notification.verb == "meeting.action"))
        assert told == 1
        action_id = action.id
    for username, status in {"resident": 403, "outsider": 403, "leader": 403}.items():
        assert login(username).get(f"/meetings/{ids['meeting']}/console").status_code == status
        assert login(username).post(f"/actions/{action_id}/done").status_code == status
    login("team").post(f"/actions/{action_id}/done", data={"note": "已换好"})  # the owner closes it
    with app.app_context():
        assert db.session.get(ActionItem, action_id).status is rules.ActionStatus.DONE
        assert db.session.get(Concern, week["leaky"]).status.value == "resolved"  # the concern moved on
    page = login("resident").get(f"/places/{world.estate}/actions?done=1").get_data(as_text=True)
    assert "更换楼道灯" in page and "已换好" in page


def test_closing_an_action_moves_a_passed_proposal_on(app, world, week):
    with app.app_context():
        meeting = _meeting(world)
        item = meetings.add_proposal(meeting, db.session.get(Proposal, week["proposal"]), _user("secretary"))
        proposal = db.session.get(Proposal, week["proposal"])
        proposal.state = ProposalState.PASSED  # as its vote would have left it
        action = console.add_action(meeting, _user("secretary"), "联系施工单位", utcnow().date(), unit="物业公司",
                                    item=item)
        console.close_action(action, _user("secretary"))
        assert proposal.state is ProposalState.IN_PROGRESS
        with pytest.raises(Refused):
            console.close_action(action, _user("secretary"))
        second = console.add_action(meeting, _user("secretary"), "验收", utcnow().date(), unit="物业公司", item=item)
        console.close_action(second, _user("secretary"))
        assert proposal.state is ProposalState.DONE
        assert console.remind_overdue_actions(utcnow().date() + timedelta(days=2)) == 0  # done ones are quiet


def meetings_console_rows(meeting_id):
    return [a.name for a in console.attendance(db.session.get(Meeting, meeting_id))]


def ids_concern(item_id):
    return db.session.get(AgendaItem, item_id).concern_id


def test_reordering_from_two_devices_keeps_a_consistent_order(app, world):
    """Two organisers move items at the same moment: every item keeps exactly one place, 1..n."""
    with app.app_context():
        meeting = _meeting(world)
        ids = [meetings.add_free(meeting, f"议题{i}").id for i in range(6)]
        db.session.commit()
        meeting_id = meeting.id
    barrier = threading.Barrier(2)

    def move(item_id, step):
        with app.app_context():
            try:
                found = db.session.get(Meeting, meeting_id)
                item = db.session.get(AgendaItem, item_id)
                barrier.wait()
                meetings.move_item(found, item, step)
                db.session.commit()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=move, args=(ids[5], -5)), threading.Thread(target=move, args=(ids[0], 3))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with app.app_context():
        rows = db.session.execute(sa.select(AgendaItem.id, AgendaItem.position)
                                  .where(AgendaItem.meeting_id == meeting_id)).all()
        assert sorted(p for _i, p in rows) == [1, 2, 3, 4, 5, 6]
        assert sorted(i for i, _p in rows) == sorted(ids)
