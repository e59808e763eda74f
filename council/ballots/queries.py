"""Listing queries of a poll: published ballots, the roll, written proxies; each one paginated query."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from council.ballots.models import Poll, PublishedBallot, RollLine
from council.extensions import db
from council.territory.models import Place


def published_page(poll: Poll, page: int, per_page: int, tracker: str = ""):
    query = sa.select(PublishedBallot).where(PublishedBallot.poll_id == poll.id)
    if tracker:
        query = query.where(PublishedBallot.tracker == "".join(tracker.split()).upper())  # "4jxg gugv f52h" too
    return db.paginate(query.order_by(PublishedBallot.position), page=page, per_page=per_page, error_out=False)


def roll_buildings(poll: Poll) -> list[Place]:
    """The buildings the roll's voters live in (for building leaders acting as tellers)."""
    ids = sa.select(RollLine.building_id).where(RollLine.poll_id == poll.id).distinct().scalar_subquery()
    return list(db.session.scalars(sa.select(Place).where(Place.id.in_(ids)).order_by(Place.sort_key, Place.id)))


def roll_page(poll: Poll, page: int, per_page: int, words: str = "", waiting: bool = False,
              buildings: list[int] | None = None):
    """A page of the roll; `buildings` limits it to the lines of those buildings (a building leader's)."""
    query = sa.select(RollLine).options(joinedload(RollLine.proxy)).where(RollLine.poll_id == poll.id)
    if buildings is not None:
        query = query.where(RollLine.building_id.in_(buildings))
    if words:
        query = query.where(RollLine.label.contains(words.strip(), autoescape=True))
    if waiting:
        query = query.where(RollLine.status.is_(None))
    return db.paginate(query.order_by(RollLine.sort_key, RollLine.id), page=page, per_page=per_page,
                       error_out=False)


def proxies_page(poll: Poll, page: int, per_page: int):
    """The written proxies of the poll, published to the voters (who for whom, never how)."""
    query = (sa.select(RollLine).options(joinedload(RollLine.proxy))
             .where(RollLine.poll_id == poll.id, RollLine.proxy_id.is_not(None))
             .order_by(RollLine.sort_key, RollLine.id))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)
