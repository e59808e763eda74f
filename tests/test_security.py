"""Web hardening: security headers on every page, no inline script or style anywhere, Secure cookies and
HSTS over HTTPS, the client's address behind a proxy, password rules, and rate limits on every POST and on
casting ballots (in memory, and shared through the local Redis)."""
from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from council import create_app
from council.accounts import passwords
from council.accounts.passwords import Problem, password_problem
from council.config import TestConfig
from council.extensions import limiter
from tests.factories import PASSWORD
from tests.helpers import needs_redis

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


# ---- headers and pages ---------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/login", "/", "/no/such/page", "/static/css/council.css"])
def test_every_response_carries_the_security_headers(client, path):
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "object-src 'none'" in csp
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in headers  # plain HTTP: no HSTS promise


def test_signed_in_pages_carry_them_too(world, login):
    page = login("resident").get(f"/places/{world.estate}")
    assert page.status_code == 200 and "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_no_template_has_inline_script_style_or_event_handlers():
    """What the policy forbids is never written: no <script>, no <style>, no style= or on...= attribute."""
    found = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for pattern in (r"<script", r"<style", r"<[^>]*\sstyle=", r"<[^>]*\son[a-z]+\s*=", r"javascript:"):
            if re.search(pattern, text, re.IGNORECASE):
                found.append((path.name, pattern))
    assert found == []


@pytest.fixture
def https_app(database_uri):
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_uri
        PREFERRED_URL_SCHEME = "https"
        TRUSTED_PROXIES = 1

    return create_app(Config)


def test_over_https_cookies_are_secure_and_hsts_is_sent(https_app, world):
    client = https_app.test_client()
    response = client.post("/login", data={"login": "resident", "password": PASSWORD, "remember": "y"},
                           base_url="https://localhost")
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies and all("Secure" in c and "HttpOnly" in c and "SameSite=Lax" in c for c in cookies)
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_behind_a_proxy_the_forwarded_scheme_and_address_count(https_app):
    seen = {}

    @https_app.get("/__who")
    def who():
        from flask import request
        seen.update(addr=request.remote_addr, scheme=request.scheme)
        return "ok"

    https_app.test_client().get("/__who", headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"})
    assert seen == {"addr": "203.0.113.9", "scheme": "https"}


def test_plain_http_cookies_are_httponly_and_lax(world, client):
    response = client.post("/login", data={"login": "resident", "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


# ---- passwords ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("password", "logins", "problem"), [
    ("Tq7#mZ2x", (), None), ("Tq7#mZ2", (), Problem.TOO_SHORT), ("x" * 129 + "y", (), Problem.TOO_LONG),
    ("password", (), Problem.COMMON), ("12345678", (), Problem.COMMON), ("Woaini1314", (), Problem.COMMON),
    ("qq123456", (), Problem.COMMON), ("aaaaaaaaaa", (), Problem.ONE_CHARACTER),
    ("zhou13800138000!", ("zhou_lh", "13800138000"), Problem.LIKE_LOGIN),
    ("my-zhou_lh-pw", ("zhou_lh", None), Problem.LIKE_LOGIN),
    ("梧桐树下的长椅", (), Problem.TOO_SHORT), ("梧桐树下的长椅很旧", (), None),
])
def test_password_rules(password, logins, problem):
    assert password_problem(password, logins) is problem


@given(st.text(min_size=0, max_size=20))
def test_password_length_boundary(text):
    """Shorter than 8 characters is always refused for length first; 8 or more never for length."""
    problem = password_problem(text)
    assert (problem is Problem.TOO_SHORT) == (len(text) < passwords.MIN_LENGTH)


def test_sign_up_and_password_change_refuse_common_passwords(app, world, client, login):
    page = client.post("/signup", data={"display_name": "新邻居", "username": "newbie", "password": "12345678",
                                        "confirm": "12345678"})
    assert page.status_code == 200 and "first that anyone would guess" in page.text
    account = login("resident").post("/account", data={"current": PASSWORD, "new": "iloveyou",
                                                      "confirm": "iloveyou"})
    assert "first that anyone would guess" in account.text
    # The old password still works: nothing was changed.
    assert login("resident")


def test_create_admin_refuses_a_weak_password(app):
    result = app.test_cli_runner().invoke(args=["council", "create-admin", "--username", "boss", "--name", "管理员",
                                                "--password", "password1"])
    assert result.exit_code != 0 and "refused" in result.output


# ---- rate limits ------------------------------------------------------------------------------------

def _limited(database_uri, **settings):
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_uri
        RATELIMIT_ENABLED = True
    for key, value in settings.items():
        setattr(Config, key, value)
    return create_app(Config)


@pytest.fixture
def reset_limiter():
    yield
    limiter.reset()
    limiter.enabled = False  # the limiter is shared: leave it off for the other tests


def test_every_post_counts_towards_a_per_person_limit(database_uri, world, reset_limiter):
    app = _limited(database_uri, POST_LIMIT="4 per minute")
    limiter.reset()
    client = app.test_client()
    assert client.post("/login", data={"login": "resident", "password": PASSWORD}).status_code == 302
    statuses = [client.post("/language", data={"lang": "en"}).status_code for _ in range(5)]
    assert 429 not in statuses[:4] and statuses[4] == 429  # the sign-in counted for the address, not the person
    # Another person from the same address is counted on their own.
    other = app.test_client()
    assert other.post("/login", data={"login": "leader", "password": PASSWORD}).status_code == 302
    assert other.post("/language", data={"lang": "en"}).status_code != 429


def test_reading_pages_is_never_counted(database_uri, world, reset_limiter):
    """Every limit is on posting: however many pages a person reads, their posts still have their whole limit."""
    app = _limited(database_uri, POST_LIMIT="3 per minute")
    limiter.reset()
    client = app.test_client()
    assert client.post("/login", data={"login": "resident", "password": PASSWORD}).status_code == 302
    assert {client.get(f"/places/{world.estate}").status_code for _ in range(6)} == {200}
    statuses = [client.post("/language", data={"lang": "en"}).status_code for _ in range(4)]
    assert 429 not in statuses[:3] and statuses[3] == 429


def test_casting_has_its_own_lower_limit(database_uri, world, reset_limiter):
    app = _limited(database_uri, VOTE_LIMIT="2 per minute")
    limiter.reset()
    client = app.test_client()
    client.post("/login", data={"login": "resident", "password": PASSWORD})
    statuses = [client.post("/votes/999999/lines/1/cast").status_code for _ in range(3)]
    assert statuses == [404, 404, 429]


def test_a_cast_counts_against_the_vote_limit_only(database_uri, world, reset_limiter):
    """A cast is limited by VOTE_LIMIT alone (one counter per cast, not three): it leaves the person's POST_LIMIT
    whole for everything else."""
    app = _limited(database_uri, POST_LIMIT="2 per minute", VOTE_LIMIT="4 per minute")
    limiter.reset()
    client = app.test_client()
    client.post("/login", data={"login": "resident", "password": PASSWORD})
    casts = [client.post("/votes/999999/lines/1/cast").status_code for _ in range(5)]
    casts += [client.post("/elections/999999/rounds/1/ballot").status_code for _ in range(3)]
    assert casts == [404, 404, 404, 404, 429, 404, 404, 404]  # each form of ballot has its own counter
    assert [client.post("/language", data={"lang": "en"}).status_code for _ in range(3)] == [302, 302, 429]
    # No X-RateLimit-* headers (RATELIMIT_HEADERS_ENABLED): each would cost a POST another read of its counters.
    assert not [h for h in client.post("/votes/999999/lines/1/cast").headers.keys() if "ratelimit" in h.lower()]


def test_every_part_of_the_vote_limit_counts_and_a_person_is_counted_apart(database_uri, world, reset_limiter):
    """VOTE_LIMIT may name several limits (as POST_LIMIT does): the tightest refuses, whichever it is; another
    person is counted on their own, and anyone not signed in by their address."""
    app = _limited(database_uri, VOTE_LIMIT="10 per minute;3 per hour")
    limiter.reset()
    client, other, anonymous = app.test_client(), app.test_client(), app.test_client()
    client.post("/login", data={"login": "resident", "password": PASSWORD})
    other.post("/login", data={"login": "leader", "password": PASSWORD})
    assert [client.post("/votes/999999/lines/1/cast").status_code for _ in range(4)] == [404, 404, 404, 429]
    assert other.post("/votes/999999/lines/1/cast").status_code == 404
    assert [anonymous.post("/votes/999999/lines/1/cast").status_code for _ in range(4)][-1] == 429
    assert client.get("/places/%d" % world.estate).status_code == 200  # reading is never refused


def test_casts_are_not_counted_with_rate_limits_off(database_uri, world, reset_limiter):
    app = _limited(database_uri, VOTE_LIMIT="1 per minute", RATELIMIT_ENABLED=False)
    client = app.test_client()
    client.post("/login", data={"login": "resident", "password": PASSWORD})
    assert {client.post("/votes/999999/lines/1/cast").status_code for _ in range(3)} == {404}


def test_a_cast_with_the_counters_unreachable_fails_unless_told_to_let_it_through(database_uri, world,
                                                                                    reset_limiter):
    """As Flask-Limiter does for every other POST: an error (500), or with RATELIMIT_SWALLOW_ERRORS the cast goes
    on uncounted (here to the sign-in page: no one is signed in)."""
    nowhere = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        strict = _limited(database_uri, RATELIMIT_STORAGE_URI=nowhere).test_client()
        with pytest.raises(Exception, match="(?i)connect"):
            strict.post("/votes/999999/lines/1/cast")
        lenient = _limited(database_uri, RATELIMIT_STORAGE_URI=nowhere, RATELIMIT_SWALLOW_ERRORS=True).test_client()
        assert lenient.post("/votes/999999/lines/1/cast").status_code == 302
    finally:
        _limited(database_uri)  # the shared limiter back on memory://, for the fixture to reset


def test_limits_are_shared_between_processes_through_redis(database_uri, world, reset_limiter):
    """Another process (as another gunicorn worker) on the same Redis counts the same person's POSTs."""
    needs_redis("redis://127.0.0.1:6379/15")
    settings = dict(POST_LIMIT="3 per minute", RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/15",
                    RATELIMIT_KEY_PREFIX=f"council-test-{uuid.uuid4().hex}")
    worker = textwrap.dedent(f"""
        from council import create_app
        from council.config import TestConfig

        class Config(TestConfig):
            SQLALCHEMY_DATABASE_URI = {database_uri!r}
            RATELIMIT_ENABLED = True
        for key, value in {settings!r}.items():
            setattr(Config, key, value)
        client = create_app(Config).test_client()
        client.post("/login", data={{"login": "resident", "password": {PASSWORD!r}}})
        print(client.post("/language", data={{"lang": "en"}}).status_code)
        print(client.post("/language", data={{"lang": "en"}}).status_code)
    """)
    other = subprocess.run([sys.executable, "-c", worker], capture_output=True, text=True, timeout=60,
                           cwd=Path(__file__).resolve().parent.parent)
    assert other.returncode == 0, other.stderr
    assert "429" not in other.stdout.split()  # the other worker: 2 of the person's 3 POSTs a minute
    client = _limited(database_uri, **settings).test_client()
    assert client.post("/login", data={"login": "resident", "password": PASSWORD}).status_code == 302
    assert client.post("/language", data={"lang": "en"}).status_code != 429  # the third
    assert client.post("/language", data={"lang": "en"}).status_code == 429  # the fourth, counted in Redis


# ---- privacy -------------------------------------------------------------------------------------

def test_a_member_downloads_their_data_but_no_secret_ballot(app, world, login):
    import json

    import sqlalchemy as sa

    from council.ballots.models import Poll, RollLine, SecretBallot
    from council.elections import services as election_services
    from council.elections import voting
    from council.elections.rules import Mark, Marks
    from council.extensions import db
    from council.sqltypes import utcnow
    from tests.election_helpers import call_election, slate

    with app.app_context():
        from datetime import timedelta
        setup = call_election(world, voters=9, start=utcnow() - timedelta(days=8.5))
        candidates = slate(setup, 8)
        round_ = election_services.latest_round(setup.election)
        poll = election_services.poll_of(round_)
        voter = setup.voters[0]  # a candidate too
        line = db.session.scalar(sa.select(RollLine).where(RollLine.poll_id == poll.id,
                                                           RollLine.user_id == voter.id))
        tracker = voting.cast(setup.election, round_, line, Marks({candidates[0].id: Mark.FOR}), voter)
        marks = db.session.scalar(sa.select(SecretBallot.marks))
        db.session.commit()
        username = voter.username
        assert db.session.scalar(sa.select(sa.func.count(Poll.id))) == 1
    response = login(username).get("/account/my-data.json")
    assert response.status_code == 200 and response.headers["Content-Disposition"].startswith("attachment")
    data = json.loads(response.data)["data"]
    assert data["users"][0]["username"] == username and "password_hash" not in data["users"][0]
    assert any(row["status"] == "online" for row in data["poll_roll"])  # that they voted: yes
    assert "election_nominations" in data and "election_officials" not in data
    text = response.data.decode()

    def values(node):
        if isinstance(node, dict):
            return [v for item in node.values() for v in values(item)]
        if isinstance(node, list):
            return [v for item in node for v in values(item)]
        return [node]

    # How they voted: never. (The marks, "15+", are looked for as a value: as text they can turn up inside a
    # time's microseconds, "…275015+00:00".)
    assert tracker not in text and marks not in values(data) and f'"{marks}"' not in text
    assert "poll_box" not in data and "poll_ballots" not in data



@pytest.mark.parametrize("username", ["leader", "estate_admin", "team"])
def test_other_people_never_see_a_full_mobile_number(world, login, username):
    """The resident signed up with 13800138000: staff pages show 138****8000 at most."""
    client = login(username)
    for url in (f"/places/{world.estate}", f"/places/{world.b1}", f"/households/{world.h11}",
                f"/places/{world.b1}/requests", f"/places/{world.estate}/activity"):
        page = client.get(url)
        assert "13800138000" not in page.text, url


def test_csv_downloads_never_start_a_cell_with_a_formula(app, world):
    """A candidate who calls themselves "=HYPERLINK(...)" is a plain name in the published ballot list, and the
    recount still reads the list."""
    from datetime import timedelta

    import sqlalchemy as sa

    from council.ballots.models import RollLine
    from council.csvfiles import spreadsheet_safe
    from council.elections import counting, recount, voting
    from council.elections import services as election_services
    from council.elections.rules import Mark, Marks
    from council.extensions import db
    from council.sqltypes import utcnow
    from tests.election_helpers import call_election, slate, user

    assert [spreadsheet_safe(v) for v in ("=1+1", "+86", "-3", "@x", "\tx", "王芳", None, 7)] == [
        "'=1+1", "'+86", "'-3", "'@x", "'\tx", "王芳", "", "7"]
    with app.app_context():
        setup = call_election(world, voters=9, start=utcnow() - timedelta(days=12))
        candidates = slate(setup, 8)
        candidates[0].display_name = '=HYPERLINK("http://evil.example","点我")'
        round_ = election_services.latest_round(setup.election)
        poll = election_services.poll_of(round_)
        for person in setup.voters:
            line = db.session.scalar(sa.select(RollLine).where(RollLine.poll_id == poll.id,
                                                               RollLine.user_id == person.id))
            voting.cast(setup.election, round_, line, Marks({candidates[0].id: Mark.FOR}), person,
                        now=setup.at("voting"))
        counting.count(setup.election, round_, user("committee"), now=setup.at("counting"))
        text = "".join(counting.ballots_csv(setup.election, round_))
        assert ',"=HYPERLINK' not in text and "'=HYPERLINK" in text
        assert recount.recount(recount.read(text.splitlines())).elected == (candidates[0].id,)


def test_production_refuses_the_default_secret_key(monkeypatch, database_uri):
    from council.config import DEFAULT_SECRET, Config

    class Production(Config):
        SQLALCHEMY_DATABASE_URI = database_uri

    monkeypatch.setenv("COUNCIL_ENV", "production")
    Production.SECRET_KEY = DEFAULT_SECRET
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(Production)
    Production.SECRET_KEY = "a-long-random-value-from-the-environment"
    assert create_app(Production).config["SECRET_KEY"] != DEFAULT_SECRET


def test_no_secret_is_kept_in_the_repository():
    """The only keys in the code are the development placeholder and the tests' own; `.env` is ignored."""
    root = Path(__file__).resolve().parent.parent
    assert ".env" in (root / ".gitignore").read_text().split()
    keys = set()
    for path in [*(root / "council").rglob("*.py"), root / "app.py"]:
        keys.update(re.findall(r"SECRET_KEY\s*=\s*[\"']([^\"']+)[\"']", path.read_text(encoding="utf-8")))
    assert keys <= {"test-secret"}
