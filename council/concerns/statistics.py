"""Public statistics of the concerns ledger: monthly figures for an estate or a community.

Pure (invariant 2): plain records and today's date in, plain figures out; no Flask, no database.
Every figure is about a month's *cohort*: the concerns raised in that calendar month, in the estates'
time zone (Asia/Shanghai, invariant 7), so a month's figures keep moving while its concerns are handled.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from statistics import fmean, median
from zoneinfo import ZoneInfo

from council.concerns.rules import LEVEL_ORDER, ConcernStatus, Level, is_overdue

ZONE = ZoneInfo("Asia/Shanghai")
MONTHS = 12
# A median, mean or share of one or two concerns is a fact about those concerns (a follow-up rating
# points at whoever gave it), so such figures are not published; counts are. Same spirit as invariant 3:
# breakdowns below a small minimum are not shown.
MIN_GROUP = 3

S = ConcernStatus
# Resolved and then followed up (回访) or closed: the work is done, resolved_at is the day it was.
DONE = frozenset({S.RESOLVED, S.FOLLOWED_UP, S.CLOSED})
NOT_WORKED = frozenset({S.DECLINED, S.MERGED})


@dataclass(frozen=True)
class ConcernFacts:
    """The few columns of one concern that the statistics need; nothing that names it or its people."""

    created_at: datetime  # aware (UTC from the database)
    resolved_at: datetime | None
    deadline: date | None  # a day in Asia/Shanghai (定时限)
    status: ConcernStatus
    resolved_level: Level | None
    rating: int | None  # the latest follow-up rating, 1 to 5


@dataclass(frozen=True)
class Figures:
    """The figures of one month's cohort (or of all twelve months, for the total).

    `median_days`, `late_share` and `average_rating` are None when nothing counts towards them or
    fewer than `MIN_GROUP` concerns do; never 0 in place of "no data".
    """

    month: date | None  # the first day of the month; None for the total
    collected: int
    resolved: Mapping[Level, int]  # every level in LEVEL_ORDER, 0 where none
    finished: int  # concerns that count towards median_days
    median_days: float | None
    with_deadline: int
    late: int
    late_share: float | None  # late / with_deadline, 0 to 1
    rated: int
    average_rating: float | None

    @property
    def resolved_total(self) -> int:
        return sum(self.resolved.values())


@dataclass(frozen=True)
class Statistics:
    months: tuple[Figures, ...]  # oldest first, the current month last
    total: Figures


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("statistics need timezone-aware datetimes (stored in UTC)")
    return moment


def local_date(moment: datetime) -> date:
    """The calendar day of an aware moment in Asia/Shanghai: 2026-01-31 17:00 UTC is 1 February."""
    return _aware(moment).astimezone(ZONE).date()


def local_month(moment: datetime) -> date:
    """The first day of the Asia/Shanghai month the moment falls in."""
    return local_date(moment).replace(day=1)


def month_starts(today: date, months: int = MONTHS) -> list[date]:
    """The first days of the last `months` months, oldest first, today's month included."""
    year, month, starts = today.year, today.month, []
    for _ in range(months):
        starts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def window_start(today: date, months: int = MONTHS) -> datetime:
    """Midnight in Asia/Shanghai on the first day of the oldest month, as an aware UTC datetime.

    Where the database query starts, so it fetches the same concerns that `summarise` counts.
    """
    return datetime.combine(month_starts(today, months)[0], time(0), ZONE).astimezone(UTC)


def counts(fact: ConcernFacts) -> bool:
    """Collected: every concern raised, declined ones included, except duplicates merged into another
    concern (the matter is counted once, where it was merged into)."""
    return fact.status is not S.MERGED


def days_to_resolve(fact: ConcernFacts) -> float | None:
    """Days, with fractions, from being raised to being marked resolved; None unless resolved (and
    still so: resolved, followed up or closed; an unhappy follow-up clears resolved_at and reopens it)."""
    if fact.status not in DONE or fact.resolved_at is None:
        return None
    return (_aware(fact.resolved_at) - _aware(fact.created_at)) / timedelta(days=1)


def has_deadline(fact: ConcernFacts) -> bool:
    """It was given a deadline (定时限) and was worked on: declined and merged concerns do not count."""
    return fact.deadline is not None and fact.status not in NOT_WORKED


def is_late(fact: ConcernFacts, today: date) -> bool:
    """Finished late, or still open past the deadline.

    A deadline is a day in Asia/Shanghai and the whole day is allowed: resolved on the deadline day is
    on time, resolved on a later day is late. Still open (reported, accepted, in progress; reopened
    ones too): late once the deadline day is over, the same rule as the queues (rules.is_overdue).
    """
    if not has_deadline(fact):
        return False
    if fact.status in DONE:
        return fact.resolved_at is not None and local_date(fact.resolved_at) > fact.deadline
    return is_overdue(fact.status, fact.deadline, today)


def figures(facts: Iterable[ConcernFacts], today: date, month: date | None = None,
            min_group: int = MIN_GROUP) -> Figures:
    """The figures of one cohort of concerns (already chosen: no filtering by month here).

    - collected: the concerns that `counts` (merged duplicates left out);
    - resolved, by level: those resolved, followed up or closed, by Concern.resolved_level, the level
      that held the concern when it was resolved (estate / grid / community / street);
    - median_days: statistics.median of `days_to_resolve` over the concerns resolved;
    - late_share ("share overdue"): of the concerns that had a deadline (`has_deadline`), the share
      that were finished after the deadline day or are still open past it (`is_late`);
    - average_rating: the mean follow-up rating (1-5) of the concerns rated, None if none is rated.
    A figure drawn from fewer than `min_group` concerns is None (see MIN_GROUP).
    """
    cohort = [fact for fact in facts if counts(fact)]
    resolved = dict.fromkeys(LEVEL_ORDER, 0)
    for fact in cohort:
        if fact.status in DONE and fact.resolved_level is not None:
            resolved[fact.resolved_level] += 1
    days = [d for d in map(days_to_resolve, cohort) if d is not None]
    due = [fact for fact in cohort if has_deadline(fact)]
    late = sum(is_late(fact, today) for fact in due)
    ratings = [fact.rating for fact in cohort if fact.rating is not None]
    enough = max(min_group, 1)
    return Figures(
        month=month, collected=len(cohort), resolved=resolved,
        finished=len(days), median_days=median(days) if len(days) >= enough else None,
        with_deadline=len(due), late=late, late_share=late / len(due) if len(due) >= enough else None,
        rated=len(ratings), average_rating=fmean(ratings) if len(ratings) >= enough else None,
    )


def summarise(facts: Iterable[ConcernFacts], today: date, months: int = MONTHS,
              min_group: int = MIN_GROUP) -> Statistics:
    """Figures for each of the last `months` months (by the month a concern was raised, in Asia/Shanghai)
    and for all of them together. Concerns raised outside those months are left out."""
    starts = month_starts(today, months)
    cohorts: dict[date, list[ConcernFacts]] = {start: [] for start in starts}
    for fact in facts:
        cohort = cohorts.get(local_month(fact.created_at))
        if cohort is not None:
            cohort.append(fact)
    return Statistics(
        months=tuple(figures(cohorts[start], today, start, min_group) for start in starts),
        total=figures((fact for start in starts for fact in cohorts[start]), today, None, min_group),
    )
