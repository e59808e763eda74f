"""Small steps shared by the concern and proposal flows: each language on each device, the browser taking on a demo
person's session (stored cookies: signing in is not what these flows test), what a person reads on a page (the
heading, the status badge, the flash messages, the fact lists) in one round trip, and dates as the app shows them."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import pytest

# Each flow runs in both languages and on both screens: Chinese on a phone (most residents) and English on a
# desktop. The full cross product doubled the browser suite's time for layouts that depend on the screen, not
# the language (the key pages are checked in both languages on a phone by test_pages and test_no_javascript).
LANGUAGE_AND_DEVICE = [("zh_Hans", "phone"), ("en", "desktop")]
both_languages_and_devices = pytest.mark.parametrize(("language", "device"), LANGUAGE_AND_DEVICE)

# What a person reads on the page, in one round trip to the browser (each query is one; a flow makes dozens):
# the heading, the status badge under it, the flash messages, and every fact list as {label: value}.
_SEEN = """() => {
  const text = (el) => el ? el.innerText.trim() : null;
  const facts = {};
  for (const dt of document.querySelectorAll('main dl.facts dt')) {
    const label = dt.textContent.trim();
    if (!(label in facts)) facts[label] = text(dt.nextElementSibling);
  }
  return {
    h1: text(document.querySelector('main h1')),
    badge: text(document.querySelector('main h1 + p .badge')),
    flashes: [...document.querySelectorAll('main .flash-success')].map(text),
    errors: [...document.querySelectorAll('main .flash-error')].map(text),
    facts,
  };
}"""


@dataclass(frozen=True)
class Seen:
    h1: str | None
    badge: str | None  # the status badge under the heading (a concern's status, a proposal's state)
    flashes: list[str]
    errors: list[str]
    facts: dict[str, str | None]  # every <dt> of the page's fact lists and the <dd> after it

    @property
    def flash(self) -> str:
        """The one success message the last step left."""
        assert len(self.flashes) == 1, f"expected one success message, found {self.flashes}; errors: {self.errors}"
        return self.flashes[0]


def seen(page) -> Seen:
    return Seen(**page.evaluate(_SEEN))


def visit_as(page, signed_in, login: str, url: str) -> Seen:
    """The same browser, now with a demo person's session (their stored cookies: signing in is not what these
    flows test, and one browser context is far cheaper than one per person), opened at `url`."""
    page.context.clear_cookies()
    page.context.add_cookies(signed_in(login)["cookies"])
    response = page.goto(url)
    assert response.status == 200 and page.url == url, (login, response.status, page.url)
    return seen(page)


def compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def row(server, statement) -> tuple:
    """One row from the server's database, as a plain tuple (the test process reads the same SQLite file)."""
    from council.extensions import db

    with server.app.app_context():
        return tuple(db.session.execute(statement).one())


def local_today(server) -> date:
    """Today where the estates are (the app's time zone): deadlines and closing days are days there."""
    from council import i18n

    with server.app.app_context():
        return i18n.local_today()


def date_as_shown(server, language: str, day: date) -> str:
    """A date as the app writes it in a language (its `date` filter)."""
    from flask_babel import force_locale

    from council.i18n import fmt_date

    with server.app.test_request_context(), force_locale(language):
        return fmt_date(day)
