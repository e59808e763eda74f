"""May this person do this here? Roles held on a place count for every place beneath it.

`allowed` is the pure rule (no Flask, no database) and is what the permission matrix tests.
`can` and `require` load the signed-in person's standing once per request and apply it.
"""
from __future__ import annotations

import enum
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from cachetools import LRUCache
from flask import abort, g
from flask_login import current_user
from flask_sqlalchemy.session import Session as SessionClass

from council.accounts.models import User
from council.extensions import db
from council.membership.models import Membership, MembershipStatus
from council.roles.models import Role, RoleGrant
from council.territory.models import Household, Place, PlaceKind
from council.versions import for_people


class Action(enum.StrEnum):
    PLACE_VIEW = "place.view"  # open the estate or building page
    RESIDENTS_VIEW = "residents.view"  # see who lives where, pending requests
    RESIDENT_REGISTER = "residents.register"  # register people without a phone, move-outs, representatives
    MEMBERSHIP_DECIDE = "membership.decide"  # approve or refuse a request to join a household
    PARTY_MANAGE = "party.manage"  # record party members of the estate's branch
    TERRITORY_MANAGE = "territory.manage"  # create and edit places and households beneath
    ROLES_MANAGE = "roles.manage"  # grant and revoke roles beneath
    ACTIVITY_VIEW = "activity.view"  # read the activity records of a place
    CONCERN_HANDLE = "concern.handle"  # accept, assign, resolve, escalate concerns; see the ledger
    CONCERN_RECORD = "concern.record"  # record a concern on a resident's behalf (stand, phone, visit)
    PROPOSAL_MODERATE = "proposal.moderate"  # hide a proposal comment (with a reason), see reports
    PROPOSAL_ANSWER = "proposal.answer"  # post the official answer to a proposal
    PROPOSAL_STEER = "proposal.steer"  # put a proposal on the agenda, open its vote, mark it carried out
    VOTE_TELLER = "vote.teller"  # see a vote's roll, record written proxies, check voters off for paper
    OWNERS_VIEW = "owners.view"  # read the owner register (names, masked certificate numbers)
    MEETING_RUN = "meeting.run"  # schedule meetings, build and publish agendas
    OWNERS_MANAGE = "owners.manage"  # record owners from property certificates, import and export the register
    ELECTION_SETUP = "election.setup"  # call a service-team election and appoint its committee


STAFF_ROLES = frozenset(Role)

RULES: dict[Action, frozenset[Role]] = {
    Action.PLACE_VIEW: STAFF_ROLES,
    Action.RESIDENTS_VIEW: STAFF_ROLES,
    Action.RESIDENT_REGISTER: STAFF_ROLES,
    Action.MEMBERSHIP_DECIDE: frozenset({Role.BUILDING_LEADER, Role.ADMIN}),
    Action.PARTY_MANAGE: frozenset({Role.BRANCH_SECRETARY, Role.ADMIN}),
    Action.TERRITORY_MANAGE: frozenset({Role.ADMIN}),
    Action.ROLES_MANAGE: frozenset({Role.ADMIN}),
    Action.ACTIVITY_VIEW: STAFF_ROLES,
    Action.CONCERN_HANDLE: STAFF_ROLES,
    Action.CONCERN_RECORD: STAFF_ROLES,
    Action.PROPOSAL_MODERATE: STAFF_ROLES,
    Action.PROPOSAL_ANSWER: frozenset({Role.BRANCH_SECRETARY, Role.ADMIN}),
    Action.PROPOSAL_STEER: frozenset({Role.BRANCH_SECRETARY, Role.ADMIN}),
    Action.VOTE_TELLER: STAFF_ROLES,
    Action.OWNERS_VIEW: STAFF_ROLES,
    Action.OWNERS_MANAGE: frozenset({Role.ADMIN, Role.COMMITTEE_MEMBER}),
    Action.MEETING_RUN: frozenset({Role.BRANCH_SECRETARY, Role.COMMITTEE_MEMBER, Role.ADMIN}),
    Action.ELECTION_SETUP: frozenset({Role.COMMITTEE_MEMBER, Role.ADMIN}),
}

# Actions that an approved resident may take on their own building and estate, without any role.
MEMBER_ACTIONS = frozenset({Action.PLACE_VIEW})


@dataclass(frozen=True)
class Standing:
    """What a person holds: roles on places, the places they belong to, and site administration."""

    roles: frozenset[tuple[Role, int]] = field(default_factory=frozenset)
    member_places: frozenset[int] = field(default_factory=frozenset)
    site_admin: bool = False

    @property
    def is_staff(self) -> bool:
        return self.site_admin or bool(self.roles)

    @property
    def key(self) -> tuple:
        """The same for two people who hold the same: what a page kept for members is kept per (pagecache)."""
        return (self.site_admin, tuple(sorted((role.value, place_id) for role, place_id in self.roles)),
                tuple(sorted(self.member_places)))


ANONYMOUS = Standing()


def allowed(standing: Standing, action: Action, lineage: Sequence[int]) -> bool:
    """True if `standing` permits `action` on the place whose ids from the top down are `lineage`."""
    if not lineage:
        return standing.site_admin
    if standing.site_admin:
        return True
    if action in MEMBER_ACTIONS and lineage[-1] in standing.member_places:
        return True
    permitted = RULES[action]
    ancestors = set(lineage)
    return any(role in permitted and place_id in ancestors for role, place_id in standing.roles)


def may_grant(standing: Standing, role: Role, lineage: Sequence[int]) -> bool:
    """Administrators grant roles beneath them; an administrator's role only from strictly above."""
    if role is Role.ADMIN:
        return standing.site_admin or allowed(standing, Action.ROLES_MANAGE, lineage[:-1])
    return allowed(standing, Action.ROLES_MANAGE, lineage)


def _standing_statement() -> sa.CompoundSelect:
    """A person's live roles and approved memberships (one query: the two lists, one after the other), built
    once and on the tables (Core): building a statement this size costs more than running it."""
    person = sa.bindparam("person_id")
    grant, place, home, member = (RoleGrant.__table__.c, Place.__table__.c, Household.__table__.c,
                                  Membership.__table__.c)
    roles = (sa.select(grant.role, grant.place_id, place.kind, place.parent_id)
             .join_from(RoleGrant.__table__, Place.__table__, place.id == grant.place_id)
             .where(grant.user_id == person, grant.revoked_at.is_(None)))
    homes = (sa.select(sa.null(), home.building_id, sa.null(), place.parent_id)
             .select_from(Membership.__table__)
             .join(Household.__table__, home.id == member.household_id)
             .join(Place.__table__, place.id == home.building_id)
             .where(member.user_id == person, member.status == MembershipStatus.APPROVED))
    return sa.union_all(roles, homes)


STANDING = _standing_statement()


def load_standing(user_id: int, site_admin: bool = False) -> Standing:
    """Read a person's live roles and approved memberships."""
    return standing_of(db.session.execute(STANDING, {"person_id": user_id}), site_admin)


def standing_of(rows, site_admin: bool) -> Standing:
    """A standing from the rows of STANDING: (role, place, its kind, its parent) for a role, (None, building,
    None, estate) for a home."""
    held, member_places = set(), set()
    for role, place_id, kind, parent_id in rows:
        if role is None:  # a home: its building and its estate
            member_places.update((place_id, parent_id))
            continue
        held.add((Role(role), place_id))
        if kind is not None and PlaceKind(kind) is PlaceKind.BUILDING and parent_id is not None:
            member_places.add(parent_id)  # a building leader also belongs to the estate their building is in
    member_places.discard(None)
    return Standing(roles=frozenset(held), member_places=frozenset(member_places), site_admin=site_admin)


# What this process has read of people's standings, by (person, standing_version, site administrator): every
# change to their roles or memberships moves standing_version on (below), so an entry is never stale, only unused.
_standings: LRUCache = LRUCache(maxsize=50_000)
_standings_lock = threading.Lock()


def _kept_standing(user_id: int, standing_version: int, site_admin: bool) -> Standing:
    with _standings_lock:
        found = _standings.get((user_id, standing_version, site_admin))
    if found is None:
        found = keep_standing(user_id, standing_version, load_standing(user_id, site_admin))
    return found


def keep_standing(user_id: int, standing_version: int, standing: Standing) -> Standing:
    """Keep a standing read at this standing_version (by council.accounts.kept, read with the person)."""
    with _standings_lock:
        _standings[(user_id, standing_version, standing.site_admin)] = standing
    return standing


def forget_standings() -> None:
    """Drop what this process keeps (the tests do, between tests: their ids start again from 1)."""
    with _standings_lock:
        _standings.clear()


def current_standing() -> Standing:
    """The signed-in person's standing: once per request, and from this process's store while it holds."""
    if not current_user.is_authenticated:
        return ANONYMOUS
    if "standing" not in g:
        g.standing = _kept_standing(current_user.id, current_user.standing_version,
                                    bool(current_user.is_site_admin))
    return g.standing


def _person_of(entry: RoleGrant | Membership) -> int | None:
    """The person a grant or membership is about (before the flush, a new row may only have `user` set)."""
    return entry.user_id if entry.user_id is not None else getattr(entry.user, "id", None)


@sa.event.listens_for(SessionClass, "before_flush")
def _standing_moves(session, _context, _instances) -> None:
    """A role granted or revoked, a membership asked for, approved or ended: the person's standing_version
    moves on in the same transaction, so no process keeps serving what they held before. This sees ORM
    changes only: code that changes role_grants or memberships with a Core UPDATE or DELETE (none does today
    in a way that changes standing) must move the version itself."""
    changed = {_person_of(obj) for obj in (*session.new, *session.deleted) if isinstance(obj, (RoleGrant, Membership))}
    changed |= {_person_of(obj) for obj in session.dirty
                if isinstance(obj, (RoleGrant, Membership)) and session.is_modified(obj)}
    changed.discard(None)  # a person made in this same flush: nothing of theirs is kept anywhere yet
    if changed:
        session.execute(for_people(sa.update(User).where(User.id.in_(sorted(changed)))
                                   .values(standing_version=User.standing_version + 1)
                                   .execution_options(synchronize_session=False), *changed))


def can(action: Action | str, place: Place | None) -> bool:
    """May the signed-in person take `action` on `place`? Exposed to templates."""
    if place is None:
        return current_standing().site_admin
    return allowed(current_standing(), Action(action), place.lineage_ids)


def user_can(user, action: Action | str, place: Place) -> bool:
    """May this person (not necessarily the signed-in one: a service acting for `by`) take `action` here?"""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if current_user and current_user.is_authenticated and current_user.id == user.id:
        return can(action, place)
    return allowed(load_standing(user.id, user.is_site_admin), Action(action), place.lineage_ids)


def require(action: Action | str, place: Place | None) -> None:
    """Abort with 403 unless the signed-in person may take `action` on `place`."""
    if not can(action, place):
        abort(403)
