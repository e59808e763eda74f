"""Demo meetings: 化肥厂小区's weekly Friday meeting (相约星期五), its next agenda built from this week's list
of concerns and from a proposal, published to the residents."""
from __future__ import annotations

import sqlalchemy as sa

from council.accounts.models import User
from council.concerns.queries import this_week
from council.extensions import db
from council.meetings import services as meetings
from council.meetings.models import Meeting, MeetingSeries
from council.meetings.rules import MeetingState
from council.permissions import load_standing
from council.proposals.models import Proposal
from council.territory.models import Place


def seed_meetings(estate: Place) -> int:
    """Start the weekly series if it is missing and publish its next agenda; returns meetings created."""
    if db.session.scalar(sa.select(MeetingSeries.id).where(MeetingSeries.place_id == estate.id)):
        return 0
    secretary = db.session.scalar(sa.select(User).where(User.username == "secretary"))
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
