"""Granting and revoking roles on places."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from council.accounts.models import User
from council.activity.services import record, register_detail_labels
from council.exceptions import Refused
from council.extensions import db
from council.roles.models import ROLE_PLACE_KINDS, Role, RoleGrant
from council.sqltypes import utcnow
from council.territory.models import Place

ROLE_LABELS = {
    Role.BUILDING_LEADER: _l("Building leader"),
    Role.SERVICE_TEAM: _l("Service team member"),
    Role.BRANCH_SECRETARY: _l("Party branch secretary"),
    Role.GRID_WORKER: _l("Grid worker"),
    Role.COMMITTEE_MEMBER: _l("Community committee member"),
    Role.ADMIN: _l("Administrator"),
}
register_detail_labels(("role.granted", "role.revoked"), {role.value: label for role, label in ROLE_LABELS.items()})


def roles_for(place: Place) -> list[Role]:
    """The roles that can be held on this kind of place."""
    return [role for role in Role if place.kind in ROLE_PLACE_KINDS[role]]


def get_grant_or_404(grant_id: int) -> RoleGrant:
    grant = db.session.get(RoleGrant, grant_id, options=[joinedload(RoleGrant.place), joinedload(RoleGrant.user)])
    if grant is None:
        abort(404)
    return grant


def grant(user: User, role: Role, place: Place, by: User, duty: str | None = None) -> RoleGrant:
    """Give `user` the role on `place`; refused on the wrong kind of place or when already held."""
    if place.kind not in ROLE_PLACE_KINDS[role]:
        raise Refused(_l("This role cannot be held on this kind of place."), "role")
    if not user.has_account:
        raise Refused(_l("Only a person with an account can hold a role."), "person")
    held = db.session.scalar(sa.select(RoleGrant.id).where(
        RoleGrant.user_id == user.id, RoleGrant.place_id == place.id, RoleGrant.role == role,
        RoleGrant.revoked_at.is_(None)))
    if held is not None:
        raise Refused(_l("This person already holds this role here."), "role")
    entry = RoleGrant(user_id=user.id, place_id=place.id, role=role, duty=(duty or "").strip() or None,
                      granted_by_id=by.id if by else None, granted_at=utcnow())
    db.session.add(entry)
    db.session.flush()
    record(by, "role.granted", place, "role_grant", entry.id, target=user, detail=role.value)
    return entry


def revoke(entry: RoleGrant, by: User) -> None:
    if entry.revoked_at is not None:
        raise Refused(_l("This role has already been revoked."))
    entry.revoked_at, entry.revoked_by_id = utcnow(), by.id
    record(by, "role.revoked", entry.place_id, "role_grant", entry.id, target=entry.user, detail=entry.role.value)


def grants_page(place: Place, page: int, per_page: int, count: bool = True):
    """Live roles held on this place, by role then person, one page (without `count`: no total, one query)."""
    query = (sa.select(RoleGrant).where(RoleGrant.place_id == place.id, RoleGrant.revoked_at.is_(None))
             .options(joinedload(RoleGrant.user)).order_by(RoleGrant.role, RoleGrant.id))
    return db.paginate(query, page=page, per_page=per_page, error_out=False, count=count)
