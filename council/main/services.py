"""What the home page shows a signed-in person: their homes, requests and the places they serve."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from council.accounts.models import User
from council.extensions import db
from council.membership.models import Membership, MembershipStatus
from council.roles.models import RoleGrant
from council.territory.models import Household, Place


@dataclass
class Overview:
    homes: list[Membership]
    pending: list[Membership]
    grants: list[RoleGrant]


def overview_for(user: User) -> Overview:
    """A person's approved homes (with building and estate), open requests and live roles."""
    memberships = db.session.scalars(
        sa.select(Membership)
        .where(Membership.user_id == user.id,
               Membership.status.in_([MembershipStatus.APPROVED, MembershipStatus.PENDING]))
        .options(joinedload(Membership.household).joinedload(Household.building).joinedload(Place.parent))
        .order_by(Membership.id)
    ).all()
    grants = db.session.scalars(
        sa.select(RoleGrant)
        .where(RoleGrant.user_id == user.id, RoleGrant.revoked_at.is_(None))
        .options(joinedload(RoleGrant.place))
        .order_by(RoleGrant.id)
    ).all()
    return Overview(
        homes=[m for m in memberships if m.status is MembershipStatus.APPROVED],
        pending=[m for m in memberships if m.status is MembershipStatus.PENDING],
        grants=list(grants),
    )
