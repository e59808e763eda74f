"""Hostile input: every text field of every form gets XSS, HTML, SQL-looking, overlong, control-character,
mixed-script and emoji text; no 500, no script or markup rendered unescaped, every refusal a clear message.

How: each group below builds a state in which its forms show (concerns in every state, proposals, votes,
meetings and minutes, an election in each phase...), signs in as whoever sees each form, GETs the pages
and collects their forms with `html.parser`. Each text-like field (text, search, tel, password, number,
date, time, textarea) is submitted with a hostile value while the other fields keep what the page shows
or a plausible valid value; then every hidden field at once gets a forged value (a script, an id too big
for the database, -1, nothing). Every answer is checked, and the page a redirect leads to: no 500, none
of the injected markup parsed as markup, a 200/400 answer to a POST carries a field error or a flash. A
NUL character is refused with the 400 page before any view reads it (PostgreSQL cannot store it). The
pages that list what was typed are read again at the end of each group.

Sampling, to keep the file under a minute on SQLite (about 1,600 submissions): every field gets the
DANGEROUS head of the corpus (script, attribute break-out, javascript: link, iframe, template syntax,
10,000 characters, NUL), plus EXTRA items taken in turn from REST as the group goes through its fields,
so a group with enough fields tries the whole corpus (checked) and each item reaches four fields or more
across the file. Number, date and time fields also get what breaks parsers (huge numbers, 1e309, NaN, year
9999 or 1). Files (photos, the owner register CSV) are tried at the end of the module.
"""
from __future__ import annotations

import csv
import io
import re
import time
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
import sqlalchemy as sa
from markupsafe import escape
from PIL import Image
from werkzeug.datastructures import MultiDict

from council.accounts.models import User
from council.ballots import publication
from council.ballots import services as polls
from council.ballots.models import Basis, RollLine
from council.ballots.rules import Choice, Rule
from council.concerns import services as concerns
from council.concerns.models import Concern
from council.concerns.rules import Category as ConcernCategory
from council.elections import counting, nominations, services, voting
from council.elections.models import Nomination
from council.elections.rules import RollObjectionKind
from council.extensions import db
from council.i18n import local_today
from council.meetings import cobuilding, console, minutes
from council.meetings import services as meetings
from council.meetings.rules import MeetingKind
from council.membership import services as membership
from council.membership.models import Membership, Relation
from council.permissions import load_standing
from council.proposals import discussion, stages
from council.proposals import services as proposals
from council.proposals.rules import Category as ProposalCategory
from council.sqltypes import utcnow
from council.territory.models import Household, Place
from tests import factories
from tests.election_helpers import appoint_tellers, call_election, slate
from tests.factories import PASSWORD
from tests.test_concerns_photos import jpeg_with_gps, png_bomb, report_with

# ---- the corpus -----------------------------------------------------------------------------------

DANGEROUS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "[click me](javascript:alert(1)) <a href=\"javascript:alert(1)\">x</a>",
    '<iframe src="https://evil.example/"></iframe><b>bold</b>',
    '{{ 7*7 }} {% if 1 %}hostile-{{ "jinja" }}{% endif %}',
    "A" * 10_000,
    "nul\x00byte",
]
REST = [
    "'><svg onload=alert(1)>",
    "javascript:alert(1)",
    "<b>bold</b>",
    "' OR 1=1 --",
    '"; DROP TABLE users; --',
    "%",
    "_",
    "\\",
    "%_%' ESCAPE '\\",
    "<script>alert(1)</script>" * 4_000,  # 100,000 characters
    "line\r\n\r\n\r\nbreaks\r\n",
    "\x1b[31mred\x1b[0m\x07\x08",
    "\u202eevil.exe\u202c gnp",
    "zero\u200d\u200bwidth\ufeff",
    "раураl",  # Cyrillic letters that look Latin
    "ＡＢＣ１２３",
    "议事厅 مجلس الحي 👍",
    "👍🏽👨‍👩‍👧‍👦",
    "𠀀𠀁𪚥",
    "🇨🇳🇺🇳🏳️‍🌈",
    "   ",
    "\t\n ",
    "99999999999999999999",
    "-1",
    "1e309",
    "NaN",
    "0",
    "13800138000",
    "resident",
]
CORPUS = DANGEROUS + REST
NUMBERS = ["99999999999999999999", "-1", "1e309", "NaN"]
DATES = ["9999-12-31", "0001-01-01", "2024-02-30"]
TIMES = ["25:61", "24:00"]
EXTRA = 2  # items from REST per field, in turn
HIDDEN = ["<script>alert(1)</script>", "99999999999999999999", "-1", ""]  # in every hidden field at once

# Injected markup that reaches a page unescaped. Escaped text shows &lt;, so these raw strings can only
# appear if a tag got through; attributes and URLs are judged on the parsed page, as a browser reads it
# (an escaped `onerror=alert` inside a value="..." is harmless text).
RAW_MARKERS = ["<script>alert(1)", "<iframe", "<b>bold</b>", "<img src=x", "<svg onload"]


class InjectedMarkup(HTMLParser):
    """Event handlers that call alert, javascript: URLs and rendered template syntax in a parsed page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            value = (value or "").strip().lower()
            if name.startswith("on") and "alert" in value:
                self.found.append(f"<{tag} {name}=...>")
            if name in ("href", "src", "action", "formaction") and value.startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:...>")

    def handle_data(self, data):
        if "hostile-jinja" in data:
            self.found.append("template syntax rendered")


def unescaped(page: str) -> list[str]:
    """What injected markup a page shows unescaped."""
    lowered = page.lower()
    checker = InjectedMarkup()
    checker.feed(page)
    checker.close()
    return [marker for marker in RAW_MARKERS if marker in lowered] + checker.found


def test_the_checker_tells_escaped_text_from_markup_that_got_through():
    for item in CORPUS:
        text = str(escape(item))
        assert not unescaped(f'<p title="{text}">{text}</p><input value="{text}"><textarea>{text}</textarea>')
    for page in ("<p><script>alert(1)</script></p>", '<p><img src=x onerror="alert(1)"></p>',
                 '<a href="javascript:alert(1)">x</a>', "<p><iframe src=https://evil.example/></iframe></p>",
                 "<p>49 hostile-jinja</p>", "<b>bold</b>", "<svg/onload=alert(1)>"):
        assert unescaped(page), page


# ---- forms, read from the pages -------------------------------------------------------------------

TEXT_TYPES = {"text", "search", "tel", "email", "password", "url", "number", "date", "time", "datetime-local",
              "textarea"}


@dataclass
class Field:
    name: str
    kind: str  # an input type, "textarea", "select" or "button"
    value: str = ""
    options: list[str] = field(default_factory=list)


@dataclass
class Form:
    action: str
    method: str
    multipart: bool
    fields: list[Field] = field(default_factory=list)

    def text_fields(self) -> list[int]:
        return [i for i, f in enumerate(self.fields) if f.kind in TEXT_TYPES]


class FormCollector(HTMLParser):
    """Every <form> of a page: action, method, and its fields with the values the page gives them."""

    def __init__(self, page_url: str):
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._text: Field | None = None  # the textarea being read
        self._select: Field | None = None
        self._radios: dict[str, Field] = {}

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._form = Form(urljoin(self.page_url, a.get("action") or self.page_url),
                              (a.get("method") or "get").lower(), "multipart" in a.get("enctype", ""))
            self._radios = {}
            self.forms.append(self._form)
            return
        form, name = self._form, a.get("name")
        if form is None or not name or "disabled" in a:
            return
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in ("radio", "checkbox"):
                known = self._radios.get(name)
                if known is None:
                    known = Field(name, kind, a.get("value", "on") if (kind == "radio" or "checked" in a) else "")
                    self._radios[name] = known
                    form.fields.append(known)
                elif "checked" in a:
                    if kind == "radio" or not known.value:
                        known.value = a.get("value", "on")
                    else:
                        form.fields.append(Field(name, kind, a.get("value", "on")))
                return
            if kind in ("submit", "image", "reset"):
                return
            form.fields.append(Field(name, kind, a.get("value", "")))
        elif tag == "textarea":
            self._text = Field(name, "textarea")
            form.fields.append(self._text)
        elif tag == "select":
            self._select = Field(name, "select")
            form.fields.append(self._select)
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            self._select.options.append(value)
            if "selected" in a or len(self._select.options) == 1:
                self._select.value = value
        elif tag == "button" and (a.get("type") or "submit") == "submit":
            if not any(f.kind == "button" for f in form.fields):
                form.fields.append(Field(name, "button", a.get("value", "")))

    def handle_data(self, data):
        if self._text is not None:
            self._text.value += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            if self._text is not None and self._text.value.startswith("\n"):
                self._text.value = self._text.value[1:]
            self._text = None
        elif tag == "select":
            self._select = None


def forms_of(page: str, url: str) -> list[Form]:
    collector = FormCollector(url)
    collector.feed(page)
    collector.close()
    return collector.forms


# ---- values for the fields that are not under test --------------------------------------------------

def _days(n: int) -> str:
    return (local_today() + timedelta(days=n)).isoformat()


# By field name: what a person would type. Fields the page fills in keep the page's value.
PLAUSIBLE = {
    "display_name": "王建国", "name": "", "name_1": "王建国", "reporter_name": "王建国",
    "password": PASSWORD, "confirm": PASSWORD, "current": PASSWORD, "new": "another horse 2",
    "login": "resident", "person": "resident", "holder": "owner12", "chair": "", "minute_taker": "",
    "title": "楼道灯不亮", "certificate_no": "沪(2020)字第0001号", "room": "909", "area": "86.5",
    "unit": "1", "department": "街道城管科", "q": "灯", "tracker": "", "into": "1", "size": "1",
    "roll_until": _days(3), "nominations_until": _days(5), "opens_on": _days(8), "closes_on": _days(9),
    "day": _days(7), "due": _days(7), "deadline": _days(7), "start": "", "end": "", "date_from": "",
    "date_to": "", "opens_time": "08:00", "closes_time": "20:00", "at": "19:30",
}
BY_KIND = {"date": _days(10), "time": "19:30", "number": "1", "password": PASSWORD}


def plausible(form_field: Field, serial: int) -> str:
    """A valid value for a field that is not under test."""
    if form_field.kind == "password":
        return PLAUSIBLE.get(form_field.name, PASSWORD)
    if form_field.value or form_field.kind not in TEXT_TYPES:
        return form_field.value
    if form_field.name == "username":
        return f"hostile{serial}"
    if form_field.name in PLAUSIBLE:
        return PLAUSIBLE[form_field.name]
    return BY_KIND.get(form_field.kind, "正常的文字")


def form_data(form: Form, targets: list[int], value: str, serial: int) -> MultiDict:
    """What the browser sends: `value` in the fields under test, the others as a person would fill them."""
    data = MultiDict()
    names = {f.name for f in form.fields}
    for i, f in enumerate(form.fields):
        if f.kind == "file" or (f.kind == "checkbox" and not f.value):
            continue
        data.add(f.name, value if i in targets else plausible(f, serial))
    if {form.fields[i].name for i in targets} & {"password", "new"} and "confirm" in names:
        data.setlist("confirm", [value])  # the same password twice: only the value itself is judged
    return data


# ---- running a group ----------------------------------------------------------------------------------

@dataclass
class Page:
    """A page whose forms are tried, and who opens it (None: nobody signed in). `fresh`: a new client,
    signed in again with the password reset, for every submission (sign-up, sign-in, password change).
    `only`: try only these endpoints' forms here, when a success would close the others (a declined concern
    takes no more steps)."""

    user: str | None
    url: str
    fresh: bool = False
    only: frozenset[str] = frozenset()  # try only these endpoints' forms (others wait for their own page)
    extra: tuple[tuple[str, str], ...] = ()  # more fields sent with every submission


# POST endpoints whose forms have no text to type; they are reached here only when a page shows them.
NO_TEXT = {"main.set_language", "accounts.logout"}
# A POST answered by a 200 page that is not a refusal: the ballot receipt with its tracker.
SUCCESS_PAGES = {"elections.ballot"}
# A field error, a flash, or the question "is it one of these?" of a concern like others already raised.
ERROR_SIGNS = ('class="error"', 'class="flash flash-', 'class="card warning" role="status"')


@dataclass
class Run:
    app: object
    clients: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    submissions: int = 0
    fields: int = 0
    endpoints: set[str] = field(default_factory=set)
    tried: set[str] = field(default_factory=set)
    serial: int = 0
    _turn: int = 0

    def client(self, user: str | None, fresh: bool = False):
        if not fresh and user in self.clients:
            return self.clients[user]
        client = self.app.test_client()
        if user is not None:
            if fresh:
                reset_password(self.app, user)
            response = client.post("/login", data={"login": user, "password": PASSWORD})
            assert response.status_code == 302, f"could not sign in as {user}"
        if not fresh:
            self.clients[user] = client
        return client

    def endpoint(self, url: str, method: str) -> str | None:
        parts = urlsplit(url)
        try:
            endpoint, _args = self.app.url_map.bind("localhost").match(parts.path, method.upper())
        except Exception:  # noqa: BLE001  (a form pointing nowhere is reported by the caller)
            return None
        return endpoint

    def items_for(self, form_field: Field) -> list[str]:
        extra = [REST[(self._turn + k) % len(REST)] for k in range(EXTRA)]
        self._turn += EXTRA
        typed = {"number": NUMBERS, "date": DATES, "time": TIMES}.get(form_field.kind, [])
        return DANGEROUS + extra + typed

    def check(self, client, response, label: str, method: str, endpoint: str, forged: bool = False,
              nul: bool = False) -> None:
        status = response.status_code
        if nul:  # refused before any view reads it, on every database (PostgreSQL cannot store it)
            if status != 400 or "Error code 400" not in response.get_data(as_text=True):
                self.problems.append(f"{label}: NUL answered {status}, not the 400 page")
            return
        if forged and status in (400, 403, 404) and "Error code" in response.get_data(as_text=True):
            return  # a forged id or kind: the friendly error page is the right answer
        if status >= 500:
            self.problems.append(f"{label}: {status}")
        if found := unescaped(response.get_data(as_text=True)):
            self.problems.append(f"{label}: unescaped {found}")
        if status in (301, 302, 303):
            try:
                landed = client.get(response.headers["Location"])
            except Exception as error:  # noqa: BLE001
                self.problems.append(f"{label}: crash after redirect {error!r}")
                return
            if landed.status_code >= 500:
                self.problems.append(f"{label}: {landed.status_code} after redirect")
            if found := unescaped(landed.get_data(as_text=True)):
                self.problems.append(f"{label}: unescaped {found} after redirect")
        elif status in (200, 400):
            page = response.get_data(as_text=True)
            if method == "post" and endpoint not in SUCCESS_PAGES and not any(s in page for s in ERROR_SIGNS):
                self.problems.append(f"{label}: {status} without a message")
        elif status == 413:
            if "Too much was sent" not in response.get_data(as_text=True):
                self.problems.append(f"{label}: 413 without the friendly page")
        elif status < 500:
            self.problems.append(f"{label}: unexpected {status}")

    def submit(self, page: Page, form: Form, endpoint: str, targets: list[int], value: str,
               forged: bool = False) -> None:
        self.serial += 1
        self.submissions += 1
        self.tried.add(value)
        client = self.client(page.user, page.fresh)
        data = form_data(form, targets, value, self.serial)
        for name, extra in page.extra:
            data.setlist(name, [extra])
        label = f"{endpoint} [{', '.join(form.fields[i].name for i in targets)}] {value[:40]!r}"
        try:
            if form.method == "get":
                response = client.get(urlsplit(form.action).path, query_string=data)
            else:
                response = client.post(form.action, data=data,
                                       content_type="multipart/form-data" if form.multipart else None)
        except Exception as error:  # noqa: BLE001  (TESTING propagates exceptions: a crash is a 500)
            self.problems.append(f"{label}: crash {error!r}")
            return
        self.check(client, response, label, form.method, endpoint, forged, nul="\x00" in value)

    def page(self, page: Page, seen: set) -> None:
        client = self.client(page.user)
        response = client.get(page.url)
        if response.status_code != 200:
            self.problems.append(f"GET {page.url} as {page.user}: {response.status_code}")
            return
        for form in forms_of(response.get_data(as_text=True), page.url):
            endpoint = self.endpoint(form.action, form.method)
            if endpoint is None:
                self.problems.append(f"{page.url}: form to {form.action} matches no route")
                continue
            texts = form.text_fields()
            key = (form.method, endpoint, tuple(form.fields[i].name for i in texts))
            if endpoint in NO_TEXT or not texts or key in seen or (page.only and endpoint not in page.only):
                continue
            seen.add(key)
            self.endpoints.add(endpoint)
            for target in texts:
                self.fields += 1
                for value in self.items_for(form.fields[target]):
                    self.submit(page, form, endpoint, [target], value)
            hidden = [i for i, f in enumerate(form.fields) if f.kind == "hidden" and f.name != "csrf_token"]
            for value in HIDDEN if hidden else ():  # ids and kinds as a forged request sends them
                self.submit(page, form, endpoint, hidden, value, forged=True)

    def look(self, user: str | None, url: str) -> None:
        """A page that lists what was typed: it must show it escaped."""
        response = self.client(user).get(url)
        if response.status_code >= 500:
            self.problems.append(f"GET {url}: {response.status_code}")
        if found := unescaped(response.get_data(as_text=True)):
            self.problems.append(f"GET {url} as {user}: unescaped {found}")


def reset_password(app, username: str) -> None:
    with app.app_context():
        db.session.execute(sa.update(User).where(User.username == username).values(password_hash=factories._HASH))
        db.session.commit()


def run_group(app, pages: list[Page], looks: list[tuple[str, str]] = ()) -> Run:
    run = Run(app)
    seen: set = set()
    for page in pages:
        run.page(page, seen)
    for user, url in looks:
        run.look(user, url)
    return run


# The endpoints whose forms each group must find and try (tests/test_routes_matrix.py names every rule;
# test_every_post_endpoint_is_tried_or_skipped below checks this list against the app).
EXPECTED = {
    "accounts": {"accounts.account", "accounts.login", "accounts.signup"},
    "territory": {
        "membership.decide", "membership.register", "owners.edit", "proposals.settings", "roles.place_roles",
        "territory.edit_household", "territory.edit_place", "territory.new_household", "territory.new_place",
    },
    "concerns": {
        "concerns.accept", "concerns.assign", "concerns.call", "concerns.comment", "concerns.decline",
        "concerns.escalate", "concerns.follow_up", "concerns.ledger", "concerns.merge", "concerns.new",
        "concerns.reported", "concerns.resolve",
    },
    "proposals": {
        "proposals.answer", "proposals.comment", "proposals.edit", "proposals.edit_comment", "proposals.hide_comment",
        "proposals.listing", "proposals.new", "proposals.open_vote", "proposals.report_comment",
    },
    "votes": {
        "ballots.answer_objection", "ballots.ballots", "ballots.objections", "ballots.paper", "ballots.record_proxy",
        "ballots.roll",
    },
    "meetings": {
        "meetings.add_action", "meetings.add_item", "meetings.archive", "meetings.check_in", "meetings.close_action",
        "meetings.cobuilding_step", "meetings.draft_minutes", "meetings.edit_minutes", "meetings.move", "meetings.new",
        "meetings.offer_task", "meetings.save_notes", "meetings.suggest_correction",
    },
    "election roll": {"elections.call", "elections.object_roll", "elections.officials", "elections.rule_roll"},
    "election nominations": {"elections.accept", "elections.nominate"},
    "election voting": {"elections.ballot", "elections.desk", "elections.record_proxy"},
    "election counting": {"elections.batch", "elections.batches"},
    "election results": {
        "elections.answer_objection", "elections.ballots", "elections.next_round", "elections.object_result",
    },
}


def assert_clean(run: Run, group: str) -> None:
    """No problem met, every expected form found, and the whole corpus tried when there were enough fields."""
    assert not run.problems, f"{len(run.problems)} problems:\n" + "\n".join(run.problems[:80])
    assert EXPECTED[group] <= run.endpoints, f"no form found for {EXPECTED[group] - run.endpoints}"
    assert set(DANGEROUS) <= run.tried
    if run.fields * EXTRA >= len(REST):
        assert set(REST) <= run.tried, set(REST) - run.tried


# ---- state in which the forms show ----------------------------------------------------------------------

def _user(username: str):
    return db.session.scalar(sa.select(User).where(User.username == username))


def _place(place_id: int) -> Place:
    return db.session.get(Place, place_id)


def concerns_state(app, world) -> dict[str, int]:
    """Concerns about building 1 in every state a handler acts on, one for each form that ends a state."""
    with app.app_context():
        resident, street = _user("resident"), _user("street_admin")

        def report(title):
            return concerns.report(_place(world.b1), resident, title, "三楼到五楼", ConcernCategory.FACILITIES)

        found = {name: report(f"楼道灯不亮{name}") for name in
                 ("open", "accept", "decline", "accepted", "started", "resolved", "called")}
        concerns.accept(found["accepted"], street)
        concerns.accept(found["started"], street)
        concerns.start(found["started"], street)
        concerns.accept(found["resolved"], street)
        concerns.start(found["resolved"], street)
        concerns.resolve(found["resolved"], street)
        for _level in range(3):  # estate → grid → community → street
            concerns.escalate(found["called"], street, "需要街道协调")
        concerns.call_department(found["called"], street, "城管科")
        db.session.commit()
        return {name: concern.id for name, concern in found.items()}


def proposals_state(app, world) -> dict[str, int]:
    """A draft, a published proposal with a fresh comment, and one on the agenda."""
    with app.app_context():
        estate, resident = _place(world.estate), _user("resident")
        draft = proposals.create(estate, resident, "建电动车棚", "**充电**安全", ProposalCategory.EBIKE_SHED)
        shown = proposals.create(estate, resident, "1号楼加装电梯", "一楼到六楼都受益", ProposalCategory.LIFT)
        proposals.publish(shown, resident)
        comment = discussion.add_comment(shown, resident, standing_of(resident), "我同意")
        agenda = proposals.create(estate, resident, "修缮屋顶", "漏水", ProposalCategory.LIFT)
        proposals.publish(agenda, resident)
        agenda.eligible_at = utcnow()
        stages.put_on_agenda(agenda, _user("secretary"))
        db.session.commit()
        return dict(draft=draft.id, shown=shown.id, comment=comment.id, agenda=agenda.id)


def standing_of(user):
    return load_standing(user.id, user.is_site_admin)


def _owner(username: str, household_id: int, relation=Relation.OWNER):
    person = factories.person(username)
    membership.approve(membership.request_join(person, db.session.get(Household, household_id), relation), person)
    return person


def votes_state(app, world) -> dict[str, int]:
    """Three proposals put to the vote: one open (named, Art. 278), one open and secret (paper batches), and
    one secret vote closed yesterday, with an objection waiting for an answer."""
    with app.app_context():
        estate, resident, secretary = _place(world.estate), _user("resident"), _user("secretary")
        _owner("owner12", world.h12)
        _owner("owner21", world.h21)

        def on_agenda(title):
            proposal = proposals.create(estate, resident, title, "", ProposalCategory.LIFT)
            proposals.publish(proposal, resident)
            proposal.eligible_at = utcnow()
            stages.put_on_agenda(proposal, secretary)
            return proposal

        named = stages.open_vote(on_agenda("1号楼加装电梯"), secretary, Rule.CIVIL_CODE_278_ORDINARY, Basis.OWNERS,
                                 False, utcnow() + timedelta(days=7))
        secret = stages.open_vote(on_agenda("建电动车棚"), secretary, Rule.SIMPLE_MAJORITY, Basis.HOUSEHOLDS, True,
                                  utcnow() + timedelta(days=7))
        polls.check_off(secret, _line(secret, world.h21), secretary)
        start = utcnow() - timedelta(days=8)
        db.session.execute(sa.update(Membership).values(decided_at=start - timedelta(days=1)))  # members then
        closed = stages.open_vote(on_agenda("修缮屋顶"), secretary, Rule.SIMPLE_MAJORITY, Basis.HOUSEHOLDS, True,
                                  start + timedelta(days=7), now=start, objection_days=5)
        polls.cast(closed, _line(closed, world.h11), Choice.FOR, resident, now=start + timedelta(days=1))
        polls.close(closed, None, start + timedelta(days=7))
        objection = publication.lodge(closed, resident, "计票有误")
        db.session.commit()
        return dict(named=named.id, secret=secret.id, closed=closed.id, objection=objection.id)


def _line(poll, household_id):
    return db.session.scalar(sa.select(RollLine).where(RollLine.poll_id == poll.id,
                                                       RollLine.household_id == household_id))


def meetings_state(app, world) -> dict[str, int]:
    """A draft meeting; a published joint meeting with an item, an attendee, an action, a co-building task
    and draft minutes; a past meeting with published minutes the resident attended."""
    with app.app_context():
        estate, secretary, resident = _place(world.estate), _user("secretary"), _user("resident")
        soon = utcnow() + timedelta(days=7)
        draft = meetings.schedule(estate, secretary, MeetingKind.FRIDAY, "相约星期五", soon, "居委会议室")
        meetings.add_free(draft, "楼道杂物", "服务队", 10)
        joint = meetings.schedule(estate, secretary, MeetingKind.JOINT, "共建联席会", soon + timedelta(hours=1),
                                  "会议室")
        item = meetings.add_free(joint, "停车难", "物业", 10)
        meetings.publish(joint, secretary)
        console.check_in(joint, secretary, resident)
        console.add_action(joint, secretary, "清理楼道", local_today() + timedelta(days=5), owner=_user("team"),
                           item=item)
        cobuilding.offer(joint, secretary, "修建自行车棚")
        draft_minutes = minutes.draft(joint, secretary)
        held = meetings.schedule(estate, secretary, MeetingKind.FRIDAY, "上周例会", soon + timedelta(hours=2), "会议室")
        meetings.publish(held, secretary)
        console.check_in(held, secretary, resident)
        published = minutes.draft(held, secretary)
        minutes.approve(published, secretary)
        minutes.publish(published, secretary)
        db.session.commit()
        return dict(draft=draft.id, joint=joint.id, held=held.id, draft_minutes=draft_minutes.id,
                    published=published.id)


def people_state(app, world) -> dict[str, int]:
    """A request to join waiting for a decision."""
    with app.app_context():
        entry = membership.request_join(_user("newcomer"), db.session.get(Household, world.h12), Relation.TENANT)
        db.session.commit()
        return dict(request=entry.id)


def election(app, world, days: float, nominate=False, slate_of=0, tellers=(), paper=False, count=False,
             objection=False) -> dict[str, int]:
    """An election at the estate called `days` ago (see tests/election_helpers.py for its calendar)."""
    with app.app_context():
        setup = call_election(world, start=utcnow() - timedelta(days=days))
        found = dict(election=setup.election.id)
        resident = _user("resident")
        if days < 3:  # the roll is posted: an objection waits for a ruling
            services.object_to_roll(setup.election, resident, RollObjectionKind.MOVED, "他已搬走",
                                    line=_roll_line(setup, setup.voters[0]))
            found["line"] = _roll_line(setup, setup.voters[2]).id
        if nominate:
            mine = nominations.nominate(setup.election, resident, resident)
            found["nomination"] = mine.id
        if slate_of:
            slate(setup, slate_of)
        if tellers:
            appoint_tellers(setup, *tellers)
        round_ = services.latest_round(setup.election)
        if paper:  # two paper ballots handed out, one batch of one taken to enter
            for voter in setup.voters[1:3]:
                voting.check_off(setup.election, round_, _roll_line(setup, voter), _user(tellers[0]),
                                 now=setup.at("voting"))
            voting.start_batch(setup.election, round_, 1, _user(tellers[0]))
        if count:
            counting.count(setup.election, round_, _user("committee"), now=setup.at("counting"))
            if objection:
                lodged = publication.lodge(services.poll_of(round_), resident, "计票有误",
                                           now=setup.at("counting") + timedelta(hours=1))
                found["objection"] = lodged.id
        db.session.commit()
        return found


def _roll_line(setup, person) -> RollLine:
    poll = services.first_poll(setup.election)
    return db.session.scalar(sa.select(RollLine).where(RollLine.poll_id == poll.id, RollLine.user_id == person.id))


# ---- the groups: who opens which page ---------------------------------------------------------------------

def test_accounts(app, world):
    run = run_group(app, [Page(None, "/signup", fresh=True), Page(None, "/login", fresh=True),
                          Page("newcomer", "/account", fresh=True)])
    assert_clean(run, "accounts")


def test_territory_people_roles_and_owners(app, world):
    w = world
    people_state(app, world)
    run = run_group(app, [
        Page("siteadmin", "/streets/new"),
        Page("estate_admin", f"/places/{w.estate}/edit"),
        Page("estate_admin", f"/places/{w.estate}/new/building"),
        Page("estate_admin", f"/places/{w.b1}/households/new"),
        Page("estate_admin", f"/households/{w.h12}/edit"),
        Page("estate_admin", f"/places/{w.estate}/requests"),
        Page("estate_admin", f"/households/{w.h11}"),
        Page("estate_admin", f"/places/{w.estate}/roles"),
        Page("estate_admin", f"/households/{w.h11}/owners"),
        Page("estate_admin", f"/places/{w.estate}/proposals/settings"),
        Page("estate_admin", f"/places/{w.estate}"),
        Page("siteadmin", "/places"),
    ], looks=[("estate_admin", f"/places/{w.estate}"), ("resident", f"/places/{w.b1}"),
              ("estate_admin", f"/households/{w.h11}"), ("estate_admin", f"/places/{w.b1}/owners"),
              ("estate_admin", f"/places/{w.estate}/activity"), ("newcomer", "/my/households")])
    assert_clean(run, "territory")


def test_concerns(app, world):
    w, c = world, concerns_state(app, world)
    staff = "street_admin"  # handles the concern at every level it is escalated to
    run = run_group(app, [
        Page("resident", f"/places/{w.b1}/concerns/new"),
        Page("team", f"/places/{w.b1}/concerns/new?for=resident", extra=(("confirmed", "y"),)),
        Page("resident", f"/concerns/{c['open']}", only=frozenset({"concerns.comment"})),
        Page(staff, f"/concerns/{c['accept']}", only=frozenset({"concerns.accept"})),
        Page(staff, f"/concerns/{c['decline']}", only=frozenset({"concerns.decline"})),
        Page(staff, f"/concerns/{c['open']}", only=frozenset({"concerns.merge", "concerns.escalate"})),
        Page(staff, f"/concerns/{c['accepted']}", only=frozenset({"concerns.assign"})),
        Page(staff, f"/concerns/{c['started']}", only=frozenset({"concerns.resolve"})),
        Page(staff, f"/concerns/{c['resolved']}", only=frozenset({"concerns.follow_up"})),
        Page(staff, f"/concerns/{c['called']}"),
        Page("team", f"/places/{w.estate}/ledger"),
    ], looks=[("resident", f"/places/{w.b1}/concerns"), ("team", f"/places/{w.estate}/queue"),
              ("team", f"/places/{w.estate}/ledger"), ("team", f"/places/{w.estate}/ledger/print"),
              *[("resident", f"/concerns/{cid}") for cid in c.values()], ("resident", "/inbox")])
    assert_clean(run, "concerns")


def test_proposals(app, world):
    w, p = world, proposals_state(app, world)
    run = run_group(app, [
        Page("resident", f"/places/{w.estate}/proposals/new"),
        Page("resident", f"/proposals/{p['draft']}/edit"),
        Page("resident", f"/proposals/{p['shown']}"),
        Page("resident", f"/proposals/{p['shown']}/comments/{p['comment']}/edit"),
        Page("secretary", f"/proposals/{p['shown']}"),
        Page("secretary", f"/proposals/{p['agenda']}/vote"),
        Page("resident", f"/places/{w.estate}/proposals"),
    ], looks=[("resident", f"/places/{w.estate}/proposals"), ("resident", f"/proposals/{p['shown']}"),
              ("secretary", f"/proposals/{p['shown']}"), ("resident", f"/proposals/{p['draft']}"),
              ("resident", f"/places/{w.estate}")])
    assert_clean(run, "proposals")


def test_votes(app, world):
    v = votes_state(app, world)
    run = run_group(app, [
        Page("secretary", f"/votes/{v['named']}/roll"),
        Page("secretary", f"/votes/{v['secret']}/paper"),
        Page("resident", f"/votes/{v['closed']}/objections"),
        Page("secretary", f"/votes/{v['closed']}/objections"),
        Page("resident", f"/votes/{v['closed']}/ballots"),
    ], looks=[("resident", f"/votes/{v['closed']}/objections"), ("resident", f"/votes/{v['named']}"),
              ("secretary", f"/votes/{v['named']}/proxies"), ("secretary", f"/votes/{v['named']}/roll")])
    assert_clean(run, "votes")


def test_meetings(app, world):
    w, m = world, meetings_state(app, world)
    run = run_group(app, [
        Page("secretary", f"/places/{w.estate}/meetings/new"),
        Page("secretary", f"/meetings/{m['draft']}"),
        Page("secretary", f"/meetings/{m['draft']}/move"),
        Page("secretary", f"/meetings/{m['joint']}"),
        Page("secretary", f"/meetings/{m['joint']}/console"),
        Page("secretary", f"/places/{w.estate}/actions"),
        Page("secretary", f"/minutes/{m['draft_minutes']}/edit"),
        Page("resident", f"/minutes/{m['draft_minutes']}"),
        Page("secretary", f"/minutes/{m['published']}"),
        Page("secretary", f"/meetings/{m['held']}"),
        Page("secretary", f"/places/{w.estate}/cobuilding"),
        Page("resident", f"/places/{w.estate}/minutes"),
    ], looks=[("resident", f"/places/{w.estate}/meetings"), ("resident", f"/meetings/{m['joint']}"),
              ("secretary", f"/meetings/{m['joint']}/console"), ("resident", f"/minutes/{m['published']}"),
              ("secretary", f"/minutes/{m['draft_minutes']}"), ("secretary", f"/places/{w.estate}/cobuilding"),
              ("resident", f"/meetings/{m['draft']}.ics"), ("resident", f"/places/{w.estate}/meetings.ics")])
    assert_clean(run, "meetings")


def test_election_roll(app, world):
    w, e = world, election(app, world, 1)
    eid = e["election"]
    run = run_group(app, [
        Page("committee", f"/estates/{w.estate2}/elections/new"),
        Page("committee", f"/elections/{eid}/officials"),
        Page("committee", f"/elections/{eid}/roll"),
        Page("resident", f"/elections/{eid}/roll?object={e['line']}"),
    ], looks=[("resident", f"/elections/{eid}/roll"), ("resident", f"/elections/{eid}"),
              ("committee", f"/elections/{eid}/officials"), ("resident", f"/estates/{w.estate}/elections")])
    assert_clean(run, "election roll")


def test_election_nominations(app, world):
    e = election(app, world, 4, nominate=True)
    eid = e["election"]
    run = run_group(app, [
        Page("resident", f"/elections/{eid}/nominations/{e['nomination']}/accept"),
        Page("resident", f"/elections/{eid}/nominations"),
    ], looks=[("resident", f"/elections/{eid}/nominations"), ("committee", f"/elections/{eid}/nominations")])
    assert_clean(run, "election nominations")


def test_election_voting(app, world):
    e = election(app, world, 8.5, slate_of=9, tellers=("team",))
    eid = e["election"]
    run = run_group(app, [
        Page("resident", f"/elections/{eid}/rounds/1/ballot"),
        Page("team", f"/elections/{eid}/rounds/1/desk"),
    ], looks=[("resident", f"/elections/{eid}"), ("resident", f"/elections/{eid}/rounds/1/proxies")])
    assert_clean(run, "election voting")


def test_election_counting(app, world):
    e = election(app, world, 9.5, slate_of=9, tellers=("team",), paper=True)
    eid = e["election"]
    run = run_group(app, [
        Page("team", f"/elections/{eid}/rounds/1/batches/1"),
        Page("team", f"/elections/{eid}/rounds/1/batches"),
    ])
    assert_clean(run, "election counting")


def test_election_results(app, world):
    e = election(app, world, 10.5, slate_of=9, count=True, objection=True)
    eid = e["election"]
    run = run_group(app, [
        Page("resident", f"/elections/{eid}/rounds/1/results"),
        Page("committee", f"/elections/{eid}/rounds/1/results"),
        Page("committee", f"/elections/{eid}/next-round"),
        Page("resident", f"/elections/{eid}/rounds/1/ballots"),
    ], looks=[("resident", f"/elections/{eid}/rounds/1/results"), ("resident", f"/elections/{eid}/rounds/1/notice"),
              ("resident", f"/elections/{eid}")])
    assert_clean(run, "election results")


# POST endpoints with no text to type (buttons, radio choices, a checkbox, a file), so not tried here.
SKIPPED = {
    "accounts.logout": "a button",
    "main.set_language": "a choice of three languages; `next` is checked by main.safe_next",
    "concerns.support": "a button", "concerns.start": "a button", "concerns.close": "a button",
    "proposals.publish": "a button", "proposals.withdraw": "a button", "proposals.cosign": "a button",
    "proposals.follow": "a button", "proposals.unfollow": "a button", "proposals.put_on_agenda": "a button",
    "proposals.start": "a button", "proposals.finish": "a button",
    "ballots.cast": "radio choices (tests/test_ballots_choice_flow.py sends foreign values)",
    "ballots.check_off": "a radio choice", "ballots.declined": "a button", "ballots.clear_proxy": "a button",
    "meetings.add_concern": "a button", "meetings.add_proposal": "a button", "meetings.change_item": "a button",
    "meetings.publish": "a button", "meetings.cancel": "a button", "meetings.rsvp": "yes or no",
    "meetings.decide_correction": "a button", "meetings.minutes_step": "a button",
    "membership.join_household": "a radio choice", "membership.withdraw": "a button",
    "membership.representative": "a button", "membership.end": "a button", "membership.claim_code": "a button",
    "membership.party_add": "a checkbox", "membership.party_end": "a button", "roles.revoke": "a button",
    "notifications.open_one": "a button", "notifications.read_all": "a button",
    "owners.import_register": "a CSV file: see test_hostile_owner_register_file",
    "elections.second": "a button", "elections.withdraw": "a button", "elections.remove_official": "a button",
    "elections.publish_slate": "a button", "elections.check_off": "a button", "elections.join_batch": "a button",
    "elections.remove_entry": "a button", "elections.count": "a button", "elections.finish": "a button",
}


def test_every_post_endpoint_is_tried_or_skipped(app):
    posts = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in rule.methods}
    tried = set().union(*EXPECTED.values())
    assert not tried & set(SKIPPED)
    assert posts - tried == set(SKIPPED), "a new POST endpoint: add its page to a group, or to SKIPPED"


# ---- files ----------------------------------------------------------------------------------------------

OWNER_COLUMNS = ["building", "unit", "room", "certificate_no", "owner_name", "owner_mobile", "owner_login", "caster",
                 "kind", "area"]


def _register(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([OWNER_COLUMNS, *rows])
    return out.getvalue().encode("utf-8")


def _upload(client, estate_id: int, content: bytes):
    return client.post(f"/places/{estate_id}/owners/import", content_type="multipart/form-data",
                       data={"file": (io.BytesIO(content), "owners.csv")})


def test_hostile_owner_register_file(app, world, login):
    """The owner register CSV with the corpus in every column (and a cell over the csv module's 128 KB field
    limit, a NUL, a lone quote): a report of what is wrong, never a 500 or markup; then a valid file whose
    names are hostile shows them escaped and exports them so no spreadsheet runs them as a formula."""
    client = login("committee")
    valid = ["1号楼", "1", "101", "沪(2020)字第0001号", "王建国", "", "", "", "", ""]
    rows = []
    for column in range(len(OWNER_COLUMNS)):
        for item in [*DANGEROUS, "=HYPERLINK(\"https://evil.example\")", "x" * 200_000]:
            row = list(valid)
            row[column] = item
            rows.append(row)
    problems = []
    for content in (_register(rows), _register([valid]) + b'1\xe5\x8f\xb7\xe6\xa5\xbc,"1,101\n',
                    _register([valid, ["1号楼", "1", "102", "A\x00B", "李\x00四", "", "", "", "", ""]])):
        response = _upload(client, world.estate, content)
        if response.status_code not in (302, 400) or unescaped(response.text):
            problems.append((response.status_code, unescaped(response.text)))
    assert not problems
    hostile_name = '=HYPERLINK("https://evil.example")<script>alert(1)</script>'
    response = _upload(client, world.estate, _register([["1号楼", "1", "102", "沪(2020)字第0002号", hostile_name,
                                                          "", "", "", "", ""]]))
    assert response.status_code == 302
    page = client.get(f"/places/{world.b1}/owners").text
    assert "&lt;script&gt;alert(1)" in page and not unescaped(page)
    exported = client.get(f"/places/{world.estate}/owners.csv").get_data(as_text=True)
    cells = [cell for row in csv.reader(io.StringIO(exported.lstrip("\ufeff"))) for cell in row]
    assert "'" + hostile_name in cells and not [c for c in cells if c.startswith("=")]


MB = 1024 * 1024
NOT_AN_IMAGE = "Photos must be JPEG or PNG images."
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" '
       b'onload="alert(1)"><script>alert(1)</script></svg>')
HTML = b"<!doctype html><html><body><script>alert(1)</script><img src=x onerror=alert(1)></body></html>"
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 40), (0, 120, 0)).save(out, "GIF")
    return out.getvalue()


BAD_PHOTOS = [  # (what, file name, browser's content type, bytes (made lazily), words of the refusal)
    ("PDF named .jpg", "me.jpg", "image/jpeg", lambda: PDF, NOT_AN_IMAGE),
    ("HTML page named .jpg", "me.jpg", "image/jpeg", lambda: HTML, NOT_AN_IMAGE),
    ("SVG with a script named .png", "me.png", "image/png", lambda: SVG, NOT_AN_IMAGE),
    ("GIF named .png", "me.png", "image/png", _gif, NOT_AN_IMAGE),
    ("6 MB JPEG", "me.jpg", "image/jpeg", lambda: jpeg_with_gps() + b"\x00" * (6 * MB), "at most 5 MB"),
    ("PNG declaring 20000 x 20000", "me.png", "image/png", lambda: png_bomb(20000, 20000), "This image is too large"),
]


@pytest.mark.parametrize("what, name, kind, make, words", BAD_PHOTOS, ids=[b[0] for b in BAD_PHOTOS])
def test_candidate_photo_that_is_not_a_photo_is_refused(app, world, login, what, name, kind, make, words):
    e = election(app, world, 4, nominate=True)
    url = f"/elections/{e['election']}/nominations/{e['nomination']}/accept"
    started = time.perf_counter()
    response = login("resident").post(url, content_type="multipart/form-data", data={
        "statement": "我愿意为邻居服务", "contact": "", "photo": (io.BytesIO(make()), name, kind)})
    assert time.perf_counter() - started < 5
    assert response.status_code == 400, what
    assert re.search(r'id="photo-error">[^<]*' + re.escape(words), response.text), what
    assert not unescaped(response.text)
    with app.app_context():  # neither the acceptance nor the photo was kept
        nomination = db.session.get(Nomination, e["nomination"])
        assert nomination.accepted_at is None and not nomination.has_photo and nomination.photo is None


def test_candidate_photo_over_the_request_limit_gets_the_friendly_page(app, world, login):
    e = election(app, world, 4, nominate=True)
    url = f"/elections/{e['election']}/nominations/{e['nomination']}/accept"
    big = io.BytesIO(b"\xff\xd8" + b"\x00" * (app.config["MAX_CONTENT_LENGTH"] + MB))
    response = login("resident").post(url, content_type="multipart/form-data", data={
        "statement": "我愿意为邻居服务", "contact": "", "photo": (big, "me.jpg", "image/jpeg")})
    assert response.status_code == 413 and "Too much was sent" in response.text
    with app.app_context():
        assert db.session.get(Nomination, e["nomination"]).accepted_at is None


@pytest.mark.parametrize("what, name, kind, body", [("HTML page named .jpg", "a.jpg", "image/jpeg", HTML),
                                                    ("SVG with a script named .png", "a.png", "image/png", SVG)],
                         ids=["html", "svg"])
def test_concern_photo_that_is_markup_is_refused(app, world, login, what, name, kind, body):
    """tests/test_concerns_photos.py refuses text, PDF, GIF, big files and bombs; markup too."""
    response = report_with(login("resident"), world.b1, [(body, name, kind)])
    assert response.status_code == 400 and NOT_AN_IMAGE in response.text and 'id="photos-error"' in response.text
    assert not unescaped(response.text)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Concern.id))) == 0
