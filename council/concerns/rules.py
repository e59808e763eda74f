"""Pure rules of the concerns ledger: states, transitions, escalation, deadlines, similar titles.

No Flask, no database: plain values in, plain values out, so they are property-tested at their edges.
"""
from __future__ import annotations

import enum
import unicodedata
from datetime import date, datetime, timedelta


class Category(enum.StrEnum):
    FACILITIES = "facilities"
    PARKING = "parking"  # parking and traffic
    SAFETY = "safety"  # safety and fire
    ENVIRONMENT = "environment"  # environment and hygiene
    DISPUTE = "dispute"  # neighbour dispute
    ELDERLY_CHILDREN = "elderly_children"
    OTHER = "other"


class Channel(enum.StrEnum):
    ONLINE = "online"
    STAND = "stand"  # the ground-floor stand, 一楼见
    PHONE = "phone"
    VISIT = "visit"  # a door visit
    MEETING = "meeting"


class ConcernStatus(enum.StrEnum):
    REPORTED = "reported"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    FOLLOWED_UP = "followed_up"
    CLOSED = "closed"
    DECLINED = "declined"
    MERGED = "merged"


class Step(enum.StrEnum):
    """What someone does to a concern; each may or may not change its status."""

    ACCEPT = "accept"
    DECLINE = "decline"
    START = "start"
    RESOLVE = "resolve"
    FOLLOW_UP_HAPPY = "follow_up_happy"  # rating 3-5
    FOLLOW_UP_UNHAPPY = "follow_up_unhappy"  # rating 1-2: reopened
    CLOSE = "close"
    MERGE = "merge"
    ASSIGN = "assign"
    ESCALATE = "escalate"


S = ConcernStatus
OPEN = frozenset({S.REPORTED, S.ACCEPTED, S.IN_PROGRESS})
FINISHED = frozenset({S.CLOSED, S.DECLINED, S.MERGED})

# The one table of allowed moves: status → step → new status. Anything else is refused.
TRANSITIONS: dict[ConcernStatus, dict[Step, ConcernStatus]] = {
    S.REPORTED: {Step.ACCEPT: S.ACCEPTED, Step.DECLINE: S.DECLINED, Step.MERGE: S.MERGED,
                 Step.ESCALATE: S.REPORTED},
    S.ACCEPTED: {Step.START: S.IN_PROGRESS, Step.RESOLVE: S.RESOLVED, Step.MERGE: S.MERGED,
                 Step.ASSIGN: S.ACCEPTED, Step.ESCALATE: S.ACCEPTED},
    S.IN_PROGRESS: {Step.RESOLVE: S.RESOLVED, Step.MERGE: S.MERGED, Step.ASSIGN: S.IN_PROGRESS,
                    Step.ESCALATE: S.IN_PROGRESS},
    S.RESOLVED: {Step.FOLLOW_UP_HAPPY: S.FOLLOWED_UP, Step.FOLLOW_UP_UNHAPPY: S.IN_PROGRESS},
    S.FOLLOWED_UP: {Step.CLOSE: S.CLOSED},
    S.CLOSED: {},
    S.DECLINED: {},
    S.MERGED: {},
}


class NotAllowed(ValueError):
    """The step is not allowed from the concern's current status."""


def next_status(status: ConcernStatus, step: Step) -> ConcernStatus:
    """The status after `step`, or NotAllowed."""
    try:
        return TRANSITIONS[status][step]
    except KeyError:
        raise NotAllowed(f"{step.value} is not allowed when {status.value}") from None


def allowed_steps(status: ConcernStatus) -> frozenset[Step]:
    return frozenset(TRANSITIONS[status])


def follow_up_step(rating: int) -> Step:
    """A rating of 1 or 2 reopens the concern; 3 to 5 completes the follow-up visit."""
    if not 1 <= rating <= 5:
        raise ValueError("rating must be 1 to 5")
    return Step.FOLLOW_UP_UNHAPPY if rating <= 2 else Step.FOLLOW_UP_HAPPY


class Level(enum.StrEnum):
    """Who holds a concern: 小事不出小区、难事不出片区、大事不出社区, and the street above them."""

    ESTATE = "estate"
    GRID = "grid"
    COMMUNITY = "community"
    STREET = "street"


LEVEL_ORDER = (Level.ESTATE, Level.GRID, Level.COMMUNITY, Level.STREET)


def escalation_target(current: Level, available: dict[Level, int]) -> tuple[Level, int] | None:
    """The next level up that exists above the estate, with its place id; None at the top.

    `available` maps each level present in the estate's lineage to its place id (an estate that
    sits directly in its community has no grid level, and escalation skips it).
    """
    for level in LEVEL_ORDER[LEVEL_ORDER.index(current) + 1:]:
        if level in available:
            return level, available[level]
    return None


def is_overdue(status: ConcernStatus, deadline: date | None, today: date) -> bool:
    """Past its deadline and still open (accepted or in progress)."""
    return deadline is not None and status in OPEN and deadline < today


FOLLOW_UP_WITHIN = timedelta(days=7)


def follow_up_missing(status: ConcernStatus, resolved_at: datetime | None, now: datetime) -> bool:
    """Resolved more than 7 days ago and nobody has visited the reporter yet."""
    return status is S.RESOLVED and resolved_at is not None and now - resolved_at > FOLLOW_UP_WITHIN


def queue_key(status: ConcernStatus, deadline: date | None, support: int, created_at: datetime, today: date):
    """Sort key for a queue: overdue first, then most supported, then oldest."""
    return (not is_overdue(status, deadline, today), -support, created_at)


def _bigrams(text: str) -> set[str]:
    """Character pairs of the title's letters and digits: works for Chinese, which has no spaces."""
    norm = "".join(ch for ch in unicodedata.normalize("NFKC", text).lower() if ch.isalnum())
    if len(norm) < 2:
        return {norm} if norm else set()
    return {norm[i:i + 2] for i in range(len(norm) - 1)}


def title_similarity(a: str, b: str) -> float:
    """Jaccard similarity of the two titles' character pairs, 0 to 1."""
    x, y = _bigrams(a), _bigrams(b)
    if not x or not y:
        return 0.0
    return len(x & y) / len(x | y)


SIMILAR_AT = 0.3


def similar_titles(title: str, candidates: list[tuple[int, str]], limit: int = 5) -> list[int]:
    """Ids of the candidate titles similar to `title`, most similar first."""
    scored = [(title_similarity(title, other), cid) for cid, other in candidates]
    return [cid for score, cid in sorted(scored, key=lambda s: (-s[0], s[1])) if score >= SIMILAR_AT][:limit]
