"""Pure ballot rules at their edges: proposal tallies, Civil Code Art. 278, service-team elections."""
from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from council.ballots.rules import (
    Ballot,
    Bound,
    Choice,
    Counts,
    ElectionBallot,
    ElectionForm,
    ElectionStatus,
    Measure,
    RollEntry,
    Rule,
    TallyError,
    Threshold,
    UnitKind,
    ballot_is_void,
    count_election,
    count_second_round,
    dedupe_first,
    owners_roll,
    paper_fits,
    proxy_allowed,
    result_from_counts,
    secret_allowed,
    tally,
    window_open,
)

FOR, AGAINST, ABSTAIN = Choice.FOR, Choice.AGAINST, Choice.ABSTAIN
ORDINARY, SPECIAL = Rule.CIVIL_CODE_278_ORDINARY, Rule.CIVIL_CODE_278_SPECIAL
HEADCOUNT = (Rule.SIMPLE_MAJORITY, Rule.TWO_THIRDS)
areas = st.integers(min_value=1, max_value=50_000)  # up to 500 m², in dm²
choices = st.sampled_from(list(Choice))


def owners(*area_list: int, prefix: str = "o") -> list[RollEntry]:
    return [RollEntry(f"{prefix}{i}", a) for i, a in enumerate(area_list)]


def households(n: int) -> list[RollEntry]:
    return [RollEntry(f"h{i}") for i in range(n)]


def anonymous(*marks: Choice) -> list[Ballot]:
    return [Ballot(mark) for mark in marks]


def named(roll: list[RollEntry], marks: list[Choice]) -> list[Ballot]:
    return [Ballot(mark, entry.voter) for entry, mark in zip(roll, marks, strict=False)]


# --- Threshold ---------------------------------------------------------------------------------------

def test_threshold_over_an_empty_base_is_never_met():
    for bound in Bound:
        t = Threshold(Measure.APPROVAL, Fraction(0), bound, 0, 0)
        assert t.reached == 0 and not t.met


@given(st.integers(0, 500), st.integers(1, 500))
def test_threshold_is_exact(num, den):
    assume(num <= den)
    more = Threshold(Measure.APPROVAL, Fraction(1, 2), Bound.MORE_THAN, num, den)
    least = Threshold(Measure.APPROVAL, Fraction(1, 2), Bound.AT_LEAST, num, den)
    assert more.reached == Fraction(num, den)
    assert more.met is (2 * num > den)
    assert least.met is (2 * num >= den)


# --- Totals --------------------------------------------------------------------------------------------

@st.composite
def unit_rolls(draw):
    """Units of a few owners, some with several units, some with parking, some with nothing else."""
    n = draw(st.integers(0, 12))
    kinds = st.sampled_from(list(UnitKind))
    return [RollEntry(f"o{draw(st.integers(0, n))}", draw(st.integers(0, 20_000)), draw(kinds)) for _ in range(n)]


@given(unit_rolls(), st.sampled_from(list(Rule)), st.data())
def test_totals_add_up(roll, rule, data):
    voters = sorted(owners_roll(roll) if rule.by_area else {e.voter for e in roll})
    who = data.draw(st.lists(st.sampled_from(voters), unique=True) if voters else st.just([]))
    ballots = [Ballot(data.draw(choices), v) for v in who]
    result = tally(rule, roll, ballots)
    assert result.heads.in_favour + result.heads.against + result.heads.abstain == len(ballots)
    assert result.roll_heads == len(voters)
    assert result.heads.cast <= result.roll_heads
    if rule.by_area:
        base = owners_roll(roll)
        assert result.area_dm2.cast == sum(base[v] for v in who)
        assert result.area_dm2.in_favour == sum(base[b.voter] for b in ballots if b.choice is FOR)
        assert result.roll_area_dm2 == sum(e.area_dm2 for e in roll if e.kind is not UnitKind.PARKING)
        assert result.area_dm2.cast <= result.roll_area_dm2
    else:
        assert result.area_dm2 is None and result.roll_area_dm2 is None
    assert result.passed is all(t.met for t in result.thresholds)
    for t in result.thresholds:
        assert 0 <= t.reached <= 1
    # The count stored at close, tested again, gives the very same result.
    assert result_from_counts(rule, result.roll_heads, result.roll_area_dm2, result.heads, result.area_dm2) == result


# --- Headcount rules -------------------------------------------------------------------------------

@given(st.integers(1, 200))
def test_simple_majority_exactly_half_fails_one_more_passes(n):
    assert not tally(Rule.SIMPLE_MAJORITY, households(2 * n), anonymous(*[FOR] * n, *[AGAINST] * n)).passed
    assert tally(Rule.SIMPLE_MAJORITY, households(2 * n + 1), anonymous(*[FOR] * (n + 1), *[AGAINST] * n)).passed


@given(st.integers(1, 200))
def test_simple_majority_counts_abstentions_among_votes_cast(n):
    """n for and n abstaining is exactly half of the votes cast: it fails (it would pass without them)."""
    result = tally(Rule.SIMPLE_MAJORITY, households(2 * n), anonymous(*[FOR] * n, *[ABSTAIN] * n))
    assert not result.passed
    assert result.threshold(Measure.APPROVAL).denominator == 2 * n


@given(st.integers(1, 200), st.integers(0, 200))
def test_two_thirds_exactly_passes_one_less_fails(n, abstaining):
    others = min(abstaining, n)
    rest = [*[ABSTAIN] * others, *[AGAINST] * (n - others)]
    assert tally(Rule.TWO_THIRDS, households(3 * n), anonymous(*[FOR] * (2 * n), *rest)).passed
    assert not tally(Rule.TWO_THIRDS, households(3 * n), anonymous(*[FOR] * (2 * n - 1), AGAINST, *rest)).passed


@pytest.mark.parametrize("rule", list(Rule))
def test_empty_roll_decides_nothing(rule):
    result = tally(rule, [], [])
    assert not result.passed
    assert result.roll_heads == 0 and result.heads.cast == 0
    assert all(not t.met and t.reached == 0 for t in result.thresholds)


@pytest.mark.parametrize("rule", list(Rule))
def test_no_ballots_does_not_pass(rule):
    assert not tally(rule, owners(100, 200, 300), []).passed


@pytest.mark.parametrize("rule", list(Rule))
def test_all_abstain_does_not_pass(rule):
    roll = owners(100, 200, 300)
    result = tally(rule, roll, named(roll, [ABSTAIN] * 3))
    assert not result.passed
    assert result.heads == Counts(0, 0, 3)
    if rule.by_area:  # everyone took part: participation is met, approval is not
        assert result.threshold(Measure.PARTICIPATION_AREA).met
        assert result.threshold(Measure.PARTICIPATION_OWNERS).met
        assert not result.threshold(Measure.APPROVAL_AREA).met


# --- Household dedup -------------------------------------------------------------------------------

def test_dedupe_keeps_the_first_ballot_per_household_and_is_order_sensitive():
    household = {"li": "h1", "li_wife": "h1", "wang": "h2"}
    ballots = [Ballot(FOR, "li"), Ballot(AGAINST, "li_wife"), Ballot(ABSTAIN, "wang")]

    def key(ballot):
        return household[ballot.voter]

    assert dedupe_first(ballots, key) == [Ballot(FOR, "li"), Ballot(ABSTAIN, "wang")]
    assert dedupe_first(list(reversed(ballots)), key) == [Ballot(ABSTAIN, "wang"), Ballot(AGAINST, "li_wife")]


@given(st.lists(st.tuples(st.integers(0, 6), choices)))
def test_dedupe_first_property(rows):
    kept = dedupe_first(rows, key=lambda row: row[0])
    assert [h for h, _ in kept] == list(dict.fromkeys(h for h, _ in rows))  # one per household, first-seen order
    for h, mark in kept:
        assert mark == next(m for k, m in rows if k == h)  # the first ballot of that household


def test_dedupe_refuses_anonymous_ballots():
    with pytest.raises(TallyError):
        dedupe_first([Ballot(FOR)], key=lambda b: b.voter)


# --- Refused input -----------------------------------------------------------------------------------

@pytest.mark.parametrize("rule, roll, ballots", [
    (Rule.SIMPLE_MAJORITY, households(1), anonymous(FOR, FOR)),  # more ballots than the roll
    (Rule.SIMPLE_MAJORITY, households(2), [Ballot(FOR, "h0"), Ballot(AGAINST, "h0")]),  # voted twice
    (Rule.TWO_THIRDS, households(2), [Ballot(FOR, "stranger")]),  # not on the roll
    (ORDINARY, owners(100, 100), [Ballot(FOR)]),  # Art. 278 ballots are named
    (SPECIAL, [RollEntry("garage", 1250, UnitKind.PARKING)], [Ballot(FOR, "garage")]),  # parking only
])
def test_refused_ballots(rule, roll, ballots):
    with pytest.raises(TallyError):
        tally(rule, roll, ballots)


@pytest.mark.parametrize("area", [-1, 1.5, True, "100"])
def test_area_is_whole_dm2(area):
    with pytest.raises(TallyError):
        RollEntry("o", area)


# --- Civil Code Art. 278: who is on the roll ----------------------------------------------------------

def test_an_owner_of_several_units_is_one_head_with_the_areas_added():
    roll = [RollEntry("chen", 8_950), RollEntry("chen", 12_000, UnitKind.SHOP), RollEntry("zhao", 9_000)]
    assert owners_roll(roll) == {"chen": 20_950, "zhao": 9_000}
    result = tally(ORDINARY, roll, [Ballot(FOR, "chen"), Ballot(AGAINST, "zhao")])
    assert result.roll_heads == 2 and result.roll_area_dm2 == 29_950
    assert result.heads.in_favour == 1 and result.area_dm2.in_favour == 20_950


def test_a_jointly_owned_unit_is_one_vote():
    couple = frozenset({"li", "wang"})
    assert owners_roll([RollEntry(couple, 9_000), RollEntry("zhou", 9_000)]) == {couple: 9_000, "zhou": 9_000}


def test_parking_is_left_out_of_area_and_heads():
    roll = [RollEntry("sun", 9_000), RollEntry("sun", 1_250, UnitKind.PARKING),
            RollEntry("garage_only", 1_250, UnitKind.PARKING), RollEntry("qian", 9_000)]
    assert owners_roll(roll) == {"sun": 9_000, "qian": 9_000}
    result = tally(ORDINARY, roll, [Ballot(FOR, "sun"), Ballot(FOR, "qian")])
    assert result.roll_area_dm2 == 18_000 and result.area_dm2.cast == 18_000 and result.roll_heads == 2
    assert result.passed


# --- Civil Code Art. 278: participation edges ----------------------------------------------------------

@st.composite
def two_thirds_participation(draw):
    """3m owners, 2m taking part (all in favour), holding exactly 2/3 of the roll's area."""
    m = draw(st.integers(1, 6))
    taking_part = draw(st.lists(areas, min_size=2 * m, max_size=2 * m))
    taking_part[0] += 2  # room to move 1 dm² away and stay positive
    if sum(taking_part) % 2:
        taking_part[0] += 1
    rest = sum(taking_part) // 2  # so taking part is exactly 2/3 of the total
    staying_away = [1] * (m - 1) + [rest - (m - 1)]
    return taking_part, staying_away


def participation_vote(rule, taking_part, staying_away):
    roll = owners(*taking_part, prefix="in") + owners(*staying_away, prefix="out")
    return tally(rule, roll, named(roll, [FOR] * len(taking_part)))


@given(two_thirds_participation(), st.sampled_from([ORDINARY, SPECIAL]))
def test_exactly_two_thirds_participation_passes(case, rule):
    result = participation_vote(rule, *case)
    assert result.threshold(Measure.PARTICIPATION_AREA).reached == Fraction(2, 3)
    assert result.threshold(Measure.PARTICIPATION_OWNERS).reached == Fraction(2, 3)
    assert result.passed


@given(two_thirds_participation(), st.sampled_from([ORDINARY, SPECIAL]))
def test_one_dm2_less_participation_fails(case, rule):
    taking_part, staying_away = case
    taking_part[0] -= 1
    staying_away[0] += 1  # same total area, same heads
    result = participation_vote(rule, taking_part, staying_away)
    assert not result.threshold(Measure.PARTICIPATION_AREA).met
    assert result.threshold(Measure.PARTICIPATION_OWNERS).met
    assert not result.passed


@given(two_thirds_participation(), st.sampled_from([ORDINARY, SPECIAL]))
def test_one_head_less_participation_fails(case, rule):
    taking_part, staying_away = case
    taking_part[1] += taking_part[0]  # same participating area, held by one owner fewer
    taking_part[0] = 0
    roll = owners(*taking_part, prefix="in") + owners(*staying_away, prefix="out")
    result = tally(rule, roll, [Ballot(FOR, e.voter) for e in roll[1:len(taking_part)]])
    assert result.threshold(Measure.PARTICIPATION_AREA).met
    assert result.threshold(Measure.PARTICIPATION_OWNERS).numerator == 2 * len(staying_away) - 1
    assert not result.threshold(Measure.PARTICIPATION_OWNERS).met
    assert not result.passed


# --- Civil Code Art. 278: approval edges ---------------------------------------------------------------

@given(st.lists(areas, min_size=2, max_size=8))
def test_ordinary_exactly_half_the_area_fails_one_dm2_more_passes(for_areas):
    """Many small owners in favour, one large owner against holding exactly the same area."""
    against = sum(for_areas)
    roll = owners(*for_areas, against)
    result = tally(ORDINARY, roll, named(roll, [FOR] * len(for_areas) + [AGAINST]))
    assert result.threshold(Measure.APPROVAL_AREA).reached == Fraction(1, 2)
    assert result.threshold(Measure.APPROVAL_OWNERS).met
    assert not result.passed
    roll = owners(for_areas[0] + 1, *for_areas[1:], against - 1)
    assert tally(ORDINARY, roll, named(roll, [FOR] * len(for_areas) + [AGAINST])).passed


@given(st.integers(1, 8))
def test_ordinary_exactly_half_the_owners_fails_one_more_passes(n):
    roll = owners(*[10_000] * n, *[5_000] * n)
    result = tally(ORDINARY, roll, named(roll, [FOR] * n + [AGAINST] * n))
    assert result.threshold(Measure.APPROVAL_AREA).met
    assert result.threshold(Measure.APPROVAL_OWNERS).reached == Fraction(1, 2)
    assert not result.passed
    roll = owners(*[10_000] * (n + 1), *[5_000] * n)
    assert tally(ORDINARY, roll, named(roll, [FOR] * (n + 1) + [AGAINST] * n)).passed


@given(st.integers(1, 6), areas)
def test_special_exactly_three_quarters_passes_one_less_fails(n, a):
    """3n owners of area a in favour, n owners of area a against: exactly 3/4 of area and owners."""
    roll = owners(*[a] * (4 * n))
    result = tally(SPECIAL, roll, named(roll, [FOR] * (3 * n) + [AGAINST] * n))
    assert result.threshold(Measure.APPROVAL_AREA).reached == Fraction(3, 4)
    assert result.threshold(Measure.APPROVAL_OWNERS).reached == Fraction(3, 4)
    assert result.passed
    # one dm² less in favour, same heads
    moved = owners(a - 1, *[a] * (4 * n - 2), a + 1)
    result = tally(SPECIAL, moved, named(moved, [FOR] * (3 * n) + [AGAINST] * n))
    assert not result.threshold(Measure.APPROVAL_AREA).met and result.threshold(Measure.APPROVAL_OWNERS).met
    # one owner in favour fewer, same area in favour (the first owner, 0 dm², now votes against)
    fewer = owners(0, *[a] * (3 * n - 2), 2 * a, *[a] * n)
    result = tally(SPECIAL, fewer, named(fewer, [AGAINST] + [FOR] * (3 * n - 1) + [AGAINST] * n))
    assert result.threshold(Measure.APPROVAL_AREA).met and not result.threshold(Measure.APPROVAL_OWNERS).met
    assert not result.passed


def test_ordinary_majority_is_not_special():
    roll = owners(*[100] * 10)
    marks = [FOR] * 7 + [AGAINST] * 3
    assert tally(ORDINARY, roll, named(roll, marks)).passed
    assert not tally(SPECIAL, roll, named(roll, marks)).passed


def test_approval_is_over_participants_participation_over_the_whole_roll():
    """Fails if the denominators are swapped: 4 of 6 participants (6 of 9 owners) approve and it passes;
    5 of 9 owners all in favour still fails for want of participation."""
    roll = owners(*[9_000] * 9)
    result = tally(ORDINARY, roll, named(roll, [FOR] * 4 + [AGAINST] * 2))
    assert result.passed  # 4/6 > 1/2 of participants, though only 4/9 of the roll
    participation = result.threshold(Measure.PARTICIPATION_AREA)
    approval = result.threshold(Measure.APPROVAL_AREA)
    assert (participation.numerator, participation.denominator) == (6 * 9_000, 9 * 9_000)
    assert (approval.numerator, approval.denominator) == (4 * 9_000, 6 * 9_000)
    heads = result.threshold(Measure.APPROVAL_OWNERS)
    assert (heads.numerator, heads.denominator) == (4, 6)
    assert not tally(ORDINARY, roll, named(roll, [FOR] * 5)).passed  # 5/9 < 2/3 took part


# --- Elections ---------------------------------------------------------------------------------------

def vote(*names: str) -> ElectionBallot:
    return ElectionBallot(frozenset(names))


@given(st.integers(1, 100))
def test_exactly_half_of_the_roll_voting_is_invalid(k):
    result = count_election(2 * k, [vote("a")] * k, seats=1)
    assert result.status is ElectionStatus.TURNOUT_TOO_LOW and not result.is_valid
    assert result.elected == () and result.unfilled_seats == 1 and result.second_round == ()
    assert count_election(2 * k, [vote("a")] * (k + 1), seats=1).elected == ("a",)


def test_more_ballots_than_the_roll_voids_the_election():
    result = count_election(3, [vote("a")] * 4, seats=1)
    assert result.status is ElectionStatus.TOO_MANY_BALLOTS and result.elected == ()


def test_empty_roll_elects_nobody():
    result = count_election(0, [], seats=3)
    assert result.status is ElectionStatus.TURNOUT_TOO_LOW and result.turnout.reached == 0


@given(st.integers(1, 50))
def test_a_candidate_with_exactly_half_the_ballots_is_not_elected(k):
    ballots = [vote("a")] * k + [vote("b")] * k
    result = count_election(2 * k, ballots, seats=1)
    assert result.elected == () and result.unfilled_seats == 1
    assert count_election(2 * k + 1, ballots + [vote("a")], seats=1).elected == ("a",)


def test_void_ballots_count_in_the_candidate_base():
    """3 of 5 valid ballots for a, but 3 of 6 returned is not more than half."""
    ballots = [vote("a")] * 3 + [vote("b")] * 2 + [vote("a", "b")]  # the last names 2 people for 1 seat
    result = count_election(10, ballots, seats=1)
    assert (result.returned, result.valid, result.void) == (6, 5, 1)
    assert result.votes[0].candidate == "a" and result.votes[0].votes == 3
    assert result.votes[0].threshold.denominator == 6
    assert result.elected == ()


def test_a_ballot_naming_more_people_than_seats_is_void():
    assert ballot_is_void(vote("a", "b", "c"), seats=2)
    assert not ballot_is_void(vote("a", "b"), seats=2)
    assert ballot_is_void(ElectionBallot(spoilt=True), seats=2)
    result = count_election(4, [vote("a", "b", "c"), vote("a"), vote("a")], seats=2)
    assert (result.valid, result.void) == (2, 1)
    assert {row.candidate: row.votes for row in result.votes} == {"a": 2}  # the void ballot gave nobody a vote


def test_a_blank_ballot_is_valid_and_a_name_counts_once():
    result = count_election(3, [vote(), ElectionBallot(["a", "a"])], seats=1)
    assert (result.valid, result.void) == (2, 0)
    assert result.votes[0].votes == 1


def test_most_votes_win_when_more_qualify_than_seats():
    ballots = [vote("a", "b")] * 4 + [vote("a", "c")] * 3 + [vote("b", "c")] * 2
    result = count_election(10, ballots, seats=2)
    assert [(row.candidate, row.votes) for row in result.votes] == [("a", 7), ("b", 6), ("c", 5)]
    assert result.elected == ("a", "b") and result.runoff == ()


def test_a_tie_at_the_last_seat_goes_to_a_runoff():
    ballots = [vote("a", "b")] * 3 + [vote("a", "c")] * 3 + [vote("b", "c")]
    result = count_election(7, ballots, seats=2)
    assert [(row.candidate, row.votes) for row in result.votes] == [("a", 6), ("b", 4), ("c", 4)]
    assert result.elected == ("a",)
    assert result.runoff == ("b", "c") and result.runoff_seats == 1
    assert result.unfilled_seats == 0 and result.second_round == ()


def test_unfilled_seats_get_twice_as_many_second_round_candidates():
    ballots = [vote("a", "b", "c")] * 3 + [vote("d", "e")] * 2 + [vote("f")]
    form = ElectionForm(candidates=("a", "b", "c", "d", "e", "f", "g"))
    result = count_election(8, ballots, seats=3, form=form)
    assert result.elected == ()  # 3 of 6 returned is not more than half
    assert result.unfilled_seats == 3
    assert result.second_round == ("a", "b", "c", "d", "e", "f")  # g had no votes
    assert result.votes[-1].candidate == "g" and result.votes[-1].votes == 0  # the slate is posted in full

    ballots = [vote("a", "b")] * 5 + [vote("c")] * 2 + [vote("d")] + [vote("e")]
    result = count_election(9, ballots, seats=2)
    assert result.elected == ("a", "b") and result.unfilled_seats == 0
    result = count_election(9, ballots, seats=3)
    assert result.elected == ("a", "b") and result.unfilled_seats == 1
    assert result.second_round == ("c", "d", "e")  # two places, d and e tie across the cut: both go through
    assert count_election(9, ballots, seats=3, form=ElectionForm(second_round_factor=1)).second_round == ("c",)


def test_second_round_factor_must_be_positive():
    with pytest.raises(ValueError):
        ElectionForm(second_round_factor=0)


@given(st.integers(1, 40))
def test_second_round_exactly_a_third_elects_one_less_does_not(k):
    ballots = [vote("a")] * k + [vote("b")] * (k - 1) + [vote()] * (k + 1)  # 3k returned
    result = count_second_round(3 * k, ballots, seats=1)
    assert result.votes[0].threshold.reached == Fraction(1, 3)
    assert result.elected == ("a",)
    result = count_second_round(3 * k, [vote("a")] * (k - 1) + [vote()] * (2 * k + 1), seats=1)
    assert result.elected == () and result.unfilled_seats == 1 and result.second_round == ()


def test_second_round_needs_turnout_too():
    assert count_second_round(10, [vote("a")] * 5, seats=1).status is ElectionStatus.TURNOUT_TOO_LOW


def test_a_tie_revote_may_drop_the_floor():
    ballots = [vote("b")] * 2 + [vote("c")] + [vote()] * 4
    assert count_second_round(7, ballots, seats=1).elected == ()
    assert count_second_round(7, ballots, seats=1, floor=Fraction(0)).elected == ("b",)
    assert count_second_round(7, [vote()] * 7, seats=1, form=ElectionForm(("b",)), floor=Fraction(0)).elected == ()


@pytest.mark.parametrize("seats, roll", [(0, 5), (1, -1)])
def test_election_arguments(seats, roll):
    with pytest.raises(ValueError):
        count_election(roll, [], seats=seats)


candidates = st.sampled_from(["a", "b", "c", "d", "e", "f"])


@given(st.integers(1, 4), st.lists(st.frozensets(candidates, max_size=5), max_size=30), st.integers(0, 10),
       st.booleans())
def test_election_properties(seats, names, extra_roll, second):
    ballots = [ElectionBallot(n) for n in names]
    count = count_second_round if second else count_election
    result = count(len(ballots) + extra_roll, ballots, seats)
    assert result.valid + result.void == result.returned == len(ballots)
    assert len(result.elected) <= seats
    assert len(set(result.elected)) == len(result.elected)
    assert not set(result.elected) & set(result.runoff)
    assert not set(result.elected) & set(result.second_round)
    assert len(result.elected) + result.runoff_seats + result.unfilled_seats == seats
    if result.runoff:
        assert len(result.runoff) > result.runoff_seats and result.unfilled_seats == 0
    by_id = {row.candidate: row for row in result.votes}
    for row in result.votes:
        assert row.votes <= result.valid
    ranking = [(-row.votes, row.candidate) for row in result.votes]
    assert ranking == sorted(ranking)
    for c in result.elected:
        if second:
            assert by_id[c].votes * 3 >= result.returned
        else:
            assert by_id[c].votes * 2 > result.returned  # more than half of the ballots returned
        assert all(by_id[c].votes > by_id[r].votes for r in result.runoff)
    if not result.is_valid:
        assert result.elected == () and result.unfilled_seats == seats


@given(st.integers(1, 3), st.lists(st.frozensets(candidates, max_size=3), min_size=1, max_size=30),
       st.integers(1, 3))
def test_second_round_candidates_are_the_best_placed_remaining(seats, names, factor):
    ballots = [ElectionBallot(n) for n in names]
    result = count_election(len(ballots), ballots, seats, ElectionForm(second_round_factor=factor))
    if not result.unfilled_seats:
        assert result.second_round == ()
        return
    assert len(result.second_round) >= min(factor * result.unfilled_seats,
                                          sum(1 for r in result.votes if r.votes and r.candidate not in result.elected))
    by_id = {row.candidate: row.votes for row in result.votes}
    left_out = [row.candidate for row in result.votes
                if row.candidate not in result.elected and row.candidate not in result.second_round]
    for c in result.second_round:
        assert by_id[c] > 0
        assert all(by_id[c] >= by_id[o] for o in left_out)


# --- Casting rules ---------------------------------------------------------------------------------

@given(st.integers(0, 10))
def test_at_most_three_proxies_per_holder(held):
    assert proxy_allowed(held) is (held < 3)


@given(st.integers(-10_000, 10_000), st.integers(1, 10_000))
def test_the_window_includes_its_opening_and_excludes_its_close(offset, length):
    opened, closes = 0, length
    assert window_open(offset, opened, closes) is (0 <= offset < length)
    assert window_open(opened, opened, closes) and not window_open(closes, opened, closes)


@given(st.integers(0, 500), st.integers(-5, 500), st.integers(0, 500))
def test_paper_entered_never_exceeds_papers_issued(entered, batch, issued):
    fits = paper_fits(entered, batch, issued)
    assert fits is (batch > 0 and entered + batch <= issued)
    if fits:
        assert entered + batch <= issued


def test_paper_batch_exactly_filling_the_issued_papers_fits():
    assert paper_fits(7, 3, 10) and not paper_fits(7, 4, 10) and not paper_fits(0, 0, 10)


@pytest.mark.parametrize("rule", list(Rule))
def test_only_headcount_votes_may_be_secret(rule):
    assert secret_allowed(rule) is (rule in HEADCOUNT)
