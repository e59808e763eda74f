"""The browser harness: the demo database built once, a live server on 127.0.0.1, Chromium's contexts (a phone
and a desktop, in Chinese or English), signing in, and looking up the demo's pages.

Playwright is imported here, guarded: when it is missing the fixtures skip (or fail in CI) with one line,
instead of every test module failing to import.
"""
from __future__ import annotations

import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from werkzeug.serving import make_server

from council import create_app
from council.config import TestConfig
from council.extensions import db

try:  # the test extra installs it; the browser itself is Debian's Chromium
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import Page, sync_playwright
except ImportError:  # pragma: no cover (reported by the fixtures)
    PlaywrightError = Exception
    Page = sync_playwright = None

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
VIEWPORTS = {"phone": {"width": 360, "height": 740}, "desktop": {"width": 1280, "height": 900}}
# Our language code -> (the browser's locale, its Accept-Language header).
LOCALES = {"zh_Hans": ("zh-CN", "zh-CN,zh;q=0.9"), "en": ("en", "en")}
PASSWORD = "demo1234"  # council.demo.DEMO_PASSWORD
HTML_LANG = {"zh_Hans": "zh-Hans", "en": "en"}  # <html lang> in each language

# The key pages: name -> (who looks at it, None for an anonymous visitor; its address from the demo's ids; what
# must be on it, so a check never passes on the wrong page).
KEY_PAGES = {
    "home": ("resident", lambda d: "/", "main .card h3 a"),
    "estate": ("resident", lambda d: f"/places/{d.hfc_estate}", "section[aria-labelledby=election-heading]"),
    "concern": ("resident", lambda d: f"/concerns/{d.concern}", "main form"),
    "proposal": ("resident", lambda d: f"/proposals/{d.proposal}", "main #discussion"),
    "election": ("sbd", lambda d: f"/elections/{d.sbd_election}", "main a[href$='/rounds/1/ballot']"),
    # sbd has not voted (on the shared server): the ballot with its marks
    "ballot": ("sbd", lambda d: f"/elections/{d.sbd_election}/rounds/1/ballot", "form.ballot input[name^=mark-]"),
    "results": ("resident", lambda d: f"/elections/{d.hfc_election}/rounds/1/results", "main table"),
    "published-ballots": ("resident", lambda d: f"/elections/{d.hfc_election}/rounds/1/ballots",
                          "main table tbody tr"),
    "minutes": (None, lambda d: f"/minutes/{d.minutes}", "main .minutes-body"),
    "sign-in": (None, lambda d: "/login", "main form #login"),
}


def unavailable() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if sync_playwright is None:
        return "Playwright is not installed (pip install -e '.[test]')"
    if not os.path.exists(CHROMIUM):
        return f"no Chromium at {CHROMIUM} (make test installs it when run as root)"
    return None


class E2EConfig(TestConfig):
    """The suite's settings served over real HTTP: any host and port, CSRF on as in production. Rate limits stay
    off: the suite signs in dozens of times from one address. TESTING stays on: migrations then leave the test
    process's logging alone, and an error's traceback reaches the server's log (captured with the test)."""

    SERVER_NAME = None
    WTF_CSRF_ENABLED = True


def build_demo(path: Path) -> None:
    """A fresh SQLite file: every migration (as `flask db upgrade`), then the demo street (`council.demo.seed`)."""
    import flask_migrate

    from council.demo import seed

    app = _app(path)
    with app.app_context():
        flask_migrate.upgrade()
        seed()
        db.session.commit()
        db.engine.dispose()
    with sqlite3.connect(path) as conn:  # one self-contained file (no -wal beside it), safe to rename and share
        conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database (WAL included) through SQLite's backup API."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def _app(path: Path):
    class Config(E2EConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{path}"

    return create_app(Config)


class LiveServer:
    """The app served by werkzeug on 127.0.0.1, on a free port, from a background thread."""

    def __init__(self, path: Path):
        self.path = path
        self.app = _app(path)
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.base = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="e2e-server", daemon=True)
        self._thread.start()

    def url(self, path: str = "/") -> str:
        return self.base + path

    def scalar(self, statement):
        """One value from the server's database (the test process reads the same SQLite file)."""
        with self.app.app_context():
            return db.session.scalar(statement)

    def text(self, language: str, message: str, **values) -> str:
        """A message as the app shows it in a language (from its catalogs), for assertions in either."""
        from flask_babel import force_locale, gettext

        with self.app.test_request_context(), force_locale(language):
            return gettext(message, **values)

    def in_language(self, language: str):
        """`text(message, **values)` in that language."""
        return lambda message, **values: self.text(language, message, **values)

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()


def serve_copy(template: Path, path: Path) -> LiveServer:
    """A live server on a copy of the demo database of its own, at `path`."""
    copy_database(template, path)
    return LiveServer(path)


def context_options(language: str, device: str, javascript: bool = True) -> dict:
    locale, accept = LOCALES[language]
    options = {"viewport": VIEWPORTS[device], "locale": locale, "timezone_id": "Asia/Shanghai",
               "extra_http_headers": {"Accept-Language": accept}, "java_script_enabled": javascript}
    if device == "phone":
        options.update(is_mobile=True, has_touch=True, device_scale_factor=2)
    return options


def click_through(page: Page, locator) -> None:
    """Click a link or submit button and wait for the page it leads to."""
    with page.expect_navigation():
        locator.click()


def sign_in(page: Page, server: LiveServer, login: str, password: str = PASSWORD) -> None:
    """Sign in through the sign-in form, as a person does."""
    page.goto(server.url("/login"))
    page.fill("#login", login)
    page.fill("#password", password)
    click_through(page, page.locator("main form button[type=submit]"))
    assert "/login" not in page.url, f"could not sign in as {login}"


# ---- the demo's pages, found in the server's database ----------------------------------------------------

@dataclass(frozen=True)
class DemoPages:
    """Ids of the demo records the tests visit (the demo is built fresh, so ids are looked up, not assumed)."""

    hfc_estate: int
    sbd_estate: int
    hfc_building_1: int
    concern: int
    proposal: int
    hfc_election: int
    sbd_election: int
    minutes: int


def demo_pages(server: LiveServer) -> DemoPages:
    from council.concerns.models import Concern
    from council.demo_elections import HFC_TITLE, SBD_TITLE
    from council.elections.models import Election
    from council.meetings.models import Minutes, MinutesState
    from council.proposals.models import Proposal
    from council.territory.models import Place, PlaceKind

    def estate(name: str) -> int:
        return server.scalar(sa.select(Place.id).where(Place.kind == PlaceKind.ESTATE, Place.name == name))

    hfc = estate("化肥厂小区")
    building = server.scalar(sa.select(Place.id).where(Place.parent_id == hfc, Place.name == "1号楼"))
    return DemoPages(
        hfc_estate=hfc, sbd_estate=estate("送变电家园"), hfc_building_1=building,
        # one that `resident` (1号楼) may see: about the estate or about their building
        concern=server.scalar(sa.select(Concern.id).where(Concern.place_id.in_([hfc, building]))
                              .order_by(Concern.id).limit(1)),
        proposal=server.scalar(sa.select(Proposal.id).where(Proposal.estate_id == hfc,
                                                            Proposal.published_at.is_not(None))
                               .order_by(Proposal.id).limit(1)),
        hfc_election=server.scalar(sa.select(Election.id).where(Election.title == HFC_TITLE)),
        sbd_election=server.scalar(sa.select(Election.id).where(Election.title == SBD_TITLE)),
        minutes=server.scalar(sa.select(Minutes.id).where(Minutes.state == MinutesState.PUBLISHED)
                              .order_by(Minutes.id).limit(1)),
    )
