"""Public pages kept for anonymous visitors (council/pagecache.py): published minutes are rendered once per
language and then sent without a query; each visitor still gets their own CSRF token; signed-in people, drafts
and party meetings are never served from the cache; a new revision forgets the earlier ones' pages when it
commits, and not before."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from council import pagecache
from council.extensions import cache, db
from council.meetings import minutes
from council.meetings.models import Meeting, Minutes
from council.meetings.rules import MeetingKind
from tests.helpers import counting
from tests.test_meetings import _meeting, _user


@pytest.fixture
def kept_pages(app):
    """The suite's app keeps nothing (NullCache); here it keeps pages in memory, as a server does."""
    cache.init_app(app, config={"CACHE_TYPE": "SimpleCache"})
    with app.app_context():
        cache.clear()
    yield
    cache.init_app(app, config={"CACHE_TYPE": "NullCache", "CACHE_NO_NULL_WARNING": True})


def _published(world, body: str, kind=MeetingKind.FRIDAY, meeting_id: int | None = None) -> int:
    """Minutes published for a new meeting (or a new revision of `meeting_id`'s): their id."""
    meeting = db.session.get(Meeting, meeting_id) if meeting_id else _meeting(world, kind=kind)
    draft = minutes.draft(meeting, _user("secretary"), "" if meeting_id is None else "更正时间")
    minutes.edit(draft, body)
    minutes.approve(draft, _user("secretary"))
    minutes.publish(draft, _user("secretary"))
    db.session.commit()
    return draft.id


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_a_published_page_is_sent_from_the_cache_without_a_query(app, world, kept_pages):
    with app.app_context():
        minutes_id = _published(world, "相约星期五\n决定：周六清理楼道。")
    visitor = app.test_client()
    first = visitor.get(f"/minutes/{minutes_id}", headers={"Accept-Language": "zh-CN"})
    with counting(app) as queries:
        second = visitor.get(f"/minutes/{minutes_id}", headers={"Accept-Language": "zh-CN"})
    assert second.status_code == 200 and len(queries) == 0
    assert second.get_data(as_text=True) == first.get_data(as_text=True)
    assert "周六清理楼道" in second.get_data(as_text=True)
    english = visitor.get(f"/minutes/{minutes_id}").get_data(as_text=True)  # kept apart, per language
    assert '<html lang="en">' in english and '<html lang="en">' not in second.get_data(as_text=True)
    with counting(app) as queries:
        printed = visitor.get(f"/minutes/{minutes_id}/print")
        printed = visitor.get(f"/minutes/{minutes_id}/print")
    assert len(queries) == 1 and "<svg" in printed.get_data(as_text=True)  # rendered once, then kept


def test_every_visitor_gets_their_own_csrf_token_and_it_works(app, world, kept_pages):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        with app.app_context():
            minutes_id = _published(world, "相约星期五\n决定：周六清理楼道。")
        first, second = app.test_client(), app.test_client()
        token_1 = _token(first.get(f"/minutes/{minutes_id}").get_data(as_text=True))
        page_2 = second.get(f"/minutes/{minutes_id}").get_data(as_text=True)
        token_2 = _token(page_2)
        assert token_1 != token_2 and pagecache.TOKEN_MARK not in page_2
        # The kept page's token is the second visitor's own: the language switcher accepts it...
        switched = second.post("/language", data={"csrf_token": token_2, "lang": "zh_Hant",
                                                  "next": f"/minutes/{minutes_id}"})
        assert switched.status_code == 302
        # ...and refuses the first visitor's.
        assert second.post("/language", data={"csrf_token": token_1, "lang": "en"}).status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_signed_in_people_drafts_and_party_minutes_are_never_kept(app, world, kept_pages, login):
    with app.app_context():
        public_id = _published(world, "相约星期五\n决定：周六清理楼道。")
        party_id = _published(world, "党员大会\n决定：缴纳党费。", kind=MeetingKind.PARTY)
    resident = login("resident")
    signed_in = resident.get(f"/minutes/{public_id}").get_data(as_text=True)
    assert "/logout" in signed_in
    anonymous = app.test_client()
    assert "/logout" not in anonymous.get(f"/minutes/{public_id}").get_data(as_text=True)
    assert "/logout" in resident.get(f"/minutes/{public_id}").get_data(as_text=True)  # still their own page
    assert anonymous.get(f"/minutes/{party_id}").status_code == 302  # to sign in, and nothing kept
    with app.app_context():
        assert cache.get(pagecache.key("minutes", party_id, language="en")) is None
        assert cache.get(pagecache.key("minutes", public_id, language="en")) is not None


def test_a_new_revision_forgets_the_earlier_pages_when_it_commits(app, world, kept_pages):
    with app.app_context():
        first_id = _published(world, "相约星期五\n决定：周六上午九点清理楼道。")
        meeting_id = db.session.get(Minutes, first_id).meeting_id
    anonymous = app.test_client()
    assert "revision 2" not in anonymous.get(f"/minutes/{first_id}").get_data(as_text=True).lower()
    with app.app_context():
        # Rolled back: nothing is forgotten, the kept page stays.
        draft = minutes.draft(db.session.get(Meeting, meeting_id), _user("secretary"), "更正时间")
        minutes.edit(draft, "相约星期五\n决定：周六上午十点清理楼道。")
        minutes.approve(draft, _user("secretary"))
        minutes.publish(draft, _user("secretary"))
        db.session.rollback()
        assert cache.get(pagecache.key("minutes", first_id, language="en")) is not None
        second_id = _published(world, "相约星期五\n决定：周六上午十点清理楼道。", meeting_id=meeting_id)
        assert cache.get(pagecache.key("minutes", first_id, language="en")) is None
    again = anonymous.get(f"/minutes/{first_id}").get_data(as_text=True)
    assert f"/minutes/{second_id}" in again  # the first revision now points to the correcting one


def test_a_message_waiting_to_be_shown_is_not_lost_to_the_cache(app, world, kept_pages):
    with app.app_context():
        minutes_id = _published(world, "相约星期五\n决定：周六清理楼道。")
    visitor = app.test_client()
    visitor.get(f"/minutes/{minutes_id}")  # kept
    with visitor.session_transaction() as session:
        session["_flashes"] = [("info", "一条提示")]
    assert "一条提示" in visitor.get(f"/minutes/{minutes_id}").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Minutes.id))) == 1


def test_an_unreachable_store_means_rendering_not_an_error(app, world, login):
    """With Redis down the page is rendered as if nothing were kept, and publishing still succeeds."""
    cache.init_app(app, config={"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": "redis://127.0.0.1:1/0"})
    try:
        with app.app_context():
            minutes_id = _published(world, "相约星期五\n决定：周六清理楼道。")
            second_id = _published(world, "相约星期五\n决定：周日清理楼道。",
                                   meeting_id=db.session.get(Minutes, minutes_id).meeting_id)
        visitor = app.test_client()
        for page in (f"/minutes/{minutes_id}", f"/minutes/{second_id}", f"/minutes/{second_id}/print"):
            assert visitor.get(page).status_code == 200
    finally:
        cache.init_app(app, config={"CACHE_TYPE": "NullCache", "CACHE_NO_NULL_WARNING": True})


def test_a_kept_page_is_split_once_at_its_token_marks_and_rejoined_with_the_token():
    """`_personalise` joins a kept page's pieces with this request's token (one copy of the page, not one per
    mark); the pieces are found once per kept page; a header mark after a token mark falls back to replacing."""
    pagecache.forget_local()
    mark, account = pagecache.TOKEN_MARK.encode(), pagecache.ACCOUNT_MARK.encode()
    page = account + b"<form>" + mark + b"</form><p>x</p><form>" + mark + b"</form>"
    pieces, live = pagecache._pieces(page)
    assert pieces == [account + b"<form>", b"</form><p>x</p><form>", b"</form>"] and not live
    assert pagecache._pieces(page)[0] is pieces  # found once
    assert b"T".join(pieces) == page.replace(mark, b"T")
    assert pagecache._pieces(mark + account)[0] is None  # the header after a token: replaced mark by mark
    assert pagecache._pieces(b"<!--@@council-live:turnout:3@@-->")[1]
    assert pagecache._pieces(b"no marks")[0] == [b"no marks"]
    pagecache.forget_local()
