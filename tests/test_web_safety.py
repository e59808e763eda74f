"""CSRF on every POST, sign-in rate limits, friendly error pages, oversized bodies."""
from __future__ import annotations

import re

import pytest

from council import create_app
from council.config import TestConfig
from council.extensions import limiter
from tests.factories import PASSWORD


@pytest.fixture
def csrf_app(database_uri):
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_uri
        WTF_CSRF_ENABLED = True

    return create_app(Config)


def _sample_url(rule) -> str:
    """A URL the rule matches: ids 1, kind "building", and the first value of an any(...) converter."""
    url = re.sub(r"<any\((\w+)[^)]*\):\w+>", lambda m: m.group(1), rule.rule)
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "building" if m.group(1) == "kind" else "1", url)


def test_every_post_route_needs_a_csrf_token(csrf_app, world):
    client = csrf_app.test_client()
    client.post("/login", data={"login": "siteadmin", "password": PASSWORD})  # refused too: no token
    posts = [rule for rule in csrf_app.url_map.iter_rules() if "POST" in rule.methods]
    assert len(posts) >= 15
    for rule in posts:
        response = client.post(_sample_url(rule), data={"lang": "en", "decision": "approve"})
        assert response.status_code == 400, rule.rule


def test_forms_carry_a_token_and_work_with_it(csrf_app, world):
    client = csrf_app.test_client()
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"login": "resident", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


@pytest.fixture
def limited_app(database_uri):
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_uri
        RATELIMIT_ENABLED = True
        SIGNIN_LIMIT_PER_ACCOUNT = "3 per 10 minutes"
        SIGNIN_LIMIT_PER_ADDRESS = "6 per 10 minutes"

    app = create_app(Config)
    limiter.reset()
    yield app
    limiter.reset()
    limiter.enabled = False  # the limiter is shared: leave it off for the other tests


def test_sign_in_is_rate_limited_per_account_and_per_address(limited_app, world):
    client = limited_app.test_client()
    for _ in range(3):
        assert client.post("/login", data={"login": "resident", "password": "wrong"}).status_code == 200
    blocked = client.post("/login", data={"login": "resident", "password": PASSWORD})
    assert blocked.status_code == 429
    assert "Too many tries" in blocked.text or "尝试" in blocked.text
    # Another account from the same address still gets through, until the address limit.
    assert client.post("/login", data={"login": "leader", "password": "wrong"}).status_code == 200
    assert client.post("/login", data={"login": "team", "password": "wrong"}).status_code == 200
    assert client.post("/login", data={"login": "secretary", "password": "wrong"}).status_code == 200
    assert client.post("/login", data={"login": "committee", "password": "wrong"}).status_code == 429
    # A different address is not held up by the first one's failures.
    other = limited_app.test_client()
    response = other.post("/login", data={"login": "leader", "password": PASSWORD},
                          environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert response.status_code == 302


def test_successful_sign_ins_do_not_count(limited_app, world):
    client = limited_app.test_client()
    for _ in range(5):
        assert client.post("/login", data={"login": "resident", "password": PASSWORD}).status_code == 302
        client.post("/logout")


@pytest.mark.parametrize("lang, text", [("en", "Page not found"), ("zh-CN", "lang=\"zh-Hans\"")])
def test_not_found_page_in_the_users_language(client, lang, text):
    response = client.get("/no/such/page", headers={"Accept-Language": lang})
    assert response.status_code == 404 and text in response.text


def test_forbidden_page(world, login):
    response = login("resident").get(f"/places/{world.estate3}", headers={"Accept-Language": "en"})
    assert response.status_code == 403 and "You cannot open this page" in response.text


def test_oversized_body_is_refused(app, client):
    response = client.post("/signup", data={"display_name": "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)},
                           headers={"Accept-Language": "en"})
    assert response.status_code == 413 and "Too much was sent" in response.text


def test_server_error_page(database_uri):
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_uri
        TESTING = False

    app = create_app(Config)

    @app.get("/__boom")
    def boom():
        raise RuntimeError("boom")

    response = app.test_client().get("/__boom", headers={"Accept-Language": "en"})
    assert response.status_code == 500 and "Something went wrong on our side" in response.text


def test_huge_ids_are_not_found(world, login):
    client = login("siteadmin")
    for url in ("/places/99999999999999999999999", "/households/9223372036854775808",
                "/places/2147483648", "/places/2147483647"):
        assert client.get(url).status_code == 404, url


def test_a_nul_character_anywhere_in_the_request_is_refused_before_any_view(client, world, login):
    """In the address, in the query (a read page only parses its query when it may hold one), in a form field's
    name or value: 400, whatever the method."""
    login("resident")
    for url in (f"/places/{world.estate}/proposals?q=a%00b", f"/places/{world.estate}/proposals?a%00=1",
                f"/places/{world.estate}/proposals%00"):
        assert client.get(url).status_code in (400, 404), url
    assert client.get(f"/places/{world.estate}/proposals?q=a%00b").status_code == 400
    assert client.get(f"/places/{world.estate}/proposals?q=%2500").status_code == 200  # the text "%00", no NUL
    assert client.post("/logout?x=%00").status_code == 400
    assert client.post("/logout", data={"next": "a\x00b"}).status_code == 400
    assert client.post("/logout", data={"a\x00": "b"}).status_code == 400
