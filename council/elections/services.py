"""Elections: calling one (its roll frozen at once), officials, the phase, roll objections and rulings.

Nominations and the slate are in `nominations`, casting and the tellers' work in `voting`, the count,
further rounds and the new team in `counting`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from council.accounts.models import User
from council.activity.services import record, register_verbs
from council.ballots import services as polls
from council.ballots.models import Basis, Poll, RollLine
from council.ballots.rules import Rule
from council.elections import rules
from council.elections.models import (
    Election,
    ElectionOfficial,
    ElectionRound,
    Nomination,
    RollObjection,
)
from council.elections.rules import Office, Phase, RollObjectionKind, RoundKind, Ruling
from council.exceptions import Refused
from council.extensions import db
from council.membership.models import Membership, MembershipStatus
from council.permissions import Action, user_can
from council.sqltypes import utcnow
from council.territory.models import Place, PlaceKind

SUBJECT = "election"  # the poll subject: one poll per round, subject id = the round's id

register_verbs({
    "election.called": _l("called an election"),
    "election.official": _l("appointed an election official"),
    "election.official_removed": _l("removed an election official"),
    "election.roll_objection": _l("objected to the voter roll"),
    "election.roll_ruling": _l("ruled on an objection to the voter roll"),
})

TEXT_LIMIT = 2000


@dataclass(frozen=True)
class Calling:
    """What the committee sets when it calls an election (from the form)."""

    title: str
    seats: int
    basis: Basis
    with_marks: bool
    self_nomination: bool
    nominators_needed: int
    second_round_factor: int
    notice_days: int
    roll_until: datetime
    nominations_until: datetime
    opens_at: datetime
    closes_at: datetime


# ---- loading ------------------------------------------------------------------------------------

def get_election_or_404(election_id: int) -> Election:
    election = db.session.get(Election, election_id, options=[joinedload(Election.estate)])
    if election is None:
        abort(404)
    return election


def rounds_of(election: Election) -> list[ElectionRound]:
    return list(db.session.scalars(sa.select(ElectionRound).where(ElectionRound.election_id == election.id)
                                   .order_by(ElectionRound.number)))


def latest_round(election: Election) -> ElectionRound:
    return db.session.scalars(sa.select(ElectionRound).where(ElectionRound.election_id == election.id)
                              .order_by(ElectionRound.number.desc()).limit(1)).one()


def get_round_or_404(election: Election, number: int) -> ElectionRound:
    found = db.session.scalar(sa.select(ElectionRound).where(ElectionRound.election_id == election.id,
                                                             ElectionRound.number == number))
    if found is None:
        abort(404)
    return found


def poll_of(round_: ElectionRound) -> Poll:
    poll = round_.poll or polls.poll_for(SUBJECT, round_.id)  # the second: a poll made after the round was loaded
    assert poll is not None, "every round has its poll"
    return poll


def round_of_poll(poll: Poll) -> ElectionRound:
    return db.session.get(ElectionRound, poll.subject_id)


def elections_page(estate: Place, page: int, per_page: int):
    query = sa.select(Election).where(Election.estate_id == estate.id).order_by(Election.created_at.desc(),
                                                                                Election.id.desc())
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def current_election(estate: Place) -> Election | None:
    """The estate's election under way, or the latest one if it finished in the last 30 days."""
    latest = db.session.scalar(sa.select(Election).where(Election.estate_id == estate.id)
                               .order_by(Election.created_at.desc(), Election.id.desc()).limit(1))
    if latest is None or (latest.finished_at and latest.finished_at < utcnow() - timedelta(days=30)):
        return None
    return latest


# ---- the phase ------------------------------------------------------------------------------------

def schedule_of(election: Election, poll: Poll) -> rules.Schedule:
    return rules.Schedule(election.roll_until, election.nominations_until, poll.opened_at, poll.closes_at)


def phase(election: Election, now: datetime | None = None) -> Phase:
    now = now or utcnow()
    last = latest_round(election)
    poll = poll_of(last)
    first = poll if last.number == 1 else poll_of(get_round_or_404(election, 1))
    return rules.phase(now, schedule_of(election, first), poll.opened_at, poll.closes_at,
                       last.counted_at is not None, election.finished_at is not None)


def phase_ends(election: Election, now: datetime | None = None) -> datetime | None:
    """When the election's phase (or whether it is still "current", 30 days after it finished) may change
    with time alone."""
    now = now or utcnow()
    if election.finished_at is not None:
        return election.finished_at + timedelta(days=30)
    last = latest_round(election)
    poll = poll_of(last)
    first = poll if last.number == 1 else poll_of(get_round_or_404(election, 1))
    return rules.phase_ends(now, schedule_of(election, first), poll.opened_at, poll.closes_at)


def phases(elections: list[Election], now: datetime | None = None) -> dict[int, Phase]:
    """`phase` of each election of a list, in two queries (all their rounds, then those rounds' polls)
    rather than two to four per election."""
    now = now or utcnow()
    if not elections:
        return {}
    rounds: dict[int, list[ElectionRound]] = {}
    for round_ in db.session.scalars(sa.select(ElectionRound).where(
            ElectionRound.election_id.in_([e.id for e in elections])).order_by(ElectionRound.number)):
        rounds.setdefault(round_.election_id, []).append(round_)
    round_ids = [r.id for found in rounds.values() for r in found]
    poll_of_round = {p.subject_id: p for p in db.session.scalars(sa.select(Poll).where(
        Poll.subject_type == SUBJECT, Poll.subject_id.in_(round_ids)))}
    found = {}
    for election in elections:
        first, last = rounds[election.id][0], rounds[election.id][-1]
        poll = poll_of_round[last.id]
        found[election.id] = rules.phase(now, schedule_of(election, poll_of_round[first.id]), poll.opened_at,
                                         poll.closes_at, last.counted_at is not None,
                                         election.finished_at is not None)
    return found


# ---- who does what -------------------------------------------------------------------------------

def office_of(election: Election, user: User) -> Office | None:
    if not user.is_authenticated:
        return None
    return db.session.scalar(sa.select(ElectionOfficial.office).where(
        ElectionOfficial.election_id == election.id, ElectionOfficial.user_id == user.id))


def may_call(estate: Place, user: User) -> bool:
    """The community sets up elections: its committee members and administrators (and those above)."""
    return estate.kind is PlaceKind.ESTATE and user_can(user, Action.ELECTION_SETUP, estate)


def may_run(election: Election, user: User) -> bool:
    """The election committee runs it; whoever may call elections here may also appoint its officials."""
    return office_of(election, user) is Office.COMMITTEE or may_call(election.estate, user)


def is_teller(election: Election, user: User) -> bool:
    return office_of(election, user) is Office.TELLER


def may_watch(election: Election, user: User) -> bool:
    """Officials and the community see the roll's channels, the tellers' batches and the counts."""
    return office_of(election, user) is not None or may_call(election.estate, user)


def is_estate_adult(user_id: int, estate_id: int) -> bool:
    """Adult members of the estate vote, stand, nominate and object (the same test as a proxy holder's)."""
    return polls.estate_adult(user_id, estate_id)


def may_view(election: Election, user: User) -> bool:
    return user_can(user, Action.PLACE_VIEW, election.estate) or (
        user.is_authenticated and is_estate_adult(user.id, election.estate_id))


# ---- calling an election -------------------------------------------------------------------------

def call(estate: Place, calling: Calling, by: User, now: datetime | None = None) -> Election:
    """Call an election: the roll is frozen and published now; the first round's poll opens for ballots on
    the voting date. The caller joins the election committee."""
    now = now or utcnow()
    if estate.kind is not PlaceKind.ESTATE:
        raise Refused(_l("Service teams are elected per estate."))
    if not rules.MIN_SEATS <= calling.seats <= rules.MAX_SEATS:
        raise Refused(_l("A service team has 7 to 12 members."), "seats")
    if calling.basis not in (Basis.MEMBERS, Basis.HOUSEHOLDS):
        raise Refused(_l("Choose who votes: every adult member, or one representative per household."), "basis")
    if not 1 <= calling.nominators_needed <= rules.MAX_NOMINATORS:
        raise Refused(_l("A joint nomination needs between 1 and %(n)s members.", n=rules.MAX_NOMINATORS),
                      "nominators_needed")
    if not 1 <= calling.second_round_factor <= 3:
        raise Refused(_l("Between 1 and 3 candidates per unfilled seat."), "second_round_factor")
    if not 1 <= calling.notice_days <= 30:
        raise Refused(_l("The results are posted for 1 to 30 days."), "notice_days")
    problem = rules.schedule_problem(rules.Schedule(calling.roll_until, calling.nominations_until,
                                                    calling.opens_at, calling.closes_at), now)
    if problem:
        raise Refused(_l("The dates must follow each other: objections to the roll, then nominations, then "
                         "voting."), problem)
    active = db.session.scalar(sa.select(Election.id).where(Election.estate_id == estate.id,
                                                            Election.finished_at.is_(None)).limit(1))
    if active is not None:
        raise Refused(_l("This estate already has an election under way."))
    election = Election(estate_id=estate.id, title=calling.title.strip()[:200], seats=calling.seats,
                        basis=calling.basis, with_marks=calling.with_marks, self_nomination=calling.self_nomination,
                        nominators_needed=calling.nominators_needed,
                        second_round_factor=calling.second_round_factor, notice_days=calling.notice_days,
                        roll_until=calling.roll_until, nominations_until=calling.nominations_until,
                        created_by_id=by.id, created_at=now)
    db.session.add(election)
    db.session.flush()
    first = ElectionRound(election_id=election.id, number=1, kind=RoundKind.FIRST, seats=calling.seats,
                          write_ins=True)
    db.session.add(first)
    db.session.flush()
    lines = polls.roll_lines(calling.basis, polls.buildings_of(estate))
    polls.open_poll(estate, SUBJECT, first.id, election.title, Rule.SIMPLE_MAJORITY, calling.basis, secret=True,
                    closes_at=calling.closes_at, by=by, lines=lines, now=now,
                    objection_days=calling.notice_days, opens_at=calling.opens_at)
    db.session.add(ElectionOfficial(election_id=election.id, user_id=by.id, office=Office.COMMITTEE,
                                    appointed_by_id=by.id, appointed_at=now))
    record(by, "election.called", estate, SUBJECT, election.id, detail=election.title, at=now)
    return election


# ---- officials ----------------------------------------------------------------------------------

def officials(election: Election) -> list[ElectionOfficial]:
    return list(db.session.scalars(
        sa.select(ElectionOfficial).options(joinedload(ElectionOfficial.user))
        .where(ElectionOfficial.election_id == election.id)
        .order_by(ElectionOfficial.office, ElectionOfficial.id)))


def names_of(user_ids) -> dict[int, str]:
    """Display names of these people (one query)."""
    ids = list(user_ids)
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(User.id, User.display_name).where(User.id.in_(ids))).all())


def households_of(user_ids: list[int]) -> dict[int, set[int]]:
    """Each person's approved households (one query)."""
    found: dict[int, set[int]] = {u: set() for u in user_ids}
    for user_id, household_id in db.session.execute(
            sa.select(Membership.user_id, Membership.household_id).where(
                Membership.user_id.in_(user_ids), Membership.status == MembershipStatus.APPROVED)):
        found[user_id].add(household_id)
    return found


def candidate_ids(election: Election) -> list[int]:
    """Everyone standing: accepted, not withdrawn nominations (whether or not the slate is out)."""
    return list(db.session.scalars(sa.select(Nomination.user_id).where(
        Nomination.election_id == election.id, Nomination.accepted_at.is_not(None),
        Nomination.withdrawn_at.is_(None))))


def conflicts(election: Election, person: int, standing: list[int] | None = None) -> bool:
    """Would `person` serve as teller or scrutineer while standing, or living with someone who stands?"""
    standing = candidate_ids(election) if standing is None else standing
    homes = households_of([person, *standing])
    return not rules.may_serve(person, homes[person], standing, set().union(*(homes[c] for c in standing)))


def appoint(election: Election, person: User, office: Office, by: User, now: datetime | None = None) -> None:
    if election.finished_at:
        raise Refused(_l("This election is over."))
    if not person.has_account:
        raise Refused(_l("Only a person with an account can be an election official."), "person")
    if office is not Office.COMMITTEE and conflicts(election, person.id):
        raise Refused(_l("Candidates and the people of their households cannot be tellers or scrutineers."),
                      "person")
    if office_of(election, person) is not None:
        raise Refused(_l("This person already has an office in this election."), "person")
    db.session.add(ElectionOfficial(election_id=election.id, user_id=person.id, office=office,
                                    appointed_by_id=by.id, appointed_at=now or utcnow()))
    db.session.flush()
    record(by, "election.official", election.estate_id, SUBJECT, election.id, target=person, detail=office.value,
           at=now)


def remove_official(election: Election, official: ElectionOfficial, by: User) -> None:
    if official.election_id != election.id:
        abort(404)
    if official.office is Office.COMMITTEE and db.session.scalar(sa.select(sa.func.count(ElectionOfficial.id)).where(
            ElectionOfficial.election_id == election.id, ElectionOfficial.office == Office.COMMITTEE)) <= 1:
        raise Refused(_l("The election committee cannot be left empty."))
    person = official.user
    db.session.delete(official)
    db.session.flush()
    record(by, "election.official_removed", election.estate_id, SUBJECT, election.id, target=person,
           detail=official.office.value)


def get_official_or_404(election: Election, official_id: int) -> ElectionOfficial:
    found = db.session.get(ElectionOfficial, official_id)
    if found is None or found.election_id != election.id:
        abort(404)
    return found


# ---- the roll and objections to it ------------------------------------------------------------------

def first_poll(election: Election) -> Poll:
    return poll_of(get_round_or_404(election, 1))


def my_line(election: Election, user: User) -> RollLine | None:
    """The person's own line on the first round's roll (their household's, for household rolls)."""
    lines = [line for line in polls.lines_for(first_poll(election), user) if line.proxy_id != user.id]
    return lines[0] if lines else None


def object_to_roll(election: Election, by: User, kind: RollObjectionKind, body: str,
                   line: RollLine | None = None, now: datetime | None = None) -> RollObjection:
    """A member objects to the published roll while the roll is open to objections."""
    now = now or utcnow()
    if phase(election, now) is not Phase.ROLL:
        raise Refused(_l("Objections to the roll are taken only while the roll is posted for objections."))
    if not is_estate_adult(by.id, election.estate_id):
        raise Refused(_l("Only adult members of this estate may object to its roll."))
    body = body.strip()
    if not body or len(body) > TEXT_LIMIT:
        raise Refused(_l("Say why, in at most %(n)s characters.", n=TEXT_LIMIT), "body")
    if kind is RollObjectionKind.MOVED:
        if line is None or line.poll_id != first_poll(election).id:
            raise Refused(_l("Choose the line of the roll you object to."), "line")
    elif kind is RollObjectionKind.MISSING and my_line(election, by) is not None and line is None:
        raise Refused(_l("You are on the roll already. To add someone else, name them in your objection."), "body")
    objection = RollObjection(election_id=election.id, author_id=by.id, kind=kind,
                              line_id=line.id if line else None, line_label=line.label if line else "",
                              body=body, created_at=now)
    db.session.add(objection)
    db.session.flush()
    record(by, "election.roll_objection", election.estate_id, SUBJECT, election.id, detail=kind.value, at=now)
    return objection


def roll_objections_page(election: Election, page: int, per_page: int):
    query = (sa.select(RollObjection).options(joinedload(RollObjection.author), joinedload(RollObjection.ruled_by))
             .where(RollObjection.election_id == election.id).order_by(RollObjection.id.desc()))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def get_roll_objection_or_404(election: Election, objection_id: int) -> RollObjection:
    found = db.session.get(RollObjection, objection_id)
    if found is None or found.election_id != election.id:
        abort(404)
    return found


def rule_on(election: Election, objection: RollObjection, ruling: Ruling, reason: str, by: User,
            add: User | None = None, now: datetime | None = None) -> None:
    """The committee's ruling, recorded with its reason. Upholding "moved away" strikes the line; upholding
    "missing" adds the member `add` (the objector if not named) to the roll. Only before voting opens."""
    now = now or utcnow()
    poll = first_poll(election)
    if now >= poll.opened_at:
        raise Refused(_l("Voting has started: the roll can no longer change."))
    if objection.ruling is not None:
        raise Refused(_l("This objection has already been ruled on."))
    reason = reason.strip()
    if not reason or len(reason) > TEXT_LIMIT:
        raise Refused(_l("Give the reason for the ruling."), "reason")
    if ruling is Ruling.UPHELD:
        if objection.kind is RollObjectionKind.MOVED:
            db.session.execute(sa.delete(RollLine).where(RollLine.id == objection.line_id, RollLine.poll_id == poll.id,
                                                         RollLine.status.is_(None)))
        else:
            _add_to_roll(election, poll, add or objection.author)
    objection.ruling, objection.reason, objection.ruled_by_id, objection.ruled_at = ruling, reason, by.id, now
    db.session.flush()
    record(by, "election.roll_ruling", election.estate_id, SUBJECT, election.id, target=objection.author,
           detail=ruling.value, at=now)


def _add_to_roll(election: Election, poll: Poll, person: User) -> None:
    """Add a member (or, on a household roll, their household) found missing from the roll."""
    if not is_estate_adult(person.id, election.estate_id):
        raise Refused(_l("Only an adult member of this estate can be added to the roll."), "person")
    lines = polls.roll_lines(election.basis, polls.buildings_of(election.estate))
    key = "user_id" if election.basis is Basis.MEMBERS else "household_id"
    present = set(db.session.scalars(sa.select(getattr(RollLine, key)).where(RollLine.poll_id == poll.id)))
    wanted = {m for m in households_of([person.id])[person.id]} if key == "household_id" else {person.id}
    new = [line for line in lines if line[key] in wanted and line[key] not in present]
    if not new:
        raise Refused(_l("This member is on the roll already."), "person")
    db.session.execute(sa.insert(RollLine), [{**line, "poll_id": poll.id} for line in new])
