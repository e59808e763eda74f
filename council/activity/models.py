"""Activity records: who did what, when, where (invariant 6). Never holds a ballot choice."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from council.accounts.models import User
from council.extensions import db
from council.sqltypes import UTCDateTime, utcnow
from council.territory.models import Place


class Activity(db.Model):
    __tablename__ = "activities"
    __table_args__ = (sa.Index("ix_activities_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    place_id: Mapped[int] = mapped_column(sa.ForeignKey("places.id"), index=True)
    # A key such as "membership.approved"; its sentence lives in activity/services.py.
    verb: Mapped[str] = mapped_column(sa.String(64))
    subject_type: Mapped[str] = mapped_column(sa.String(32))
    subject_id: Mapped[int] = mapped_column()
    # The person the action was about (the applicant, the role holder), if any.
    target_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    detail: Mapped[str | None] = mapped_column(sa.String(500))
    # Why it was done, in the actor's words (a refusal, an escalation).
    note: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    target_user: Mapped[User | None] = relationship(foreign_keys=[target_user_id])
    place: Mapped[Place] = relationship()
