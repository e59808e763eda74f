"""The owner register panel: on a building's page a link to its register (staff), on an estate's page the
register's import and export (those who manage it). No queries: permissions come from the loaded standing."""
from __future__ import annotations

from council.permissions import Action, can
from council.territory.models import Place, PlaceKind
from council.territory.panels import Panel, register_panel


@register_panel(order=20)
def owners_panel(place: Place) -> Panel | None:
    if place.kind is PlaceKind.BUILDING and can(Action.OWNERS_VIEW, place):
        return Panel("owners/_panel.html", {"building": place, "estate": None})
    if place.kind is PlaceKind.ESTATE and can(Action.OWNERS_MANAGE, place):
        return Panel("owners/_panel.html", {"building": None, "estate": place})
    return None
