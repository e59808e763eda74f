"""The benchmark estate's two open votes, made through the app's own services (as demo_elections.py does,
each step at a past `now=`), so they are exactly what the app would have built:

- its first service-team election, called ten days ago: roll frozen with every adult member, tellers and a
  scrutineer appointed, ten candidates nominated and accepted, the slate published, voting open since
  yesterday and nobody has voted yet;
- the e-bike shed proposal, co-signed and on the agenda, put to a secret vote of the households, open now.

Both stay open 59 days (the longest a poll may run is 60), so a benchmark database seeded once keeps its open
votes for weeks of reuse.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

import sqlalchemy as sa

from council.accounts.models import User
from council.ballots.models import Basis, RollLine
from council.ballots.rules import Rule
from council.elections import nominations, services
from council.elections.models import Election
from council.elections.rules import Office
from council.extensions import db
from council.i18n import at_local
from council.proposals import stages
from council.proposals.models import Proposal
from council.scale.people import People, Resident
from council.territory.models import Place

DAY, HOUR = timedelta(days=1), timedelta(hours=1)
TITLE = "基准小区第一届综合治理服务队选举"
SEATS = 7
CANDIDATES = 10
OPEN_DAYS = 59
STATEMENTS = (
    "我在小区住了十几年，大家的事就是我的事。选上了，每周五的会我都到，反映的问题一件一件盯到底。",
    "退休前在单位管后勤，修修补补是老本行。楼道灯、水管、门禁坏了，我愿意第一时间去看。",
    "我年轻，下班后时间多。想和物业一起把停车重新规划好，先把消防通道清出来。",
    "小区老人多，我想组织几个人定期上门看看独居老人，帮他们读读通知、办办手续。",
    "当过兵，晚上巡逻、看看门岗和围墙，我愿意带个头。",
)


@dataclass
class BenchVotes:
    election_id: int
    poll_id: int
    roll: int
    vote_poll_id: int
    vote_roll: int
    logins: list[tuple[str, str]] = field(default_factory=list)


def _user(resident: Resident) -> User:
    return db.session.get(User, resident.user_id)


def _officials_and_candidates(people: People) -> tuple[list[Resident], list[Resident]]:
    """Two tellers and a scrutineer, and ten candidates (the service team and six neighbours): nobody who
    serves lives with a candidate (council.elections.rules.may_serve)."""
    candidates = list(people.team)
    homes = {c.home.id for c in candidates}
    pool = [v for v in people.voices if v not in people.staff and v not in people.leaders.values()]
    for voice in pool:
        if len(candidates) >= CANDIDATES:
            break
        if voice.home.id not in homes:
            candidates.append(voice)
            homes.add(voice.home.id)
    officials = []
    for voice in reversed(pool):
        if len(officials) == 3:
            break
        if voice.home.id not in homes:
            officials.append(voice)
            homes.add(voice.home.id)
    return officials, candidates


def open_bench_votes(estate_id: int, committee_id: int, people: People, vote_proposal_id: int,
                     now: datetime) -> BenchVotes:
    """Call the election and walk it to voting; open the proposal's vote. In the caller's transaction."""
    estate = db.session.get(Place, estate_id)
    committee = db.session.get(User, committee_id)
    start = at_local((now - 10 * DAY).date(), time(9))
    opens_at = now - DAY
    calling = services.Calling(title=TITLE, seats=SEATS, basis=Basis.MEMBERS, with_marks=True,
                               self_nomination=True, nominators_needed=3, second_round_factor=2, notice_days=7,
                               roll_until=start + 3 * DAY, nominations_until=start + 7 * DAY, opens_at=opens_at,
                               closes_at=opens_at + OPEN_DAYS * DAY)
    election = services.call(estate, calling, committee, now=start)
    services.appoint(election, _user(people.secretary), Office.COMMITTEE, committee, now=start + HOUR)
    officials, candidates = _officials_and_candidates(people)
    if len(candidates) <= SEATS or len(officials) < 3:
        raise ValueError("the benchmark estate is too small for an election: give it more households")
    for official, office in zip(officials, (Office.TELLER, Office.TELLER, Office.SCRUTINEER), strict=True):
        services.appoint(election, _user(official), office, committee, now=start + 2 * HOUR)
    _nominate(election, candidates, start + 3 * DAY + HOUR)
    nominations.publish_slate(election, committee, now=start + 8 * DAY)
    poll = services.poll_of(services.latest_round(election))
    vote = _open_proposal_vote(vote_proposal_id, _user(people.secretary), now)
    found = BenchVotes(election.id, poll.id, _roll_size(poll.id), vote.id, _roll_size(vote.id))
    found.logins = [("benchcom", f"community committee member; called the election of {estate.name}"),
                    (people.secretary.username, "election committee; opened the e-bike shed vote"),
                    (f"{officials[0].username}, {officials[1].username}", "tellers"),
                    (officials[2].username, "scrutineer"),
                    (", ".join(c.username for c in candidates), "candidates")]
    return found


def _nominate(election: Election, candidates: list[Resident], when: datetime) -> None:
    """Each candidate nominates themselves and accepts the next day with a statement."""
    for i, candidate in enumerate(candidates):
        person = _user(candidate)
        nomination = nominations.nominate(election, person, person, now=when + i * HOUR)
        contact = f"{candidate.home.building}{candidate.home.label.replace('-', '单元', 1)}"
        nominations.accept(election, nomination, person, STATEMENTS[i % len(STATEMENTS)], contact,
                           now=when + DAY + i * HOUR)


def _open_proposal_vote(proposal_id: int, secretary: User, now: datetime):
    """The secretary opens a secret vote of the households on the proposal (for, against, abstain)."""
    proposal = db.session.get(Proposal, proposal_id)
    return stages.open_vote(proposal, secretary, Rule.SIMPLE_MAJORITY, Basis.HOUSEHOLDS, True,
                            now + OPEN_DAYS * DAY, now=now)


def _roll_size(poll_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count(RollLine.id)).where(RollLine.poll_id == poll_id))
