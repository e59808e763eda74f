"""Building blocks for election tests: an estate with adult members, an election called on it, a slate."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from council.accounts.models import User
from council.ballots.models import Basis
from council.elections import nominations, services
from council.elections.models import Election
from council.elections.rules import Office
from council.extensions import db
from council.membership import services as membership
from council.membership.models import Relation
from council.sqltypes import utcnow
from council.territory.models import Household, Place, Tenure
from council.territory.services import create_household
from tests import factories

DAY = timedelta(days=1)


def user(username: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == username))


def member(username: str, household_id: int, name: str | None = None) -> User:
    person = factories.person(username, name or username)
    entry = membership.request_join(person, db.session.get(Household, household_id), Relation.OWNER)
    membership.approve(entry, user("siteadmin"))
    return person


@dataclass
class Setup:
    election: Election
    start: datetime  # when it was called
    voters: list[User]  # the adult members on the roll, apart from the world's resident

    def at(self, phase: str) -> datetime:
        """A moment inside a phase: roll, nominations, candidates, voting, counting."""
        return self.start + {"roll": DAY, "nominations": 4 * DAY, "candidates": 6 * DAY, "voting": 8 * DAY,
                             "counting": 10 * DAY}[phase] + timedelta(hours=1)


def call_election(world, voters: int = 14, seats: int = 7, basis: Basis = Basis.MEMBERS, with_marks: bool = True,
                  nominators_needed: int = 2, start: datetime | None = None) -> Setup:
    """An election at the world's estate (化肥厂小区): `voters` extra adult members in two buildings (plus the
    resident), roll objections for 3 days, nominations until day 5, voting on days 8 to 9."""
    start = start or utcnow()
    estate = db.session.get(Place, world.estate)
    b2 = db.session.get(Place, world.b2)
    people = []
    for i in range(voters):
        household = create_household(b2, "2", f"{200 + i}", 8000, Tenure.OWNER_OCCUPIED, None)
        people.append(member(f"voter{i}", household.id, f"选民{i:02d}"))
    calling = services.Calling(
        title="化肥厂小区综合治理服务队选举", seats=seats, basis=basis, with_marks=with_marks, self_nomination=True,
        nominators_needed=nominators_needed, second_round_factor=2, notice_days=7,
        roll_until=start + 3 * DAY, nominations_until=start + 5 * DAY, opens_at=start + 8 * DAY,
        closes_at=start + 9 * DAY)
    election = services.call(estate, calling, user("committee"), now=start)
    db.session.flush()
    return Setup(election, start, people)


def slate(setup: Setup, count: int) -> list[User]:
    """`count` voters nominate themselves and accept; the committee publishes them."""
    when = setup.at("nominations")
    chosen = setup.voters[:count]
    for person in chosen:
        nomination = nominations.nominate(setup.election, person, person, now=when)
        nominations.accept(setup.election, nomination, person, "我愿意为邻居服务", "13900000000", now=when)
    nominations.publish_slate(setup.election, user("committee"), now=setup.at("candidates"))
    return chosen


def appoint_tellers(setup: Setup, *usernames: str) -> list[User]:
    found = []
    for username in usernames:
        person = user(username)
        services.appoint(setup.election, person, Office.TELLER, user("committee"), now=setup.start)
        found.append(person)
    return found
