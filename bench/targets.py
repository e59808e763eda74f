"""Find what to benchmark by asking the database, not by remembering ids.

The benchmark estate is the estate whose open election has the most voters yet to vote (seed-scale's 基准小区;
on the demo data, 送变电家园). Around it: the proposal with the most comments, a published meeting with the longest
agenda, published minutes, a counted election round, the open proposal vote with most voters to go, and the
residents who read and write. Where the estate has no such thing the nearest one elsewhere is used (and its own
residents read it); where there is none at all the scenario is skipped and the table says why.

Everything here runs in the harness process inside the app's context (council's own models and services).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from council.accounts.models import User
from council.ballots.models import Basis, Poll, PollOption, PollState, RollLine
from council.elections import nominations, voting
from council.elections import services as elections
from council.elections.models import Election, ElectionRound
from council.extensions import db
from council.meetings.models import AgendaItem, Meeting, Minutes
from council.meetings.rules import MeetingState, MinutesState
from council.membership.models import Membership, MembershipStatus, Relation
from council.permissions import Action, user_can
from council.proposals.discussion import CLOSED_TO_COMMENTS
from council.proposals.models import Proposal
from council.roles.models import RoleGrant
from council.sqltypes import utcnow
from council.territory.models import Household, Place

READERS = 40  # signed-in reads rotate through this many residents, as a real evening would


@dataclass
class Read:
    """A page to read: anonymous (no readers) or signed in as one of `readers` (user ids)."""

    name: str
    group: str  # "anonymous" | "resident" | "staff"
    path: str
    readers: list[int] = field(default_factory=list)
    note: str = ""


@dataclass
class Write:
    """A write scenario's target and its distinct virtual users, each used once."""

    name: str
    kind: str  # "secret" | "named" | "comment" (bench/checks.py)
    target_id: int  # the poll, or the proposal commented on
    path: str  # where the form posts (for ballots, a format string with {line_id})
    voters: list[tuple[int, int]]  # (roll line id, user id); comments: (0, user id)
    fields: dict = field(default_factory=dict)  # what the form needs besides the CSRF token
    note: str = ""


@dataclass
class Targets:
    estate_id: int
    estate_name: str
    reads: list[Read]
    writes: list[Write]
    skipped: dict[str, str]  # scenario → why it could not run on this data

    def summary(self) -> dict:
        return {"estate": f"{self.estate_name} ({self.estate_id})",
                "reads": {r.name: r.path for r in self.reads},
                "writes": {w.name: f"{w.path} ({len(w.voters)} distinct users)" for w in self.writes},
                "skipped": self.skipped}


# ---- who ----------------------------------------------------------------------------------------------

def _estate_members(estate_id: int, adults: bool = True):
    """Approved members (with an account) of the estate's households: user id, household id."""
    query = (sa.select(Membership.user_id, Membership.household_id)
             .join(Household, Household.id == Membership.household_id)
             .join(Place, Place.id == Household.building_id)
             .join(User, User.id == Membership.user_id)
             .where(Place.parent_id == estate_id, Membership.status == MembershipStatus.APPROVED,
                    User.password_hash.is_not(None)))
    return query.where(Membership.is_adult.is_(True)) if adults else query


def residents(estate_id: int, limit: int = READERS) -> list[int]:
    """Plain residents of the estate (no role anywhere), the readers of the signed-in scenarios."""
    staff = sa.select(RoleGrant.user_id).where(RoleGrant.revoked_at.is_(None))
    members = _estate_members(estate_id).where(Membership.user_id.not_in(staff)).subquery()
    return list(db.session.scalars(sa.select(members.c.user_id).distinct().order_by(members.c.user_id).limit(limit)))


def staff(estate: Place, action: Action, limit: int = READERS) -> list[int]:
    """People holding a role on the estate or above it that allows `action` there (e.g. the ledger's readers)."""
    holders = db.session.scalars(
        sa.select(User).join(RoleGrant, RoleGrant.user_id == User.id)
        .where(RoleGrant.revoked_at.is_(None), RoleGrant.place_id.in_(estate.lineage_ids),
               User.password_hash.is_not(None)).distinct().order_by(User.id).limit(limit * 5))
    return [u.id for u in holders if user_can(u, action, estate)][:limit]


def _in_estate(place_column, estate: Place):
    """A place column that is the estate or lies beneath it (materialised paths)."""
    return place_column.in_(sa.select(Place.id).where(sa.or_(Place.id == estate.id,
                                                              Place.path.startswith(estate.path))))


# ---- the estate ----------------------------------------------------------------------------------------

def _open_election_rounds(now) -> list[tuple[Election, ElectionRound, Poll, int]]:
    """Rounds now taking ballots, with how many roll lines have yet to vote (most first)."""
    unvoted = (sa.select(RollLine.poll_id, sa.func.count(RollLine.id).label("n"))
               .where(RollLine.status.is_(None), RollLine.user_id.is_not(None)).group_by(RollLine.poll_id).subquery())
    rows = db.session.execute(
        sa.select(Poll, unvoted.c.n).join(unvoted, unvoted.c.poll_id == Poll.id)
        .where(Poll.subject_type == elections.SUBJECT, Poll.state == PollState.OPEN, Poll.opened_at <= now,
               Poll.closes_at > now).order_by(unvoted.c.n.desc(), Poll.id)).all()
    found = []
    for poll, count in rows:
        round_ = elections.round_of_poll(poll)
        if voting.may_vote_now(round_.election, round_, now):
            found.append((round_.election, round_, poll, count))
    return found


def benchmark_estate(now) -> Place:
    """The estate of the open election with most voters to go; else the estate with most members."""
    rounds = _open_election_rounds(now)
    if rounds:
        return rounds[0][0].estate
    busiest = db.session.execute(
        sa.select(Place.parent_id, sa.func.count(Membership.id).label("n"))
        .join(Household, Household.building_id == Place.id).join(Membership, Membership.household_id == Household.id)
        .where(Membership.status == MembershipStatus.APPROVED).group_by(Place.parent_id)
        .order_by(sa.text("n DESC")).limit(1)).first()
    if busiest is None:
        raise SystemExit("The benchmark database has no estate with members: was it seeded?")
    return db.session.get(Place, busiest[0])


# ---- reads ---------------------------------------------------------------------------------------------

def _most_commented(estate: Place) -> Proposal | None:
    base = sa.select(Proposal).where(Proposal.published_at.is_not(None), Proposal.state.not_in(CLOSED_TO_COMMENTS))
    return (db.session.scalar(base.where(Proposal.estate_id == estate.id)
                              .order_by(Proposal.comment_count.desc(), Proposal.id).limit(1))
            or db.session.scalar(base.order_by(Proposal.comment_count.desc(), Proposal.id).limit(1)))


def _agenda(estate: Place) -> Meeting | None:
    items = (sa.select(AgendaItem.meeting_id, sa.func.count(AgendaItem.id).label("n"))
             .group_by(AgendaItem.meeting_id).subquery())
    query = (sa.select(Meeting).join(items, items.c.meeting_id == Meeting.id)
             .where(Meeting.state == MeetingState.PUBLISHED).order_by(items.c.n.desc(), Meeting.id.desc()).limit(1))
    return db.session.scalar(query.where(_in_estate(Meeting.place_id, estate)))


def _minutes(estate: Place) -> Minutes | None:
    query = (sa.select(Minutes).join(Meeting, Meeting.id == Minutes.meeting_id)
             .where(Minutes.state == MinutesState.PUBLISHED).order_by(Minutes.published_at.desc(), Minutes.id.desc())
             .limit(1))
    return db.session.scalar(query.where(_in_estate(Meeting.place_id, estate))) or db.session.scalar(query)


def _counted_round(estate: Place) -> ElectionRound | None:
    query = (sa.select(ElectionRound).join(Election, Election.id == ElectionRound.election_id)
             .where(ElectionRound.counted_at.is_not(None)).order_by(ElectionRound.counted_at.desc()).limit(1))
    return db.session.scalar(query.where(Election.estate_id == estate.id)) or db.session.scalar(query)


def find_reads(estate: Place, readers: list[int], skipped: dict[str, str]) -> list[Read]:
    reads = []
    minutes = _minutes(estate)
    if minutes:
        reads.append(Read("minutes (public)", "anonymous", f"/minutes/{minutes.id}"))
    else:
        skipped["minutes (public)"] = "no published minutes"
    counted = _counted_round(estate)
    if counted:
        # The app shows a posted election result to signed-in members of its estate only (elections.results
        # is login_required), so this "public" page is read signed in, by residents of that estate.
        election = counted.election
        viewers = readers if election.estate_id == estate.id else residents(election.estate_id)
        reads.append(Read("election result", "resident", f"/elections/{election.id}/rounds/{counted.number}/results",
                          viewers, note="the app requires sign-in for results"))
    else:
        skipped["election result"] = "no counted election round"
    reads += [Read("estate home", "resident", f"/places/{estate.id}", readers),
              Read("proposal list", "resident", f"/places/{estate.id}/proposals", readers)]
    proposal = _most_commented(estate)
    if proposal:
        viewers = readers if proposal.estate_id == estate.id else residents(proposal.estate_id)
        reads.append(Read("proposal + comments", "resident", f"/proposals/{proposal.id}", viewers,
                          note=f"{proposal.comment_count} comments"))
    else:
        skipped["proposal + comments"] = "no published proposal"
    handlers = staff(estate, Action.CONCERN_HANDLE)
    if handlers:
        # The ledger (台账) is the staff's page (Action.CONCERN_HANDLE): residents get a 403, so its readers
        # are the estate's staff.
        reads.append(Read("concerns ledger", "staff", f"/places/{estate.id}/ledger", handlers,
                          note="read by the estate's staff: the ledger is theirs"))
    else:
        skipped["concerns ledger"] = "nobody handles concerns at the benchmark estate"
    meeting = _agenda(estate)
    if meeting is None:
        skipped["meeting agenda"] = "no published meeting with an agenda at the benchmark estate"
    else:
        reads.append(Read("meeting agenda", "resident", f"/meetings/{meeting.id}", readers))
    return reads


# ---- writes --------------------------------------------------------------------------------------------

def _election_write(now, skipped: dict[str, str]) -> Write | None:
    rounds = _open_election_rounds(now)
    if not rounds:
        skipped["secret election ballot"] = "no election round is taking ballots"
        return None
    election, round_, poll, _count = rounds[0]
    voters = db.session.execute(
        sa.select(RollLine.id, RollLine.user_id).join(User, User.id == RollLine.user_id)
        .where(RollLine.poll_id == poll.id, RollLine.status.is_(None), RollLine.proxy_id.is_(None),
               User.password_hash.is_not(None)).order_by(RollLine.id)).all()
    candidates = [c.user_id for c in nominations.printed(round_.id)]
    return Write("secret election ballot", "secret", poll.id,
                 f"/elections/{election.id}/rounds/{round_.number}/ballot", [tuple(v) for v in voters],
                 {"candidates": candidates, "seats": round_.seats}, note=f"roll of {election.title}")


def _proposal_casters(poll: Poll) -> list[tuple[int, int]]:
    """Unvoted lines of a proposal vote, each with one distinct person who may cast it online."""
    if poll.basis is Basis.MEMBERS:
        return [tuple(r) for r in db.session.execute(
            sa.select(RollLine.id, RollLine.user_id).join(User, User.id == RollLine.user_id)
            .where(RollLine.poll_id == poll.id, RollLine.status.is_(None), RollLine.proxy_id.is_(None),
                   User.password_hash.is_not(None)).order_by(RollLine.id))]
    query = (sa.select(RollLine.id, Membership.user_id)
             .join(Membership, Membership.household_id == RollLine.household_id)
             .join(User, User.id == Membership.user_id)
             .where(RollLine.poll_id == poll.id, RollLine.status.is_(None), RollLine.proxy_id.is_(None),
                    Membership.status == MembershipStatus.APPROVED, Membership.is_adult.is_(True),
                    Membership.decided_at <= poll.opened_at, User.password_hash.is_not(None))
             .order_by(RollLine.id, Membership.user_id))
    if poll.basis is Basis.OWNERS:
        query = query.where(Membership.relation == Relation.OWNER)
    chosen: dict[int, int] = {}
    taken: set[int] = set()
    for line_id, user_id in db.session.execute(query):
        if line_id not in chosen and user_id not in taken:
            chosen[line_id] = user_id
            taken.add(user_id)
    return sorted(chosen.items())


def _proposal_write(estate: Place, now, skipped: dict[str, str]) -> Write | None:
    unvoted = (sa.select(RollLine.poll_id, sa.func.count(RollLine.id).label("n"))
               .where(RollLine.status.is_(None)).group_by(RollLine.poll_id).subquery())
    query = (sa.select(Poll).join(unvoted, unvoted.c.poll_id == Poll.id)
             .where(Poll.subject_type == "proposal", Poll.state == PollState.OPEN, Poll.opened_at <= now,
                    Poll.closes_at > now, Poll.by_register.is_(False))
             .order_by(unvoted.c.n.desc(), Poll.id).limit(1))
    poll = db.session.scalar(query.where(_in_estate(Poll.place_id, estate))) or db.session.scalar(query)
    if poll is None:
        skipped["proposal ballot"] = "no open proposal vote (outside the owner register)"
        return None
    options = list(db.session.scalars(sa.select(PollOption.position).where(PollOption.poll_id == poll.id)
                                      .order_by(PollOption.position)))
    return Write("proposal ballot", "secret" if poll.secret else "named", poll.id,
                 f"/votes/{poll.id}/lines/{{line_id}}/cast", _proposal_casters(poll),
                 {"options": options if poll.max_choices is not None else []},
                 note=f"{poll.basis.value}, {'secret' if poll.secret else 'named'}")


def _comment_write(estate: Place, skipped: dict[str, str]) -> Write | None:
    proposal = _most_commented(estate)
    if proposal is None:
        skipped["add a comment"] = "no proposal open for discussion"
        return None
    members = _estate_members(proposal.estate_id, adults=False).subquery()
    users = db.session.scalars(sa.select(members.c.user_id).distinct().order_by(members.c.user_id))
    return Write("add a comment", "comment", proposal.id, f"/proposals/{proposal.id}/comments",
                 [(0, u) for u in users], note=f"on the proposal with {proposal.comment_count} comments")


def discover() -> Targets:
    """Every scenario's target on the database the app is bound to."""
    now = utcnow()
    estate = benchmark_estate(now)
    skipped: dict[str, str] = {}
    readers = residents(estate.id)
    if not readers:
        raise SystemExit(f"The benchmark estate {estate.name} has no resident with an account.")
    reads = find_reads(estate, readers, skipped)
    writes = [w for w in (_proposal_write(estate, now, skipped), _election_write(now, skipped),
                          _comment_write(estate, skipped)) if w is not None]
    return Targets(estate.id, estate.name, reads, writes, skipped)
