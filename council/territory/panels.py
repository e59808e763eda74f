"""Panels on a place's page, contributed by other areas without territory importing them.

An area registers a function that returns a Panel (a template and its context) for a place, or
None; the place page shows the panels in order. Each provider must run a fixed number of queries.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from council.territory.models import Place


@dataclass
class Panel:
    template: str
    context: dict = field(default_factory=dict)


_PROVIDERS: list[tuple[int, str, Callable[[Place], Panel | None]]] = []


def register_panel(order: int):
    """Decorator: add a provider; lower `order` shows higher on the page. Registering twice is a no-op."""
    def decorator(provider: Callable[[Place], Panel | None]):
        key = f"{provider.__module__}.{provider.__qualname__}"
        if all(existing != key for _o, existing, _p in _PROVIDERS):
            _PROVIDERS.append((order, key, provider))
            _PROVIDERS.sort(key=lambda item: (item[0], item[1]))
        return provider
    return decorator


def panels_for(place: Place) -> list[Panel]:
    return [panel for _o, _k, provider in _PROVIDERS if (panel := provider(place)) is not None]
