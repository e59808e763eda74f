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

import hashlib
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterable
from functools import lru_cache

import sqlalchemy as sa
from cachetools import LRUCache, TLRUCache, TTLCache
from flask import abort, current_app, g, render_template, request, session
from flask_babel import get_timezone
from flask_login import current_user
from flask_sqlalchemy.session import Session
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException

from council.extensions import cache, db
from council.i18n import current_locale_code
from council.permissions import current_standing
from council.sqltypes import utcnow
from council.territory.services import get_place_or_404
from council.versions import PlaceHead, forget_heads, head_of, head_stamp

log = logging.getLogger(__name__)
TOKEN_MARK = "@@council-csrf-token@@"
# Where a kept members' page has the signed-in person's own links (name, sign-out, inbox count, staff menu).
ACCOUNT_MARK = "<!--@@council-account@@-->"
MENU_MARK = "<!--@@council-menu@@-->"
NAME_MARK, COUNT_MARK = "@@council-name@@", "@@council-unread@@"  # in the header kept for everyone (`_header`)
_PENDING = "council.pagecache.forget"
_TOKEN_BYTES, _ACCOUNT_BYTES, _MENU_BYTES = TOKEN_MARK.encode(), ACCOUNT_MARK.encode(), MENU_MARK.encode()


def servable() -> bool:
    """May this request be answered from the cache (or fill it)?"""
    return (request.method == "GET" and not session.get("_flashes")
            and not current_user.is_authenticated)


def key(name: str, *parts, language: str | None = None) -> str:
    return ":".join(["page", name, *map(str, parts), language or current_locale_code()])


# The signed CSRF token made for a session's raw token, kept a while: signing it (an HMAC, which Flask-WTF does
# afresh on every request) is a tenth of a kept page's work. A token signed up to SIGNED_SECONDS ago is as good as
# a new one; it expires that much sooner (WTF_CSRF_TIME_LIMIT: an hour by default).
SIGNED_SECONDS = 300
_signed: TTLCache = TTLCache(maxsize=50_000, ttl=SIGNED_SECONDS)


def _token() -> str | None:
    """This request's signed CSRF token for a kept page's forms, or None when the app does not check them."""
    return _signed_token() if current_app.config.get("WTF_CSRF_ENABLED", True) else None


def _signed_token() -> str:
    """This request's signed CSRF token (what `csrf_token()` gives its forms): kept per session's raw token."""
    config = current_app.config
    field = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    signed = g.get(field)  # made already for this request (Flask-WTF keeps it in g)
    if signed is not None:
        return signed
    raw, key = session.get(field), config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
    with _local_lock:
        signed = _signed.get((key, raw)) if isinstance(raw, str) else None
    if signed is None:
        signed = generate_csrf()
        with _local_lock:
            _signed[(key, session[field])] = signed
    else:
        setattr(g, field, signed)  # what generate_csrf() and the templates' csrf_token() give for the request
    return signed


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


# ---- pages members share ----------------------------------------------------------------------------

def _lifetime() -> int | None:
    """Seconds the page just rendered may be kept: CACHE_DEFAULT_TIMEOUT, or less (None: not at all)."""
    timeout = current_app.config["CACHE_DEFAULT_TIMEOUT"]
    until = g.pop("council_good_until", None)
    if until is None:
        return timeout
    seconds = math.floor((until - utcnow()).total_seconds())
    return min(timeout, seconds) if seconds > 0 else None


class MembersPage:
    """A signed-in page that every member who may see it, in the same `variant`, sees alike but for their own
    links in the header: kept under the versions of the place it is about (council/versions.py).

    The view gets the page and the head of what it shows with `of_place` or `of_row` (the versions are read
    before the head, or the head comes from this process's memory checked against them), checks the person may
    see it, then `serve`s it with a `variant` naming everything about the person the page shows besides their
    standing (roles and homes: always in the key, as what they may do follows from it), such as whether it
    lists something of their own, and what of the head it shows. The render function reads everything else
    afresh, after the versions. The path with its query, the language and the time zone are in the key too.
    Only with CACHE_SIGNED_IN_PAGES (a store all processes share), on GET, with no message waiting to be flashed.
    """

    def __init__(self, name: str):
        """A page named `name`; `of_place` and `of_row` read its versions (`stamp`) when it may be kept."""
        self.name, self.stamp = name, None
        self.servable = bool(current_app.config.get("CACHE_SIGNED_IN_PAGES") and request.method == "GET"
                             and not session.get("_flashes") and current_user.is_authenticated)

    @classmethod
    def of_place(cls, name: str, place_id: int, kind=None) -> tuple[MembersPage, PlaceHead]:
        """The page of a place (404 if there is none, or not of `kind`) and the place's head: with the head
        kept in this process since the place last changed, no query."""
        page, head = cls.of_row(name, ("place", place_id), lambda: head_of(get_place_or_404(place_id)),
                                place_id=place_id)
        if kind is not None and head.kind is not kind:
            abort(404)
        return page, head

    @classmethod
    def of_row(cls, name: str, ident: tuple, load, place_id: int | None = None, plain=None):
        """The page of what `load()` reads the head of (council.versions.head_stamp), and that head; when no
        page is kept, `plain()` (default `load()`): what the view would read anyway, so nothing is read twice."""
        page = cls(name)
        if page.servable:
            try:
                head, page.stamp = head_stamp(ident, load, place_id)
                return page, head
            except HTTPException:
                raise
            except Exception:
                log.warning("page cache unreachable: rendering %s", name, exc_info=True)
        return page, (plain or load)()

    def fact(self, key: tuple, work):
        """`work()`: something about the reader read from data these versions cover (whether they have drafts
        in the estate, co-signed the proposal, answered the meeting), kept in this process under the versions, so
        that a reader who comes back before anything changed is not asked again."""
        if self.stamp is None:
            return work()
        found_key = (self.name, key, self.stamp)
        with _local_lock:
            found = _facts.get(found_key, _facts)
        if found is _facts:
            found = work()
            with _local_lock:
                _facts[found_key] = found
        return found

    def serve(self, variant: tuple, render) -> str | bytes:
        """The kept page for `variant`, with this person's own links and token put in; else `render()`, kept.
        Work `variant` out after the versions were read (after creating this), or a change in between could
        be kept under the wrong variant (someone's draft listed for everyone). A page is kept as the bytes
        sent (encoded once, not per request)."""
        if self.stamp is None:
            return render()
        said = hashlib.blake2b(repr((request.full_path, current_standing().key, variant)).encode(),
                               digest_size=12).hexdigest()
        key = ":".join(["members", self.name, said, self.stamp, current_locale_code(), str(get_timezone())])
        try:
            html = _fetch(key)
        except Exception:
            log.warning("page cache unreachable", exc_info=True)
            return render()
        if isinstance(html, str):  # kept as text by an older version of the app
            html = html.encode()
        token = _token()
        if html is None:
            g.council_keeping, g.council_good_until = True, None
            try:
                html = render()
            finally:
                g.council_keeping = False
            html = (html.replace(token, TOKEN_MARK) if token else html).encode()
            lifetime = _lifetime()
            try:
                if lifetime is not None:
                    _store(key, html, lifetime)
            except Exception:
                log.warning("page cache unreachable: page not kept", exc_info=True)
        return _personalise(html, token)


def _personalise(html: bytes, token: str | None) -> bytes:
    """A kept members' page (the bytes to send) with the signed-in person's own header and CSRF token put in,
    and its live parts filled: the page's pieces between its marks (`_pieces`, found once per kept page) joined
    with them, one copy of the page instead of one per mark."""
    account, menu = _personal(current_user.display_name, current_user.unread_count, current_standing().is_staff,
                              current_locale_code())
    pieces, live = _pieces(html)
    if pieces is None:  # a header mark after a token mark (never so: the header comes first), one mark at a time
        html = html.replace(_ACCOUNT_BYTES, account.encode(), 1).replace(_MENU_BYTES, menu.encode(), 1)
        html = html.replace(_TOKEN_BYTES, token.encode()) if token else html
    else:
        head = pieces[0].replace(_ACCOUNT_BYTES, account.encode(), 1).replace(_MENU_BYTES, menu.encode(), 1)
        html = (token or TOKEN_MARK).encode().join((head, *pieces[1:])) if len(pieces) > 1 else head
    return _LIVE.sub(lambda m: _live_text(m[1].decode(), int(m[2])).encode(), html) if live else html


# A kept page's pieces between its CSRF token marks, and whether it has live parts, found once per kept page (a
# kept page is one bytes object in this process's memory, whose hash Python keeps: finding it here is cheap).
_pieces_kept: LRUCache = LRUCache(maxsize=4 * 2**20, getsizeof=lambda value: value[2])


def _pieces(html: bytes) -> tuple[list[bytes] | None, bool]:
    """The page split at its token marks, the header's account and menu marks in the first piece (None if one is
    in a later piece), and whether it holds a live part's mark."""
    with _local_lock:
        found = _pieces_kept.get(html)
    if found is None:
        pieces = html.split(_TOKEN_BYTES)
        later = b"".join(pieces[1:])
        found = (None if _ACCOUNT_BYTES in later or _MENU_BYTES in later else pieces,
                 b"@@council-live:" in html, len(html))
        with _local_lock:
            try:
                _pieces_kept[html] = found
            except ValueError:  # larger than the whole store
                pass
    return found[0], found[1]


# ---- live parts of kept pages -----------------------------------------------------------------------
# What changes too often to keep a page for (a vote's turnout, moved by every ballot) is a live part: a kept page
# holds a mark where it goes, filled on every request with what this process read at most LIVE_SECONDS ago.
# Changes that kept pages show only through live parts move no version (council.versions.shown_live).

_LIVE = re.compile(rb"<!--@@council-live:([a-z_]+):(\d+)@@-->")
_fillers: dict[str, Callable[[int], str]] = {}
_lively: LRUCache = LRUCache(maxsize=20_000)  # (name, id, language) → (HTML, good until)


def live(name: str):
    """Register how live part `name` is made for an id: a function returning its HTML, escaped (for
    templates: `live_part(name, id)`)."""
    def register(function: Callable[[int], str]) -> Callable[[int], str]:
        _fillers[name] = function
        return function
    return register


def live_part(name: str, ident: int) -> Markup:
    """Live part `name` of `ident` in a template: its mark on a page being kept, else its HTML now."""
    if g.get("council_keeping"):
        return Markup(f"<!--@@council-live:{name}:{int(ident)}@@-->")
    return Markup(_live_text(name, int(ident)))


def _live_text(name: str, ident: int) -> str:
    seconds = current_app.config.get("LIVE_SECONDS", 5)
    if not seconds:
        return _fillers[name](ident)
    key = (name, ident, current_locale_code())
    with _local_lock:
        found = _lively.get(key)
    if found is None or found[1] <= time.time():
        found = (_fillers[name](ident), time.time() + seconds)
        with _local_lock:
            _lively[key] = found
    return found[0]


# ---- pages kept briefly by each process ---------------------------------------------------------------

BRIEF_SECONDS = 30
_brief: TTLCache = TTLCache(maxsize=2_000, ttl=BRIEF_SECONDS)


def briefly_kept(name: str, parts: tuple, fills: dict[str, str], render) -> bytes:
    """A signed-in page that readers of the same standing see alike but for their header and `fills` (marks the
    page was rendered with → this request's text, escaped already), such as the receipt of a ballot with its
    tracker: rendered once per process for `parts`, standing, language and zone, and sent again for
    BRIEF_SECONDS (so what it shows of titles and places' names may lag that long; nothing else is on it). It
    needs no shared store. Not with a message waiting to be flashed."""
    if session.get("_flashes") or not current_user.is_authenticated:
        return _filled(render().encode(), fills)
    key = (name, parts, current_standing().key, current_locale_code(), str(get_timezone()))
    token = _token()
    with _local_lock:
        html = _brief.get(key)
    if html is None:
        g.council_keeping = True
        try:
            html = render()
        finally:
            g.council_keeping = False
        html = (html.replace(token, TOKEN_MARK) if token else html).encode()
        with _local_lock:
            _brief[key] = html
    return _filled(_personalise(html, token), fills)


def _filled(html: bytes, fills: dict[str, str]) -> bytes:
    for mark, text in fills.items():
        html = html.replace(mark.encode(), text.encode())
    return html


# A kept page's key names its versions, so what a key holds never changes: each process keeps the pages it sends
# most in its own memory too (up to CACHE_LOCAL_BYTES), each until its own lifetime ends, and asks Redis less.
_local = TLRUCache(maxsize=16 * 2**20, ttu=lambda _key, value, _now: value[1], timer=time.time,
                   getsizeof=lambda value: len(value[0]))
_local_lock = threading.Lock()
_facts: LRUCache = LRUCache(maxsize=50_000)


def _fetch(key: str) -> str | bytes | None:
    with _local_lock:
        found = _local.get(key)
    if found is None:
        found = cache.get(key)
        if found is None or found[1] <= time.time():
            return None
        _remember(key, found)
    return found[0]


def _store(key: str, html: bytes, lifetime: int) -> None:
    value = (html, time.time() + lifetime)
    cache.set(key, value, timeout=lifetime)
    _remember(key, value)


def _remember(key: str, value: tuple[str | bytes, float]) -> None:
    with _local_lock:
        try:
            _local[key] = value
        except ValueError:  # larger than the whole store: Redis keeps it
            pass


_forgetters: list = []


def forgets(function):
    """Register what drops something another module keeps in this process: `forget_local` calls it too."""
    _forgetters.append(function)
    return function


def forget_local() -> None:
    """Drop what this process keeps in memory (the tests do, between tests: ids start again from 1)."""
    with _local_lock:
        _local.clear()
        _facts.clear()
        _brief.clear()
        _lively.clear()
        _signed.clear()
        _pieces_kept.clear()
    _header.cache_clear()
    forget_heads()
    for forget in _forgetters:
        forget()


def _personal(name: str, unread: int, staff: bool, language: str) -> tuple[str, str]:
    """The header's account links and menu for the signed-in person: `_header` filled with their name, unread
    count and CSRF token."""
    account, menu = _header(staff, unread > 0, language)
    token = _signed_token()
    return (account.replace(NAME_MARK, str(escape(name)), 1).replace(TOKEN_MARK, token),
            menu.replace(COUNT_MARK, str(unread)).replace(TOKEN_MARK, token))


@lru_cache(maxsize=64)
def _header(_staff: bool, unread: bool, _language: str) -> tuple[str, str]:
    """`_personal.html` as rendered for the signed-in person, but with their name, unread count and CSRF token
    marked (the token whether or not the app checks it: no one's token is ever in another's page): kept per
    process by all else it shows (staff or not, any unread, language), so a person the process has never seen
    (a voter casting) costs no rendering."""
    html = render_template("_personal.html", header_name=NAME_MARK, unread_count=COUNT_MARK if unread else 0)
    account, menu = html.replace(_signed_token(), TOKEN_MARK).split(MENU_MARK)
    return account, menu
