"""Test data built through the services, returned as ids so tests never hold stale objects."""
from __future__ import annotations

from dataclasses import dataclass

from werkzeug.security import generate_password_hash

from council.accounts.models import User
from council.extensions import db
from council.membership import services as membership
from council.membership.models import Relation
from council.roles import services as roles
from council.roles.models import Role
from council.territory.models import PlaceKind, Tenure
from council.territory.services import create_household, create_place

PASSWORD = "correct horse 1"
# One cheap hash for every test person: the suite is not a password-hashing benchmark.
_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1")


def person(username: str | None, name: str | None = None, *, mobile: str | None = None,
           site_admin: bool = False) -> User:
    user = User(username=username, display_name=name or (username or "resident"), mobile=mobile,
                password_hash=_HASH if (username or mobile) else None, is_site_admin=site_admin)
    db.session.add(user)
    db.session.flush()
    return user


@dataclass(frozen=True)
class World:
    """Ids of the standard test territory.

    street ─ community ─ grid ─ estate (b1: h11 h12, b2: h21)
                             └─ estate2 (b3: h31)
           └ community2 ─ estate3 (b4: h41)
    """

    street: int
    community: int
    grid: int
    estate: int
    b1: int
    b2: int
    estate2: int
    b3: int
    community2: int
    estate3: int
    b4: int
    h11: int
    h12: int
    h21: int
    h31: int
    h41: int
    users: dict[str, int]


# username → (role, place attribute) for the people who hold a role.
ROLE_HOLDERS = {
    "leader": (Role.BUILDING_LEADER, "b1"),
    "team": (Role.SERVICE_TEAM, "estate"),
    "secretary": (Role.BRANCH_SECRETARY, "estate"),
    "gridworker": (Role.GRID_WORKER, "grid"),
    "committee": (Role.COMMITTEE_MEMBER, "community"),
    "estate_admin": (Role.ADMIN, "estate"),
    "community_admin": (Role.ADMIN, "community"),
    "street_admin": (Role.ADMIN, "street"),
    "leader3": (Role.BUILDING_LEADER, "b3"),
    "admin3": (Role.ADMIN, "estate3"),
}


def build_world() -> World:
    street = create_place(PlaceKind.STREET, "金山街道", None, None)
    community = create_place(PlaceKind.COMMUNITY, "城北社区", street, None)
    grid = create_place(PlaceKind.GRID, "第一网格", community, None)
    estate = create_place(PlaceKind.ESTATE, "化肥厂小区", grid, None)
    b1 = create_place(PlaceKind.BUILDING, "1号楼", estate, None)
    b2 = create_place(PlaceKind.BUILDING, "2号楼", estate, None)
    estate2 = create_place(PlaceKind.ESTATE, "香林美域", grid, None)
    b3 = create_place(PlaceKind.BUILDING, "1号楼", estate2, None)
    community2 = create_place(PlaceKind.COMMUNITY, "青和居社区", street, None)
    estate3 = create_place(PlaceKind.ESTATE, "青和居", community2, None)
    b4 = create_place(PlaceKind.BUILDING, "1号楼", estate3, None)
    h = {
        "h11": create_household(b1, "1", "101", 8650, Tenure.OWNER_OCCUPIED, None),
        "h12": create_household(b1, "1", "102", 7200, Tenure.RENTED, None),
        "h21": create_household(b2, "1", "101", 9000, Tenure.OWNER_OCCUPIED, None),
        "h31": create_household(b3, "1", "101", 10000, Tenure.OWNER_OCCUPIED, None),
        "h41": create_household(b4, "1", "101", 6000, Tenure.OWNER_OCCUPIED, None),
    }
    places = dict(street=street, community=community, grid=grid, estate=estate, b1=b1, b2=b2, estate2=estate2,
                  b3=b3, community2=community2, estate3=estate3, b4=b4)
    users: dict[str, User] = {"siteadmin": person("siteadmin", "Site admin", site_admin=True)}
    for username, (role, where) in ROLE_HOLDERS.items():
        users[username] = person(username)
        roles.grant(users[username], role, places[where], users["siteadmin"])
    # Residents: one approved in b1 (h11), one in another community (h41), one newcomer.
    users["resident"] = person("resident", "周丽华", mobile="13800138000")
    users["outsider"] = person("outsider", "Outsider")
    users["newcomer"] = person("newcomer", "孙晓明")
    for username, household in (("resident", h["h11"]), ("outsider", h["h41"])):
        entry = membership.request_join(users[username], household, Relation.OWNER)
        membership.approve(entry, users["siteadmin"])
    db.session.commit()
    return World(**{k: v.id for k, v in places.items()}, **{k: v.id for k, v in h.items()},
                 users={k: v.id for k, v in users.items()})
