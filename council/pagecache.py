"""Public pages rendered once and kept: what one visitor who is not signed in gets, every such visitor gets.

Published minutes are read by a whole estate the evening they go up, and by anyone who scans the notice
board's QR code, without signing in. Their page is the same for every anonymous visitor in the same language,
so it is rendered once per language and kept in `council.extensions.cache` (Flask-Caching: this process's
memory, or Redis shared by every process when CACHE_REDIS_URL is set).

What makes this safe:
- only visitors who are not signed in are served from the cache, on GET, when no message is waiting to be
  flashed to them: a signed-in person's page says who they are and what they may do, and is always rendered;
- the one thing on an anonymous page that belongs to the visitor, the CSRF token of the language switcher,
  is stored as a mark and put back per request;
- a view keeps a page only once its own checks found it public, and names in the key everything the page
  depends on besides the language; a page that is public once stays public (published minutes are never
  unpublished), so a kept page may be sent before anything is loaded;
- a change that alters a kept page forgets it when its transaction commits (`forget_after_commit`), never
  before: a request reading the old data in between cannot put the old page back. Anything not forgotten
  explicitly (a renamed estate in the breadcrumbs) is out of date for at most CACHE_DEFAULT_TIMEOUT seconds.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable

import sqlalchemy as sa
from flask import current_app, request, session
from flask_login import current_user
from flask_sqlalchemy.session import Session
from flask_wtf.csrf import generate_csrf

from council.extensions import cache, db
from council.i18n import current_locale_code

log = logging.getLogger(__name__)
TOKEN_MARK = "@@council-csrf-token@@"
_PENDING = "council.pagecache.forget"


def servable() -> bool:
    """May this request be answered from the cache (or fill it)?"""
    return (request.method == "GET" and not session.get("_flashes")
            and not current_user.is_authenticated)


def key(name: str, *parts, language: str | None = None) -> str:
    return ":".join(["page", name, *map(str, parts), language or current_locale_code()])


def _token() -> str | None:
    return generate_csrf() if current_app.config.get("WTF_CSRF_ENABLED", True) else None


def kept(name: str, *parts) -> str | None:
    """The kept page `name` for `parts` (ids...) in this visitor's language, ready to send; None when there is
    none or this request must be rendered (a signed-in person, a message to flash). Only pages that were public
    when kept are ever kept, so a view may answer with this before it loads anything."""
    if not servable():
        return None
    try:
        html = cache.get(key(name, *parts))
    except Exception:  # the store (Redis) is down: render the page as if nothing were kept
        log.warning("page cache unreachable: rendering %s", name, exc_info=True)
        return None
    if html is None:
        return None
    token = _token()
    return html.replace(TOKEN_MARK, token) if token else html


def keep(name: str, parts: tuple, html: str) -> str:
    """Keep a public page just rendered for this request (when the request may fill the cache); returns it."""
    if servable():
        token = _token()
        try:
            cache.set(key(name, *parts), html.replace(token, TOKEN_MARK) if token else html)
        except Exception:
            log.warning("page cache unreachable: %s not kept", name, exc_info=True)
    return html


def forget_after_commit(name: str, parts_list: Iterable[tuple]) -> None:
    """Forget these pages (every language) once the current transaction commits; nothing if it rolls back."""
    languages = current_app.config["LANGUAGES"]
    db.session.info.setdefault(_PENDING, set()).update(
        key(name, *parts, language=language) for parts in parts_list for language in languages)


@sa.event.listens_for(Session, "after_commit")
def _forget(session) -> None:
    keys = session.info.pop(_PENDING, None)
    if keys:
        try:
            cache.delete_many(*sorted(keys))
        except Exception:  # committed all the same; the kept pages expire after CACHE_DEFAULT_TIMEOUT
            log.error("page cache unreachable: %d kept pages not forgotten", len(keys), exc_info=True)


@sa.event.listens_for(Session, "after_rollback")
def _forget_nothing(session) -> None:
    session.info.pop(_PENDING, None)
