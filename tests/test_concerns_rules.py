"""Pure rules of the ledger: the state machine, escalation, deadlines, follow-up, similar titles."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from council.concerns.rules import (
    FINISHED,
    OPEN,
    TRANSITIONS,
    ConcernStatus,
    Level,
    NotAllowed,
    Step,
    escalation_target,
    follow_up_missing,
    follow_up_step,
    is_overdue,
    next_status,
    queue_key,
    similar_titles,
    title_similarity,
)

S = ConcernStatus


def test_every_status_has_a_row():
    assert set(TRANSITIONS) == set(ConcernStatus)
    for status in FINISHED:
        assert TRANSITIONS[status] == {}


def test_the_happy_path():
    status = S.REPORTED
    for step in (Step.ACCEPT, Step.START, Step.RESOLVE, Step.FOLLOW_UP_HAPPY, Step.CLOSE):
        status = next_status(status, step)
    assert status is S.CLOSED


def test_unhappy_follow_up_reopens():
    assert next_status(S.RESOLVED, Step.FOLLOW_UP_UNHAPPY) is S.IN_PROGRESS


@pytest.mark.parametrize("status, step", [
    (S.REPORTED, Step.RESOLVE), (S.REPORTED, Step.CLOSE), (S.ACCEPTED, Step.CLOSE), (S.RESOLVED, Step.ESCALATE),
    (S.CLOSED, Step.ACCEPT), (S.DECLINED, Step.ACCEPT), (S.MERGED, Step.RESOLVE), (S.REPORTED, Step.ASSIGN),
    (S.IN_PROGRESS, Step.START), (S.FOLLOWED_UP, Step.FOLLOW_UP_UNHAPPY),
])
def test_refused_moves(status, step):
    with pytest.raises(NotAllowed):
        next_status(status, step)


@given(st.lists(st.sampled_from(list(Step)), max_size=40))
def test_no_sequence_of_actions_reaches_an_illegal_state(steps):
    """Whatever is tried, in any order: refused steps change nothing, allowed ones obey the rules."""
    status, resolved, followed = S.REPORTED, False, False
    for step in steps:
        try:
            new = next_status(status, step)
        except NotAllowed:
            assert step not in TRANSITIONS[status]
            continue
        assert status not in FINISHED  # nothing leaves a finished state
        if new is S.CLOSED:
            assert followed  # closed only after a follow-up visit
        if new is S.FOLLOWED_UP:
            assert status is S.RESOLVED
        if new is S.RESOLVED:
            resolved = True
            assert status in (S.ACCEPTED, S.IN_PROGRESS)
        if step in (Step.ESCALATE, Step.ASSIGN):
            assert new is status  # escalation and assignment never change the status
        followed = new is S.FOLLOWED_UP or (followed and new is S.CLOSED)
        status = new
    assert status in set(ConcernStatus)
    if status in (S.FOLLOWED_UP, S.CLOSED):
        assert resolved


@pytest.mark.parametrize("rating, step", [(1, Step.FOLLOW_UP_UNHAPPY), (2, Step.FOLLOW_UP_UNHAPPY),
                                          (3, Step.FOLLOW_UP_HAPPY), (5, Step.FOLLOW_UP_HAPPY)])
def test_follow_up_edges(rating, step):
    assert follow_up_step(rating) is step


@pytest.mark.parametrize("rating", [0, 6, -1])
def test_follow_up_rating_range(rating):
    with pytest.raises(ValueError):
        follow_up_step(rating)


ALL_LEVELS = {Level.ESTATE: 4, Level.GRID: 3, Level.COMMUNITY: 2, Level.STREET: 1}


def test_escalation_climbs_one_level_at_a_time():
    assert escalation_target(Level.ESTATE, ALL_LEVELS) == (Level.GRID, 3)
    assert escalation_target(Level.GRID, ALL_LEVELS) == (Level.COMMUNITY, 2)
    assert escalation_target(Level.COMMUNITY, ALL_LEVELS) == (Level.STREET, 1)
    assert escalation_target(Level.STREET, ALL_LEVELS) is None


def test_escalation_skips_a_missing_grid():
    levels = {Level.ESTATE: 4, Level.COMMUNITY: 2, Level.STREET: 1}
    assert escalation_target(Level.ESTATE, levels) == (Level.COMMUNITY, 2)


@given(st.sets(st.sampled_from([Level.GRID, Level.COMMUNITY, Level.STREET])))
def test_escalation_always_ends_at_the_top(extra):
    levels = {Level.ESTATE: 10, **{level: i for i, level in enumerate(extra)}}
    level, seen = Level.ESTATE, [Level.ESTATE]
    while (target := escalation_target(level, levels)) is not None:
        level = target[0]
        seen.append(level)
    assert len(seen) == len(levels) and len(set(seen)) == len(seen)


TODAY = date(2026, 11, 20)


@pytest.mark.parametrize("status, deadline, expected", [
    (S.ACCEPTED, TODAY - timedelta(days=1), True),
    (S.ACCEPTED, TODAY, False),  # due today is not yet overdue
    (S.IN_PROGRESS, TODAY - timedelta(days=30), True),
    (S.RESOLVED, TODAY - timedelta(days=30), False),
    (S.ACCEPTED, None, False),
])
def test_overdue(status, deadline, expected):
    assert is_overdue(status, deadline, TODAY) is expected


def test_follow_up_missing_after_seven_days_exactly():
    resolved = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    assert not follow_up_missing(S.RESOLVED, resolved, resolved + timedelta(days=7))
    assert follow_up_missing(S.RESOLVED, resolved, resolved + timedelta(days=7, seconds=1))
    assert not follow_up_missing(S.FOLLOWED_UP, resolved, resolved + timedelta(days=30))


def test_queue_order():
    old = datetime(2026, 1, 1, tzinfo=UTC)
    new = datetime(2026, 6, 1, tzinfo=UTC)
    rows = {
        "overdue, little support": queue_key(S.ACCEPTED, TODAY - timedelta(days=1), 1, new, TODAY),
        "popular": queue_key(S.REPORTED, None, 9, new, TODAY),
        "old": queue_key(S.REPORTED, None, 2, old, TODAY),
        "new": queue_key(S.REPORTED, None, 2, new, TODAY),
    }
    assert sorted(rows, key=rows.get) == ["overdue, little support", "popular", "old", "new"]


def test_similar_titles_in_chinese():
    candidates = [(1, "3号楼楼道灯不亮"), (2, "小区门口乱停车"), (3, "电动车充电桩坏了")]
    assert similar_titles("三号楼楼道的灯坏了不亮", candidates) == [1]
    assert similar_titles("门口乱停车太多", candidates) == [2]
    assert similar_titles("垃圾没人清理", candidates) == []


@given(st.text(max_size=40), st.text(max_size=40))
def test_similarity_is_symmetric_and_bounded(a, b):
    score = title_similarity(a, b)
    assert 0.0 <= score <= 1.0
    assert score == title_similarity(b, a)


def test_open_and_finished_do_not_overlap():
    assert not OPEN & FINISHED
