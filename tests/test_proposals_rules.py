"""Pure rules of proposals: the state table, cost sharing, the co-signing threshold, scope; sanitised Markdown."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from council.proposals.rules import (
    FINISHED,
    TRANSITIONS,
    CostProblem,
    NotAllowed,
    ProposalState,
    Step,
    allowed_steps,
    cost_problem,
    in_scope,
    may_edit,
    next_state,
    reachable,
    reaches_threshold,
)
from council.proposals.text import render

S = ProposalState


def test_every_state_has_a_row_and_every_state_is_reachable():
    assert set(TRANSITIONS) == set(ProposalState)
    assert reachable() == set(ProposalState)
    assert FINISHED == {S.REJECTED, S.DONE, S.WITHDRAWN}


def test_the_whole_path():
    state = S.DRAFT
    for step in (Step.EDIT, Step.PUBLISH, Step.PUT_ON_AGENDA, Step.OPEN_VOTE, Step.PASS, Step.START, Step.FINISH):
        state = next_state(state, step)
    assert state is S.DONE


@pytest.mark.parametrize("state", [S.DRAFT, S.OPEN, S.ON_AGENDA])
def test_the_author_withdraws_before_voting(state):
    assert next_state(state, Step.WITHDRAW) is S.WITHDRAWN


@pytest.mark.parametrize("state, step", [
    (S.OPEN, Step.EDIT), (S.OPEN, Step.PUBLISH), (S.VOTING, Step.WITHDRAW), (S.PASSED, Step.WITHDRAW),
    (S.DRAFT, Step.PUT_ON_AGENDA), (S.OPEN, Step.OPEN_VOTE), (S.ON_AGENDA, Step.PASS), (S.REJECTED, Step.START),
    (S.WITHDRAWN, Step.PUBLISH), (S.DONE, Step.WITHDRAW), (S.VOTING, Step.FINISH),
])
def test_refused_moves(state, step):
    with pytest.raises(NotAllowed):
        next_state(state, step)


@given(st.lists(st.sampled_from(list(Step)), max_size=40))
def test_no_sequence_of_steps_reaches_an_illegal_state(steps):
    """Whatever is tried, in any order: refused steps change nothing, allowed ones follow the table."""
    state, history = S.DRAFT, [S.DRAFT]
    for step in steps:
        if step in allowed_steps(state):
            new = next_state(state, step)
            assert new is TRANSITIONS[state][step]
            state = new
        else:
            with pytest.raises(NotAllowed):
                next_state(state, step)
        history.append(state)
    assert state in ProposalState
    # Never back to a draft once published, nothing after a finished state, voting only from the agenda.
    first_open = next((i for i, s in enumerate(history) if s is not S.DRAFT), len(history))
    assert S.DRAFT not in history[first_open:]
    for before, after in zip(history, history[1:], strict=False):
        if before in FINISHED:
            assert after is before
        if after is S.VOTING and before is not S.VOTING:
            assert before is S.ON_AGENDA
        if after is S.WITHDRAWN and before is not S.WITHDRAWN:
            assert before in (S.DRAFT, S.OPEN, S.ON_AGENDA)


@pytest.mark.parametrize("cost, shares, problem", [
    (None, (None, None, None), None),
    (1000, (None, None, None), None),
    (1000, (500, 300, 200), None),
    (0, (0, 0, 0), None),
    (1000, (500, 300, 201), CostProblem.WRONG_SUM),
    (1000, (500, None, 500), CostProblem.INCOMPLETE),
    (None, (1, 1, 1), CostProblem.SHARES_WITHOUT_COST),
    (-1, (None, None, None), CostProblem.NEGATIVE),
    (10, (20, -5, -5), CostProblem.NEGATIVE),
])
def test_cost_sharing(cost, shares, problem):
    assert cost_problem(cost, *shares) is problem


@given(st.integers(0, 10**9), st.integers(0, 10**9), st.integers(0, 10**9))
def test_shares_that_add_up_are_always_accepted(government, outside, residents):
    total = government + outside + residents
    assert cost_problem(total, government, outside, residents) is None
    assert cost_problem(total + 1, government, outside, residents) is CostProblem.WRONG_SUM


@given(st.integers(0, 100), st.integers(-5, 100))
def test_threshold(households, threshold):
    assert reaches_threshold(households, threshold) == (households >= max(1, threshold))


def test_scope():
    assert in_scope({10, 1}, 1, frozenset())  # the whole estate: any member of the estate
    assert not in_scope({20, 2}, 1, frozenset())
    assert in_scope({10, 1}, 1, frozenset({10, 11}))
    assert not in_scope({11, 1}, 1, frozenset({10}))  # a lift for building 10 is not building 11's


@pytest.mark.parametrize("markdown", [
    "<script>alert(1)</script>", "[click](javascript:alert(1))", "[click](JaVaScRiPt:alert(1))",
    '<img src="x" onerror="alert(1)">', '<a href="#" onclick="alert(1)">x</a>', "<svg onload=alert(1)>",
    '<iframe src="https://evil.example"></iframe>', "[x](data:text/html;base64,PHNjcmlwdD4=)",
    '<div style="background:url(javascript:alert(1))">x</div>',
])
def test_no_script_survives_rendering(markdown):
    html = str(render(markdown)).lower()
    for bad in ("<script", "javascript:", "onerror", "onclick", "onload", "<iframe", "<img", "<svg", "data:",
                "style="):
        assert bad not in html, (markdown, html)


def test_markdown_is_rendered():
    html = str(render("**重要** 加装电梯\n\n- 一楼\n- 二楼\n\n[说明](https://example.org/a)"))
    assert "<strong>重要</strong>" in html and "<li>一楼</li>" in html
    assert 'href="https://example.org/a"' in html and 'rel="noopener noreferrer nofollow"' in html


def test_each_body_is_rendered_on_its_own():
    """One converter per thread is reused (council.proposals.text): nothing of one body is left for the next,
    and a converter is used from another thread as well."""
    import threading

    first = str(render("| 楼 | 户 |\n|---|---|\n| 1 | 12 |\n\n[^a]: 脚注"))
    second = str(render("第二份"))
    assert "<table>" in first and "12" in first and second == "<p>第二份</p>"
    elsewhere = []
    thread = threading.Thread(target=lambda: elsewhere.append(str(render("**别处**"))))
    thread.start()
    thread.join()
    assert elsewhere == ["<p><strong>别处</strong></p>"]


# ---- the 15-minute edit window of comments ----------------------------------------------------------

_T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_may_edit_edges():
    assert may_edit(_T0, _T0)
    assert may_edit(_T0, _T0 + timedelta(minutes=15))
    assert not may_edit(_T0, _T0 + timedelta(minutes=15, microseconds=1))


@given(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3)))
def test_may_edit_exactly_within_fifteen_minutes(elapsed):
    assert may_edit(_T0, _T0 + elapsed) is (elapsed <= timedelta(minutes=15))

