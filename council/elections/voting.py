"""Casting an election ballot online, the tellers' roll (written proxies, check-off for a paper ballot at
the polling station or the roving box) and the two tellers' entry of every paper ballot.

The ballot goes through `council.ballots.casting.cast`: the voter's roll line moves from NULL to a channel by a
conditional update, then a box row with a random id, a tracker and the marks; nothing else. What a cast needs of
the election and its round that does not change while the round's poll is open (the seats, whether write-ins are
allowed, the printed candidates...) is a `BallotHead`, kept per process for a short while (`kept_head`): whether
the poll is open is decided by the cast's own statement, never by a kept head.
"""
from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from cachetools import TTLCache
from flask import abort
from flask_babel import lazy_gettext as _l

from council import pagecache
from council.accounts.models import User
from council.activity.services import record, register_verbs
from council.ballots import casting
from council.ballots import services as polls
from council.ballots.models import PollState, RollLine
from council.ballots.rules import Choice, paper_fits
from council.elections import nominations, rules, services
from council.elections.models import Election, ElectionRound, PaperBatch, PaperEntry, RoundCandidate
from council.elections.rules import BallotProblem, Marks, Phase
from council.exceptions import Refused
from council.extensions import db
from council.membership.models import Membership, MembershipStatus
from council.sqltypes import utcnow
from council.territory.models import Household, Place
from council.versions import head_of as place_head

register_verbs({
    "election.batch": _l("started a batch of paper ballots"),
    "election.batch_joined": _l("joined a batch of paper ballots as second teller"),
    "election.batch_accepted": _l("accepted a batch of paper ballots: both tellers agree"),
})

PROBLEMS = {
    BallotProblem.NOT_A_CANDIDATE: _l("This ballot marks someone who is not a candidate."),
    BallotProblem.WRITE_IN_IS_CANDIDATE: _l("%(name)s is a candidate: mark them on the ballot instead."),
    BallotProblem.WRITE_INS_CLOSED: _l("This is a re-vote among the tied candidates: no other names."),
    BallotProblem.NOT_ELIGIBLE: _l("%(name)s is not an adult member of this estate."),
    BallotProblem.TOO_MANY: _l("You voted for more people than there are seats (%(seats)s). Remove some."),
    BallotProblem.EMPTY: _l("Mark at least one candidate (abstaining counts as a mark)."),
}
MAX_BATCH = 200


def may_vote_now(election: Election, round_: ElectionRound, now: datetime | None = None) -> bool:
    """Ballots are taken in the round's window, and for the first round only once the slate is out."""
    now = now or utcnow()
    poll = services.poll_of(round_)
    return (poll.state is PollState.OPEN and poll.opened_at <= now < poll.closes_at
            and round_.id == services.latest_round(election).id
            and election.slate_published_at is not None and election.finished_at is None)


# ---- what a cast needs, kept ----------------------------------------------------------------------

@dataclass(frozen=True)
class ElectionHead:
    id: int
    estate_id: int
    title: str
    with_marks: bool
    slate_published_at: datetime | None  # once set, never unset
    finished_at: datetime | None  # set after the last count, when no poll is open any more
    estate: object  # council.versions.PlaceHead: who may see it (`can`), crumbs


@dataclass(frozen=True)
class RoundHead:
    id: int
    number: int
    seats: int
    write_ins: bool


@dataclass(frozen=True)
class Candidate:
    user_id: int


@dataclass(frozen=True)
class BallotHead:
    """A round as a cast sees it: nothing here changes while its poll is open (a new round is called only after
    this one is counted; the slate is printed before voting and cannot change after)."""
    election: ElectionHead
    round: RoundHead
    printed: tuple[Candidate, ...]
    poll: casting.PollHead
    latest: bool  # the election's latest round when read (a later one comes only after this poll closed)

    def may_vote_now(self, now: datetime) -> bool:
        """`may_vote_now` as far as the head can tell (whether the poll is open, the cast's statement decides)."""
        return (self.poll.may_take(now) and self.latest and self.election.slate_published_at is not None
                and self.election.finished_at is None)


def head_of(election: Election, round_: ElectionRound, printed: list[RoundCandidate] | None = None) -> BallotHead:
    """The head of a loaded election and round (their printed candidates read unless given)."""
    printed = nominations.printed(round_.id) if printed is None else printed
    return BallotHead(
        ElectionHead(election.id, election.estate_id, election.title, election.with_marks,
                     election.slate_published_at, election.finished_at, place_head(election.estate)),
        RoundHead(round_.id, round_.number, round_.seats, round_.write_ins),
        tuple(Candidate(c.user_id) for c in printed), casting.head_of(services.poll_of(round_)),
        round_.id == services.latest_round(election).id)


_heads: TTLCache = TTLCache(maxsize=1_000, ttl=casting.HEAD_SECONDS)
_heads_lock = threading.Lock()


def kept_head(election_id: int, number: int, now: datetime) -> BallotHead:
    """The head of round `number` of the election (404 if there is none) from this process's memory, read at
    most HEAD_SECONDS ago, else read now, and kept if the round takes ballots now (so a refusal before voting
    opens, or before the slate is out, always comes from what was just read)."""
    with _heads_lock:
        found = _heads.get((election_id, number))
    if found is None:
        election = services.get_election_or_404(election_id)
        found = head_of(election, services.get_round_or_404(election, number))
        if found.may_vote_now(now):
            with _heads_lock:
                _heads[(election_id, number)] = found
    return found


@pagecache.forgets
def forget_heads() -> None:
    with _heads_lock:
        _heads.clear()


# ---- write-ins ----------------------------------------------------------------------------------

def adults_named(election: Election, name: str) -> list[tuple[int, str]]:
    """Adult members of the estate whose name matches (exactly), with where they live, for a write-in."""
    name = " ".join(name.split())
    if not name:
        return []
    rows = db.session.execute(
        sa.select(User.id, User.display_name, Place.name, Household.unit, Household.room)  # label is a property
        .select_from(Membership).join(User, User.id == Membership.user_id)
        .join(Household, Household.id == Membership.household_id).join(Place, Place.id == Household.building_id)
        .where(Place.parent_id == election.estate_id, Membership.status == MembershipStatus.APPROVED,
               Membership.is_adult.is_(True), User.display_name == name)
        .order_by(User.id).limit(20)).all()
    seen: dict[int, str] = {}
    for user_id, display, building, unit, room in rows:
        seen.setdefault(user_id, f"{display} ({building} {unit}-{room})")
    return list(seen.items())


def resolve_write_in(election: Election, text: str) -> int:
    """The one eligible member a write-in names: "name", or "name building" when two share a name."""
    words = text.split()
    if not words:
        raise Refused(_l("Write the name of an adult member of this estate."), "write_in")
    found = adults_named(election, words[0])
    if len(words) > 1:
        found = [(uid, label) for uid, label in found if " ".join(words[1:]) in label]
    if not found:
        raise Refused(_l("No adult member of this estate is called %(name)s.", name=text), "write_in")
    if len(found) > 1:
        raise Refused(_l("Several members are called %(name)s; add their building, e.g. %(example)s.",
                         name=words[0], example=f"{words[0]} {found[0][1].split('(')[1].split()[0]}"), "write_in")
    return found[0][0]


def eligible(election: Election, people: set[int]) -> set[int]:
    """Those of `people` who are adult members of the estate (one query)."""
    if not people:
        return set()
    return set(db.session.scalars(
        sa.select(Membership.user_id).join(Household, Household.id == Membership.household_id)
        .join(Place, Place.id == Household.building_id)
        .where(Membership.user_id.in_(people), Membership.status == MembershipStatus.APPROVED,
               Membership.is_adult.is_(True), Place.parent_id == election.estate_id).distinct()))


def check(election: Election | ElectionHead, round_: ElectionRound | RoundHead, ballot: Marks,
          names: dict[int, str] | None = None, printed=None) -> None:
    """Refuse an online ballot the rules do not allow (too many names, a write-in who is a candidate...).
    `printed`: the round's printed candidates when the caller has them already."""
    candidates = [c.user_id for c in (nominations.printed(round_.id) if printed is None else printed)]
    problem = rules.ballot_problem(ballot, round_.seats, candidates, eligible(election, set(ballot.write_ins)),
                                   round_.write_ins)
    if problem is not None:
        who = next((names.get(p, "") for p in ballot.write_ins if names), "")
        raise Refused(PROBLEMS[problem] % dict(name=who, seats=round_.seats), "marks")


def cast(election: Election, round_: ElectionRound, line: RollLine, ballot: Marks, by: User,
         now: datetime | None = None, printed: list[RoundCandidate] | None = None) -> str:
    """Cast one roll line's ballot online (or by written proxy); returns the tracker, to be shown once."""
    return cast_line(head_of(election, round_, printed), line.id, ballot, by, now)


def cast_line(head: BallotHead, line_id: int, ballot: Marks, by: User, now: datetime | None = None) -> str:
    """`cast` with the round's head (kept, or read just now) and the roll line's id: the line is read by the
    cast's own statement."""
    now = now or utcnow()
    if not head.may_vote_now(now):
        raise Refused(_l("Voting is not open."))
    check(head.election, head.round, ballot, printed=head.printed)
    tracker = casting.cast(head.poll, line_id, Choice.FOR, by.id, now, marks=rules.encode(ballot)).tracker
    assert tracker is not None
    return tracker


# ---- tellers: proxies and paper ------------------------------------------------------------------

def _teller(election: Election, user: User) -> None:
    if not services.is_teller(election, user):
        abort(403)


def record_proxy(election: Election, round_: ElectionRound, line: RollLine, holder: User, by: User,
                 now: datetime | None = None) -> None:
    """A written proxy, recorded by the committee or a teller in advance or during voting."""
    if not (services.may_run(election, by) or services.is_teller(election, by)):
        abort(403)
    polls.record_proxy(services.poll_of(round_), line, holder, by, now)


def check_off(election: Election, round_: ElectionRound, line: RollLine, by: User,
              now: datetime | None = None) -> None:
    """A teller hands the voter a paper ballot (polling station or roving box): the line can no longer vote
    online, and an online vote already cast means no paper ballot."""
    _teller(election, by)
    now = now or utcnow()
    if not may_vote_now(election, round_, now):
        raise Refused(_l("Voting is not open."))
    polls.check_off(services.poll_of(round_), line, by, now=now)


# ---- two tellers enter every paper ballot ----------------------------------------------------------

def batches(round_: ElectionRound) -> list[PaperBatch]:
    return list(db.session.scalars(sa.select(PaperBatch).where(PaperBatch.round_id == round_.id)
                                   .order_by(PaperBatch.number)))


def get_batch_or_404(round_: ElectionRound, number: int) -> PaperBatch:
    found = db.session.scalar(sa.select(PaperBatch).where(PaperBatch.round_id == round_.id,
                                                          PaperBatch.number == number))
    if found is None:
        abort(404)
    return found


def _counting(election: Election, round_: ElectionRound, now: datetime) -> None:
    if round_.id != services.latest_round(election).id or services.phase(election, now) is not Phase.COUNTING:
        raise Refused(_l("Paper ballots are entered after voting closes and before the count."))


def start_batch(election: Election, round_: ElectionRound, size: int, by: User,
                now: datetime | None = None) -> PaperBatch:
    """A teller takes a stack of `size` paper ballots; all batches together never exceed papers issued."""
    _teller(election, by)
    now = now or utcnow()
    _counting(election, round_, now)
    if not 1 <= size <= MAX_BATCH:
        raise Refused(_l("A batch holds 1 to %(n)s ballots.", n=MAX_BATCH), "size")
    poll = services.poll_of(round_)
    polls.hold(poll)  # one batch at a time takes its share of the papers issued
    taken = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(PaperBatch.size), 0))
                              .where(PaperBatch.round_id == round_.id)) or 0
    issued = polls.paper_issued(poll)
    if not paper_fits(taken, size, issued):
        raise Refused(_l("Only %(left)s paper ballots are left to enter (%(issued)s issued).",
                         left=issued - taken, issued=issued), "size")
    number = (db.session.scalar(sa.select(sa.func.max(PaperBatch.number)).where(PaperBatch.round_id == round_.id))
              or 0) + 1
    batch = PaperBatch(round_id=round_.id, number=number, size=size, first_teller_id=by.id)
    db.session.add(batch)
    db.session.flush()
    record(by, "election.batch", election.estate_id, services.SUBJECT, election.id, detail=f"{number}:{size}", at=now)
    return batch


def join_batch(election: Election, round_: ElectionRound, batch: PaperBatch, by: User,
               now: datetime | None = None) -> None:
    """A second, different teller takes the same stack to enter it again."""
    _teller(election, by)
    now = now or utcnow()
    _counting(election, round_, now)
    if batch.first_teller_id == by.id:
        raise Refused(_l("The second entry must be made by another teller."))
    done = db.session.execute(sa.update(PaperBatch).where(PaperBatch.id == batch.id,
                                                          PaperBatch.second_teller_id.is_(None))
                              .values(second_teller_id=by.id).execution_options(synchronize_session=False)).rowcount
    if done != 1:
        raise Refused(_l("Another teller has taken the second entry of this batch."))
    db.session.refresh(batch)
    record(by, "election.batch_joined", election.estate_id, services.SUBJECT, election.id, detail=str(batch.number),
           at=now)


def slot_of(batch: PaperBatch, user: User) -> int | None:
    if batch.first_teller_id == user.id:
        return 1
    if batch.second_teller_id == user.id:
        return 2
    return None


def entries(batch: PaperBatch, slot: int) -> list[PaperEntry]:
    return list(db.session.scalars(sa.select(PaperEntry).where(PaperEntry.batch_id == batch.id,
                                                               PaperEntry.slot == slot).order_by(PaperEntry.marks)))


def entered(batch: PaperBatch) -> dict[int, int]:
    """How many ballots each slot has entered so far."""
    counts = dict(db.session.execute(sa.select(PaperEntry.slot, sa.func.count(PaperEntry.id))
                                     .where(PaperEntry.batch_id == batch.id).group_by(PaperEntry.slot)).all())
    return {1: counts.get(1, 0), 2: counts.get(2, 0)}


def enter(election: Election, round_: ElectionRound, batch: PaperBatch, ballot: Marks, by: User,
          now: datetime | None = None) -> bool:
    """One teller enters one paper ballot as it stands (a ballot naming too many people is entered and
    counted void). When both tellers have entered the whole batch and agree, it goes in the box: True."""
    now = now or utcnow()
    _counting(election, round_, now)
    slot = slot_of(batch, by)
    if slot is None:
        abort(403)
    if batch.accepted_at is not None:
        raise Refused(_l("This batch has been accepted already."))
    candidates = {c.user_id for c in nominations.printed(round_.id)}
    if set(ballot.marks) - candidates:
        raise Refused(PROBLEMS[BallotProblem.NOT_A_CANDIDATE], "marks")
    if ballot.write_ins - eligible(election, set(ballot.write_ins)):
        raise Refused(PROBLEMS[BallotProblem.NOT_ELIGIBLE] % dict(name=""), "write_in")
    polls.hold(services.poll_of(round_))  # one entry at a time: a slot never takes more than the batch size
    if entered(batch)[slot] >= batch.size:
        raise Refused(_l("You have entered all %(n)s ballots of this batch.", n=batch.size))
    db.session.add(PaperEntry(id=secrets.token_urlsafe(16), batch_id=batch.id, slot=slot,
                              marks=rules.encode(ballot)))
    db.session.flush()
    return accept_if_agreed(election, round_, batch, by, now)


def remove_entry(batch: PaperBatch, entry_id: str, by: User) -> None:
    """A teller takes back one of their own entries (a slip of the finger), before the batch is accepted."""
    slot = slot_of(batch, by)
    if slot is None:
        abort(403)
    if batch.accepted_at is not None:
        raise Refused(_l("This batch has been accepted already."))
    db.session.execute(sa.delete(PaperEntry).where(PaperEntry.id == entry_id, PaperEntry.batch_id == batch.id,
                                                   PaperEntry.slot == slot))


def differences(batch: PaperBatch) -> dict[str, tuple[int, int]]:
    return rules.entry_differences([e.marks for e in entries(batch, 1)], [e.marks for e in entries(batch, 2)])


def accept_if_agreed(election: Election, round_: ElectionRound, batch: PaperBatch, by: User,
                     now: datetime) -> bool:
    """Both entries complete and equal: the ballots go in the poll's box (never over papers issued)."""
    counts = entered(batch)
    if counts[1] != batch.size or counts[2] != batch.size:
        return False
    first, second = [e.marks for e in entries(batch, 1)], [e.marks for e in entries(batch, 2)]
    if not rules.entries_match(first, second):
        return False
    done = db.session.execute(sa.update(PaperBatch).where(PaperBatch.id == batch.id, PaperBatch.accepted_at.is_(None))
                              .values(accepted_at=now).execution_options(synchronize_session=False)).rowcount
    if done != 1:
        return False
    polls.put_paper(services.poll_of(round_), [dict(choice=Choice.FOR, marks=m) for m in first], by)
    db.session.execute(sa.delete(PaperEntry).where(PaperEntry.batch_id == batch.id))
    db.session.refresh(batch)
    record(by, "election.batch_accepted", election.estate_id, services.SUBJECT, election.id,
           detail=f"{batch.number}:{batch.size}", at=now)
    return True


def pending_batches(round_: ElectionRound) -> int:
    return db.session.scalar(sa.select(sa.func.count(PaperBatch.id)).where(
        PaperBatch.round_id == round_.id, PaperBatch.accepted_at.is_(None))) or 0
