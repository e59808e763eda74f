"""The meetings panel on an estate's or community's page: the next meeting and where to find the others."""
from __future__ import annotations

import sqlalchemy as sa

from council.extensions import db
from council.i18n import local_today
from council.meetings.console import overdue_count
from council.meetings.models import Meeting
from council.meetings.rules import MeetingKind, MeetingState
from council.permissions import Action, can
from council.sqltypes import utcnow
from council.territory.models import Place, PlaceKind
from council.territory.panels import Panel, register_panel


@register_panel(order=5)
def meetings_panel(place: Place) -> Panel | None:
    """Two queries: the next published meeting (party members' meetings are not shown here) and how many
    action items are overdue."""
    if place.kind not in (PlaceKind.ESTATE, PlaceKind.COMMUNITY) or not can(Action.PLACE_VIEW, place):
        return None
    upcoming = db.session.scalar(sa.select(Meeting).where(
        Meeting.place_id == place.id, Meeting.state == MeetingState.PUBLISHED, Meeting.kind != MeetingKind.PARTY,
        Meeting.starts_at >= utcnow()).order_by(Meeting.starts_at).limit(1))
    return Panel("meetings/_panel.html", {"place": place, "next": upcoming, "organiser": can(Action.MEETING_RUN, place),
                                          "overdue": overdue_count(place, local_today())})
