"""The signed-in person's row kept per process under their versions (council/accounts/kept.py).

A kept members' page for a person this process has read since their data last changed takes no query at all.
Whatever changes the person's row or inbox, in any process, shows on their very next request: a password
changed on another device signs this one out, a new message shows in the header; a rollback changes nothing;
with the store down the person is read as before, and a kept row is read again after PERSON_SECONDS anyway.
"""
from __future__ import annotations

import re

import sqlalchemy as sa
from cachetools import TTLCache

from council import versions
from council.accounts import kept as kept_people
from council.accounts.models import User
from council.extensions import cache, db
from council.membership import services as membership
from council.membership.models import Relation
from council.notifications import services as inbox
from council.proposals.models import Proposal
from council.proposals.services import follow, following
from council.territory.models import Household
from tests import factories
from tests.helpers import counting
from tests.test_members_pages import kept  # noqa: F401  (the fixture: members' pages kept in memory)
from tests.test_proposals_flow import published, resident


def _device(app, username: str):
    """One more signed-in browser of `username` (a phone beside the computer)."""
    client = app.test_client()
    assert client.post("/login", data={"login": username, "password": factories.PASSWORD}).status_code == 302
    return client


def _warm(client, url: str) -> str:
    """Read `url` until it comes from the cache (the first read keeps the page and the person)."""
    client.get(url)
    return client.get(url).text


def _reads_people(app, client, url: str):
    """The page, and whether its request read a person's row."""
    with counting(app, afresh=False) as sent:
        response = client.get(url)
    return response, any("FROM users" in s for s in sent), len(sent)


def test_a_kept_page_for_a_kept_person_takes_no_query(app, world, login, kept):  # noqa: F811
    estate = f"/places/{world.estate}"
    client = login("resident")
    page = _warm(client, estate)
    response, read, count = _reads_people(app, client, estate)
    assert response.status_code == 200 and response.text == page
    assert not read and count == 0
    assert "周丽华" in response.text  # the person's own name in the header, from the kept row


def test_a_password_changed_on_another_device_signs_this_one_out_at_once(app, world, login, kept):  # noqa: F811
    estate = f"/places/{world.estate}"
    phone = _device(app, "resident")
    _warm(phone, estate)
    computer = login("resident")
    response = computer.post("/account", data={"current": factories.PASSWORD, "new": "Another-Pass-2026!",
                                               "confirm": "Another-Pass-2026!"})
    assert response.status_code == 302
    assert computer.get(estate).status_code == 200  # the device that changed it stays signed in
    signed_out = phone.get(estate)
    assert signed_out.status_code == 302 and "/login" in signed_out.headers["Location"]


def test_a_new_message_and_reading_it_show_in_the_header_at_once(app, world, login, kept):  # noqa: F811
    estate = f"/places/{world.estate}"
    client = login("resident")
    assert 'class="count"' not in _warm(client, estate)
    with app.app_context():
        inbox.notify([world.users["resident"]], "proposal.commented", "proposal", 1, "加装电梯")
        db.session.commit()
    assert '<span class="count" aria-label="1 unread">1</span>' in client.get(estate).text
    client.post("/inbox/read")
    assert 'class="count"' not in client.get(estate).text


def test_a_fan_out_moves_its_recipients_only(app, world, login, kept):  # noqa: F811
    estate = f"/places/{world.estate}"
    pid = published(app, world, login)
    resident(app, "wang", world.h12)
    with app.app_context():
        follow(db.session.get(Proposal, pid), db.session.scalar(sa.select(User).where(User.username == "wang")))
        db.session.commit()
    follower, other = _device(app, "wang"), _device(app, "leader")
    _warm(follower, estate), _warm(other, estate)
    with app.app_context():
        proposal = db.session.get(Proposal, pid)
        assert inbox.notify_selected(following(proposal), "proposal.changed", "proposal", pid, proposal.title) == 2
        db.session.commit()
    response, read, _ = _reads_people(app, follower, estate)
    assert read and 'aria-label="1 unread"' in response.text
    response, read, _ = _reads_people(app, other, estate)
    assert not read and 'class="count"' not in response.text


def test_a_statement_on_people_that_names_nobody_moves_everyone(app, world, login, kept):  # noqa: F811
    estate = f"/places/{world.estate}"
    client = login("resident")
    _warm(client, estate)
    with app.app_context():
        db.session.execute(sa.update(User).where(User.username == "resident").values(display_name="周丽"))
        db.session.commit()
    response, read, _ = _reads_people(app, client, estate)
    assert read and "周丽<" in response.text


def test_a_rolled_back_change_moves_nobody(app, world, login, kept):  # noqa: F811
    estate = f"/places/{world.estate}"
    client = login("resident")
    _warm(client, estate)
    with app.app_context():
        db.session.get(User, world.users["resident"]).display_name = "改了又撤回"
        inbox.notify([world.users["resident"]], "proposal.commented", "proposal", 1, "加装电梯")
        db.session.flush()
        db.session.rollback()
    response, read, count = _reads_people(app, client, estate)
    assert not read and count == 0 and "改了又撤回" not in response.text


def test_with_the_store_down_the_person_is_read(app, world, login, kept, monkeypatch):  # noqa: F811
    estate = f"/places/{world.estate}"
    client = login("resident")
    _warm(client, estate)

    def down(*_keys):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(cache, "get_many", down)
    response, read, _ = _reads_people(app, client, estate)
    assert response.status_code == 200 and read and "周丽华" in response.text


def test_a_kept_person_is_read_again_after_its_lifetime(app, world, login, kept, monkeypatch):  # noqa: F811
    now = [0.0]
    monkeypatch.setattr(kept_people, "_people", TTLCache(maxsize=100, ttl=kept_people.PERSON_SECONDS,
                                                         timer=lambda: now[0]))
    estate = f"/places/{world.estate}"
    client = login("resident")
    _warm(client, estate)
    now[0] += kept_people.PERSON_SECONDS - 1
    assert not _reads_people(app, client, estate)[1]
    now[0] += 2
    assert _reads_people(app, client, estate)[1]


def test_without_kept_pages_the_person_is_read_every_time(app, world, login):
    """CACHE_SIGNED_IN_PAGES off (no shared store): nothing about a person outlives the request."""
    estate = f"/places/{world.estate}"
    before = app.config["CACHE_SIGNED_IN_PAGES"]
    app.config["CACHE_SIGNED_IN_PAGES"] = False
    try:
        client = login("resident")
        _warm(client, estate)
        assert _reads_people(app, client, estate)[1]
    finally:
        app.config["CACHE_SIGNED_IN_PAGES"] = before


def test_a_kept_page_asks_the_store_once(app, world, login, kept, monkeypatch):  # noqa: F811
    """The versions the page read last time are read with the person's, in one round trip; and what one
    request read is never taken for another's."""
    for url in (f"/places/{world.estate}", f"/places/{world.estate}/proposals"):
        client = login("resident")
        _warm(client, url)
        calls = []
        real = cache.get_many
        monkeypatch.setattr(cache, "get_many", lambda *keys, calls=calls, real=real: calls.append(keys) or real(*keys))
        assert client.get(url).status_code == 200
        monkeypatch.setattr(cache, "get_many", real)
        assert len(calls) == 1, calls
    with app.app_context():
        db.session.execute(sa.update(User).where(User.username == "resident").values(display_name="周丽"))
        db.session.commit()
    assert "周丽<" in client.get(f"/places/{world.estate}/proposals").text


def test_each_person_gets_their_own_header_on_a_kept_page(app, world, login, kept):  # noqa: F811
    """The header is rendered once per process for everyone of the same kind (staff or not, any unread,
    language) and filled with each person's own name, escaped, and unread count."""
    estate = f"/places/{world.estate}"
    with app.app_context():
        neighbour = factories.person("neighbour", "<b>王</b>")
        membership.approve(membership.request_join(neighbour, db.session.get(Household, world.h12), Relation.OWNER),
                           db.session.get(User, world.users["siteadmin"]))
        db.session.commit()
        neighbour_id = neighbour.id
    pages = {name: _warm(login(name), estate) for name in ("resident", "neighbour")}
    assert "周丽华" in pages["resident"] and "周丽华" not in pages["neighbour"]
    assert "&lt;b&gt;王&lt;/b&gt;" in pages["neighbour"] and "<b>王</b>" not in pages["neighbour"]
    assert "@@council-" not in pages["resident"] + pages["neighbour"]
    tokens = {name: re.search(r'name="csrf_token" value="([^"]+)"', page)[1] for name, page in pages.items()}
    assert tokens["resident"] != tokens["neighbour"]  # each their own session's, in the header's sign-out form
    with app.app_context():
        inbox.notify([neighbour_id], "proposal.commented", "proposal", 1, "标题")
        db.session.commit()
    client = login("neighbour")
    unread = client.get(estate).text
    assert 'class="count"' in unread and ">1</span>" in unread and 'class="count"' not in pages["resident"]


def test_the_first_request_from_someone_asks_the_store_nothing_about_them(app, world, login, kept,  # noqa: F811
                                                                        monkeypatch):
    """A voter casting their one ballot is read and not kept: their versions are asked for from their second
    request on (which keeps the row), and the third takes no query for them."""
    estate = f"/places/{world.estate}"
    client = login("resident")
    kept_people.forget()
    asked = []
    real = versions.person_stamp
    monkeypatch.setattr(versions, "person_stamp", lambda user_id: asked.append(user_id) or real(user_id))
    assert client.get(estate).status_code == 200 and asked == []
    assert client.get(estate).status_code == 200 and asked == [world.users["resident"]]
    assert _reads_people(app, client, estate)[1] is False


def test_a_sessions_signed_csrf_token_is_made_once_a_while_and_accepted(app, world, kept, monkeypatch):  # noqa: F811
    """Signing the CSRF token (an HMAC) was a tenth of a kept page's work: each process keeps the token it signed
    for a session's raw token SIGNED_SECONDS, for that session only, and every form takes it."""
    from council import pagecache

    resident, neighbour = _device(app, "resident"), _device(app, "siteadmin")
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    estate = f"/places/{world.estate}"
    signed = []
    real = pagecache.generate_csrf
    monkeypatch.setattr(pagecache, "generate_csrf", lambda: signed.append(1) or real())

    def token(client) -> str:
        return re.search(r'name="csrf_token" value="([^"]+)"', client.get(estate).text)[1]

    first = token(resident)
    assert len(signed) == 1
    assert token(resident) == first and len(signed) == 1  # kept: not signed again
    assert token(neighbour) != first and len(signed) == 2  # another session, its own token
    pagecache._signed.clear()  # as SIGNED_SECONDS later: signed afresh
    token(resident)
    assert len(signed) == 3
    assert resident.post("/logout", data={"csrf_token": first}).status_code in (302, 303)  # the kept one is taken
    assert resident.post("/logout", data={"csrf_token": "forged"}).status_code == 400
