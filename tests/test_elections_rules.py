"""The pure election rules at their edges: the calendar and its phases, nominations, who may serve as an
official, the ballot text (encode / decode), online ballot checks, the two tellers' entries, and each kind
of round's count and what follows it. (The count itself is property-tested in test_ballots_rules.py; here
it is driven through `count_round`, the way the services and the recount call it.)"""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from council.ballots.rules import ElectionBallot, ElectionForm, ElectionStatus
from council.elections.rules import (
    PHASE_ORDER,
    SPOILT,
    BallotProblem,
    Mark,
    Marks,
    NextRound,
    Phase,
    RoundKind,
    Schedule,
    ballot_problem,
    count_round,
    decode,
    encode,
    entries_match,
    entry_differences,
    may_serve,
    next_round,
    nomination_stands,
    phase,
    phase_ends,
    schedule_problem,
    slate_ready,
)

BASE = datetime(2025, 3, 1, tzinfo=UTC)
TICK = timedelta(microseconds=1)
KINDS = list(RoundKind)
fewer = settings(max_examples=50)  # the edges are built explicitly; random cases only widen them
per_kind = settings(max_examples=25)  # run once per kind of round: fewer examples each


def at(minutes: int) -> datetime:
    return BASE + timedelta(minutes=minutes)


def vote(*names) -> ElectionBallot:
    return ElectionBallot(frozenset(names))


moments = st.integers(-20_000, 20_000).map(at)


@st.composite
def ordered_schedules(draw, strict: bool = False) -> Schedule:
    """A schedule the services accept: roll ≤ nominations ≤ opens < closes (strictly increasing if `strict`)."""
    low = 1 if strict else 0
    start = draw(st.integers(-5_000, 5_000))
    roll = start + draw(st.integers(low, 5_000))
    nominations = roll + draw(st.integers(low, 5_000))
    opens = nominations + draw(st.integers(low, 5_000))
    closes = opens + draw(st.integers(1, 5_000))
    return Schedule(at(roll), at(nominations), at(opens), at(closes))


def _phase(now: datetime, schedule: Schedule, counted: bool = False, finished: bool = False) -> Phase:
    """The phase of an election whose latest round is its first (the round's window is the schedule's)."""
    return phase(now, schedule, schedule.opens_at, schedule.closes_at, counted, finished)


# ---- the calendar ------------------------------------------------------------------------------------

@fewer
@given(st.lists(moments, min_size=4, max_size=4), st.lists(moments, min_size=2, max_size=30), st.booleans())
def test_the_phase_never_goes_back_as_time_passes(dates, nows, counted):
    """Whatever the dates (even out of order), a later moment is never in an earlier phase."""
    roll, nominations, opens, closes = dates
    schedule = Schedule(roll, nominations, opens, closes)
    seen = [PHASE_ORDER.index(phase(now, schedule, opens, closes, counted, False)) for now in sorted(nows)]
    assert seen == sorted(seen)


@fewer
@given(ordered_schedules(strict=True))
def test_each_phase_starts_exactly_at_its_date(schedule):
    boundaries = [(schedule.roll_until, Phase.ROLL, Phase.NOMINATIONS),
                  (schedule.nominations_until, Phase.NOMINATIONS, Phase.CANDIDATES),
                  (schedule.opens_at, Phase.CANDIDATES, Phase.VOTING),
                  (schedule.closes_at, Phase.VOTING, Phase.COUNTING)]
    for date, before, after in boundaries:
        assert _phase(date - TICK, schedule) is before
        assert _phase(date, schedule) is after  # the new phase starts AT the date
    # Walking through an ordered schedule visits the phases in PHASE_ORDER, up to the count.
    walk = [_phase(d - TICK, schedule) for d, _b, _a in boundaries] + [_phase(schedule.closes_at, schedule)]
    assert walk == list(PHASE_ORDER[:5])


@fewer
@given(st.lists(moments, min_size=4, max_size=4), moments, st.lists(moments, min_size=1, max_size=20),
       st.booleans())
def test_the_phase_holds_until_phase_ends_says(dates, now, laters, counted):
    """A page showing the phase may be kept until `phase_ends`: no moment before it is in another phase, and at
    it (when the schedule is in order) the phase changes; with no date ahead the phase never changes by itself."""
    roll, nominations, opens, closes = dates
    schedule = Schedule(roll, nominations, opens, closes)
    ends = phase_ends(now, schedule, opens, closes)
    shown = phase(now, schedule, opens, closes, counted, False)
    for later in laters:
        if later >= now and (ends is None or later < ends):
            assert phase(later, schedule, opens, closes, counted, False) is shown
    assert ends is None or ends > now


@fewer
@given(ordered_schedules(strict=True))
def test_phase_ends_at_exactly_the_next_date(schedule):
    for date in (schedule.roll_until, schedule.nominations_until, schedule.opens_at, schedule.closes_at):
        assert phase_ends(date - TICK, schedule, schedule.opens_at, schedule.closes_at) == date
    assert phase_ends(schedule.closes_at, schedule, schedule.opens_at, schedule.closes_at) is None


@fewer
@given(ordered_schedules(), moments)
def test_a_counted_round_shows_results_and_a_finished_election_is_closed(schedule, now):
    counted = _phase(now, schedule, counted=True)
    if now < schedule.roll_until:
        assert counted is Phase.ROLL
    elif now < schedule.nominations_until:
        assert counted is Phase.NOMINATIONS
    else:
        assert counted is Phase.RESULTS
    assert _phase(now, schedule, counted=True, finished=True) is Phase.CLOSED
    assert _phase(now, schedule, finished=True) is Phase.CLOSED


@fewer
@given(st.lists(st.integers(0, 6), min_size=5, max_size=5))
def test_schedule_problem_is_none_exactly_when_the_dates_are_in_order(offsets):
    """Small offsets so that equal dates (allowed, except an empty voting window) come up often."""
    now, roll, nominations, opens, closes = (at(24 * 60 * o) for o in offsets)
    problem = schedule_problem(Schedule(roll, nominations, opens, closes), now)
    ordered = now <= roll <= nominations <= opens < closes
    assert (problem is None) == ordered
    if not ordered:  # the first date out of order is named
        expected = ("roll_until" if roll < now else "nominations_until" if nominations < roll
                    else "opens_at" if opens < nominations else "closes_at")
        assert problem == expected


def test_schedule_problem_edges():
    day = timedelta(days=1)
    assert schedule_problem(Schedule(BASE, BASE, BASE, BASE + TICK), BASE) is None  # all on one moment but the close
    assert schedule_problem(Schedule(BASE, BASE, BASE, BASE), BASE) == "closes_at"  # an empty voting window
    assert schedule_problem(Schedule(BASE - TICK, BASE, BASE, BASE + day), BASE) == "roll_until"  # in the past
    assert schedule_problem(Schedule(BASE, BASE - TICK, BASE, BASE + day), BASE - day) == "nominations_until"
    assert schedule_problem(Schedule(BASE, BASE + day, BASE + day - TICK, BASE + 2 * day), BASE) == "opens_at"


# ---- nominations and officials -------------------------------------------------------------------------

@fewer
@given(st.integers(1, 10))
def test_a_joint_nomination_stands_with_exactly_the_members_needed(needed):
    assert nomination_stands(False, needed, needed, accepted=True)
    assert not nomination_stands(False, needed - 1, needed, accepted=True)
    assert nomination_stands(False, needed + 1, needed, accepted=True)


@fewer
@given(st.booleans(), st.integers(0, 20), st.integers(0, 10))
def test_a_withdrawn_or_unaccepted_nomination_never_stands(self_nominated, nominators, needed):
    assert not nomination_stands(self_nominated, nominators, needed, accepted=False)
    assert not nomination_stands(self_nominated, nominators, needed, accepted=True, withdrawn=True)
    assert not nomination_stands(self_nominated, nominators, needed, accepted=False, withdrawn=True)


@fewer
@given(st.integers(0, 20), st.integers(-1, 10))
def test_a_self_nomination_stands_once_accepted(nominators, needed):
    assert nomination_stands(True, nominators, needed, accepted=True)


@fewer
@given(st.integers(-3, 0))
def test_nobody_nominated_does_not_stand_even_if_nobody_is_needed(needed):
    assert not nomination_stands(False, 0, needed, accepted=True)
    assert nomination_stands(False, 1, needed, accepted=True)


@fewer
@given(st.integers(1, 12), st.integers(0, 30))
def test_a_slate_needs_more_candidates_than_seats(seats, candidates):
    assert not slate_ready(seats, seats)
    assert slate_ready(seats + 1, seats)
    assert slate_ready(candidates, seats) == (candidates > seats)


people = st.integers(1, 12)
homes = st.frozensets(st.integers(100, 108), max_size=3)


@fewer
@given(people, homes, st.frozensets(people, max_size=6), st.frozensets(st.integers(100, 108), max_size=6))
def test_officials_are_neither_candidates_nor_living_with_one(person, households, candidates, candidate_homes):
    allowed = may_serve(person, list(households), list(candidates), list(candidate_homes))
    assert allowed == (person not in candidates and not households & candidate_homes)
    # Iterables are read once each: generators work as well as lists.
    assert may_serve(person, iter(households), iter(candidates), iter(candidate_homes)) == allowed


def test_may_serve_examples():
    assert may_serve(1, [100], [2, 3], [101, 102])
    assert not may_serve(2, [100], [2, 3], [101, 102])  # a candidate
    assert not may_serve(1, [100, 102], [2, 3], [101, 102])  # one of their households is a candidate's
    assert may_serve(1, [], [], [])


# ---- ballot text -----------------------------------------------------------------------------------------

person_ids = st.integers(1, 10**7)
mark_maps = st.dictionaries(person_ids, st.sampled_from(list(Mark)), max_size=10)
write_in_sets = st.frozensets(person_ids, max_size=4)
any_marks = st.builds(Marks, mark_maps, write_in_sets)


@fewer
@given(any_marks)
def test_decode_reads_back_what_encode_wrote(ballot):
    text = encode(ballot)
    assert decode(text) == ballot
    assert encode(decode(text)) == text
    assert decode(f"  {text}  ") == ballot
    assert decode(text).ballot() == ballot.ballot()


@fewer
@given(mark_maps, write_in_sets)
def test_a_spoilt_ballot_is_void_whatever_is_on_it(marks, write_ins):
    ballot = Marks(marks, write_ins, spoilt=True)
    assert encode(ballot) == SPOILT
    assert decode(SPOILT) == Marks(spoilt=True)
    assert decode(encode(ballot)).ballot().spoilt


@fewer
@given(mark_maps, write_in_sets, st.randoms(use_true_random=False))
def test_the_encoding_is_canonical_whatever_the_order_marks_were_made_in(marks, write_ins, rnd):
    """Two tellers entering the same paper ballot in different orders produce the same text."""
    items = list(marks.items())
    rnd.shuffle(items)
    again = dict(items)
    shuffled_write_ins = list(write_ins)
    rnd.shuffle(shuffled_write_ins)
    assert encode(Marks(again, frozenset(shuffled_write_ins))) == encode(Marks(marks, write_ins))


@fewer
@given(any_marks, any_marks)
def test_equal_texts_mean_equal_ballots(a, b):
    assert (encode(a) == encode(b)) == (a == b)


@pytest.mark.parametrize("garbage", [
    "5", "+", "5x", "5+ 5-", "5+ 5+", "w", "wx", "w5+", "x5+", "-5+", "+5+", "5++", "5 +", "5,+ 6-",
    "void void", "5+ void", "VOID", "w-1", "1.5+", "²+", "5+;DROP", "w ", "0x1F+",
])
def test_decode_refuses_anything_else(garbage):
    with pytest.raises(ValueError):
        decode(garbage)


@fewer
@given(st.text(max_size=40))
def test_decode_fails_only_with_value_error(text):
    """A tampered published list is refused with ValueError (never another exception) or read as a ballot."""
    try:
        ballot = decode(text)
    except ValueError:
        return
    assert decode(encode(ballot)) == ballot


# ---- online ballot checks --------------------------------------------------------------------------------

@st.composite
def slates(draw):
    """seats, the printed candidates (more than seats), and eligible members who are not candidates."""
    seats = draw(st.integers(1, 12))
    candidates = list(range(1, seats + 1 + draw(st.integers(1, 5))))
    eligible = list(range(100, 100 + draw(st.integers(1, 6))))
    return seats, candidates, eligible


@fewer
@given(slates(), st.data())
def test_exactly_seats_names_are_accepted_one_more_is_refused(slate, data):
    seats, candidates, eligible = slate
    write_ins = data.draw(st.integers(0, min(seats, len(eligible))))
    printed_for = seats - write_ins
    rest = candidates[printed_for:]
    others = {c: data.draw(st.sampled_from([Mark.AGAINST, Mark.ABSTAIN])) for c in rest}
    ballot = Marks({**{c: Mark.FOR for c in candidates[:printed_for]}, **others}, frozenset(eligible[:write_ins]))
    assert len(ballot.names()) == seats
    assert ballot_problem(ballot, seats, candidates, eligible) is None
    # One more name, printed or written in, is too many.
    one_more = Marks({**ballot.marks, rest[0]: Mark.FOR}, ballot.write_ins)
    assert ballot_problem(one_more, seats, candidates, eligible) is BallotProblem.TOO_MANY
    if write_ins < len(eligible):
        written = Marks(ballot.marks, ballot.write_ins | {eligible[write_ins]})
        assert ballot_problem(written, seats, candidates, eligible) is BallotProblem.TOO_MANY


@fewer
@given(slates(), st.data())
def test_against_and_abstain_marks_name_nobody(slate, data):
    seats, candidates, eligible = slate
    marks = {c: data.draw(st.sampled_from([Mark.AGAINST, Mark.ABSTAIN])) for c in candidates}
    assert ballot_problem(Marks(marks), seats, candidates, eligible) is None


@fewer
@given(slates(), st.data())
def test_a_write_in_who_is_a_candidate_is_refused(slate, data):
    seats, candidates, eligible = slate
    who = data.draw(st.sampled_from(candidates))
    assert ballot_problem(Marks({}, frozenset({who})), seats, candidates, eligible + candidates) is (
        BallotProblem.WRITE_IN_IS_CANDIDATE)


@fewer
@given(slates(), st.integers(1000, 2000))
def test_a_write_in_who_is_not_eligible_is_refused(slate, stranger):
    seats, candidates, eligible = slate
    assert ballot_problem(Marks({}, frozenset({stranger})), seats, candidates, eligible) is BallotProblem.NOT_ELIGIBLE
    ballot = Marks({candidates[0]: Mark.FOR}, frozenset({eligible[0], stranger}))
    assert ballot_problem(ballot, seats, candidates, eligible) is BallotProblem.NOT_ELIGIBLE


@fewer
@given(slates(), st.integers(1000, 2000), st.sampled_from(list(Mark)))
def test_a_mark_against_someone_not_printed_is_refused(slate, stranger, mark):
    seats, candidates, eligible = slate
    for outsider in (stranger, eligible[0]):  # eligible to be written in, but not printed
        ballot = Marks({candidates[0]: Mark.FOR, outsider: mark})
        assert ballot_problem(ballot, seats, candidates, eligible) is BallotProblem.NOT_A_CANDIDATE


@fewer
@given(slates())
def test_write_ins_are_refused_when_the_round_allows_none(slate):
    seats, candidates, eligible = slate
    ballot = Marks({}, frozenset({eligible[0]}))
    assert ballot_problem(ballot, seats, candidates, eligible, write_ins_allowed=False) is (
        BallotProblem.WRITE_INS_CLOSED)
    assert ballot_problem(ballot, seats, candidates, eligible, write_ins_allowed=True) is None
    printed = Marks({candidates[0]: Mark.FOR})
    assert ballot_problem(printed, seats, candidates, eligible, write_ins_allowed=False) is None


def test_an_empty_ballot_is_refused_online():
    assert ballot_problem(Marks(), 7, range(1, 10), [100]) is BallotProblem.EMPTY


# ---- two tellers ---------------------------------------------------------------------------------------

texts = st.builds(Marks, st.dictionaries(st.integers(1, 9), st.sampled_from(list(Mark)), max_size=4),
                  st.frozensets(st.integers(1, 9), max_size=2)).map(encode) | st.just(SPOILT)


@fewer
@given(st.lists(texts, max_size=12), st.randoms(use_true_random=False))
def test_two_entries_of_the_same_ballots_in_any_order_match(first, rnd):
    second = list(first)
    rnd.shuffle(second)
    assert entries_match(first, second) and entries_match(second, first)
    assert entry_differences(first, second) == {}


@fewer
@given(st.lists(texts, min_size=1, max_size=12), st.data())
def test_a_single_misread_ballot_is_detected(first, data):
    index = data.draw(st.integers(0, len(first) - 1))
    misread = data.draw(texts)
    assume(misread != first[index])
    second = first[:index] + [misread] + first[index + 1:]
    assert not entries_match(first, second)
    differences = entry_differences(first, second)
    assert set(differences) == {first[index], misread}
    a, b = differences[first[index]]
    assert a == b + 1  # the first teller has it once more than the second
    a, b = differences[misread]
    assert b == a + 1
    assert entry_differences(second, first) == {t: (b, a) for t, (a, b) in differences.items()}


@fewer
@given(st.lists(texts, max_size=6), st.lists(texts, max_size=6))
def test_entries_match_exactly_when_there_are_no_differences(first, second):
    assert entries_match(first, second) == (entry_differences(first, second) == {})
    assert entries_match(first, second) == entries_match(second, first)


def test_the_same_texts_a_different_number_of_times_do_not_match():
    assert not entries_match(["1+", "1+", "2+"], ["1+", "2+", "2+"])
    assert entry_differences(["1+", "1+", "2+"], ["1+", "2+", "2+"]) == {"1+": (2, 1), "2+": (1, 2)}
    assert not entries_match(["1+"], ["1+", "1+"])  # a ballot entered twice by one teller


# ---- rounds --------------------------------------------------------------------------------------------

@fewer
@given(st.integers(1, 60), st.integers(0, 5))
def test_first_round_exactly_half_the_ballots_returned_is_not_enough(k, void):
    """The base is the ballots returned, void ones included: half of them is not more than half."""
    returned = 2 * k + 2 * void
    ballots = [vote("a")] * (k + void) + [ElectionBallot(spoilt=True)] * void + [vote()] * k
    assert len(ballots) == returned
    result = count_round(RoundKind.FIRST, returned, ballots, 1, ElectionForm(("a", "b")))
    assert result.is_valid and result.votes[0].votes * 2 == returned
    assert result.elected == () and result.unfilled_seats == 1
    ballots[-1] = vote("a")  # half + 1
    result = count_round(RoundKind.FIRST, returned, ballots, 1, ElectionForm(("a", "b")))
    assert result.elected == ("a",)


@fewer
@given(st.integers(1, 40), st.integers(1, 3))
def test_second_round_exactly_a_third_is_enough_one_less_is_not(k, seats):
    ballots = [vote("a")] * k + [vote()] * (2 * k)
    result = count_round(RoundKind.SECOND, 3 * k, ballots, seats, ElectionForm(("a", "b")))
    assert result.votes[0].votes * 3 == result.returned
    assert result.elected == ("a",)
    ballots[0] = vote()  # k - 1 of 3k: just under a third
    result = count_round(RoundKind.SECOND, 3 * k, ballots, seats, ElectionForm(("a", "b")))
    assert result.elected == () and result.unfilled_seats == seats
    assert result.second_round == ()  # a second round proposes no third


@fewer
@given(st.integers(1, 30), st.integers(1, 30))
def test_a_runoff_is_won_by_the_most_votes_however_few(more, blank):
    """A re-vote of a tie has no floor: two votes to one out of many blank ballots elect."""
    ballots = [vote("b")] * (more + 1) + [vote("c")] * more + [vote()] * blank
    returned = len(ballots)
    result = count_round(RoundKind.RUNOFF, returned, ballots, 1, ElectionForm(("b", "c")))
    assert result.elected == ("b",)
    # Nobody is elected on no votes.
    result = count_round(RoundKind.RUNOFF, returned, [vote()] * returned, 1, ElectionForm(("b", "c")))
    assert result.elected == () and result.unfilled_seats == 1


@pytest.mark.parametrize("kind", KINDS)
@per_kind
@given(k=st.integers(1, 60))
def test_turnout_exactly_half_the_roll_is_invalid_one_more_is_valid(kind, k):
    form = ElectionForm(("a", "b"))
    half = count_round(kind, 2 * k, [vote("a")] * k, 1, form)
    assert half.status is ElectionStatus.TURNOUT_TOO_LOW and not half.is_valid
    assert half.elected == () and half.runoff == () and half.second_round == () and half.unfilled_seats == 1
    more = count_round(kind, 2 * k, [vote("a")] * (k + 1), 1, form)
    assert more.is_valid and more.elected == ("a",)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("roll, ballots", [(0, []), (5, []), (0, [vote("a")])])
def test_an_empty_roll_or_no_ballots_elects_nobody(kind, roll, ballots):
    result = count_round(kind, roll, ballots, 2, ElectionForm(("a", "b", "c")))
    assert not result.is_valid
    assert result.elected == () and result.runoff == () and result.second_round == ()
    assert result.unfilled_seats == 2


@pytest.mark.parametrize("kind", KINDS)
@per_kind
@given(seats=st.integers(2, 5), x=st.integers(2, 12), y=st.integers(1, 11), seed=st.integers(0, 2**16))
def test_a_tie_at_the_last_seat_goes_to_a_runoff_never_picked(kind, seats, x, y, seed):
    """seats-2 clear winners on every ballot; then x (a, b), x (a, c), y (b, c), x > y: a wins, b and c tie
    for the last seat with more than half of the ballots each. The order of the ballots changes nothing."""
    assume(x > y)
    clear = [f"w{i}" for i in range(seats - 2)]
    ballots = ([vote(*clear, "a", "b")] * x + [vote(*clear, "a", "c")] * x + [vote(*clear, "b", "c")] * y)
    form = ElectionForm(tuple(clear) + ("c", "b", "a"))
    random.Random(seed).shuffle(ballots)
    result = count_round(kind, len(ballots), ballots, seats, form)
    assert set(result.elected) == {*clear, "a"}
    assert result.runoff == ("b", "c") and result.runoff_seats == 1 and result.unfilled_seats == 0
    assert result.second_round == ()
    upcoming = next_round(kind, result.is_valid, seats, len(result.elected), form.candidates, result.runoff,
                          result.second_round)
    assert upcoming == NextRound(RoundKind.RUNOFF, 1, ("b", "c"), False)


# ---- what follows a round ------------------------------------------------------------------------------

candidate_lists = st.lists(st.integers(1, 30), unique=True, max_size=12).map(tuple)


@pytest.mark.parametrize("kind", KINDS)
@per_kind
@given(seats=st.integers(1, 12), elected=st.integers(0, 12), printed=candidate_lists, runoff=candidate_lists,
       second=candidate_lists)
def test_an_invalid_round_is_held_again_as_it_was(kind, seats, elected, printed, runoff, second):
    again = next_round(kind, False, seats, elected, iter(printed), runoff, second)
    assert again == NextRound(kind, seats, printed, kind is not RoundKind.RUNOFF)


@pytest.mark.parametrize("kind", KINDS)
@per_kind
@given(seats=st.integers(2, 12), data=st.data())
def test_a_tie_is_re_voted_among_the_tied_without_write_ins(kind, seats, data):
    elected = data.draw(st.integers(0, seats - 1))
    runoff = data.draw(st.lists(st.integers(1, 30), unique=True, min_size=2, max_size=6).map(tuple))
    second = data.draw(candidate_lists)
    upcoming = next_round(kind, True, seats, elected, range(1, 31), runoff, second)
    assert upcoming == NextRound(RoundKind.RUNOFF, seats - elected, runoff, False)


@fewer
@given(seats=st.integers(2, 12), data=st.data())
def test_unfilled_seats_after_a_first_round_go_to_a_second_round(seats, data):
    elected = data.draw(st.integers(0, seats - 1))
    second = data.draw(st.lists(st.integers(1, 30), unique=True, min_size=1, max_size=12).map(tuple))
    upcoming = next_round(RoundKind.FIRST, True, seats, elected, range(1, 31), (), second)
    assert upcoming == NextRound(RoundKind.SECOND, seats - elected, second, True)
    # Nobody left with votes: the seats stay unfilled.
    assert next_round(RoundKind.FIRST, True, seats, elected, range(1, 31), (), ()) is None


@fewer
@given(seats=st.integers(1, 12), data=st.data())
def test_a_full_first_round_ends_the_voting(seats, data):
    assert next_round(RoundKind.FIRST, True, seats, seats, range(1, 31), (), data.draw(candidate_lists)) is None


@pytest.mark.parametrize("kind", [RoundKind.SECOND, RoundKind.RUNOFF])
@per_kind
@given(seats=st.integers(1, 12), data=st.data())
def test_seats_a_later_round_leaves_unfilled_stay_so(kind, seats, data):
    elected = data.draw(st.integers(0, seats))
    assert next_round(kind, True, seats, elected, range(1, 31), (), data.draw(candidate_lists)) is None


names = st.sampled_from(["a", "b", "c", "d", "e", "f", "g"])


@pytest.mark.parametrize("kind", KINDS)
@per_kind
@given(seats=st.integers(1, 4), picks=st.lists(st.frozensets(names, max_size=4), max_size=30),
       extra_roll=st.integers(0, 12))
def test_the_next_round_follows_from_the_count(kind, seats, picks, extra_roll):
    """What `counting.plan` does: the count's runoff and second-round candidates make the next round, and
    it is for exactly the seats the count left open."""
    ballots = [ElectionBallot(p) for p in picks]
    form = ElectionForm(("a", "b", "c", "d", "e"))
    result = count_round(kind, len(ballots) + extra_roll, ballots, seats, form)
    upcoming = next_round(kind, result.is_valid, seats, len(result.elected), form.candidates, result.runoff,
                          result.second_round)
    if not result.is_valid:
        assert upcoming.kind is kind and upcoming.seats == seats and upcoming.candidates == form.candidates
    elif result.runoff:
        assert upcoming.kind is RoundKind.RUNOFF and not upcoming.write_ins
        assert upcoming.seats == result.runoff_seats < len(upcoming.candidates)
        assert not set(upcoming.candidates) & set(result.elected)
    elif upcoming is not None:
        assert kind is RoundKind.FIRST and upcoming.kind is RoundKind.SECOND
        assert upcoming.seats == result.unfilled_seats and upcoming.candidates == result.second_round
        assert not set(upcoming.candidates) & set(result.elected)
    else:
        assert kind is not RoundKind.FIRST or not result.unfilled_seats or not result.second_round
