"""An estate's residents: people, their memberships of households, the estate's own staff (branch secretary,
service team, one leader per building) and its party members.

As the services do it: a resident with an account asked to join and a building leader approved them; a
resident without a phone (minors, some elderly people) was registered by staff and approved at once; the
first adult of each household is its representative. Each step leaves its activity record.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from council.accounts.models import User
from council.membership.models import Membership, PartyMember
from council.roles.models import Role
from council.scale import names
from council.scale.bulk import Bulk, Recorder
from council.scale.territory import District, Estate, Home, grant

DAY, HOUR = timedelta(days=1), timedelta(hours=1)
DUTIES = ("队长", "环境卫生", "治安巡逻", "为老服务", "消防安全")
TEAM_SIZE = 4  # service-team members besides the secretary
# Members per household (about 1.33 on average): nobody registered yet, one, two or three.
MEMBERS = (0, 1, 2, 3)
MEMBER_WEIGHTS = (10, 55, 27, 8)
MOBILE_PREFIXES = ("130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "158", "159", "186", "187")


@dataclass(eq=False)  # compared by identity: "in people.staff" must not compare every field
class Resident:
    user_id: int
    name: str
    home: Home
    adult: bool
    account: bool
    first: bool  # the household's first member: its owner, or its tenant in a rented flat
    approved: bool = True
    representative: bool = False
    username: str | None = None


@dataclass
class People:
    """Who later generators pick from: approved adults with an account, and the estate's staff."""

    residents: list[Resident]
    voices: list[Resident]  # approved adult members who can sign in: authors, commenters, supporters
    secretary: Resident
    team: list[Resident]
    leaders: dict[int, Resident]  # building id → its leader
    logins: list[tuple[str, str]] = field(default_factory=list)
    by_building: dict[int, list[Resident]] = field(default_factory=dict)  # the voices of each building

    def __post_init__(self) -> None:
        for voice in self.voices:
            self.by_building.setdefault(voice.home.building_id, []).append(voice)

    @property
    def staff(self) -> list[Resident]:
        return [self.secretary, *self.team]


class Serial:
    """Numbers that must be unique across the district (mobile numbers), handed out in estate order."""

    def __init__(self) -> None:
        self.mobile = 0

    def next_mobile(self, rng: random.Random) -> str:
        self.mobile += 1
        return f"{rng.choice(MOBILE_PREFIXES)}{self.mobile:08d}"


def _household(rng: random.Random, bench: bool) -> list[tuple[str, bool, bool]]:
    """(name, adult, has an account) for each member; every adult of the benchmark estate can sign in."""
    count = rng.choices(MEMBERS, MEMBER_WEIGHTS)[0]
    family = names.surname(rng)
    found = []
    for position in range(count):
        minor = position == 2 and rng.random() < 0.6 or position == 1 and rng.random() < 0.08
        if minor:
            found.append((names.child(rng, family), False, False))
            continue
        name = names.person(rng, family if position == 0 or rng.random() < 0.3 else None)
        found.append((name, True, bench or rng.random() < 0.88))
    return found


def populate(bulk: Bulk, record: Recorder, district: District, estate: Estate, rng: random.Random,
             anchor: datetime, hashed: str, serial: Serial) -> People:
    """Create the estate's people, memberships, staff roles and party members."""
    residents = [Resident(0, name, home, adult, account, position == 0)
                 for home in estate.homes
                 for position, (name, adult, account) in enumerate(_household(rng, estate.is_bench))]
    if not any(r.adult and r.account for r in residents):  # a tiny estate: someone must serve
        residents.insert(0, Resident(0, names.person(rng), estate.homes[0], True, True, False))
    signers = [r for r in residents if r.adult and r.account]
    # Staff: the branch secretary and the service team, spread over the estate, then one leader per building
    # (a building where nobody with an account lives has no leader: the secretary approves its members).
    chosen = rng.sample(signers, min(len(signers), 1 + TEAM_SIZE))
    secretary, team = chosen[0], chosen[1:]
    taken = {id(r) for r in chosen}
    leaders: dict[int, Resident] = {}
    for resident in signers:
        building = resident.home.building_id
        if building not in leaders and id(resident) not in taken:
            leaders[building] = resident
            taken.add(id(resident))
    prefix = estate.prefix
    secretary.username = f"{prefix}sec"
    for k, member in enumerate(team, start=1):
        member.username = f"{prefix}team{k}"
    for building_id, name in estate.buildings:
        if building_id in leaders:
            leaders[building_id].username = f"{prefix}b{name.removesuffix('号楼').zfill(2)}"
    numbered = prefix if estate.is_bench else f"{prefix}r"
    n = 0
    for resident in residents:
        if resident.account and resident.username is None:
            n += 1
            resident.username = f"{numbered}{n:04d}"
    # Not every request has been decided: a few residents of the other estates still wait for approval.
    for resident in residents:
        if not estate.is_bench and resident.account and id(resident) not in taken and rng.random() < 0.01:
            resident.approved = False
    represented: set[int] = set()
    for resident in residents:  # the first adult approved member of each household represents it
        if resident.adult and resident.approved and resident.home.id not in represented:
            resident.representative = True
            represented.add(resident.home.id)

    staff_since = anchor - 1250 * DAY
    ordered = [secretary, *team, *leaders.values()]
    ordered += [r for r in residents if id(r) not in taken]
    for resident in ordered:
        _person(bulk, record, district, estate, resident, rng, anchor, staff_since, hashed, serial, secretary,
                leaders.get(resident.home.building_id), id(resident) in taken)
    voices = [r for r in residents if r.adult and r.account and r.approved]
    people = People(residents, voices, secretary, team, leaders)
    _staff_roles(bulk, record, district, estate, people, anchor - 1200 * DAY)
    _party(bulk, record, estate, people, rng, anchor)
    if estate.is_bench or estate.index == 1:  # the same names in every estate: e001..., e002...
        kind = "voters (every adult member)" if estate.is_bench else "residents"
        people.logins += [(secretary.username, f"branch secretary of {estate.name}"),
                          (f"{prefix}team1..{len(team)}", f"service team of {estate.name}"),
                          (f"{prefix}b01..", f"building leaders of {estate.name} (b + building number)"),
                          (f"{numbered}0001..{numbered}{n:04d}", f"{kind} of {estate.name}")]
    return people


def _decider(district: District, estate: Estate, resident: Resident, secretary: Resident,
             leader: Resident | None, is_staff: bool) -> int:
    """Who approved the membership: the street for the secretary, the secretary for the other staff (they
    are written first), otherwise the building's leader (the secretary where a building has none)."""
    if resident is secretary:
        return district.street_admins[estate.street_id]
    if is_staff or leader is None:
        return secretary.user_id
    return leader.user_id


def _person(bulk: Bulk, record: Recorder, district: District, estate: Estate, resident: Resident,
            rng: random.Random, anchor: datetime, staff_since: datetime, hashed: str, serial: Serial,
            secretary: Resident, leader: Resident | None, is_staff: bool) -> None:
    joined = staff_since if is_staff else anchor - rng.randint(30, 1200) * DAY - rng.randint(0, 23) * HOUR
    decider = _decider(district, estate, resident, secretary, leader, is_staff)
    row = {"display_name": resident.name, "created_at": joined - rng.randint(5, 600) * timedelta(minutes=1)}
    if resident.account:
        row.update(username=resident.username, password_hash=hashed,
                   mobile=serial.next_mobile(rng) if rng.random() < 0.7 else None)
    else:
        row.update(registered_by_id=decider, created_at=joined)
    resident.user_id = bulk.add(User, row)
    home = resident.home
    relation = "tenant" if home.rented else ("owner" if resident.first else "family")
    membership = {"user_id": resident.user_id, "household_id": home.id, "relation": relation,
                  "is_adult": resident.adult, "requested_at": joined}
    if not resident.approved:
        membership.update(status="pending", requested_at=anchor - rng.randint(1, 20) * DAY)
    else:
        decided = joined + (rng.randint(1, 72) * HOUR if resident.account else timedelta(0))
        membership.update(status="approved", decided_at=decided, decided_by_id=decider,
                          is_representative=resident.representative)
    membership_id = bulk.add(Membership, membership)
    place = home.building_id
    if not resident.account:
        record(decider, "membership.registered", place, "membership", membership_id, joined,
               target_id=resident.user_id, detail=home.label)
        return
    record(resident.user_id, "membership.requested", place, "membership", membership_id,
           membership["requested_at"], target_id=resident.user_id, detail=home.label)
    if resident.approved:
        record(decider, "membership.approved", place, "membership", membership_id, membership["decided_at"],
               target_id=resident.user_id, detail=home.label)


def _staff_roles(bulk: Bulk, record: Recorder, district: District, estate: Estate, people: People,
                 at: datetime) -> None:
    by = district.street_admins[estate.street_id]
    grant(bulk, record, people.secretary.user_id, estate.id, Role.BRANCH_SECRETARY, by, at)
    for duty, member in zip(DUTIES, [people.secretary, *people.team], strict=False):
        grant(bulk, record, member.user_id, estate.id, Role.SERVICE_TEAM, by, at + DAY, duty=duty)
    for building_id, leader in people.leaders.items():
        grant(bulk, record, leader.user_id, building_id, Role.BUILDING_LEADER, by, at + DAY)


def _party(bulk: Bulk, record: Recorder, estate: Estate, people: People, rng: random.Random,
           anchor: datetime) -> None:
    """The secretary and about one adult in thirty are party members of the estate's branch."""
    secretary = people.secretary.user_id
    members = [people.secretary, *(r for r in people.voices if r is not people.secretary and rng.random() < 0.033)]
    for member in members:
        at = anchor - rng.randint(100, 1100) * DAY
        entry = bulk.add(PartyMember, {"user_id": member.user_id, "estate_id": estate.id,
                                       "reporting": rng.random() < 0.1, "recorded_by_id": secretary,
                                       "recorded_at": at})
        record(secretary, "party.recorded", estate.id, "party_member", entry, at, target_id=member.user_id)
