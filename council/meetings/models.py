"""Meetings, their weekly series, agenda items and who said they will come."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from council.accounts.models import User
from council.extensions import db
from council.meetings.rules import ItemKind, MeetingKind, MeetingState
from council.sqltypes import UTCDateTime, str_enum, utcnow
from council.territory.models import Place


class MeetingSeries(db.Model):
    """A weekly meeting (相约星期五: Friday 19:30 by default) of an estate or a community."""

    __tablename__ = "meeting_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(sa.ForeignKey("places.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(120))
    weekday: Mapped[int] = mapped_column(default=4)  # Monday 0 ... Sunday 6
    hour: Mapped[int] = mapped_column(default=19)  # local time (Asia/Shanghai)
    minute: Mapped[int] = mapped_column(default=30)
    location: Mapped[str] = mapped_column(sa.String(120), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Meeting(db.Model):
    """One meeting. A date of a series keeps its `series_date` even when moved, so the series stays whole."""

    __tablename__ = "meetings"
    __table_args__ = (
        sa.UniqueConstraint("series_id", "series_date"),
        sa.Index("ix_meetings_place_starts", "place_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(sa.ForeignKey("places.id"))
    series_id: Mapped[int | None] = mapped_column(sa.ForeignKey("meeting_series.id"))
    series_date: Mapped[date | None] = mapped_column(sa.Date)
    kind: Mapped[MeetingKind] = mapped_column(str_enum(MeetingKind, 16))
    title: Mapped[str] = mapped_column(sa.String(120))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    location: Mapped[str] = mapped_column(sa.String(120), default="")
    chair_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    minute_taker_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # Outside units invited (property company, police station, utilities...), as the organisers write them.
    invited_units: Mapped[str] = mapped_column(sa.String(500), default="")
    state: Mapped[MeetingState] = mapped_column(str_enum(MeetingState, 16), default=MeetingState.DRAFT)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    place: Mapped[Place] = relationship()
    series: Mapped[MeetingSeries | None] = relationship()
    chair: Mapped[User | None] = relationship(foreign_keys=[chair_id])
    minute_taker: Mapped[User | None] = relationship(foreign_keys=[minute_taker_id])


class AgendaItem(db.Model):
    """An item of a meeting's agenda: a concern, a proposal, a free item or the follow-up of action items."""

    __tablename__ = "agenda_items"
    __table_args__ = (sa.Index("ix_agenda_items_meeting_position", "meeting_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id"))
    position: Mapped[int] = mapped_column()
    kind: Mapped[ItemKind] = mapped_column(str_enum(ItemKind, 16))
    title: Mapped[str] = mapped_column(sa.String(200))
    concern_id: Mapped[int | None] = mapped_column(sa.ForeignKey("concerns.id"), index=True)
    proposal_id: Mapped[int | None] = mapped_column(sa.ForeignKey("proposals.id"), index=True)
    presenter: Mapped[str] = mapped_column(sa.String(64), default="")
    minutes: Mapped[int] = mapped_column(default=10)


class Rsvp(db.Model):
    """A member says whether they will come; once per person and meeting, changeable until it starts."""

    __tablename__ = "meeting_rsvps"
    __table_args__ = (sa.UniqueConstraint("meeting_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    coming: Mapped[bool] = mapped_column()
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
