"""Roles held on a place; a role counts for the place and everything beneath it."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from council.accounts.models import User
from council.extensions import db
from council.sqltypes import UTCDateTime, str_enum, utcnow
from council.territory.models import Place, PlaceKind


class Role(enum.StrEnum):
    BUILDING_LEADER = "building_leader"
    SERVICE_TEAM = "service_team"
    BRANCH_SECRETARY = "branch_secretary"
    GRID_WORKER = "grid_worker"
    COMMITTEE_MEMBER = "committee_member"
    ADMIN = "admin"


# The kinds of place each role can be held on (a building leader leads a building, and so on).
ROLE_PLACE_KINDS: dict[Role, frozenset[PlaceKind]] = {
    Role.BUILDING_LEADER: frozenset({PlaceKind.BUILDING}),
    Role.SERVICE_TEAM: frozenset({PlaceKind.ESTATE}),
    Role.BRANCH_SECRETARY: frozenset({PlaceKind.ESTATE, PlaceKind.GRID, PlaceKind.COMMUNITY}),
    Role.GRID_WORKER: frozenset({PlaceKind.GRID, PlaceKind.COMMUNITY}),
    Role.COMMITTEE_MEMBER: frozenset({PlaceKind.COMMUNITY}),
    Role.ADMIN: frozenset({PlaceKind.STREET, PlaceKind.COMMUNITY, PlaceKind.ESTATE}),
}


class RoleGrant(db.Model):
    """One person holding one role on one place, from grant until revocation (kept for history)."""

    __tablename__ = "role_grants"
    __table_args__ = (
        # At most one live grant of a role to a person on a place.
        sa.Index(
            "uq_role_grants_live", "user_id", "place_id", "role", unique=True,
            sqlite_where=sa.text("revoked_at IS NULL"), postgresql_where=sa.text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    place_id: Mapped[int] = mapped_column(sa.ForeignKey("places.id"), index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role))
    # What the person does in the team ("fire safety", "parking"), shown on the estate page.
    duty: Mapped[str | None] = mapped_column(sa.String(100))
    contact: Mapped[str | None] = mapped_column(sa.String(100))  # how residents reach them (service team)
    granted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    place: Mapped[Place] = relationship()
