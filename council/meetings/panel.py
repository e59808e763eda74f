"""The meetings panel on an estate's or community's page: the next meeting and where to find the others."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from council.ballots.models import Poll, PollState
from council.extensions import db
from council.i18n import local_today
from council.meetings.console import overdue_count
from council.meetings.models import Meeting, Minutes
from council.meetings.rules import MeetingKind, MeetingState, MinutesState
from council.permissions import Action, can
from council.sqltypes import utcnow
from council.territory.models import Place, PlaceKind
from council.territory.panels import Panel, register_panel
from council.versions import good_until


@register_panel(order=5)
def meetings_panel(place: Place) -> Panel | None:
    """Four queries: the next published meeting and the latest published minutes (party members' meetings
    are not shown here), how many action items are overdue, and the open votes."""
    if place.kind not in (PlaceKind.ESTATE, PlaceKind.COMMUNITY) or not can(Action.PLACE_VIEW, place):
        return None
    upcoming = db.session.scalar(sa.select(Meeting).where(
        Meeting.place_id == place.id, Meeting.state == MeetingState.PUBLISHED, Meeting.kind != MeetingKind.PARTY,
        Meeting.starts_at >= utcnow()).order_by(Meeting.starts_at).limit(1))
    latest = db.session.scalar(
        sa.select(Minutes).join(Meeting, Meeting.id == Minutes.meeting_id)
        .where(Meeting.place_id == place.id, Minutes.state == MinutesState.PUBLISHED, Meeting.kind != MeetingKind.PARTY)
        .order_by(Meeting.starts_at.desc(), Minutes.revision.desc()).limit(1)
        .options(contains_eager(Minutes.meeting)))
    good_until(upcoming.starts_at if upcoming else None)  # then the meeting after it is the next one
    votes = list(db.session.scalars(  # elections show in their own panel
        sa.select(Poll).where(Poll.place_id == place.id, Poll.state == PollState.OPEN, Poll.subject_type != "election")
        .order_by(Poll.closes_at).limit(5)))
    return Panel("meetings/_panel.html", {"place": place, "next": upcoming, "organiser": can(Action.MEETING_RUN, place),
                                          "overdue": overdue_count(place, local_today()), "minutes": latest,
                                          "votes": votes})
