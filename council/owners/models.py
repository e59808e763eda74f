"""Ownerships of units: owners as on the property certificate, co-owners naming who casts the unit's vote."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from council.accounts.models import User
from council.extensions import db
from council.sqltypes import UTCDateTime, utcnow
from council.territory.models import Household


class Ownership(db.Model):
    """One owner of one unit, from the day it was recorded until the unit is sold (history is kept).

    Owners are not residents: a tenant is a member who owns nothing, and an owner may live elsewhere.
    The owner is identified by their mobile number (so an owner of several units counts once, Civil Code
    Art. 278 and its judicial interpretation) and may be linked to an account to vote online.
    """

    __tablename__ = "ownerships"
    __table_args__ = (
        sa.Index("uq_ownerships_live_caster", "household_id", unique=True,
                 sqlite_where=sa.text("is_caster AND ended_at IS NULL"),
                 postgresql_where=sa.text("is_caster AND ended_at IS NULL")),
        sa.Index("ix_ownerships_household_live", "household_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"))
    name: Mapped[str] = mapped_column(sa.String(64))
    mobile: Mapped[str | None] = mapped_column(sa.String(11), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # The property certificate (不动产权证书) number; co-owners of a unit share it. Shown masked.
    certificate_no: Mapped[str] = mapped_column(sa.String(64), index=True)
    # A jointly owned unit is one vote: its co-owners name the one who casts it (a sole owner always does).
    is_caster: Mapped[bool] = mapped_column(default=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    household: Mapped[Household] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])

    @property
    def key(self) -> str:
        """Who this owner is for the headcount: their mobile number, their account, or (neither given)
        this very record, so two unnamed owners are never merged by mistake."""
        if self.mobile:
            return f"m{self.mobile}"
        if self.user_id:
            return f"u{self.user_id}"
        return f"o{self.id}"
