"""Meetings, their weekly series, agenda items and who said they will come."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from council.accounts.models import User
from council.extensions import db
from council.meetings.rules import (
    ActionStatus,
    AttendeeKind,
    CorrectionState,
    ItemKind,
    MeetingKind,
    MeetingState,
    MinutesState,
)
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
    # Written live at the meeting, saved item by item so a dropped connection loses nothing.
    notes: Mapped[str] = mapped_column(sa.Text, default="", server_default=sa.text("''"))
    decision: Mapped[str] = mapped_column(sa.Text, default="", server_default=sa.text("''"))
    # A show of hands, counted and entered by the chair (a formal vote is the proposal's poll instead).
    hands_for: Mapped[int | None] = mapped_column()
    hands_against: Mapped[int | None] = mapped_column()
    hands_abstain: Mapped[int | None] = mapped_column()


class Rsvp(db.Model):
    """A member says whether they will come; once per person and meeting, changeable until it starts."""

    __tablename__ = "meeting_rsvps"
    __table_args__ = (sa.UniqueConstraint("meeting_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    coming: Mapped[bool] = mapped_column()
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Attendance(db.Model):
    """Someone checked in at the meeting: a resident or cadre with an account, or a walk-in by name; a
    unit's representative names the unit. Checking in twice counts once (the unique indexes decide)."""

    __tablename__ = "meeting_attendance"
    __table_args__ = (
        sa.Index("uq_meeting_attendance_user", "meeting_id", "user_id", unique=True,
                 sqlite_where=sa.text("user_id IS NOT NULL"), postgresql_where=sa.text("user_id IS NOT NULL")),
        sa.Index("uq_meeting_attendance_walk_in", "meeting_id", "name", unique=True,
                 sqlite_where=sa.text("user_id IS NULL"), postgresql_where=sa.text("user_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id"))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[AttendeeKind] = mapped_column(str_enum(AttendeeKind, 16), default=AttendeeKind.RESIDENT)
    unit: Mapped[str] = mapped_column(sa.String(100), default="")
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    checked_in_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class ActionItem(db.Model):
    """定人、定责、定时限: what is to be done, by whom (a person or a unit), by when; tracked to done."""

    __tablename__ = "action_items"
    __table_args__ = (sa.Index("ix_action_items_place_status_due", "place_id", "status", "due"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id"), index=True)
    place_id: Mapped[int] = mapped_column(sa.ForeignKey("places.id"))
    agenda_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agenda_items.id"))
    what: Mapped[str] = mapped_column(sa.String(200))
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    owner_unit: Mapped[str] = mapped_column(sa.String(100), default="")
    due: Mapped[date] = mapped_column(sa.Date)
    status: Mapped[ActionStatus] = mapped_column(str_enum(ActionStatus, 8), default=ActionStatus.OPEN)
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    # Where it came from: closing it moves the concern or proposal on.
    concern_id: Mapped[int | None] = mapped_column(sa.ForeignKey("concerns.id"))
    proposal_id: Mapped[int | None] = mapped_column(sa.ForeignKey("proposals.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    meeting: Mapped[Meeting] = relationship()


class Minutes(db.Model):
    """One revision of a meeting's minutes. A published revision never changes; a correction is a new
    revision whose change note and differences are shown."""

    __tablename__ = "minutes"
    __table_args__ = (sa.UniqueConstraint("meeting_id", "revision"),
                      sa.Index("ix_minutes_state_published", "state", "published_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id"))
    revision: Mapped[int] = mapped_column(default=1)
    state: Mapped[MinutesState] = mapped_column(str_enum(MinutesState, 16), default=MinutesState.DRAFT)
    body: Mapped[str] = mapped_column(sa.Text)  # plain text, shown with its line breaks
    change_note: Mapped[str] = mapped_column(sa.String(500), default="")  # revisions: what was corrected
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    meeting: Mapped[Meeting] = relationship()


class MinutesCorrection(db.Model):
    """An attendee's suggested correction to a draft, accepted or declined by the minute-taker."""

    __tablename__ = "minutes_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    minutes_id: Mapped[int] = mapped_column(sa.ForeignKey("minutes.id"), index=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(sa.String(2000))
    state: Mapped[CorrectionState] = mapped_column(str_enum(CorrectionState, 16), default=CorrectionState.PENDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    author: Mapped[User] = relationship(foreign_keys=[author_id])


class CoBuildingTask(db.Model):
    """共建清单: a task a joint meeting offers to outside units; a unit's representative claims it and it is
    tracked to done. The yearly list shows what was offered, claimed and done, per unit."""

    __tablename__ = "cobuilding_tasks"
    __table_args__ = (sa.Index("ix_cobuilding_tasks_place_year", "place_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(sa.ForeignKey("places.id"))
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id"), index=True)
    year: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(sa.String(200))
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    unit: Mapped[str | None] = mapped_column(sa.String(100))  # the unit that claimed it
    claimed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_note: Mapped[str] = mapped_column(sa.String(500), default="")

    meeting: Mapped[Meeting] = relationship()
