"""The concern's life through the pages: report, me too, handle, escalate, follow up, merge; who may do what."""
from __future__ import annotations

import re

import sqlalchemy as sa

from council.activity.models import Activity
from council.concerns.models import Concern, DepartmentCall, Support
from council.concerns.rules import ConcernStatus, Level
from council.extensions import db
from council.notifications.models import Notification

S = ConcernStatus


def report(client, place_id, title="3号楼楼道灯不亮", **extra):
    data = {"title": title, "description": "晚上很黑，老人下楼危险", "category": "facilities", "show_name": "y",
            **extra}
    return client.post(f"/places/{place_id}/concerns/new", data=data)


def concern_id_from(response) -> int:
    return int(re.search(r"/concerns/(\d+)", response.headers["Location"]).group(1))


def get(app, concern_id) -> Concern:
    with app.app_context():
        concern = db.session.get(Concern, concern_id)
        db.session.expunge(concern)
        return concern


def inbox_of(app, user_id) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Notification.verb).where(Notification.user_id == user_id)))


def test_full_life_of_a_concern(app, world, login):
    resident = login("resident")
    response = report(resident, world.b1)
    assert response.status_code == 302
    cid = concern_id_from(response)
    concern = get(app, cid)
    assert (concern.status, concern.level, concern.holder_id, concern.estate_id) == (
        S.REPORTED, Level.ESTATE, world.estate, world.estate)
    assert "3号楼楼道灯不亮" in resident.get(f"/concerns/{cid}").text

    # The building leader sees it in the building's queue and accepts it with owner, unit, deadline.
    leader = login("leader")
    assert "3号楼楼道灯不亮" in leader.get(f"/places/{world.b1}/queue").text
    response = leader.post(f"/concerns/{cid}/accept", data={
        "accept-owner": "team", "accept-unit": "物业公司", "accept-deadline": "2026-12-01"})
    assert response.status_code == 302
    concern = get(app, cid)
    assert concern.status is S.ACCEPTED and concern.owner_id == world.users["team"]
    assert concern.responsible_unit == "物业公司" and str(concern.deadline) == "2026-12-01"
    assert "concern.assigned" in inbox_of(app, world.users["team"])
    assert "concern.changed" in inbox_of(app, world.users["resident"])

    team = login("team")
    team.post(f"/concerns/{cid}/start")
    team.post(f"/concerns/{cid}/resolve", data={"resolve-note": "换了新灯泡"})
    assert get(app, cid).status is S.RESOLVED and get(app, cid).resolved_level is Level.ESTATE

    # The reporter is unhappy: it reopens.
    resident = login("resident")
    resident.post(f"/concerns/{cid}/follow-up", data={"rating": "2", "comment": "还是一闪一闪"})
    concern = get(app, cid)
    assert concern.status is S.IN_PROGRESS and concern.rating == 2 and concern.resolved_at is None
    team = login("team")
    team.post(f"/concerns/{cid}/resolve", data={})
    resident = login("resident")
    resident.post(f"/concerns/{cid}/follow-up", data={"rating": "5"})
    assert get(app, cid).status is S.FOLLOWED_UP
    login("team").post(f"/concerns/{cid}/close")
    assert get(app, cid).status is S.CLOSED

    page = login("resident").get(f"/concerns/{cid}").text
    for words in ("reported it", "accepted it", "assigned an owner", "set the deadline", "marked it resolved",
                  "reopened it", "recorded the follow-up visit", "closed it", "换了新灯泡"):
        assert words in page, words


def test_refused_steps_change_nothing(app, world, login):
    cid = concern_id_from(report(login("resident"), world.b1))
    team = login("team")
    response = team.post(f"/concerns/{cid}/close", follow_redirects=True)
    assert "closed after its follow-up visit" in response.text
    response = team.post(f"/concerns/{cid}/resolve", data={}, follow_redirects=True)
    assert "Only an accepted concern" in response.text
    assert get(app, cid).status is S.REPORTED
    # Decline needs a reason.
    response = team.post(f"/concerns/{cid}/decline", data={"decline-reason": ""}, follow_redirects=True)
    assert get(app, cid).status is S.REPORTED
    team.post(f"/concerns/{cid}/decline", data={"decline-reason": "不属于小区管理范围"})
    assert get(app, cid).status is S.DECLINED
    assert "不属于小区管理范围" in login("resident").get(f"/concerns/{cid}").text


def test_only_members_of_the_place_see_it(app, world, login):
    building_concern = concern_id_from(report(login("resident"), world.b1))
    estate_concern = concern_id_from(report(login("resident"), world.estate, title="小区门口乱停车"))
    for username, building_ok, estate_ok in (
        ("resident", 200, 200), ("leader", 200, 200), ("team", 200, 200), ("gridworker", 200, 200),
        ("street_admin", 200, 200), ("outsider", 403, 403), ("admin3", 403, 403), ("leader3", 403, 403),
        ("newcomer", 403, 403),
    ):
        client = login(username)
        assert client.get(f"/concerns/{building_concern}").status_code == building_ok, username
        assert client.get(f"/concerns/{estate_concern}").status_code == estate_ok, username
    assert login("resident").get("/concerns/999999999").status_code == 404


def test_only_handlers_handle(app, world, login):
    cid = concern_id_from(report(login("resident"), world.b1))
    for username in ("resident", "outsider", "leader3", "admin3", "newcomer"):
        response = login(username).post(f"/concerns/{cid}/accept", data={})
        assert response.status_code == 403, username
    assert get(app, cid).status is S.REPORTED
    # A building leader handles their own building's concerns, not another building's.
    other = concern_id_from(report(login("team"), world.b2, title="二号楼水管漏水"))
    assert login("leader").post(f"/concerns/{other}/accept", data={}).status_code == 403


def test_me_too_once(app, world, login):
    cid = concern_id_from(report(login("resident"), world.estate))
    assert "Me too" not in login("resident").get(f"/concerns/{cid}").text  # the reporter already counts
    team = login("team")
    assert "Me too" in team.get(f"/concerns/{cid}").text
    team.post(f"/concerns/{cid}/support")
    response = team.post(f"/concerns/{cid}/support", follow_redirects=True)
    assert "already support" in response.text
    assert get(app, cid).support_count == 2
    assert login("outsider").post(f"/concerns/{cid}/support").status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Support.id))) == 1


def test_duplicates_are_suggested_while_reporting(app, world, login):
    resident = login("resident")
    first = concern_id_from(report(resident, world.b1, title="楼道灯不亮"))
    response = report(login("team"), world.b1, title="1号楼楼道灯坏了不亮")
    assert response.status_code == 200 and f"/concerns/{first}" in response.text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Concern.id))) == 1
    response = report(login("team"), world.b1, title="1号楼楼道灯坏了不亮", confirmed="y")
    assert response.status_code == 302


def test_merge_keeps_supporters(app, world, login):
    first = concern_id_from(report(login("resident"), world.estate, title="门口乱停车"))
    second = concern_id_from(report(login("leader"), world.estate, title="大门口车停得乱", confirmed="y"))
    login("secretary").post(f"/concerns/{second}/support")
    team = login("team")
    response = team.post(f"/concerns/{second}/merge", data={"into": first})
    assert response.status_code == 302
    assert get(app, second).status is S.MERGED and get(app, second).merged_into_id == first
    merged = get(app, first)
    assert merged.support_count == 3  # resident (reporter), leader (reporter of the duplicate), secretary
    response = team.post(f"/concerns/{first}/merge", data={"into": first}, follow_redirects=True)
    assert "another open concern" in response.text


def test_escalation_and_department_call(app, world, login):
    cid = concern_id_from(report(login("resident"), world.estate, title="小区污水管堵塞"))
    team = login("team")
    team.post(f"/concerns/{cid}/accept", data={})
    response = team.post(f"/concerns/{cid}/escalate", data={"escalate-reason": ""}, follow_redirects=True)
    assert get(app, cid).level is Level.ESTATE
    team.post(f"/concerns/{cid}/escalate", data={"escalate-reason": "需要网格协调"})
    concern = get(app, cid)
    assert (concern.level, concern.holder_id) == (Level.GRID, world.grid)
    assert "小区污水管堵塞" in login("gridworker").get(f"/places/{world.grid}/queue").text
    # The estate's team no longer holds it; the grid worker does, and sends it on.
    assert login("team").post(f"/concerns/{cid}/start").status_code == 403
    login("gridworker").post(f"/concerns/{cid}/escalate", data={"escalate-reason": "涉及市政管网"})
    assert get(app, cid).level is Level.COMMUNITY
    committee = login("committee")
    assert committee.post(f"/concerns/{cid}/calls", data={"department": "水务局"},
                          follow_redirects=True).status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(DepartmentCall.id))) == 0  # only at street level
    committee.post(f"/concerns/{cid}/escalate", data={"escalate-reason": "大事报街道"})
    assert get(app, cid).level is Level.STREET
    street = login("street_admin")
    street.post(f"/concerns/{cid}/calls", data={"department": "区水务局"})
    with app.app_context():
        call_id = db.session.scalar(sa.select(DepartmentCall.id))
    street.post(f"/concerns/{cid}/calls/{call_id}/reported", data={f"reported-{call_id}-note": "已到现场疏通"})
    with app.app_context():
        call = db.session.get(DepartmentCall, call_id)
        assert call.reported_at and call.report_note == "已到现场疏通"
        escalations = db.session.scalars(sa.select(Activity.note).where(Activity.verb == "concern.escalate")
                                         .order_by(Activity.id)).all()
        assert escalations == ["需要网格协调", "涉及市政管网", "大事报街道"]
    response = street.post(f"/concerns/{cid}/escalate", data={"escalate-reason": "再往上"}, follow_redirects=True)
    assert "highest level" in response.text


def test_hidden_reporter_stays_hidden_from_residents(app, world, login):
    resident = login("resident")
    response = report(resident, world.estate, title="邻居装修噪音", show_name="")
    cid = concern_id_from(response)
    resident.post(f"/concerns/{cid}/comments", data={"body": "晚上十点还在装修"})
    page = login("leader").get(f"/concerns/{cid}").text  # a neighbour who is not estate staff
    assert "周丽华" not in page and "A resident" in page
    assert "周丽华" in login("team").get(f"/concerns/{cid}").text  # estate staff see the name


def test_staff_record_a_concern_for_a_resident(app, world, login):
    team = login("team")
    assert "Record a concern for a resident" in team.get(f"/places/{world.b1}/concerns/new").text
    response = team.post(f"/places/{world.b1}/concerns/new?for=resident", data={
        "title": "电梯异响", "category": "safety", "channel": "stand", "reporter_name": "李奶奶", "show_name": "y"})
    cid = concern_id_from(response)
    concern = get(app, cid)
    assert concern.reporter_id is None and concern.reporter_name == "李奶奶"
    assert concern.recorded_by_id == world.users["team"] and concern.channel.value == "stand"
    # A resident cannot record for others: the extra fields are ignored and it is their own report.
    response = login("resident").post(f"/places/{world.b1}/concerns/new?for=resident", data={
        "title": "电梯停了", "category": "safety", "channel": "stand", "reporter_name": "别人"})
    concern = get(app, concern_id_from(response))
    assert concern.reporter_id == world.users["resident"] and concern.channel.value == "online"


def test_report_form_errors_save_nothing(app, world, login):
    resident = login("resident")
    response = resident.post(f"/places/{world.b1}/concerns/new", data={"title": "", "category": "nonsense"})
    assert response.status_code == 400 and "Please write a short title." in response.text
    assert login("outsider").get(f"/places/{world.b1}/concerns/new").status_code == 403
    assert resident.get(f"/places/{world.street}/concerns/new").status_code == 404
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Concern.id))) == 0


def test_inbox(app, world, login):
    cid = concern_id_from(report(login("resident"), world.b1))
    login("team").post(f"/concerns/{cid}/accept", data={})
    resident = login("resident")
    assert 'aria-label="1 unread">1</span>' in resident.get("/").text  # the unread count in the header
    page = resident.get("/inbox").text
    assert "3号楼楼道灯不亮" in page and "moved on" in page
    with app.app_context():
        nid = db.session.scalar(sa.select(Notification.id).where(Notification.user_id == world.users["resident"]))
    assert login("team").post(f"/inbox/{nid}").status_code == 404  # someone else's message
    resident = login("resident")
    response = resident.post(f"/inbox/{nid}")
    assert response.headers["Location"].endswith(f"/concerns/{cid}")
    resident.post("/inbox/read")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
            Notification.read_at.is_(None), Notification.user_id == world.users["resident"])) == 0


def test_overdue_reminder_once_a_day(app, world, login):
    from datetime import date

    from council.concerns.services import remind_overdue

    cid = concern_id_from(report(login("resident"), world.b1))
    login("team").post(f"/concerns/{cid}/accept", data={"accept-owner": "team", "accept-deadline": "2026-01-05"})
    with app.app_context():
        assert remind_overdue(date(2026, 1, 6)) == 1
        assert remind_overdue(date(2026, 1, 6)) == 0
        assert remind_overdue(date(2026, 1, 7)) == 1
        db.session.commit()
    assert inbox_of(app, world.users["team"]).count("concern.overdue") == 2


def test_lists_show_each_reader_what_they_may_see(app, world, login):
    in_b2 = concern_id_from(report(login("team"), world.b2, title="二号楼水管漏水"))
    in_b1 = concern_id_from(report(login("resident"), world.b1, title="一号楼门禁坏了"))
    estate_wide = concern_id_from(report(login("resident"), world.estate, title="小区大门坏了"))
    for username, expected in (("resident", {in_b1, estate_wide}), ("leader", {in_b1, estate_wide}),
                               ("team", {in_b1, in_b2, estate_wide})):
        page = login(username).get(f"/places/{world.estate}/concerns").text
        shown = {int(n) for n in re.findall(r'href="/concerns/(\d+)"', page)}
        assert shown == expected, username


def test_queue_and_follow_up_flags_in_sql_follow_the_pure_rules(app, world):
    """The queue's SQL ordering and the late follow-up filter agree with rules.queue_key/follow_up_missing."""
    from datetime import timedelta

    from council.concerns import queries
    from council.concerns.rules import follow_up_missing, queue_key
    from council.i18n import local_today
    from council.sqltypes import utcnow
    from council.territory.models import Place

    now = utcnow()
    with app.test_request_context():
        today = local_today()
        rows = []
        for i, (status, days_late, support, age, resolved_days) in enumerate([
            (S.ACCEPTED, 3, 1, 1, None), (S.REPORTED, None, 9, 2, None), (S.IN_PROGRESS, None, 2, 30, None),
            (S.REPORTED, None, 2, 3, None), (S.IN_PROGRESS, 0, 5, 4, None), (S.RESOLVED, None, 1, 40, 8),
            (S.RESOLVED, None, 1, 40, 6), (S.CLOSED, 9, 1, 50, None),
        ]):
            rows.append(dict(place_id=world.b1, estate_id=world.estate, holder_id=world.estate, level=Level.ESTATE,
                             title=f"c{i}", description="", category="other", status=status, support_count=support,
                             reporter_id=world.users["resident"], created_at=now - timedelta(days=age),
                             deadline=None if days_late is None else today - timedelta(days=days_late),
                             resolved_at=None if resolved_days is None else now - timedelta(days=resolved_days)))
        db.session.execute(sa.insert(Concern), rows)
        db.session.commit()
        estate = db.session.get(Place, world.estate)
        queue = queries.queue_page(estate, 1, 50, today=today).items
        expected = sorted((c for c in db.session.scalars(sa.select(Concern)) if c.status in
                           (S.REPORTED, S.ACCEPTED, S.IN_PROGRESS)),
                          key=lambda c: (queue_key(c.status, c.deadline, c.support_count, c.created_at, today), c.id))
        assert [c.title for c in queue] == [c.title for c in expected]
        late = {c.title for c in queries.follow_ups_due(estate, now=now)}
        assert late == {c.title for c in db.session.scalars(sa.select(Concern))
                        if follow_up_missing(c.status, c.resolved_at, now)} == {"c5"}
