"""The proposals panel on an estate's or building's page: how many are open, and where to write one."""
from __future__ import annotations

from council.permissions import Action, can, current_standing
from council.proposals.services import may_write, open_count
from council.territory.models import Place, PlaceKind
from council.territory.panels import Panel, register_panel


@register_panel(order=6)
def proposals_panel(place: Place) -> Panel | None:
    """One query: the estate's proposals that are open, on the agenda or being voted on."""
    if place.kind not in (PlaceKind.ESTATE, PlaceKind.BUILDING) or not can(Action.PLACE_VIEW, place):
        return None
    estate = place if place.kind is PlaceKind.ESTATE else place.parent
    return Panel("proposals/_panel.html", {"estate": estate, "open_count": open_count(estate.id),
                                           "may_write": may_write(current_standing(), estate)})
