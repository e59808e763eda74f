"""Demo meetings: 化肥厂小区's Friday meeting (相约星期五) of last week, held, with its action items and
published minutes; and the weekly series, whose next agenda is built from this week's list of concerns and
from a proposal and published to the residents."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from council.accounts.models import User
from council.concerns.queries import coming_friday, this_week
from council.extensions import db
from council.i18n import local_today
from council.meetings import console, minutes
from council.meetings import services as meetings
from council.meetings.models import Meeting, MeetingSeries
from council.meetings.rules import AttendeeKind, MeetingKind, MeetingState
from council.permissions import load_standing
from council.proposals.models import Proposal
from council.territory.models import Place


def seed_meetings(estate: Place) -> int:
    """Start the weekly series if it is missing and publish its next agenda; returns meetings created."""
    if db.session.scalar(sa.select(MeetingSeries.id).where(MeetingSeries.place_id == estate.id)):
        return 0
    secretary = db.session.scalar(sa.select(User).where(User.username == "secretary"))
    _last_friday(estate, secretary)
    series = meetings.start_series(estate, secretary, "相约星期五", location="化肥厂小区党群服务站")
    first = db.session.scalar(sa.select(Meeting).where(Meeting.series_id == series.id)
                              .order_by(Meeting.series_date).limit(1))
    first.invited_units = "物业公司、城北派出所社区民警、供电所"
    standing = load_standing(secretary.id)
    for concern in this_week(estate, standing, 3):
        meetings.add_concern(first, concern)
    for proposal in db.session.scalars(sa.select(Proposal).where(Proposal.estate_id == estate.id,
                                                                 Proposal.eligible_at.is_not(None)).limit(1)):
        meetings.add_proposal(first, proposal, secretary)
    meetings.add_free(first, "物业公司通报地面停车收费方案", "物业公司", 15)
    meetings.publish(first, secretary)
    return db.session.scalar(sa.select(sa.func.count(Meeting.id)).where(Meeting.series_id == series.id,
                                                                       Meeting.state != MeetingState.CANCELLED))


def _last_friday(estate: Place, secretary: User) -> Meeting:
    """Last Friday's meeting, held: people checked in, decisions and a show of hands, action items (one
    done already), minutes drafted from the console, approved by the chair and published."""
    def person(username: str) -> User:
        return db.session.scalar(sa.select(User).where(User.username == username))

    today = local_today()
    friday = coming_friday(today) - timedelta(days=7)
    starts = meetings.local_start(friday, 19, 30)
    meeting = meetings.schedule(estate, secretary, MeetingKind.FRIDAY, "相约星期五", starts, "化肥厂小区党群服务站",
                                minute_taker=person("team"), invited_units="物业公司、城北派出所",
                                now=starts - timedelta(days=3))
    standing = load_standing(secretary.id)
    concerns = this_week(estate, standing, 2)
    for concern in concerns:
        meetings.add_concern(meeting, concern)
    shed = db.session.scalar(sa.select(Proposal).where(Proposal.estate_id == estate.id,
                                                       Proposal.eligible_at.is_not(None)).limit(1))
    if shed is not None:  # discussed here, then put to the vote
        item = meetings.add_proposal(meeting, shed, secretary)
        item.notes = "居民对车棚选址有两种意见：东门空地和北门绿化带旁。"
        item.decision = "两个方案都交全体住户投票决定。"
    lights = meetings.add_free(meeting, "楼道照明改造方案", "物业公司", 15)
    meetings.publish(meeting, secretary)
    for username in ("resident", "leader", "team", "committee"):
        console.check_in(meeting, secretary, person(username), now=starts)
    console.check_in(meeting, secretary, name="物业公司刘经理", kind=AttendeeKind.UNIT, unit="物业公司", now=starts)
    console.check_in(meeting, secretary, name="社区民警老陈", kind=AttendeeKind.UNIT, unit="城北派出所", now=starts)
    items = meetings.agenda(meeting)
    for item in items:
        if item.concern_id:
            console.save_item(meeting, item, "居民反映情况属实，现场大家都同意尽快处理。",
                              "由服务队牵头，两周内拿出办法。")
            console.add_action(meeting, secretary, f"落实：{item.title}", friday + timedelta(days=14),
                               owner=person("team"), item=item)
    console.save_item(meeting, lights, "物业介绍了声控灯更换方案，费用从公共收益中列支。",
                      "同意物业方案，下周开始更换。", (18, 1, 2))
    done = console.add_action(meeting, secretary, "更换1-6号楼楼道声控灯", friday + timedelta(days=7),
                              unit="物业公司", item=lights)
    console.close_action(done, secretary, "六栋楼已全部换好")
    draft = minutes.draft(meeting, secretary)
    minutes.approve(draft, secretary)
    minutes.publish(draft, secretary)
    return meeting
