"""Demo data: a believable street from the field notes, with people in every role. Idempotent."""
from __future__ import annotations

import random
from dataclasses import dataclass, field

import click
import sqlalchemy as sa

from council.accounts.models import User
from council.demo_concerns import seed_concerns
from council.demo_elections import seed_elections
from council.demo_meetings import seed_meetings
from council.demo_votes import seed_votes
from council.extensions import db
from council.membership import services as membership
from council.membership.models import Membership, MembershipStatus, Relation
from council.roles import services as roles
from council.roles.models import Role
from council.territory.models import Household, Place, PlaceKind, Tenure, natural_key
from council.territory.services import create_place

DEMO_PASSWORD = "demo1234"

# (street, [(community, [(grid or None, [(estate, buildings, units, floors, rooms per floor)])])])
TERRITORY = [
    ("金山街道", "贵州省福泉市", [
        ("城北社区", [
            ("第一网格", [("化肥厂小区", 6, 2, 6, 2), ("香林美域", 8, 2, 11, 2)]),
            ("第二网格", [("翰林学苑", 5, 3, 6, 2)]),
        ]),
        ("青和居社区", [
            (None, [("青和居", 19, 4, 17, 4)]),  # 19 buildings, about 5,200 households
        ]),
    ]),
    ("芜湖路街道", "安徽省合肥市包河区", [
        ("东陈岗社区", [
            (None, [("送变电家园", 12, 2, 6, 2)]),
        ]),
    ]),
]

# username, name, (role, place path) or None; place path is a tuple of names from the street down.
PEOPLE = [
    ("admin", "平台管理员", None),
    ("street", "陈建华", (Role.ADMIN, ("金山街道",))),
    ("committee", "王秀英", (Role.COMMITTEE_MEMBER, ("金山街道", "城北社区"))),
    ("grid", "刘琼", (Role.GRID_WORKER, ("金山街道", "城北社区", "第一网格"))),
    ("secretary", "吉永锋", (Role.BRANCH_SECRETARY, ("金山街道", "城北社区", "第一网格", "化肥厂小区"))),
    ("team", "何燕", (Role.SERVICE_TEAM, ("金山街道", "城北社区", "第一网格", "化肥厂小区"))),
    ("leader", "张国强", (Role.BUILDING_LEADER, ("金山街道", "城北社区", "第一网格", "化肥厂小区", "1号楼"))),
    ("xiangl", "李月萍", (Role.SERVICE_TEAM, ("金山街道", "城北社区", "第一网格", "香林美域"))),
    ("qinghe", "胡芳瑞", (Role.ADMIN, ("金山街道", "青和居社区", "青和居"))),
    ("sbd", "赵建国", (Role.BUILDING_LEADER, ("芜湖路街道", "东陈岗社区", "送变电家园", "10号楼"))),
    ("sbdsec", "马红梅", (Role.BRANCH_SECRETARY, ("芜湖路街道", "东陈岗社区", "送变电家园"))),
    ("resident", "周丽华", None),
    ("newcomer", "孙晓明", None),
]
DUTIES = {"team": "环境卫生", "xiangl": "队长", "secretary": "队长"}

# Residents of 化肥厂小区 1号楼 (unit-room): username or None for someone registered by staff.
RESIDENTS = [
    ("resident", "1-301", Relation.OWNER, MembershipStatus.APPROVED),
    ("leader", "1-502", Relation.OWNER, MembershipStatus.APPROVED),
    ("secretary", "2-201", Relation.OWNER, MembershipStatus.APPROVED),
    ("team", "2-402", Relation.TENANT, MembershipStatus.APPROVED),
    ("newcomer", "1-101", Relation.TENANT, MembershipStatus.PENDING),
]
MORE_RESIDENTS = ["李桂兰", "王建军", "张淑珍", "刘志强", "陈美华", "杨德明", "黄秀兰", "赵立新", "吴凤英", "徐国庆"]


@dataclass
class Summary:
    places: int = 0
    households: int = 0
    people: int = 0
    concerns: int = 0
    elections: list[str] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    def describe(self) -> str:
        if not (self.places or self.households or self.people or self.concerns or self.elections):
            return "Demo data already present; nothing added."
        text = (f"Added {self.places} places, {self.households} households, {self.people} people and "
                f"{self.concerns} concerns.")
        if self.elections:
            text += f"\nService-team elections: {'; '.join(self.elections)}."
        return text


def _child(parent: Place | None, kind: PlaceKind, name: str, summary: Summary, address: str | None = None) -> Place:
    parent_clause = Place.parent_id.is_(None) if parent is None else Place.parent_id == parent.id
    found = db.session.scalar(sa.select(Place).where(parent_clause, Place.name == name))
    if found is not None:
        return found
    summary.places += 1
    return create_place(kind, name, parent, None, address)


def _households(building: Place, units: int, floors: int, per_floor: int, rng: random.Random) -> int:
    """Bulk-insert a building's households (one statement), skipping it if already filled."""
    if db.session.scalar(sa.select(Household.id).where(Household.building_id == building.id).limit(1)):
        return 0
    rows = []
    for unit in range(1, units + 1):
        for floor in range(1, floors + 1):
            for door in range(1, per_floor + 1):
                room = f"{floor}{door:02d}"
                rows.append({
                    "building_id": building.id, "unit": str(unit), "room": room,
                    "sort_key": natural_key(f"{unit}-{room}"),
                    "floor_area_dm2": rng.choice([6240, 7385, 8650, 8912, 10230, 11875, 12460]),
                    "tenure": (Tenure.RENTED if rng.random() < 0.2 else Tenure.OWNER_OCCUPIED).value,
                })
    db.session.execute(sa.insert(Household), rows)
    return len(rows)


def _place_at(path: tuple[str, ...]) -> Place:
    place = None
    for name in path:
        parent_clause = Place.parent_id.is_(None) if place is None else Place.parent_id == place.id
        place = db.session.scalar(sa.select(Place).where(parent_clause, Place.name == name))
    return place


def _person(username: str, name: str, summary: Summary, site_admin: bool = False) -> User:
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        user = User(username=username, display_name=name, is_site_admin=site_admin, locale=None)
        user.set_password(DEMO_PASSWORD)
        db.session.add(user)
        db.session.flush()
        summary.people += 1
    return user


def _household(building: Place, label: str) -> Household:
    unit, room = label.split("-")
    return db.session.scalar(sa.select(Household).where(
        Household.building_id == building.id, Household.unit == unit, Household.room == room))


def seed() -> Summary:
    """Create whatever part of the demo is missing; safe to run again."""
    rng = random.Random(20261122)
    summary = Summary()
    buildings_total = sum(b for _s, _a, cs in TERRITORY for _c, gs in cs for _g, es in gs for _e, b, *_ in es)
    with click.progressbar(length=buildings_total, label="Territory and households") as bar:
        for street_name, address, communities in TERRITORY:
            street = _child(None, PlaceKind.STREET, street_name, summary, address)
            for community_name, grids in communities:
                community = _child(street, PlaceKind.COMMUNITY, community_name, summary)
                for grid_name, estates in grids:
                    parent = _child(community, PlaceKind.GRID, grid_name, summary) if grid_name else community
                    for estate_name, buildings, units, floors, per_floor in estates:
                        estate = _child(parent, PlaceKind.ESTATE, estate_name, summary)
                        for number in range(1, buildings + 1):
                            building = _child(estate, PlaceKind.BUILDING, f"{number}号楼", summary)
                            summary.households += _households(building, units, floors, per_floor, rng)
                            bar.update(1)

    people = {}
    for username, name, grant in PEOPLE:
        user = _person(username, name, summary, site_admin=username == "admin")
        people[username] = user
        if grant:
            role, path = grant
            place = _place_at(path)
            held = any(g.role is role for g in roles.grants_page(place, 1, 100).items if g.user_id == user.id)
            if not held:
                roles.grant(user, role, place, people.get("admin"), DUTIES.get(username))
        summary.logins.append((username, _describe(name, grant)))

    building = _place_at(("金山街道", "城北社区", "第一网格", "化肥厂小区", "1号楼"))
    for username, label, relation, status in RESIDENTS:
        household = _household(building, label)
        if membership.live_membership(people[username], household) is None:
            entry = membership.request_join(people[username], household, relation)
            if status is MembershipStatus.APPROVED:
                membership.approve(entry, people["leader"])
    # Neighbours in 1号楼, including an elderly resident with no phone, registered by staff.
    registered = db.session.scalar(sa.select(sa.func.count(Membership.id)).join(Household).where(
        Household.building_id == building.id, Membership.status == MembershipStatus.APPROVED))
    if registered <= len(RESIDENTS):
        households = db.session.scalars(sa.select(Household).where(Household.building_id == building.id)
                                        .order_by(Household.sort_key)).all()
        for name, household in zip(MORE_RESIDENTS, households[2::2], strict=False):
            membership.register_resident(household, name, Relation.OWNER, True, people["team"])
            summary.people += 1
    estate = building.parent
    if membership.party_membership(people["secretary"], estate) is None:
        membership.record_party_member(people["secretary"], estate, False, people["secretary"])
        membership.record_party_member(people["leader"], estate, True, people["secretary"])
    db.session.flush()
    summary.concerns = seed_concerns()
    summary.people += seed_votes(_place_at(("芜湖路街道", "东陈岗社区", "送变电家园")), estate, DEMO_PASSWORD)
    seed_meetings(estate)
    added, summary.elections = seed_elections(estate, _place_at(("芜湖路街道", "东陈岗社区", "送变电家园")),
                                              DEMO_PASSWORD)
    summary.people += added
    return summary


def _describe(name: str, grant) -> str:
    if grant is None:
        return name
    role, path = grant
    return f"{name}: {roles.ROLE_LABELS[role]} · {path[-1]}"
