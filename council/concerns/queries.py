"""Read side of the concerns ledger: queues and lists, each one page in a fixed number of queries."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from council.concerns.models import Concern
from council.concerns.rules import FOLLOW_UP_WITHIN, OPEN, ConcernStatus, Level
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
