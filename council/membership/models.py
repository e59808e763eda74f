"""Who lives where: memberships of households, and party members reporting to an estate's branch."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from council.accounts.models import User
from council.extensions import db
from council.sqltypes import UTCDateTime, str_enum, utcnow
from council.territory.models import Household, Place


class MembershipStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    ENDED = "ended"  # moved out; the row stays as history


# The only moves a membership can make; everything else is refused by the service.
MEMBERSHIP_TRANSITIONS: dict[MembershipStatus, frozenset[MembershipStatus]] = {
    MembershipStatus.PENDING: frozenset(
        {MembershipStatus.APPROVED, MembershipStatus.REFUSED, MembershipStatus.WITHDRAWN}
    ),
    MembershipStatus.APPROVED: frozenset({MembershipStatus.ENDED}),
    MembershipStatus.REFUSED: frozenset(),
    MembershipStatus.WITHDRAWN: frozenset(),
    MembershipStatus.ENDED: frozenset(),
}

LIVE_STATUSES = ("pending", "approved")


class Relation(enum.StrEnum):
    OWNER = "owner"
    FAMILY = "family"
    TENANT = "tenant"


class Membership(db.Model):
    """A person's membership of a household, from request to approval and, one day, moving out."""

    __tablename__ = "memberships"
    __table_args__ = (
        # One live (pending or approved) membership per person and household: no duplicate requests.
        sa.Index(
            "uq_memberships_live", "user_id", "household_id", unique=True,
            sqlite_where=sa.text("status IN ('pending', 'approved')"),
            postgresql_where=sa.text("status IN ('pending', 'approved')"),
        ),
        # One representative per household.
        sa.Index(
            "uq_memberships_representative", "household_id", unique=True,
            sqlite_where=sa.text("is_representative AND status = 'approved'"),
            postgresql_where=sa.text("is_representative AND status = 'approved'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"), index=True)
    status: Mapped[MembershipStatus] = mapped_column(str_enum(MembershipStatus, 16), index=True)
    relation: Mapped[Relation] = mapped_column(str_enum(Relation, 16))
    is_representative: Mapped[bool] = mapped_column(default=False)
    # Minors are members but do not cast household ballots.
    is_adult: Mapped[bool] = mapped_column(default=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(sa.String(500))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    household: Mapped[Household] = relationship()
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class PartyMember(db.Model):
    """A party member attached to an estate's branch, living there or reporting there (在职党员报到)."""

    __tablename__ = "party_members"
    __table_args__ = (
        sa.Index(
            "uq_party_members_live", "user_id", "estate_id", unique=True,
            sqlite_where=sa.text("ended_at IS NULL"), postgresql_where=sa.text("ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    estate_id: Mapped[int] = mapped_column(sa.ForeignKey("places.id"), index=True)
    # True for members who work elsewhere and report to the estate where they live.
    reporting: Mapped[bool] = mapped_column(default=False)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    estate: Mapped[Place] = relationship()
