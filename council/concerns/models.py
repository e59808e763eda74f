"""Concerns raised by residents, their supporters, comments, photos and department calls."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from council.accounts.models import User
from council.concerns.rules import Category, Channel, ConcernStatus, Level
from council.extensions import db
from council.sqltypes import UTCDateTime, str_enum, utcnow
from council.territory.models import Place


class Concern(db.Model):
    """One matter raised by residents, from report to follow-up visit (回访) and closing."""

    __tablename__ = "concerns"
    __table_args__ = (
        sa.Index("ix_concerns_estate_status", "estate_id", "status"),
        sa.Index("ix_concerns_holder_status", "holder_id", "status"),
        sa.CheckConstraint("rating IS NULL OR (rating BETWEEN 1 AND 5)", name="rating_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The building or estate the concern is about; estate_id repeats the estate for the ledger.
    place_id: Mapped[int] = mapped_column(sa.ForeignKey("places.id"), index=True)
    estate_id: Mapped[int] = mapped_column(sa.ForeignKey("places.id"))
    # The place whose queue holds it now: the estate, then grid, community, street as it is escalated.
    holder_id: Mapped[int] = mapped_column(sa.ForeignKey("places.id"))
    level: Mapped[Level] = mapped_column(str_enum(Level, 16), default=Level.ESTATE)
    title: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    category: Mapped[Category] = mapped_column(str_enum(Category, 24))
    status: Mapped[ConcernStatus] = mapped_column(str_enum(ConcernStatus, 16), default=ConcernStatus.REPORTED)
    # Who raised it: a member with an account, or a name written down by staff (一楼见, phone, visit).
    reporter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    reporter_name: Mapped[str | None] = mapped_column(sa.String(64))
    # False: other residents see "a resident"; staff always see the name.
    show_name: Mapped[bool] = mapped_column(default=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, 16), default=Channel.ONLINE)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # 定人、定责、定时限: a person, a responsible unit, a deadline.
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    responsible_unit: Mapped[str | None] = mapped_column(sa.String(100))
    deadline: Mapped[date | None] = mapped_column(sa.Date)
    # Reporter plus every "me too", kept on the row so queues sort without counting.
    support_count: Mapped[int] = mapped_column(default=1)
    comment_count: Mapped[int] = mapped_column(default=0)
    decline_reason: Mapped[str | None] = mapped_column(sa.String(500))
    resolved_level: Mapped[Level | None] = mapped_column(str_enum(Level, 16))
    rating: Mapped[int | None] = mapped_column()
    rating_comment: Mapped[str | None] = mapped_column(sa.String(500))
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("concerns.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    followed_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The day the owner was last told it is overdue, so the daily reminder is sent once a day.
    overdue_notified_on: Mapped[date | None] = mapped_column(sa.Date)

    place: Mapped[Place] = relationship(foreign_keys=[place_id])
    estate: Mapped[Place] = relationship(foreign_keys=[estate_id])
    holder: Mapped[Place] = relationship(foreign_keys=[holder_id])
    reporter: Mapped[User | None] = relationship(foreign_keys=[reporter_id])
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])


class Support(db.Model):
    """A "me too" (+1) from a member of the place, once per person."""

    __tablename__ = "concern_supports"
    __table_args__ = (sa.UniqueConstraint("concern_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    concern_id: Mapped[int] = mapped_column(sa.ForeignKey("concerns.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Comment(db.Model):
    __tablename__ = "concern_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    concern_id: Mapped[int] = mapped_column(sa.ForeignKey("concerns.id"), index=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User] = relationship()


class Photo(db.Model):
    """A photo, re-encoded on upload (location and camera metadata gone), kept in the database."""

    __tablename__ = "concern_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    concern_id: Mapped[int] = mapped_column(sa.ForeignKey("concerns.id"), index=True)
    content_type: Mapped[str] = mapped_column(sa.String(32))
    width: Mapped[int] = mapped_column()
    height: Mapped[int] = mapped_column()
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DepartmentCall(db.Model):
    """At street level a department is called (呼叫) and must confirm it has reported (报到)."""

    __tablename__ = "concern_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    concern_id: Mapped[int] = mapped_column(sa.ForeignKey("concerns.id"), index=True)
    department: Mapped[str] = mapped_column(sa.String(100))
    called_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    called_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reported_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    report_note: Mapped[str | None] = mapped_column(sa.String(500))

    called_by: Mapped[User] = relationship(foreign_keys=[called_by_id])
    reported_by: Mapped[User | None] = relationship(foreign_keys=[reported_by_id])
