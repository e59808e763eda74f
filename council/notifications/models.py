"""Inbox messages. Never about a ballot choice."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, column_property, mapped_column

from council.accounts.models import User
from council.extensions import db
from council.sqltypes import UTCDateTime, utcnow


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    # A key such as "concern.accepted": the sentence is looked up and translated when shown.
    verb: Mapped[str] = mapped_column(sa.String(64))
    subject_type: Mapped[str] = mapped_column(sa.String(32))
    subject_id: Mapped[int] = mapped_column()
    # The subject's title when the message was made, so the inbox lists without loading subjects.
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# The header's unread count comes with the person at the start of each request: council.accounts.services.load_user
# loads the "per_request" group, so every signed-in page has one query fewer. Elsewhere it is read when used.
# On the tables' columns, so that the statement reading a person with it stays Core (council.accounts.kept).
_inbox = Notification.__table__
User.unread_count = column_property(
    sa.select(sa.func.count(_inbox.c.id))
    .where(_inbox.c.user_id == User.__table__.c.id, _inbox.c.read_at.is_(None))
    .correlate_except(_inbox).scalar_subquery(),
    deferred=True, group="per_request")
