"""Accounts: sign-up rules, sign-in by mobile or username, sign-out, passwords, claim codes."""
from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from council.accounts.models import User
from council.accounts.services import normalise_mobile
from council.extensions import db
from tests.factories import PASSWORD


def count_users(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(User.id)))


def signup(client, **fields):
    data = {"display_name": "王阿姨", "mobile": "", "username": "", "password": "s3cret-pass",
            "confirm": "s3cret-pass", **fields}
    return client.post("/signup", data=data)


@pytest.mark.parametrize("raw, expected", [
    ("13800138000", "13800138000"), ("138 0013 8000", "13800138000"), ("+86 138-0013-8000", "13800138000"),
    ("8613912345678", "13912345678"), ("19912345678", "19912345678"),
    ("12345", None), ("23800138000", None), ("1380013800", None), ("138001380001", None), ("", None),
    ("abcdefghijk", None), ("+1 415 555 2671", None), ("10012345678", None),
])
def test_normalise_mobile(raw, expected):
    assert normalise_mobile(raw) == expected


@given(st.text(max_size=30))
def test_normalise_mobile_never_crashes_and_gives_11_digits(raw):
    result = normalise_mobile(raw)
    assert result is None or (len(result) == 11 and result.isdigit() and result.startswith("1"))


def test_sign_up_with_mobile_then_sign_in(app, client):
    response = signup(client, mobile="138 0013 8001")
    assert response.status_code == 302
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.mobile == "13800138001"))
        assert user.display_name == "王阿姨"
        assert user.password_hash and "s3cret-pass" not in user.password_hash
    client.post("/logout")
    assert client.post("/login", data={"login": "13800138001", "password": "s3cret-pass"}).status_code == 302
    assert "王阿姨" in client.get("/").text


def test_sign_up_with_username(app, client):
    assert signup(client, username="WangAyi").status_code == 302
    client.post("/logout")
    assert client.post("/login", data={"login": "wangayi", "password": "s3cret-pass"}).status_code == 302


@pytest.mark.parametrize("fields, message", [
    ({"mobile": "12345"}, "not a mainland mobile number"),
    ({}, "Give a mobile number or a username"),
    ({"username": "ab"}, "3 to 32 letters"),
    ({"username": "wang ayi"}, "3 to 32 letters"),
    ({"mobile": "13800138002", "confirm": "other"}, "not the same"),
    ({"mobile": "13800138002", "password": "short", "confirm": "short"}, "at least 8"),
    ({"mobile": "13800138002", "display_name": ""}, "enter your name"),
    ({"mobile": "13800138002", "claim_code": "ABCD-EFGH"}, "not valid"),
])
def test_sign_up_refusals_change_nothing(app, client, fields, message):
    before = count_users(app)
    response = signup(client, **fields)
    assert response.status_code == 200
    assert message in response.text
    assert count_users(app) == before


def test_duplicate_mobile_and_username_refused(app, world, client):
    assert "already has an account" in signup(client, mobile="13800138000").text
    assert "taken" in signup(client, username="resident").text


def test_sign_in_failures(world, client):
    response = client.post("/login", data={"login": "resident", "password": "wrong"})
    assert response.status_code == 200 and "not right" in response.text
    response = client.post("/login", data={"login": "nobody", "password": PASSWORD})
    assert "not right" in response.text
    # By mobile number, in any common spelling.
    assert client.post("/login", data={"login": "138-0013-8000", "password": PASSWORD}).status_code == 302


def test_sign_in_renews_the_session(world, client):
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    client.post("/login", data={"login": "resident", "password": PASSWORD})
    with client.session_transaction() as session:
        assert "planted" not in session


def test_sign_out_is_post_only(world, login):
    client = login("resident")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/account").status_code == 302


def test_change_password_signs_out_other_devices(app, world, login):
    first = login("resident")
    second = app.test_client()
    second.post("/login", data={"login": "resident", "password": PASSWORD})
    assert second.get("/account").status_code == 200
    bad = first.post("/account", data={"current": "wrong", "new": "n3w-password", "confirm": "n3w-password"})
    assert "not right" in bad.text
    ok = first.post("/account", data={"current": PASSWORD, "new": "n3w-password", "confirm": "n3w-password"})
    assert ok.status_code == 302
    assert first.get("/account").status_code == 200  # this device stays signed in
    assert second.get("/account").status_code == 302  # the other one is signed out
    first.post("/logout")
    assert first.post("/login", data={"login": "resident", "password": "n3w-password"}).status_code == 302


def test_password_never_logged(app, client, caplog):
    caplog.set_level(logging.DEBUG)
    signup(client, mobile="13800138009", password="Very-Secret-99", confirm="Very-Secret-99")
    client.post("/logout")
    client.post("/login", data={"login": "13800138009", "password": "Very-Secret-99"})
    assert "Very-Secret-99" not in caplog.text


def test_record_without_account_cannot_sign_in(app, world, client):
    with app.app_context():
        db.session.add(User(display_name="李奶奶", username="granny"))
        db.session.commit()
    assert client.post("/login", data={"login": "granny", "password": ""}).status_code == 200
    assert client.post("/login", data={"login": "granny", "password": "anything"}).status_code == 200


def test_safe_redirect_after_sign_in(world, client):
    response = client.post("/login?next=https://evil.example/x", data={"login": "resident", "password": PASSWORD})
    assert response.headers["Location"] == "/"
    client.post("/logout")
    response = client.post("/login?next=/my/households", data={"login": "resident", "password": PASSWORD})
    assert response.headers["Location"] == "/my/households"
