"""Read side of the concerns ledger: queues and lists, each one page in a fixed number of queries."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from council.concerns.models import Concern
from council.concerns.rules import FOLLOW_UP_WITHIN, OPEN, Category, ConcernStatus, Level
from council.concerns.services import visible_clause
from council.extensions import db
from council.i18n import local_today
from council.permissions import Standing
from council.sqltypes import utcnow
from council.territory.models import Place, PlaceKind

_LIST_OPTIONS = (joinedload(Concern.place), joinedload(Concern.owner), joinedload(Concern.reporter))


def overdue_clause(today: date):
    return sa.and_(Concern.deadline < today, Concern.status.in_(OPEN))


def _holds(place: Place):
    """The concerns a place's queue holds: its own level, or its building's at estate level."""
    if place.kind is PlaceKind.BUILDING:
        return sa.and_(Concern.place_id == place.id, Concern.level == Level.ESTATE)
    return Concern.holder_id == place.id


def queue_page(place: Place, page: int, per_page: int, today: date | None = None):
    """Open concerns held here: overdue first, then most supported, then oldest."""
    today = today or local_today()
    query = (sa.select(Concern).where(_holds(place), Concern.status.in_(OPEN))
             .options(*_LIST_OPTIONS)
             .order_by(sa.case((overdue_clause(today), 0), else_=1), Concern.support_count.desc(),
                       Concern.created_at, Concern.id))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def follow_ups_due(place: Place, limit: int = 20, now: datetime | None = None) -> list[Concern]:
    """Resolved concerns held here whose follow-up visit is more than 7 days late."""
    cutoff = (now or utcnow()) - FOLLOW_UP_WITHIN
    return list(db.session.scalars(
        sa.select(Concern).where(_holds(place), Concern.status == ConcernStatus.RESOLVED,
                                 Concern.resolved_at < cutoff)
        .options(*_LIST_OPTIONS).order_by(Concern.resolved_at).limit(limit)))


def place_page(place: Place, standing: Standing, page: int, per_page: int):
    """The concerns of an estate or a building that the reader may see, newest first."""
    if place.kind is PlaceKind.ESTATE:
        query = sa.select(Concern).where(Concern.estate_id == place.id, visible_clause(standing, place))
    else:
        query = sa.select(Concern).where(Concern.place_id == place.id)
    query = query.options(*_LIST_OPTIONS).order_by(Concern.id.desc())
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


# ---- public statistics ----------------------------------------------------------------------------
# Appended while others edit this file; move this import up into the block above when convenient.
from council.concerns.statistics import ConcernFacts, window_start  # noqa: E402


def statistics_rows(place: Place, today: date | None = None) -> list[ConcernFacts]:
    """The facts the public statistics need about every concern of an estate, or of all the estates
    beneath a community (Place.path prefix), raised in the last 12 months: one query, six columns,
    no ORM objects and nothing that names a concern or a person."""
    today = today or local_today()
    if place.kind is PlaceKind.ESTATE:
        where = Concern.estate_id == place.id
    else:
        estates = sa.select(Place.id).where(Place.kind == PlaceKind.ESTATE, Place.path.startswith(place.path))
        where = Concern.estate_id.in_(estates.scalar_subquery())
    rows = db.session.execute(
        sa.select(Concern.created_at, Concern.resolved_at, Concern.deadline, Concern.status,
                  Concern.resolved_level, Concern.rating)
        .where(where, Concern.created_at >= window_start(today)))
    return [ConcernFacts(**row._mapping) for row in rows]


# ---- the estate ledger (台账) and this week's list (民情清单) ----------------------------------------

OPEN_FILTER = "open"  # the ledger's status filter for "any of rules.OPEN"


@dataclass(frozen=True)
class LedgerFilters:
    """What the ledger is narrowed to; None is "any". Dates are days in the estates' zone, both included."""

    status: str | None = None  # a ConcernStatus value, or OPEN_FILTER
    category: Category | None = None
    place_id: int | None = None  # one of the estate's buildings, or the estate itself
    date_from: date | None = None
    date_to: date | None = None


def local_midnight(day: date) -> datetime:
    """The moment `day` starts where the estates are (Asia/Shanghai by default), in UTC (invariant 7)."""
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai"))
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def ledger_select(estate: Place, filters: LedgerFilters):
    """Every concern of the estate matching the filters, newest first, with place, owner and reporter."""
    query = sa.select(Concern).where(Concern.estate_id == estate.id)
    if filters.status == OPEN_FILTER:
        query = query.where(Concern.status.in_(OPEN))
    elif filters.status:
        query = query.where(Concern.status == ConcernStatus(filters.status))
    if filters.category:
        query = query.where(Concern.category == filters.category)
    if filters.place_id:
        query = query.where(Concern.place_id == filters.place_id)
    if filters.date_from:
        query = query.where(Concern.created_at >= local_midnight(filters.date_from))
    if filters.date_to:  # up to the end of that day: before the next one starts
        query = query.where(Concern.created_at < local_midnight(filters.date_to + timedelta(days=1)))
    return query.options(*_LIST_OPTIONS).order_by(Concern.created_at.desc(), Concern.id.desc())


def ledger_page(estate: Place, filters: LedgerFilters, page: int, per_page: int):
    """One page of the ledger (two queries: the rows and the count)."""
    return db.paginate(ledger_select(estate, filters), page=page, per_page=per_page, error_out=False)


def ledger_printout(estate: Place, filters: LedgerFilters, cap: int):
    """The first `cap` rows of the ledger for paper, and how many match in all (two queries)."""
    return db.paginate(ledger_select(estate, filters), page=1, per_page=cap, max_per_page=cap, error_out=False)


def ledger_stream(estate: Place, filters: LedgerFilters, batch: int = 500):
    """Every matching concern for the CSV export, fetched `batch` rows at a time: one query, bounded memory."""
    return db.session.scalars(ledger_select(estate, filters).execution_options(yield_per=batch))


def buildings_of(estate: Place) -> list[Place]:
    """The estate's buildings in their natural order ("2号楼" before "10号楼")."""
    return list(db.session.scalars(sa.select(Place).where(Place.parent_id == estate.id,
                                                          Place.kind == PlaceKind.BUILDING)
                                   .order_by(Place.sort_key, Place.id)))


FRIDAY = 4  # date.weekday() counts Monday as 0


def coming_friday(today: date) -> date:
    """The day of the Friday meeting (相约星期五) this week's list is for: today if today is a Friday."""
    return today + timedelta(days=(FRIDAY - today.weekday()) % 7)


def this_week(place: Place, standing: Standing, limit: int) -> list[Concern]:
    """This week's list of public concerns (民情清单): the open concerns of an estate, or of every estate
    beneath a community, that the reader may see; most supported first, then the oldest. Being overdue
    is deliberately not a criterion (the queue puts those first). Also drafts the Friday meeting's agenda."""
    query = sa.select(Concern).where(Concern.status.in_(OPEN), visible_clause(standing, place))
    if place.kind is PlaceKind.ESTATE:
        query = query.where(Concern.estate_id == place.id)
    else:
        estates = sa.select(Place.id).where(Place.kind == PlaceKind.ESTATE, Place.path.startswith(place.path))
        query = query.where(Concern.estate_id.in_(estates.scalar_subquery()))
    return list(db.session.scalars(
        query.options(*_LIST_OPTIONS, joinedload(Concern.estate))
        .order_by(Concern.support_count.desc(), Concern.created_at, Concern.id).limit(limit)))
