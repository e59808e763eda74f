"""Choice votes as a pure tally: options by headcount and by area, "none of these", abstentions, void
ballots, and the Art. 278 denominators (participation over the roll, support over the participants)."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from council.ballots.rules import OptionBallot, RollEntry, Rule, TallyError, UnitKind, tally_options

OPTIONS = (1, 2, 3)
HEADCOUNT = (Rule.SIMPLE_MAJORITY, Rule.TWO_THIRDS)


def picks(max_options=3):
    return st.frozensets(st.sampled_from(OPTIONS), max_size=max_options)


@given(st.integers(0, 30), st.data(), st.integers(1, 3), st.sampled_from(HEADCOUNT))
def test_headcount_totals(n, data, max_choices, rule):
    roll = [RollEntry(f"v{i}") for i in range(n)]
    ballots = []
    for _ in range(n):
        abstain = data.draw(st.booleans())
        ballots.append(OptionBallot(frozenset() if abstain else data.draw(picks()), abstain=abstain))
    result = tally_options(rule, roll, ballots, OPTIONS, max_choices)
    valid = [b for b in ballots if not b.abstain and len(b.picks) <= max_choices]
    assert result.cast == n and result.abstain == sum(b.abstain for b in ballots)
    assert result.void == sum(1 for b in ballots if len(b.picks) > max_choices)
    assert sum(o.heads for o in result.options) == sum(len(b.picks) for b in valid)
    assert all(o.heads <= result.cast for o in result.options)
    assert result.none_of_these == sum(1 for b in valid if not b.picks)
    if max_choices == 1 and rule is Rule.SIMPLE_MAJORITY:
        assert len(result.carried) <= 1  # two options cannot both have more than half


@pytest.mark.parametrize("n", [2, 4, 10])
def test_an_option_with_exactly_half_is_not_carried_one_more_is(n):
    roll = [RollEntry(f"v{i}") for i in range(n + 1)]
    half = [OptionBallot({1})] * (n // 2) + [OptionBallot({2})] * (n // 2)
    assert tally_options(Rule.SIMPLE_MAJORITY, roll, half, OPTIONS).carried == ()
    assert tally_options(Rule.SIMPLE_MAJORITY, roll, [*half, OptionBallot({1})], OPTIONS).carried == (1,)


def test_abstentions_and_none_of_these_take_part_and_support_nothing():
    roll = [RollEntry(f"v{i}") for i in range(6)]
    ballots = [OptionBallot({1}), OptionBallot({1}), OptionBallot({1}), OptionBallot(), OptionBallot(abstain=True)]
    result = tally_options(Rule.SIMPLE_MAJORITY, roll, ballots, OPTIONS)
    assert (result.cast, result.none_of_these, result.abstain) == (5, 1, 1)
    assert result.carried == (1,)  # 3 of 5 > 1/2
    result = tally_options(Rule.TWO_THIRDS, roll, ballots, OPTIONS)
    assert result.carried == ()  # 3 of 5 < 2/3


def test_a_ballot_with_too_many_options_is_void_but_took_part():
    roll = [RollEntry(f"v{i}") for i in range(3)]
    result = tally_options(Rule.SIMPLE_MAJORITY, roll, [OptionBallot({1, 2}), OptionBallot({1})], OPTIONS, 1)
    assert (result.void, result.cast, result.options[0].heads) == (1, 2, 1)
    assert result.carried == ()  # 1 of 2 is not more than half


def test_empty_votes_carry_nothing():
    assert tally_options(Rule.SIMPLE_MAJORITY, [], [], OPTIONS).carried == ()
    assert tally_options(Rule.CIVIL_CODE_278_ORDINARY, [RollEntry("a", 100)], [], OPTIONS).carried == ()
    with pytest.raises(TallyError):
        tally_options(Rule.SIMPLE_MAJORITY, [RollEntry("a")], [OptionBallot({9})], OPTIONS)


def test_art_278_options_by_area_and_owners_with_both_denominators():
    # Roll: a 100 (+ parking 30, left out), b 100, c 200, d 100 → 4 owners, 500 dm².
    roll = [RollEntry("a", 100), RollEntry("a", 30, UnitKind.PARKING), RollEntry("b", 100), RollEntry("c", 200),
            RollEntry("d", 100)]
    ballots = [OptionBallot({1}, voter="a"), OptionBallot({1}, voter="c"), OptionBallot({2}, voter="b")]
    result = tally_options(Rule.CIVIL_CODE_278_ORDINARY, roll, ballots, (1, 2))
    assert [(t.numerator, t.denominator) for t in result.participation] == [(400, 500), (3, 4)]
    plan_a, plan_b = result.options
    assert [(t.numerator, t.denominator) for t in plan_a.thresholds] == [(300, 400), (2, 3)]
    assert (plan_b.heads, plan_b.area_dm2) == (1, 100)
    assert result.carried == (1,)
    # Without d and c, participation falls below two-thirds: nothing is carried.
    thin = tally_options(Rule.CIVIL_CODE_278_ORDINARY, roll, ballots[:1], (1, 2))
    assert thin.carried == ()


@given(st.lists(st.tuples(st.integers(1, 5_000), picks(2), st.booleans()), max_size=12),
       st.sampled_from([Rule.CIVIL_CODE_278_ORDINARY, Rule.CIVIL_CODE_278_SPECIAL]))
def test_art_278_option_figures_never_exceed_their_bases(rows, rule):
    roll = [RollEntry(f"o{i}", area) for i, (area, _p, _a) in enumerate(rows)]
    ballots = [OptionBallot(frozenset() if abstain else chosen, abstain=abstain, voter=f"o{i}")
               for i, (_area, chosen, abstain) in enumerate(rows)]
    result = tally_options(rule, roll, ballots, OPTIONS, max_choices=2)
    for option in result.options:
        for t in option.thresholds:
            assert 0 <= t.numerator <= t.denominator
    assert result.participation[0].denominator == sum(area for area, _p, _a in rows)
