"""The concerns panel on an estate's or building's page: open matters, and where to raise one."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from council.concerns.models import Concern
from council.concerns.rules import OPEN
from council.concerns.services import visible_clause
from council.extensions import db
from council.permissions import Action, can, current_standing
from council.territory.models import Place, PlaceKind
from council.territory.panels import Panel, register_panel


@register_panel(order=5)
def concerns_panel(place: Place) -> Panel | None:
    """Open concerns the reader may see here (count and the three most supported): one query.

    Above the estate (grid, community, street) staff get the level's queue and lists instead."""
    if place.kind not in (PlaceKind.ESTATE, PlaceKind.BUILDING):
        if not can(Action.CONCERN_HANDLE, place):
            return None
        held = db.session.scalar(sa.select(sa.func.count(Concern.id)).where(
            Concern.holder_id == place.id, Concern.status.in_(OPEN)))
        return Panel("concerns/_panel_above.html", {"held": held})
    if not can(Action.PLACE_VIEW, place):
        return None
    if place.kind is PlaceKind.ESTATE:
        where = sa.and_(Concern.estate_id == place.id, visible_clause(current_standing(), place))
    else:
        where = Concern.place_id == place.id
    where = sa.and_(where, Concern.status.in_(OPEN))
    rows = db.session.execute(sa.select(Concern, sa.func.count().over()).where(where)  # the count before LIMIT
                              .options(joinedload(Concern.place), joinedload(Concern.owner))
                              .order_by(Concern.support_count.desc(), Concern.created_at).limit(3)).all()
    top, count = [concern for concern, _n in rows], (rows[0][1] if rows else 0)
    return Panel("concerns/_panel.html", {"open_count": count, "top": top,
                                          "handler": can(Action.CONCERN_HANDLE, place)})
