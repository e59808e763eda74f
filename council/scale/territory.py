"""The district's places: streets → communities → (grids) → estates, each estate's buildings and households,
and the cadres above the estates (street administrators, community committee members, grid workers).

Paths are materialised as `create_place` does ("/street/community/grid/estate/"), names are unique among
siblings, and households follow the demo's numbering (unit, room "301": floor then door).
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from council.accounts.models import User
from council.roles.models import Role, RoleGrant
from council.scale import names
from council.scale.bulk import Bulk, Recorder
from council.territory.models import Household, Place, PlaceKind, Tenure, natural_key

BENCH_ESTATE = "基准小区"
BENCH_PREFIX = "bench"
# (units, floors, rooms per floor): walk-ups of the 1990s to the towers of the 2010s.
BUILDING_TYPES = ((2, 6, 2), (3, 6, 2), (4, 6, 2), (2, 7, 3), (2, 11, 2), (3, 18, 2), (2, 18, 4), (4, 18, 4))
BIG_TYPES = ((4, 18, 4), (4, 26, 4), (3, 32, 4))  # the benchmark estate is a large new estate of towers
AREAS_DM2 = (4850, 6240, 7385, 8650, 8912, 10230, 11875, 12460, 14300)
ESTATES_PER_COMMUNITY = 15
COMMUNITIES_PER_STREET = 8
DAY = timedelta(days=1)


@dataclass
class Home:
    """A household as later generators need it: its ids and how it is written ("3号楼 2-301")."""

    id: int
    building_id: int
    building: str
    label: str
    rented: bool


@dataclass
class Estate:
    index: int  # 0 is the benchmark estate
    id: int
    name: str
    path: str
    community_id: int
    grid_id: int | None
    street_id: int
    target: int  # households wanted
    prefix: str  # of its residents' usernames: "bench" or "e007"
    buildings: list[tuple[int, str]] = field(default_factory=list)
    homes: list[Home] = field(default_factory=list)

    @property
    def is_bench(self) -> bool:
        return self.index == 0


@dataclass
class District:
    admin_id: int
    estates: list[Estate]
    street_admins: dict[int, int]  # street id → its administrator's user id
    grid_workers: dict[int, int]  # grid id → its grid worker's user id
    bench_committee_id: int = 0  # `benchcom`: calls the benchmark estate's election
    logins: list[tuple[str, str]] = field(default_factory=list)


def cadre(bulk: Bulk, rng: random.Random, username: str, hashed: str, at: datetime, admin: bool = False) -> int:
    """A cadre's account (no household: street and community staff live elsewhere)."""
    return bulk.add(User, {"display_name": names.person(rng), "username": username, "password_hash": hashed,
                           "is_site_admin": admin, "created_at": at})


def grant(bulk: Bulk, record: Recorder, user_id: int, place_id: int, role: Role, by: int, at: datetime,
          duty: str | None = None) -> None:
    """A live role grant, recorded (and audited) as `council.roles.services.grant` does."""
    grant_id = bulk.add(RoleGrant, {"user_id": user_id, "place_id": place_id, "role": role.value, "duty": duty,
                                    "granted_by_id": by, "granted_at": at})
    record(by, "role.granted", place_id, "role_grant", grant_id, at, target_id=user_id, detail=role.value)


def _place(bulk: Bulk, record: Recorder, kind: PlaceKind, name: str, parent: tuple[int, str] | None, by: int,
           at: datetime, address: str | None = None) -> tuple[int, str]:
    """A place row with its materialised path; returns (id, path)."""
    place_id = bulk.new_id(Place.__table__)
    path = f"{parent[1] if parent else '/'}{place_id}/"
    bulk.add(Place, {"id": place_id, "kind": kind.value, "name": name, "sort_key": natural_key(name),
                     "parent_id": parent[0] if parent else None, "path": path, "address": address,
                     "created_at": at})
    record(by, "place.created", place_id, "place", place_id, at, detail=name)
    return place_id, path


def plan_district(bulk: Bulk, record: Recorder, rng: random.Random, estates: int, bench_households: int,
                  hashed: str, anchor: datetime) -> District:
    """Streets, communities, grids and estates (not yet their buildings), and the cadres with their roles."""
    founded = anchor - 1500 * DAY
    admin_id = cadre(bulk, rng, "scaleadmin", hashed, founded, admin=True)
    n_communities = max(1, math.ceil(estates / ESTATES_PER_COMMUNITY))
    n_streets = max(1, math.ceil(n_communities / COMMUNITIES_PER_STREET))
    district = District(admin_id, [], {}, {})
    district.logins.append(("scaleadmin", "site administrator"))
    streets = []
    for number, name in enumerate(names.area_names(rng, names.STREET_WORDS, n_streets, "街道"), start=1):
        street = _place(bulk, record, PlaceKind.STREET, name, None, admin_id, founded, rng.choice(names.PROVINCES))
        user_id = cadre(bulk, rng, f"street{number:02d}", hashed, founded)
        grant(bulk, record, user_id, street[0], Role.ADMIN, admin_id, founded + DAY)
        district.street_admins[street[0]] = user_id
        streets.append(street)
    communities = []
    for number, name in enumerate(names.area_names(rng, names.COMMUNITY_WORDS, n_communities, "社区"), start=1):
        street = streets[(number - 1) * n_streets // n_communities]
        by = district.street_admins[street[0]]
        community = _place(bulk, record, PlaceKind.COMMUNITY, name, street, by, founded + DAY)
        user_id = cadre(bulk, rng, f"com{number:03d}", hashed, founded)
        grant(bulk, record, user_id, community[0], Role.COMMITTEE_MEMBER, by, founded + 2 * DAY)
        # Many communities are not split into grids (their estates sit directly under them); the benchmark
        # estate's community is one of those, like 青和居.
        grids = []
        if number > 1 and rng.random() < 0.7:
            for g in range(1, rng.randint(2, 4) + 1):
                grid = _place(bulk, record, PlaceKind.GRID, f"第{names.chinese_number(g)}网格", community, by,
                              founded + DAY)
                worker = cadre(bulk, rng, f"grid{len(district.grid_workers) + 1:03d}", hashed, founded)
                grant(bulk, record, worker, grid[0], Role.GRID_WORKER, by, founded + 2 * DAY)
                district.grid_workers[grid[0]] = worker
                grids.append(grid)
        communities.append((community, street, grids))
    district.bench_committee_id = cadre(bulk, rng, "benchcom", hashed, founded)
    bench_community = communities[0][0]
    grant(bulk, record, district.bench_committee_id, bench_community[0], Role.COMMITTEE_MEMBER,
          district.street_admins[communities[0][1][0]], founded + 2 * DAY)
    district.logins += [("street01", "street administrator"), ("com001", "community committee member")]
    estate_names = [BENCH_ESTATE, *names.estate_names(rng, estates - 1, {BENCH_ESTATE})]
    for index, name in enumerate(estate_names):
        community, street, grids = communities[index * n_communities // estates]
        parent = grids[index % len(grids)] if grids else community
        by = district.street_admins[street[0]]
        estate_id, path = _place(bulk, record, PlaceKind.ESTATE, name, parent, by, founded + 3 * DAY)
        target = bench_households if index == 0 else rng.randint(350, 650)
        district.estates.append(Estate(index, estate_id, name, path, community[0], parent[0] if grids else None,
                                       street[0], target, BENCH_PREFIX if index == 0 else f"e{index:03d}"))
    return district


def fill_estate(bulk: Bulk, record: Recorder, district: District, estate: Estate, rng: random.Random,
                anchor: datetime) -> None:
    """The estate's buildings and households, as a household import would create them (one activity)."""
    imported = anchor - rng.randint(1300, 1400) * DAY
    by = district.street_admins[estate.street_id]
    types = BIG_TYPES if estate.is_bench and estate.target > 1000 else BUILDING_TYPES
    count = 0
    number = 0
    while count < estate.target:
        number += 1
        units, floors, per_floor = rng.choice(types)
        name = f"{number}号楼"
        building_id, _path = _place(bulk, record, PlaceKind.BUILDING, name, (estate.id, estate.path), by, imported)
        estate.buildings.append((building_id, name))
        for unit in range(1, units + 1):
            for floor in range(1, floors + 1):
                for door in range(1, per_floor + 1):
                    if count >= estate.target:
                        break
                    room = f"{floor}{door:02d}"
                    label = f"{unit}-{room}"
                    rented = rng.random() < 0.18
                    home_id = bulk.add(Household, {
                        "building_id": building_id, "unit": str(unit), "room": room, "sort_key": natural_key(label),
                        "floor_area_dm2": rng.choice(AREAS_DM2),
                        "tenure": (Tenure.RENTED if rented else Tenure.OWNER_OCCUPIED).value,
                        "kind": "dwelling", "created_at": imported})
                    estate.homes.append(Home(home_id, building_id, name, label, rented))
                    count += 1
    record(by, "household.imported", estate.id, "place", estate.id, imported, detail=str(count))
