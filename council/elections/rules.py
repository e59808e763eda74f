"""Pure rules of service-team elections (Chinese election practice); the count itself is
`council.ballots.rules.count_election` and `count_second_round`.

No Flask, no database: plain values in, plain values out, property-tested at their edges.
"""
from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction

from council.ballots.rules import (
    ONE_THIRD,
    ElectionBallot,
    ElectionForm,
    ElectionResult,
    count_election,
    count_second_round,
)

MIN_SEATS, MAX_SEATS = 7, 12  # a service team has 7 to 12 members (Jinshan street)
MAX_NOMINATORS = 10  # joint nominations (联名推荐) need at most this many members


class Phase(enum.StrEnum):
    """Where an election stands; each phase starts on a date set when the election is called."""

    ROLL = "roll"  # the voter roll is published and members may object to it
    NOMINATIONS = "nominations"  # members nominate (themselves or, jointly, someone else)
    CANDIDATES = "candidates"  # the candidates are published; voting has not started
    VOTING = "voting"  # online, at the polling station and by the roving ballot box
    COUNTING = "counting"  # voting is over: two tellers enter the paper ballots, then the public count
    RESULTS = "results"  # the result is posted (公示): members may object; a further round may follow
    CLOSED = "closed"  # over: the elected hold the service-team role


PHASE_ORDER = tuple(Phase)


class Office(enum.StrEnum):
    COMMITTEE = "committee"  # 选举委员会: runs the election
    TELLER = "teller"  # 计票人 / 发票人: checks voters off, enters paper ballots
    SCRUTINEER = "scrutineer"  # 监票人: watches the roll, the box and the count


class RoundKind(enum.StrEnum):
    FIRST = "first"
    SECOND = "second"  # 另行选举: unfilled seats, among the best-placed remaining candidates
    RUNOFF = "runoff"  # a tie at the last seat, re-voted among the tied


class Mark(enum.StrEnum):
    """A mark against a printed candidate: only FOR gives a vote."""

    FOR = "+"
    AGAINST = "-"
    ABSTAIN = "="


class RollObjectionKind(enum.StrEnum):
    MISSING = "missing"  # "I am missing from the roll" (or a named member is)
    MOVED = "moved"  # "this person has moved away / should not be on the roll"


class Ruling(enum.StrEnum):
    UPHELD = "upheld"
    REJECTED = "rejected"


# ---- the calendar ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Schedule:
    roll_until: datetime  # objections to the roll until then
    nominations_until: datetime
    opens_at: datetime  # voting, first round
    closes_at: datetime


def schedule_problem(schedule: Schedule, now: datetime) -> str | None:
    """Which date is out of order, if any: now ≤ roll ≤ nominations ≤ voting opens < voting closes."""
    if schedule.roll_until < now:
        return "roll_until"
    if schedule.nominations_until < schedule.roll_until:
        return "nominations_until"
    if schedule.opens_at < schedule.nominations_until:
        return "opens_at"
    if schedule.closes_at <= schedule.opens_at:
        return "closes_at"
    return None


def phase(now: datetime, schedule: Schedule, round_opens_at: datetime, round_closes_at: datetime,
          counted: bool, finished: bool) -> Phase:
    """The phase at `now`, given the dates and the latest round (its window, and whether it is counted)."""
    if finished:
        return Phase.CLOSED
    if now < schedule.roll_until:
        return Phase.ROLL
    if now < schedule.nominations_until:
        return Phase.NOMINATIONS
    if counted:
        return Phase.RESULTS
    if now < round_opens_at:
        return Phase.CANDIDATES
    if now < round_closes_at:
        return Phase.VOTING
    return Phase.COUNTING


def phase_ends(now: datetime, schedule: Schedule, round_opens_at: datetime,
               round_closes_at: datetime) -> datetime | None:
    """When `phase` (same inputs) may next give something else without anything being written: the first of
    the dates still ahead (a page showing the phase is good until then); None when none is."""
    ahead = [moment for moment in (schedule.roll_until, schedule.nominations_until, round_opens_at, round_closes_at)
             if moment is not None and moment > now]
    return min(ahead, default=None)


# ---- nominations and officials ---------------------------------------------------------------------

def nomination_stands(self_nominated: bool, nominators: int, needed: int, accepted: bool,
                      withdrawn: bool = False) -> bool:
    """A nomination makes a candidate once accepted: by oneself, or by at least `needed` members jointly."""
    if withdrawn or not accepted:
        return False
    return self_nominated or nominators >= max(needed, 1)


def slate_ready(candidates: int, seats: int) -> bool:
    """Voting needs more candidates than seats (差额选举)."""
    return candidates > seats


def may_serve(person: int, households: Iterable[int], candidates: Iterable[int],
              candidate_households: Iterable[int]) -> bool:
    """Tellers and scrutineers are neither candidates nor in a candidate's household."""
    return person not in set(candidates) and not set(households) & set(candidate_households)


# ---- ballots ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Marks:
    """One ballot as cast or entered: a mark per printed candidate, write-in members, or spoilt.

    Candidates and write-ins are person ids (write-ins are eligible members, not text), so a name
    marked FOR and also written in counts once.
    """

    marks: Mapping[int, Mark] = field(default_factory=dict)
    write_ins: frozenset[int] = frozenset()
    spoilt: bool = False  # a paper ballot nobody could read (无法辨认)

    def names(self) -> frozenset[int]:
        return frozenset(p for p, m in self.marks.items() if m is Mark.FOR) | frozenset(self.write_ins)

    def ballot(self) -> ElectionBallot:
        return ElectionBallot(self.names(), self.spoilt)


SPOILT = "void"
_MARKS = {mark.value: mark for mark in Mark}


def encode(ballot: Marks) -> str:
    """A canonical text for storage and the published list: '12+ 15- 19= w44', or 'void'.

    Canonical (sorted) so two tellers' entries of the same paper ballot compare equal."""
    if ballot.spoilt:
        return SPOILT
    parts = [f"{person}{mark.value}" for person, mark in sorted(ballot.marks.items())]
    parts += [f"w{person}" for person in sorted(ballot.write_ins)]
    return " ".join(parts)


def decode(text: str) -> Marks:
    """Read back `encode`'s text; ValueError on anything else (a tampered list is not recounted)."""
    text = text.strip()
    if text == SPOILT:
        return Marks(spoilt=True)
    marks: dict[int, Mark] = {}
    write_ins: set[int] = set()
    for part in text.split():
        if part.startswith("w"):
            write_ins.add(_person(part[1:]))
        else:
            person = _person(part[:-1])
            if person in marks:
                raise ValueError(f"{person} is marked twice")
            try:
                marks[person] = _MARKS[part[-1:]]  # a dict lookup: Mark(...) is slow over 100,000 ballots
            except KeyError:
                raise ValueError(f"not a mark: {part!r}") from None
    return Marks(marks, frozenset(write_ins))


def _person(text: str) -> int:
    if not text.isdigit():
        raise ValueError(f"not a person id: {text!r}")
    return int(text)


class BallotProblem(enum.StrEnum):
    NOT_A_CANDIDATE = "not_a_candidate"  # a mark against someone not printed on the ballot
    WRITE_IN_IS_CANDIDATE = "write_in_is_candidate"  # mark them on the ballot instead
    WRITE_INS_CLOSED = "write_ins_closed"  # a re-vote of a tie is among the tied only
    NOT_ELIGIBLE = "not_eligible"  # a write-in who is not on the roll
    TOO_MANY = "too_many"  # names more people than seats: refused online, void on paper
    EMPTY = "empty"  # nothing marked at all: cast "abstain" marks instead


def ballot_problem(ballot: Marks, seats: int, candidates: Iterable[int], eligible: Iterable[int],
                   write_ins_allowed: bool = True) -> BallotProblem | None:
    """Why an online ballot cannot be submitted, or None. (A paper ballot is entered as it stands.)"""
    candidates = set(candidates)
    if set(ballot.marks) - candidates:
        return BallotProblem.NOT_A_CANDIDATE
    if ballot.write_ins and not write_ins_allowed:
        return BallotProblem.WRITE_INS_CLOSED
    if ballot.write_ins & candidates:
        return BallotProblem.WRITE_IN_IS_CANDIDATE
    if ballot.write_ins - set(eligible):
        return BallotProblem.NOT_ELIGIBLE
    if len(ballot.names()) > seats:
        return BallotProblem.TOO_MANY
    if not ballot.marks and not ballot.write_ins:
        return BallotProblem.EMPTY
    return None


# ---- two tellers enter every paper ballot -----------------------------------------------------------

def entries_match(first: Iterable[str], second: Iterable[str]) -> bool:
    """Two tellers' entries of one batch agree: the same ballots, in any order."""
    return Counter(first) == Counter(second)


def entry_differences(first: Iterable[str], second: Iterable[str]) -> dict[str, tuple[int, int]]:
    """Each ballot text the two entries disagree on, with how often each teller entered it."""
    a, b = Counter(first), Counter(second)
    return {text: (a[text], b[text]) for text in sorted(set(a) | set(b)) if a[text] != b[text]}


# ---- rounds -----------------------------------------------------------------------------------------

def count_round(kind: RoundKind, roll_size: int, ballots: Iterable[ElectionBallot], seats: int,
                form: ElectionForm) -> ElectionResult:
    """Count a round by its kind: a first round needs more than half of the ballots; a second round, the
    most votes but at least a third; a re-vote of a tie, the most votes (at least one)."""
    if kind is RoundKind.FIRST:
        return count_election(roll_size, ballots, seats, form)
    floor = ONE_THIRD if kind is RoundKind.SECOND else Fraction(0)
    return count_second_round(roll_size, ballots, seats, form, floor=floor)


@dataclass(frozen=True)
class NextRound:
    kind: RoundKind
    seats: int
    candidates: tuple[int, ...]
    write_ins: bool


def next_round(kind: RoundKind, valid: bool, seats: int, elected: int, printed: Iterable[int],
               runoff: Iterable[int], second: Iterable[int]) -> NextRound | None:
    """What follows a counted round, if anything.

    An invalid round (too few voted, or more ballots than voters) is held again as it was. A tie at the
    last seat is re-voted among the tied, with no write-ins. After a first round, unfilled seats go to a
    second round among the best-placed remaining candidates. Otherwise the election has its result
    (seats a second round leaves unfilled stay so)."""
    runoff, second = tuple(runoff), tuple(second)
    if not valid:
        return NextRound(kind, seats, tuple(printed), kind is not RoundKind.RUNOFF)
    if runoff:
        return NextRound(RoundKind.RUNOFF, seats - elected, runoff, False)
    if kind is RoundKind.FIRST and second and seats > elected:
        return NextRound(RoundKind.SECOND, seats - elected, second, True)
    return None


def votes_needed(kind: RoundKind, returned: int) -> int:
    """The fewest votes that can elect in a round of `returned` ballots (as posted with the count): more than
    half in a first round, at least a third in a second round, at least one in a re-vote of a tie."""
    if kind is RoundKind.FIRST:
        return returned // 2 + 1
    if kind is RoundKind.SECOND:
        return max(1, -(-returned // 3))
    return 1
