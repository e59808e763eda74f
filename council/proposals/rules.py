"""Pure rules of proposals: states and their one table of transitions, cost sharing, eligibility.

No Flask, no database: plain values in, plain values out, so they are property-tested at their edges.
"""
from __future__ import annotations

import enum
from datetime import datetime, timedelta


class Category(enum.StrEnum):
    LIFT = "lift"  # 加装电梯
    PARKING = "parking"
    EBIKE_SHED = "ebike_shed"  # 电动车棚
    GREENING = "greening"
    ESTATE_RULES = "estate_rules"  # 小区公约
    FACILITIES = "facilities"
    OTHER = "other"


class ProposalState(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"  # open for discussion and co-signing
    ON_AGENDA = "on_agenda"
    VOTING = "voting"
    PASSED = "passed"
    REJECTED = "rejected"
    IN_PROGRESS = "in_progress"  # being carried out
    DONE = "done"
    WITHDRAWN = "withdrawn"


class Step(enum.StrEnum):
    """What someone does to a proposal; only publish, withdraw and edit have pages in this slice."""

    PUBLISH = "publish"
    EDIT = "edit"
    WITHDRAW = "withdraw"
    PUT_ON_AGENDA = "put_on_agenda"
    OPEN_VOTE = "open_vote"
    PASS = "pass"
    REJECT = "reject"
    START = "start"
    FINISH = "finish"


S = ProposalState

# The one table of allowed moves: state → step → new state. Anything else is refused.
TRANSITIONS: dict[ProposalState, dict[Step, ProposalState]] = {
    S.DRAFT: {Step.PUBLISH: S.OPEN, Step.EDIT: S.DRAFT, Step.WITHDRAW: S.WITHDRAWN},
    S.OPEN: {Step.PUT_ON_AGENDA: S.ON_AGENDA, Step.WITHDRAW: S.WITHDRAWN},
    S.ON_AGENDA: {Step.OPEN_VOTE: S.VOTING, Step.WITHDRAW: S.WITHDRAWN},
    S.VOTING: {Step.PASS: S.PASSED, Step.REJECT: S.REJECTED},
    S.PASSED: {Step.START: S.IN_PROGRESS},
    S.IN_PROGRESS: {Step.FINISH: S.DONE},
    S.REJECTED: {},
    S.DONE: {},
    S.WITHDRAWN: {},
}

FINISHED = frozenset(state for state, moves in TRANSITIONS.items() if not moves)
# States in which neighbours may still co-sign: only while it is open for discussion.
COSIGNABLE = frozenset({S.OPEN})


class NotAllowed(ValueError):
    """The step is not allowed from the proposal's current state."""


def next_state(state: ProposalState, step: Step) -> ProposalState:
    """The state after `step`, or NotAllowed."""
    try:
        return TRANSITIONS[state][step]
    except KeyError:
        raise NotAllowed(f"{step.value} is not allowed when {state.value}") from None


def allowed_steps(state: ProposalState) -> frozenset[Step]:
    return frozenset(TRANSITIONS[state])


def reachable(start: ProposalState = S.DRAFT) -> frozenset[ProposalState]:
    """Every state some sequence of allowed steps leads to from `start`."""
    seen, todo = {start}, [start]
    while todo:
        for target in TRANSITIONS[todo.pop()].values():
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return frozenset(seen)


class CostProblem(enum.StrEnum):
    NEGATIVE = "negative"
    SHARES_WITHOUT_COST = "shares_without_cost"
    INCOMPLETE = "incomplete"  # some of the three shares given, not all
    WRONG_SUM = "wrong_sum"


def cost_problem(cost: int | None, government: int | None, outside: int | None,
                 residents: int | None) -> CostProblem | None:
    """What is wrong with an estimated cost and its sharing ("a bit from each"), or None.

    The cost is optional; when shares are given, all three are whole yuan and add up to the cost.
    """
    shares = (government, outside, residents)
    given = [s for s in shares if s is not None]
    if any(v < 0 for v in [*given, *([cost] if cost is not None else [])]):
        return CostProblem.NEGATIVE
    if not given:
        return None
    if cost is None:
        return CostProblem.SHARES_WITHOUT_COST
    if len(given) != 3:
        return CostProblem.INCOMPLETE
    if sum(given) != cost:
        return CostProblem.WRONG_SUM
    return None


def reaches_threshold(households: int, threshold: int) -> bool:
    """Co-signed by at least `threshold` distinct households (a threshold below 1 counts as 1)."""
    return households >= max(1, threshold)


def in_scope(member_places: frozenset[int] | set[int], estate_id: int, building_ids: frozenset[int]) -> bool:
    """A proposal for chosen buildings concerns their residents; one without buildings, the whole estate."""
    if building_ids:
        return bool(building_ids & set(member_places))
    return estate_id in member_places


# A comment may be corrected by its author for a short while; later edits would change what others answered.
EDIT_WINDOW = timedelta(minutes=15)


def may_edit(created_at: datetime, now: datetime) -> bool:
    """Within 15 minutes of posting, inclusive: at exactly 15:00 still allowed, a microsecond later not."""
    return now - created_at <= EDIT_WINDOW
