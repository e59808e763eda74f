"""Membership services: requests and decisions, representatives, move-outs, staff-registered residents."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from council.accounts.models import User
from council.activity.models import Activity
from council.activity.services import record
from council.exceptions import Refused
from council.extensions import db
from council.membership.models import (
    MEMBERSHIP_TRANSITIONS,
    Membership,
    MembershipStatus,
    PartyMember,
    Relation,
)
from council.sqltypes import utcnow
from council.territory.models import Household, Place, PlaceKind

RELATION_LABELS = {Relation.OWNER: _l("Owner"), Relation.FAMILY: _l("Family member"),
                   Relation.TENANT: _l("Tenant")}
STATUS_LABELS = {
    MembershipStatus.PENDING: _l("Waiting for approval"),
    MembershipStatus.APPROVED: _l("Approved"),
    MembershipStatus.REFUSED: _l("Refused"),
    MembershipStatus.WITHDRAWN: _l("Withdrawn"),
    MembershipStatus.ENDED: _l("Moved out"),
}


def can_move(current: MembershipStatus, new: MembershipStatus) -> bool:
    """The membership state machine: the one table of allowed moves."""
    return new in MEMBERSHIP_TRANSITIONS[current]


def _move(membership: Membership, new: MembershipStatus) -> None:
    if not can_move(membership.status, new):
        raise Refused(_l("This request has already been dealt with."))
    membership.status = new


def get_membership_or_404(membership_id: int) -> Membership:
    membership = db.session.get(Membership, membership_id, options=[
        joinedload(Membership.household).joinedload(Household.building), joinedload(Membership.user)])
    if membership is None:
        abort(404)
    return membership


def live_membership(user: User, household: Household) -> Membership | None:
    return db.session.scalar(sa.select(Membership).where(
        Membership.user_id == user.id, Membership.household_id == household.id,
        Membership.status.in_([MembershipStatus.PENDING, MembershipStatus.APPROVED])))


def request_join(user: User, household: Household, relation: Relation) -> Membership:
    """A resident asks to join a household; refused if they already asked or belong there."""
    existing = live_membership(user, household)
    if existing is not None:
        if existing.status is MembershipStatus.PENDING:
            raise Refused(_l("You have already asked to join this household. Please wait for the answer."))
        raise Refused(_l("You are already a member of this household."))
    membership = Membership(user=user, household=household, relation=relation,
                            status=MembershipStatus.PENDING, requested_at=utcnow())
    db.session.add(membership)
    db.session.flush()
    record(user, "membership.requested", household.building_id, "membership", membership.id, target=user,
           detail=household.label)
    return membership


def _has_representative(household_id: int) -> bool:
    return db.session.scalar(sa.select(Membership.id).where(
        Membership.household_id == household_id, Membership.is_representative,
        Membership.status == MembershipStatus.APPROVED)) is not None


def approve(membership: Membership, by: User) -> None:
    """Approve a request; the household's first adult member becomes its representative."""
    _move(membership, MembershipStatus.APPROVED)
    membership.decided_at, membership.decided_by_id = utcnow(), by.id
    if membership.is_adult and not _has_representative(membership.household_id):
        membership.is_representative = True
    record(by, "membership.approved", membership.household.building_id, "membership", membership.id,
           target=membership.user, detail=membership.household.label)


def refuse(membership: Membership, by: User, reason: str) -> None:
    """Refuse a request; the reason is required and shown to the resident."""
    reason = (reason or "").strip()
    if not reason:
        raise Refused(_l("Please give the resident a reason."), "reason")
    _move(membership, MembershipStatus.REFUSED)
    membership.decided_at, membership.decided_by_id, membership.reason = utcnow(), by.id, reason[:500]
    record(by, "membership.refused", membership.household.building_id, "membership", membership.id,
           target=membership.user, detail=reason)


def withdraw(membership: Membership, by: User) -> None:
    if membership.user_id != by.id:
        abort(403)
    _move(membership, MembershipStatus.WITHDRAWN)
    record(by, "membership.withdrawn", membership.household.building_id, "membership", membership.id, target=by)


def end(membership: Membership, by: User) -> None:
    """Record a move-out: the membership ends, its history stays."""
    _move(membership, MembershipStatus.ENDED)
    membership.ended_at, membership.ended_by_id = utcnow(), by.id
    membership.is_representative = False
    record(by, "membership.ended", membership.household.building_id, "membership", membership.id,
           target=membership.user, detail=membership.household.label)


def make_representative(membership: Membership, by: User) -> None:
    """Name this member the household's one representative (the previous one steps down)."""
    if membership.status is not MembershipStatus.APPROVED:
        raise Refused(_l("Only a current member can represent the household."))
    if not membership.is_adult:
        raise Refused(_l("The household representative must be an adult."))
    db.session.execute(sa.update(Membership).where(
        Membership.household_id == membership.household_id, Membership.id != membership.id)
        .values(is_representative=False))
    membership.is_representative = True
    db.session.flush()
    record(by, "membership.representative", membership.household.building_id, "membership", membership.id,
           target=membership.user, detail=membership.household.label)


def register_resident(household: Household, display_name: str, relation: Relation, is_adult: bool,
                      by: User) -> Membership:
    """Staff register a resident who has no account: a record on the rolls, approved at once."""
    person = User(display_name=display_name.strip(), registered_by_id=by.id)
    db.session.add(person)
    membership = Membership(user=person, household=household, relation=relation, is_adult=is_adult,
                            status=MembershipStatus.APPROVED, decided_at=utcnow(), decided_by_id=by.id)
    db.session.add(membership)
    db.session.flush()
    if is_adult and not _has_representative(household.id):
        membership.is_representative = True
    record(by, "membership.registered", household.building_id, "membership", membership.id, target=person,
           detail=household.label)
    return membership


def household_members(household: Household) -> list[Membership]:
    """Everyone who lives or lived in a household, current first, with their person (one query)."""
    rows = db.session.scalars(
        sa.select(Membership).where(Membership.household_id == household.id,
                                    Membership.status.in_([MembershipStatus.APPROVED, MembershipStatus.ENDED]))
        .options(joinedload(Membership.user)).order_by(Membership.id)
    ).all()
    return sorted(rows, key=lambda m: (m.status is not MembershipStatus.APPROVED, not m.is_representative, m.id))


def is_member_of(user: User, household: Household) -> bool:
    return db.session.scalar(sa.select(Membership.id).where(
        Membership.user_id == user.id, Membership.household_id == household.id,
        Membership.status == MembershipStatus.APPROVED)) is not None


def my_memberships(user: User, page: int, per_page: int):
    query = (sa.select(Membership).where(Membership.user_id == user.id)
             .options(joinedload(Membership.household).joinedload(Household.building).joinedload(Place.parent))
             .order_by(Membership.id.desc()))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def pending_beneath(place: Place, page: int, per_page: int):
    """Requests waiting for a decision in a building or estate (or any place beneath `place`)."""
    query = (sa.select(Membership)
             .join(Household, Household.id == Membership.household_id)
             .join(Place, Place.id == Household.building_id)
             .where(Membership.status == MembershipStatus.PENDING, Place.path.startswith(place.path))
             .options(joinedload(Membership.user),
                      joinedload(Membership.household).joinedload(Household.building))
             .order_by(Membership.requested_at, Membership.id))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def count_pending_beneath(place: Place) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Membership.id))
        .join(Household, Household.id == Membership.household_id)
        .join(Place, Place.id == Household.building_id)
        .where(Membership.status == MembershipStatus.PENDING, Place.path.startswith(place.path))) or 0


# ---- party members ------------------------------------------------------------------------------

def party_membership(user: User, estate: Place) -> PartyMember | None:
    return db.session.scalar(sa.select(PartyMember).where(
        PartyMember.user_id == user.id, PartyMember.estate_id == estate.id, PartyMember.ended_at.is_(None)))


def record_party_member(user: User, estate: Place, reporting: bool, by: User) -> PartyMember:
    """Attach a party member to the estate's branch (living there, or reporting there: 在职党员报到)."""
    if estate.kind is not PlaceKind.ESTATE:
        raise Refused(_l("Party members are recorded on an estate's branch."))
    if party_membership(user, estate) is not None:
        raise Refused(_l("This person is already recorded as a party member of the branch."))
    entry = PartyMember(user_id=user.id, estate_id=estate.id, reporting=reporting, recorded_by_id=by.id)
    db.session.add(entry)
    db.session.flush()
    record(by, "party.recorded", estate, "party_member", entry.id, target=user)
    return entry


def end_party_member(entry: PartyMember, by: User) -> None:
    if entry.ended_at is not None:
        raise Refused(_l("This attachment has already ended."))
    entry.ended_at = utcnow()
    record(by, "party.ended", entry.estate_id, "party_member", entry.id, target=entry.user)


def party_members_page(estate: Place, page: int, per_page: int):
    query = (sa.select(PartyMember).where(PartyMember.estate_id == estate.id, PartyMember.ended_at.is_(None))
             .options(joinedload(PartyMember.user)).order_by(PartyMember.id))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def party_flags(user_ids: list[int], estate: Place) -> dict[int, PartyMember]:
    """Live party attachments to this estate for the given people (one query, for member lists)."""
    if not user_ids:
        return {}
    rows = db.session.scalars(sa.select(PartyMember).where(
        PartyMember.user_id.in_(user_ids), PartyMember.estate_id == estate.id, PartyMember.ended_at.is_(None)))
    return {row.user_id: row for row in rows}


def household_history(household: Household, limit: int = 50) -> list[Activity]:
    """Activity about the household and its memberships, newest first (one query)."""
    membership_ids = sa.select(Membership.id).where(Membership.household_id == household.id)
    return list(db.session.scalars(
        sa.select(Activity)
        .where(sa.or_(
            sa.and_(Activity.subject_type == "household", Activity.subject_id == household.id),
            sa.and_(Activity.subject_type == "membership", Activity.subject_id.in_(membership_ids))))
        .options(joinedload(Activity.actor), joinedload(Activity.target_user))
        .order_by(Activity.id.desc()).limit(limit)))
