"""Pure tallies and thresholds shared by proposal votes and service-team elections.

No Flask, no database, no I/O: frozen dataclasses and enums in, plain results out, property-tested at
their edges. Every threshold is compared as an exact `Fraction` (never a float) and floor areas are whole
dm² (1 dm² = 0.01 m²), so no edge is lost to rounding. A threshold whose base is empty (no roll, no votes)
is never met, so nothing divides by zero and a vote without valid votes never passes.
"""
from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction
from typing import TypeVar

T = TypeVar("T")
Key = Hashable  # a voter, owner, household or candidate id; candidate ids must sort among themselves

HALF = Fraction(1, 2)
ONE_THIRD = Fraction(1, 3)
TWO_THIRDS = Fraction(2, 3)
THREE_QUARTERS = Fraction(3, 4)


class TallyError(ValueError):
    """The input breaks a precondition the services guarantee (a ballot off the roll, a duplicate...)."""


# ---------------------------------------------------------------------------------------------------
# Thresholds


class Bound(enum.StrEnum):
    MORE_THAN = "more_than"  # 过半数: strictly more than the share
    AT_LEAST = "at_least"  # 以上: the share itself is enough (Chinese law counts "以上" inclusively)


class Measure(enum.StrEnum):
    """What a threshold measures; views label each one for residents."""

    APPROVAL = "approval"  # headcount rules: in favour / all votes cast
    PARTICIPATION_AREA = "participation_area"  # Art. 278: participating area / total area of the roll
    PARTICIPATION_OWNERS = "participation_owners"  # Art. 278: participating owners / owners on the roll
    APPROVAL_AREA = "approval_area"  # Art. 278: area in favour / PARTICIPATING area
    APPROVAL_OWNERS = "approval_owners"  # Art. 278: owners in favour / PARTICIPATING owners
    TURNOUT = "turnout"  # elections: ballots returned / roll
    CANDIDATE = "candidate"  # elections: a candidate's votes / ballots returned (void ones included)


@dataclass(frozen=True)
class Threshold:
    """One test of a count: numerator / denominator compared with `required`, exactly."""

    measure: Measure
    required: Fraction
    bound: Bound
    numerator: int
    denominator: int

    @property
    def reached(self) -> Fraction:
        """The share reached; 0 over an empty base, so nothing divides by zero."""
        return Fraction(self.numerator, self.denominator) if self.denominator else Fraction(0)

    @property
    def met(self) -> bool:
        """Never met over an empty base: no roll or no votes decides nothing."""
        if not self.denominator:
            return False
        if self.bound is Bound.MORE_THAN:
            return self.reached > self.required
        return self.reached >= self.required


# ---------------------------------------------------------------------------------------------------
# Proposal votes


class Rule(enum.StrEnum):
    """How a proposal vote is decided.

    Headcount rules count abstentions among the votes cast, as residents' meetings do (an abstention is a
    vote that does not support the proposal): SIMPLE_MAJORITY needs votes in favour > 1/2 of ALL votes
    cast, TWO_THIRDS needs votes in favour ≥ 2/3 of all votes cast. Neither has a turnout quorum.

    Civil Code Art. 278: owners holding ≥ 2/3 of the roll's private floor area AND ≥ 2/3 of its owners must
    take part (abstaining is taking part); then ORDINARY matters (items 1-5 and 9: rules, the owners'
    committee, the property manager, USING the maintenance fund...) need > 1/2, and SPECIAL matters
    (items 6-8: RAISING the maintenance fund, rebuilding, changing the use of common parts or running a
    business on them) need ≥ 3/4, of BOTH the participating area and the participating owners.
    """

    SIMPLE_MAJORITY = "simple_majority"
    TWO_THIRDS = "two_thirds"
    CIVIL_CODE_278_ORDINARY = "civil_code_278_ordinary"
    CIVIL_CODE_278_SPECIAL = "civil_code_278_special"

    @property
    def by_area(self) -> bool:
        """Art. 278 rules weigh floor area and need named ballots (DESIGN invariant 4)."""
        return self in (Rule.CIVIL_CODE_278_ORDINARY, Rule.CIVIL_CODE_278_SPECIAL)


# The approval share of each rule; Art. 278 applies it to area and to owners alike.
APPROVAL: dict[Rule, tuple[Fraction, Bound]] = {
    Rule.SIMPLE_MAJORITY: (HALF, Bound.MORE_THAN),
    Rule.TWO_THIRDS: (TWO_THIRDS, Bound.AT_LEAST),
    Rule.CIVIL_CODE_278_ORDINARY: (HALF, Bound.MORE_THAN),  # Art. 278: 过半数
    Rule.CIVIL_CODE_278_SPECIAL: (THREE_QUARTERS, Bound.AT_LEAST),  # Art. 278: 四分之三以上
}
PARTICIPATION: tuple[Fraction, Bound] = (TWO_THIRDS, Bound.AT_LEAST)  # Art. 278: 三分之二以上 of area and owners


class Choice(enum.StrEnum):
    """A proposal ballot's mark; an abstention is cast and takes part, but supports nothing."""

    FOR = "for"
    AGAINST = "against"
    ABSTAIN = "abstain"


class UnitKind(enum.StrEnum):
    DWELLING = "dwelling"
    SHOP = "shop"
    PARKING = "parking"  # left out of the Art. 278 area base, as city platforms do


@dataclass(frozen=True)
class RollEntry:
    """One line of a frozen roll: a unit (or, for headcount votes, a household or resident) and its voter.

    `voter` is whoever holds the vote. Lines with the same voter are ONE head (an owner of several units,
    or the developer's unsold units, count once with their areas added up). A jointly owned unit is one
    vote: give its line the key of the co-owners together (or of the co-owner they name), never one line
    per co-owner. Headcount rules read only `voter`; area and kind matter to Art. 278 alone.
    """

    voter: Key
    area_dm2: int = 0  # private floor area in whole dm², as on the property register
    kind: UnitKind = UnitKind.DWELLING

    def __post_init__(self) -> None:
        if isinstance(self.area_dm2, bool) or not isinstance(self.area_dm2, int) or self.area_dm2 < 0:
            raise TallyError(f"area_dm2 must be a whole number of dm², not {self.area_dm2!r}")


@dataclass(frozen=True)
class Ballot:
    """A proposal ballot. `voter` is None for a secret headcount ballot; Art. 278 ballots are named."""

    choice: Choice
    voter: Key | None = None


@dataclass(frozen=True)
class Counts:
    """Votes (or dm²) per choice."""

    in_favour: int = 0
    against: int = 0
    abstain: int = 0

    @property
    def cast(self) -> int:
        """Everything cast, abstentions included: the participation of Art. 278."""
        return self.in_favour + self.against + self.abstain


@dataclass(frozen=True)
class Result:
    """Every figure a resident needs to check a proposal vote by hand."""

    rule: Rule
    roll_heads: int  # distinct voters on the roll (Art. 278: owners with a dwelling or shop)
    roll_area_dm2: int | None  # Art. 278 only: total private floor area of the roll, parking left out
    heads: Counts  # ballots counted per choice
    area_dm2: Counts | None  # Art. 278 only: the voters' areas per choice
    thresholds: tuple[Threshold, ...]
    passed: bool

    def threshold(self, measure: Measure) -> Threshold:
        """The threshold that tests `measure`; KeyError if this rule has none."""
        for item in self.thresholds:
            if item.measure is measure:
                return item
        raise KeyError(measure)


def dedupe_first(ballots: Iterable[T], key: Callable[[T], Key]) -> list[T]:
    """One ballot per household, the first one counts: keep the first ballot per key, in the given order."""
    seen: set[Key] = set()
    kept = []
    for ballot in ballots:
        k = key(ballot)
        if k is None:
            raise TallyError("a ballot without a key cannot be deduplicated")
        if k not in seen:
            seen.add(k)
            kept.append(ballot)
    return kept


def owners_roll(roll: Iterable[RollEntry]) -> dict[Key, int]:
    """The Art. 278 roll: one head per owner with their areas added up, parking left out of area and heads.

    An owner whose only units are parking spaces is not on it (city platforms count owners of private
    dwellings and shops); one who also owns a flat counts as one head with the flat's area only.
    """
    owners: dict[Key, int] = {}
    for entry in roll:
        if entry.kind is not UnitKind.PARKING:
            owners[entry.voter] = owners.get(entry.voter, 0) + entry.area_dm2
    return owners


def _check_ballots(ballots: Sequence[Ballot], roll: dict[Key, int], named: bool) -> None:
    """Refuse what the services must never hand over: counts over the roll, strangers, double votes."""
    if len(ballots) > len(roll):
        raise TallyError(f"{len(ballots)} ballots for a roll of {len(roll)}")
    seen: set[Key] = set()
    for ballot in ballots:
        if ballot.voter is None:
            if named:
                raise TallyError("Civil Code Art. 278 votes are named: a ballot has no voter")
            continue
        if ballot.voter not in roll:
            raise TallyError(f"voter {ballot.voter!r} is not on the roll")
        if ballot.voter in seen:
            raise TallyError(f"voter {ballot.voter!r} voted twice; use dedupe_first")
        seen.add(ballot.voter)


def _counts(pairs: Iterable[tuple[Choice, int]]) -> Counts:
    sums = {choice: 0 for choice in Choice}
    for choice, weight in pairs:
        sums[choice] += weight
    return Counts(sums[Choice.FOR], sums[Choice.AGAINST], sums[Choice.ABSTAIN])


def tally(rule: Rule, roll: Iterable[RollEntry], ballots: Iterable[Ballot]) -> Result:
    """Count a proposal vote and test its thresholds: one machinery for every rule, so all rules agree.

    Raises TallyError for ballots the services should have refused (off the roll, twice from one voter,
    more ballots than heads, an unnamed Art. 278 ballot). An empty roll, no ballots or only abstentions
    return a Result that has not passed.
    """
    ballots = list(ballots)
    if not rule.by_area:
        voters = {entry.voter: 0 for entry in roll}
        _check_ballots(ballots, voters, named=False)
        return result_from_counts(rule, len(voters), None, _counts((b.choice, 1) for b in ballots), None)

    owners = owners_roll(roll)
    _check_ballots(ballots, owners, named=True)
    heads = _counts((b.choice, 1) for b in ballots)
    area = _counts((b.choice, owners[b.voter]) for b in ballots)
    return result_from_counts(rule, len(owners), sum(owners.values()), heads, area)


def result_from_counts(rule: Rule, roll_heads: int, roll_area_dm2: int | None, heads: Counts,
                       area_dm2: Counts | None) -> Result:
    """Test a rule's thresholds on counts already made (the count stored when a poll closed)."""
    share, bound = APPROVAL[rule]
    if not rule.by_area:
        approval = Threshold(Measure.APPROVAL, share, bound, heads.in_favour, heads.cast)
        return Result(rule, roll_heads, None, heads, None, (approval,), approval.met)
    if area_dm2 is None or roll_area_dm2 is None:
        raise TallyError("Civil Code Art. 278 results need the areas")
    needed, at = PARTICIPATION
    # Civil Code Art. 278: participation over the WHOLE roll, approval over those who took part.
    thresholds = (
        Threshold(Measure.PARTICIPATION_AREA, needed, at, area_dm2.cast, roll_area_dm2),
        Threshold(Measure.PARTICIPATION_OWNERS, needed, at, heads.cast, roll_heads),
        Threshold(Measure.APPROVAL_AREA, share, bound, area_dm2.in_favour, area_dm2.cast),
        Threshold(Measure.APPROVAL_OWNERS, share, bound, heads.in_favour, heads.cast),
    )
    return Result(rule, roll_heads, roll_area_dm2, heads, area_dm2, thresholds, all(t.met for t in thresholds))


# ---------------------------------------------------------------------------------------------------
# Service-team elections (Chinese election practice)


@dataclass(frozen=True)
class ElectionBallot:
    """The people a ballot votes for (printed candidates and write-ins alike, as ids), nothing else.

    Against and abstain marks give no vote, so they are simply not listed; a name written twice counts
    once. `spoilt` is a paper ballot the tellers and scrutineers could not read (无法辨认): void.
    """

    names: frozenset[Key] = frozenset()
    spoilt: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", frozenset(self.names))


@dataclass(frozen=True)
class ElectionForm:
    """What the organisers set: the slate (listed even with no votes) and the second-round size."""

    candidates: tuple[Key, ...] = ()
    second_round_factor: int = 2  # second-round candidates per unfilled seat: twice, by default (差额)

    def __post_init__(self) -> None:
        if self.second_round_factor < 1:
            raise ValueError("second_round_factor must be at least 1")


class ElectionStatus(enum.StrEnum):
    VALID = "valid"
    TURNOUT_TOO_LOW = "turnout_too_low"  # not more than half of the roll voted: hold it again
    TOO_MANY_BALLOTS = "too_many_ballots"  # more ballots than voters on the roll: void, hold it again


@dataclass(frozen=True)
class CandidateVotes:
    """One line of the posted count: a candidate (or write-in), their votes and the round's share."""

    candidate: Key
    votes: int
    threshold: Threshold  # votes / ballots returned against the round's share

    @property
    def qualified(self) -> bool:
        """Met the round's share, with at least one vote (nobody is elected on no votes)."""
        return self.votes > 0 and self.threshold.met


@dataclass(frozen=True)
class ElectionResult:
    """Everything announced on the spot after a public count (当场公布)."""

    roll_size: int
    seats: int
    returned: int  # ballots returned: the turnout, void ones included
    valid: int
    void: int
    turnout: Threshold
    status: ElectionStatus
    votes: tuple[CandidateVotes, ...]  # most votes first, ties in candidate id order
    elected: tuple[Key, ...]
    runoff: tuple[Key, ...] = ()  # tied at the last seat: re-voted, never picked here
    runoff_seats: int = 0  # seats the tied candidates compete for
    unfilled_seats: int = 0
    second_round: tuple[Key, ...] = ()  # candidates for the unfilled seats

    @property
    def is_valid(self) -> bool:
        """Valid only if more than half of the roll voted and no more ballots than the roll came back."""
        return self.status is ElectionStatus.VALID


def ballot_is_void(ballot: ElectionBallot, seats: int) -> bool:
    """A ballot naming more people than seats is void, as is one the tellers could not read."""
    return ballot.spoilt or len(ballot.names) > seats


def _ranked(votes: Counter, candidates: Iterable[Key]) -> list[tuple[Key, int]]:
    """Every candidate and write-in with their votes, most first, ties in candidate id order (stable)."""
    for candidate in candidates:
        votes.setdefault(candidate, 0)
    return sorted(votes.items(), key=lambda item: (-item[1], item[0]))


def _cut(ranked: Sequence[tuple[Key, int]], places: int) -> tuple[list[Key], list[Key]]:
    """The first `places` (≥ 1) of a ranking, and those tied across the cut (never picked between)."""
    if len(ranked) <= places:
        return [c for c, _ in ranked], []
    line = ranked[places - 1][1]
    if ranked[places][1] == line:
        return [c for c, v in ranked if v > line], [c for c, v in ranked if v == line]
    return [c for c, _ in ranked[:places]], []


def _count(roll_size: int, ballots: Iterable[ElectionBallot], seats: int, form: ElectionForm,
           share: Fraction, bound: Bound, first_round: bool) -> ElectionResult:
    """Both rounds: void ballots, turnout, votes, qualification against `share`, ties and unfilled seats."""
    if seats < 1:
        raise ValueError("an election has at least one seat")
    if roll_size < 0:
        raise ValueError("roll_size cannot be negative")
    ballots = list(ballots)
    returned = len(ballots)
    void = sum(ballot_is_void(b, seats) for b in ballots)
    votes: Counter = Counter()
    for ballot in ballots:
        if not ballot_is_void(ballot, seats):
            votes.update(ballot.names)
    # The election is valid only if more than half of the roll voted (过半数选民参加投票).
    turnout = Threshold(Measure.TURNOUT, HALF, Bound.MORE_THAN, returned, roll_size)
    if returned > roll_size:  # 所投的票数多于投票人数的无效
        status = ElectionStatus.TOO_MANY_BALLOTS
    elif not turnout.met:
        status = ElectionStatus.TURNOUT_TOO_LOW
    else:
        status = ElectionStatus.VALID
    # A candidate's share is of the ballots RETURNED, void included (参加投票的选民过半数的选票).
    table = tuple(CandidateVotes(c, v, Threshold(Measure.CANDIDATE, share, bound, v, returned))
                  for c, v in _ranked(votes, form.candidates))
    common = dict(roll_size=roll_size, seats=seats, returned=returned, valid=returned - void, void=void,
                  turnout=turnout, status=status, votes=table)
    if status is not ElectionStatus.VALID:  # the whole election is held again: no one elected, no second round
        return ElectionResult(**common, elected=(), unfilled_seats=seats)
    elected, runoff = _cut([(row.candidate, row.votes) for row in table if row.qualified], seats)
    runoff_seats = seats - len(elected) if runoff else 0
    unfilled = seats - len(elected) - runoff_seats
    second: list[Key] = []
    if first_round and unfilled:
        # Unfilled seats go to a second round among the best-placed remaining candidates (另行选举);
        # a tie across the cut takes everyone tied rather than picking, and nobody goes on no votes.
        remaining = [(row.candidate, row.votes) for row in table if row.votes > 0 and row.candidate not in elected]
        top, tied = _cut(remaining, form.second_round_factor * unfilled)
        second = top + tied
    return ElectionResult(**common, elected=tuple(elected), runoff=tuple(runoff), runoff_seats=runoff_seats,
                          unfilled_seats=unfilled, second_round=tuple(second))


def count_election(roll_size: int, ballots: Iterable[ElectionBallot], seats: int,
                   form: ElectionForm | None = None) -> ElectionResult:
    """Count a first round: valid if more than half the roll voted; elected with more than half the ballots.

    More qualified candidates than seats: the most votes win, and a tie at the last seat is reported in
    `runoff` for a re-vote. Seats left unfilled get `second_round` candidates, `second_round_factor` per
    seat. Ballots over the roll make the election void (status TOO_MANY_BALLOTS) rather than raising: by
    election practice such a vote is void and held again, and residents should see why.
    """
    return _count(roll_size, ballots, seats, form or ElectionForm(), HALF, Bound.MORE_THAN, first_round=True)


def count_second_round(roll_size: int, ballots: Iterable[ElectionBallot], seats: int,
                       form: ElectionForm | None = None, floor: Fraction = ONE_THIRD) -> ElectionResult:
    """Count a second round for `seats` unfilled seats: most votes win (runoff floor: one third of ballots).

    The same roll must turn out (more than half), ballots naming more people than the unfilled seats are
    void, a tie at the last seat goes to `runoff`, and seats still unfilled stay so (no third round is
    proposed). A re-vote of a tie may pass floor=Fraction(0): most votes win, with at least one vote.
    """
    return _count(roll_size, ballots, seats, form or ElectionForm(), floor, Bound.AT_LEAST, first_round=False)


# ---------------------------------------------------------------------------------------------------
# Casting rules shared by proposal votes and elections

MAX_PROXIES = 3  # written proxies one person may hold in one poll, as election practice allows


def proxy_allowed(held: int) -> bool:
    """May someone already holding `held` proxies in a poll take one more? At most MAX_PROXIES in all."""
    return 0 <= held < MAX_PROXIES


def window_open(now, opened_at, closes_at) -> bool:
    """Ballots are taken from the opening (inclusive) until the close (exclusive): at closes_at it is over."""
    return opened_at <= now < closes_at


def paper_fits(entered: int, batch: int, issued: int) -> bool:
    """A batch of paper ballots may be entered only if entered ballots stay within the papers issued."""
    return batch > 0 and entered + batch <= issued


def secret_allowed(rule: Rule) -> bool:
    """Headcount votes may be secret; area-weighted Art. 278 votes are named by law (DESIGN invariant 4)."""
    return not rule.by_area


class Standing(enum.StrEnum):
    """Where a poll's result stands: counted yet? final yet?"""

    OPEN = "open"  # still voting: nothing to show
    PRELIMINARY = "preliminary"  # counted; the objection window is open or an objection awaits its answer
    FINAL = "final"


def objections_open(closed_at, days: int, now) -> bool:
    """Objections are taken from the close (inclusive) for `days` days (exclusive at the end)."""
    return closed_at is not None and days > 0 and closed_at <= now < closed_at + timedelta(days=days)


def result_standing(closed_at, days: int, now, unanswered: int) -> Standing:
    """A count is final once its objection window has passed and every objection has its public answer."""
    if closed_at is None:
        return Standing.OPEN
    if objections_open(closed_at, days, now) or unanswered > 0:
        return Standing.PRELIMINARY
    return Standing.FINAL


# ---------------------------------------------------------------------------------------------------
# Choice votes: several options (plan A / plan B...), single or up to N choices


@dataclass(frozen=True)
class OptionBallot:
    """A choice-vote ballot: the options picked, "none of these" (nothing picked), or an abstention."""

    picks: frozenset[int] = frozenset()
    abstain: bool = False
    voter: Key | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "picks", frozenset(self.picks))
        if self.abstain and self.picks:
            raise TallyError("an abstention picks nothing")


@dataclass(frozen=True)
class OptionResult:
    """One option's support: heads (and area) that picked it, each tested against the rule's share."""

    option: int
    heads: int
    area_dm2: int | None
    thresholds: tuple[Threshold, ...]

    @property
    def carried(self) -> bool:
        return all(t.met for t in self.thresholds)


@dataclass(frozen=True)
class ChoiceResult:
    """A choice vote: participation (Art. 278), every option, "none of these" and abstentions."""

    rule: Rule
    roll_heads: int
    roll_area_dm2: int | None
    cast: int  # ballots taking part, abstentions and "none of these" included
    none_of_these: int
    abstain: int
    void: int  # paper ballots picking more options than allowed: they take part but support nothing
    participation: tuple[Threshold, ...]
    options: tuple[OptionResult, ...]

    @property
    def carried(self) -> tuple[int, ...]:
        """The options that reached the rule's share (of the participants), if participation was met."""
        if not all(t.met for t in self.participation):
            return ()
        return tuple(o.option for o in self.options if o.carried)


def tally_options(rule: Rule, roll: Iterable[RollEntry], ballots: Iterable[OptionBallot], options: Sequence[int],
                  max_choices: int = 1) -> ChoiceResult:
    """Count a choice vote. Each option is carried when the voters who picked it reach the rule's share of
    everyone who took part (for Art. 278, of both the participating area and the participating owners,
    after the usual two-thirds participation over the whole roll). Abstentions and "none of these" take
    part and support no option; a ballot picking more than `max_choices` options is void the same way."""
    if max_choices < 1:
        raise ValueError("a choice vote lets each voter pick at least one option")
    ballots = list(ballots)
    share, bound = APPROVAL[rule]
    known = set(options)
    for ballot in ballots:
        if not ballot.picks <= known:
            raise TallyError(f"unknown options {sorted(ballot.picks - known)}")
    if rule.by_area:
        base = owners_roll(roll)
        _check_ballots([Ballot(Choice.ABSTAIN, b.voter) for b in ballots], base, named=True)
    else:
        base = {entry.voter: 0 for entry in roll}
        _check_ballots([Ballot(Choice.ABSTAIN, b.voter) for b in ballots], base, named=False)
    valid = [b for b in ballots if not b.abstain and len(b.picks) <= max_choices]
    cast_area = sum(base[b.voter] for b in ballots) if rule.by_area else None
    participation: tuple[Threshold, ...] = ()
    if rule.by_area:
        needed, at = PARTICIPATION
        participation = (Threshold(Measure.PARTICIPATION_AREA, needed, at, cast_area, sum(base.values())),
                         Threshold(Measure.PARTICIPATION_OWNERS, needed, at, len(ballots), len(base)))
    results = []
    for option in options:
        picked = [b for b in valid if option in b.picks]
        tests = [Threshold(Measure.APPROVAL_OWNERS if rule.by_area else Measure.APPROVAL, share, bound,
                           len(picked), len(ballots))]
        area = None
        if rule.by_area:
            area = sum(base[b.voter] for b in picked)
            tests.insert(0, Threshold(Measure.APPROVAL_AREA, share, bound, area, cast_area))
        results.append(OptionResult(option, len(picked), area, tuple(tests)))
    return ChoiceResult(
        rule=rule, roll_heads=len(base), roll_area_dm2=sum(base.values()) if rule.by_area else None,
        cast=len(ballots), none_of_these=sum(1 for b in valid if not b.picks),
        abstain=sum(1 for b in ballots if b.abstain), void=sum(1 for b in ballots if len(b.picks) > max_choices),
        participation=participation, options=tuple(results))
