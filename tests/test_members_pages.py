"""Members' pages kept under their places' versions (council/pagecache.py MembersPage, council/versions.py).

A kept page is sent again only while nothing it was built from has changed: every change to a row of a place
(or of anything beneath it) moves the versions of that place and of the places above it when its transaction
commits; a change that cannot be placed moves everything; a rollback moves nothing. Members who may do
different things, or who have drafts of their own, never get each other's page; each gets their own name,
inbox count and working CSRF token in the header.
"""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from council import pagecache, versions
from council.extensions import cache, db
from council.notifications.models import Notification
from council.proposals.models import Proposal
from council.territory.models import Place
from tests.helpers import counting
from tests.test_proposals_flow import proposal_id_from, published, resident, write


def _published_meeting(app, world, starts_in) -> int:
    """A Friday meeting of the world's estate, published by its secretary, starting `starts_in` from now."""
    from council.meetings import services as meetings
    from council.meetings.rules import MeetingKind
    from council.sqltypes import utcnow
    from tests.test_meetings import _user

    with app.app_context():
        meeting = meetings.schedule(db.session.get(Place, world.estate), _user("secretary"), MeetingKind.FRIDAY,
                                    "相约星期五", utcnow() + starts_in, "居委会议室")
        meetings.publish(meeting, _user("secretary"))
        db.session.commit()
        return meeting.id


@pytest.fixture
def kept(app):
    """Members' pages kept in memory (one process: the suite), as every process keeps them in Redis."""
    before = app.config["CACHE_SIGNED_IN_PAGES"]
    cache.init_app(app, config={"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": 10_000})
    app.config["CACHE_SIGNED_IN_PAGES"] = True
    with app.app_context():
        cache.clear()
    pagecache.forget_local()
    yield
    app.config["CACHE_SIGNED_IN_PAGES"] = before
    with app.app_context():
        cache.clear()
    if not before:
        cache.init_app(app, config={"CACHE_TYPE": "NullCache", "CACHE_NO_NULL_WARNING": True})


def _listing(client, world, query: str = "") -> str:
    response = client.get(f"/places/{world.estate}/proposals{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _rendered(app, client, url: str) -> tuple[str, int]:
    """The page and how many statements it took (a kept page takes a handful: no list query)."""
    with counting(app) as statements:
        html = client.get(url).get_data(as_text=True)
    return html, len(statements)


def _kept(app, client, url: str) -> bool:
    """Is `url` sent from the cache? (It then reads no proposals.)"""
    with counting(app) as statements:
        client.get(url)
    return not any("FROM proposals" in s and "LIMIT" in s and "proposals.title" in s for s in statements)


def test_a_second_member_gets_the_kept_page_with_their_own_header_and_token(app, world, login, kept):
    published(app, world, login, title="加装电梯")
    resident(app, "wang", world.h12)
    first = _listing(login("resident"), world)
    wang = login("wang")
    url = f"/places/{world.estate}/proposals"
    assert _kept(app, wang, url)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        page = _listing(wang, world)
        assert "加装电梯" in page and '/account">wang</a>' in page  # the header is wang's
        assert '/account">周丽华</a>' in first and '/account">周丽华</a>' not in page
        assert first.count("加装电梯") == page.count("加装电梯")
        assert pagecache.TOKEN_MARK not in page and pagecache.ACCOUNT_MARK not in page
        assert pagecache.MENU_MARK not in page
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        assert wang.post("/language", data={"csrf_token": token, "lang": "zh_Hant", "next": url}).status_code == 302
        assert wang.post("/language", data={"csrf_token": "forged", "lang": "en", "next": url}).status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_a_change_in_the_estate_is_on_the_next_page(app, world, login, kept):
    pid = published(app, world, login, title="加装电梯")
    resident(app, "wang", world.h12)
    wang = login("wang")
    assert "0 of" in _listing(wang, world)
    wang.post(f"/proposals/{pid}/cosign")  # the co-signing count moves on: a change to the proposal
    assert "1 of" in _listing(wang, world)
    published(app, world, login, title="新建电动车棚")  # a new proposal
    assert "新建电动车棚" in _listing(login("wang"), world)
    login("estate_admin").post(f"/places/{world.estate}/proposals/settings", data={"cosign_threshold": "7"})
    assert "1 of 7" in _listing(login("wang"), world)  # the estate's settings


def test_a_change_above_the_estate_moves_it_and_one_beside_it_does_not(app, world, login, kept):
    published(app, world, login, title="加装电梯")
    client = login("resident")
    url = f"/places/{world.estate}/proposals"
    _listing(client, world)
    assert _kept(app, client, url)
    with app.app_context():
        db.session.get(Place, world.estate2).name = "香林美域二期"  # beside: nothing of this page
        db.session.commit()
    assert _kept(app, client, url)
    with app.app_context():
        db.session.get(Place, world.community).name = "城北新社区"  # above: in the breadcrumbs
        db.session.commit()
    assert not _kept(app, client, url)
    assert "城北新社区" in _listing(client, world)


def test_a_rollback_moves_nothing_and_a_statement_it_cannot_place_moves_everything(app, world, login, kept):
    published(app, world, login, title="加装电梯")
    client = login("resident")
    url = f"/places/{world.estate}/proposals"
    _listing(client, world)
    with app.app_context():
        db.session.get(Place, world.estate).name = "改了又撤回"
        db.session.flush()
        db.session.rollback()
        db.session.execute(sa.update(Notification).values(read_at=None))  # an inbox: on no kept page
        db.session.commit()
    assert _kept(app, client, url)
    with app.app_context():
        db.session.execute(sa.update(Proposal).values(title="批量改名"))  # no row by row: everything moves
        db.session.commit()
    assert "批量改名" in _listing(client, world)
    with app.app_context():
        versions.touch(world.estate)
        db.session.execute(sa.update(Proposal).values(title="再次改名").execution_options(**versions.PLACED))
        db.session.commit()
    assert "再次改名" in _listing(client, world)


def test_a_draft_is_never_sent_to_anyone_else(app, world, login, kept):
    published(app, world, login, title="加装电梯")
    resident(app, "wang", world.h12)
    author = login("resident")
    proposal_id_from(write(author, world.estate, title="我的草稿"))
    assert "我的草稿" in _listing(author, world)
    assert "我的草稿" not in _listing(login("wang"), world)
    assert "我的草稿" in _listing(login("resident"), world)


def test_what_a_member_may_do_is_never_sent_to_one_who_may_not(app, world, login, kept):
    published(app, world, login, title="加装电梯")
    settings = f"/places/{world.estate}/proposals/settings"
    assert settings in _listing(login("estate_admin"), world)
    assert settings not in _listing(login("resident"), world)
    assert "/proposals/new" in _listing(login("resident"), world)  # residents write proposals
    assert f"/places/{world.estate}/proposals/new" not in _listing(login("committee"), world)


def test_each_language_and_query_is_kept_apart(app, world, login, kept):
    published(app, world, login, title="加装电梯")
    published(app, world, login, title="新建电动车棚", category="ebike_shed")
    client = login("resident")
    english = _listing(client, world)
    chinese = client.get(f"/places/{world.estate}/proposals", headers={"Accept-Language": "zh-CN"}).text
    assert '<html lang="en">' in english and '<html lang="zh-Hans">' in chinese
    only_lifts = _listing(client, world, "?category=lift")
    assert "加装电梯" in only_lifts and "新建电动车棚" not in only_lifts
    assert "新建电动车棚" in _listing(client, world)


def test_with_a_message_to_flash_the_page_is_rendered_and_the_message_shown(app, world, login, kept):
    pid = published(app, world, login, title="加装电梯")
    client = login("resident")
    _listing(client, world)
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "一条消息")]
    assert "一条消息" in _listing(client, world)
    assert "一条消息" not in _listing(client, world)
    assert pid


def test_when_the_store_is_down_the_page_is_rendered(app, world, login, kept, monkeypatch):
    published(app, world, login, title="加装电梯")

    def down(*_args, **_kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(cache, "get_many", down)
    monkeypatch.setattr(cache, "get", down)
    assert "加装电梯" in _listing(login("resident"), world)


def test_every_table_is_placed_or_shown_on_no_kept_page(app):
    """A new table must say how its rows reach a place (a foreign key), or be listed as shown nowhere kept."""
    for table in db.metadata.sorted_tables:
        if table.name in versions.UNSHOWN or table.name == "places":
            continue
        direct, onward = versions._route(table)
        assert direct or onward, f"{table.name}: no way to a place; add it to versions.UNSHOWN if no page shows it"


# ---- the place page -----------------------------------------------------------------------------------

def _spy_on_keeping(monkeypatch) -> list[tuple[str, int | None]]:
    """(key, timeout) of every page kept from now on."""
    kept_pages = []
    real_set = cache.set

    def spy(key, value, timeout=None):
        if key.startswith("members:"):
            kept_pages.append((key, timeout))
        return real_set(key, value, timeout=timeout)

    monkeypatch.setattr(cache, "set", spy)
    return kept_pages


def test_the_estate_page_is_kept_per_standing(app, world, login, kept):
    resident(app, "wang", world.h12)  # the same building as the world's resident
    resident(app, "li", world.h21)  # the other building
    url = f"/places/{world.estate}"
    mine = login("resident").get(url).text
    wang = login("wang")
    assert _page_kept(app, wang, url)  # same building, same standing: the kept page
    assert '/account">wang</a>' in wang.get(url).text
    li_page = login("li").get(url).text  # another building: its own page, with a link to its own building
    assert f'href="/places/{world.b2}"' in li_page and f'href="/places/{world.b2}"' not in mine
    admin_page = login("estate_admin").get(url).text
    assert f"/places/{world.estate}/edit" in admin_page and f"/places/{world.estate}/edit" not in mine


def _page_kept(app, client, url) -> bool:
    with counting(app) as statements:
        client.get(url)
    return not any("FROM places" in s and "parent_id" in s and "LIMIT" in s and "ORDER BY" in s
                   and "places.path LIKE" not in s for s in statements[2:])


def test_a_role_granted_on_the_estate_shows_on_its_page_at_once(app, world, login, kept):
    from council.accounts.models import User
    from council.roles import services as roles
    from council.roles.models import Role

    url = f"/places/{world.estate}"
    client = login("resident")
    client.get(url)
    assert _page_kept(app, client, url)
    with app.app_context():
        someone = db.session.scalar(sa.select(User).where(User.username == "newcomer"))
        roles.grant(someone, Role.SERVICE_TEAM, db.session.get(Place, world.estate),
                    db.session.scalar(sa.select(User).where(User.username == "siteadmin")))
        db.session.commit()
    assert "孙晓明" in client.get(url).text  # the team panel lists the new team member


def test_a_page_showing_the_next_meeting_is_kept_no_longer_than_until_it_starts(app, world, login, kept,
                                                                                   monkeypatch):
    from datetime import timedelta

    _published_meeting(app, world, timedelta(minutes=3))
    kept_pages = _spy_on_keeping(monkeypatch)
    assert "相约星期五" in login("resident").get(f"/places/{world.estate}").text
    (key, timeout), = kept_pages
    assert 0 < timeout <= 180  # not the usual CACHE_DEFAULT_TIMEOUT: the meeting starts in 3 minutes


def test_a_page_asking_for_today_is_kept_no_longer_than_until_midnight(app, kept):
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from flask import g

    from council.i18n import local_today

    with app.test_request_context("/"):
        g.council_keeping = True
        today = local_today()
        midnight = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=ZoneInfo("Asia/Shanghai"))
        assert g.council_good_until == midnight.astimezone(UTC)
        assert 0 < pagecache._lifetime() <= 24 * 3600
        versions.good_until(datetime.now(UTC) - timedelta(seconds=1))  # already past: not kept at all
        assert pagecache._lifetime() is None


# ---- the ledger -----------------------------------------------------------------------------------------

def test_the_ledger_is_kept_for_its_staff_and_moves_with_every_concern(app, world, login, kept, monkeypatch):
    from datetime import date, timedelta

    from council.concerns.models import Concern
    from council.concerns.rules import ConcernStatus
    from tests.test_concerns_ledger import add

    first = add(app, world, "楼道灯坏了", deadline=date.today() + timedelta(days=3))
    url = f"/places/{world.estate}/ledger"
    kept_pages = _spy_on_keeping(monkeypatch)
    assert "楼道灯坏了" in login("team").get(url).text
    (_key, timeout), = kept_pages  # a deadline is compared with today: kept until midnight at most
    assert 0 < timeout <= 24 * 3600
    secretary = login("secretary")
    assert "楼道灯坏了" in secretary.get(url).text
    add(app, world, "电梯异响", where="b2")
    assert "电梯异响" in secretary.get(url).text  # a new concern in another building of the estate
    with app.app_context():
        db.session.get(Concern, first).status = ConcernStatus.RESOLVED
        db.session.commit()
    assert "Resolved" in secretary.get(url, query_string={"status": "resolved"}).text
    assert "楼道灯坏了" not in secretary.get(url, query_string={"status": "reported"}).text
    assert login("resident").get(url).status_code == 403  # kept or not, residents are refused first


# ---- the meeting page -----------------------------------------------------------------------------------

def test_the_meeting_page_is_kept_per_answer_and_moves_with_the_agenda(app, world, login, kept):
    from datetime import timedelta

    resident(app, "wang", world.h12)
    meeting_id = _published_meeting(app, world, timedelta(days=7))
    url = f"/meetings/{meeting_id}"
    wang = login("wang")
    assert "0 coming, 0 not coming" in wang.get(url).text
    login("resident").post(f"{url}/rsvp", data={"coming": "yes"})
    mine = login("resident").get(url).text
    assert "You said you will come" in mine and "1 coming, 0 not coming" in mine
    theirs = login("wang").get(url).text
    assert "You said you will come" not in theirs and "1 coming, 0 not coming" in theirs
    assert "Run the meeting" not in theirs and "Run the meeting" in login("secretary").get(url).text
    login("secretary").post(f"{url}/items", data={"title": "楼道堆物清理", "minutes": "10"})
    assert "楼道堆物清理" in login("wang").get(url).text


# ---- the proposal page --------------------------------------------------------------------------------

def test_the_proposal_page_is_kept_per_reader_facts_and_a_writer_gets_their_own(app, world, login, kept):
    from tests.test_proposals_discussion import comments, post

    resident(app, "wang", world.h12)
    resident(app, "li", world.h21)
    resident(app, "zhao", world.h21)
    pid = published(app, world, login, title="加装电梯")
    url = f"/proposals/{pid}"
    assert "No comments yet." in login("li").get(url).text
    wang = login("wang")
    post(wang, pid, "我同意，楼里老人多")
    cid = comments(app, pid)[0].id
    mine = wang.get(url).text
    assert "我同意，楼里老人多" in mine and f"/comments/{cid}/edit" in mine  # theirs to edit for 15 minutes
    assert f"/comments/{cid}/report" not in mine
    li = login("li")
    theirs = li.get(url).text
    assert "我同意，楼里老人多" in theirs and f"/comments/{cid}/edit" not in theirs
    assert f"/comments/{cid}/report" in theirs
    li.post(f"{url}/follow")
    assert "Stop following" in li.get(url).text
    assert "Stop following" not in login("zhao").get(url).text  # li's page is li's: zhao follows nothing
    login("team").post(f"/proposals/{pid}/comments/{cid}/hide", data={"reason": "重复"})
    assert "我同意，楼里老人多" not in login("li").get(url).text  # hidden: gone for readers at once
    assert "我同意，楼里老人多" in login("wang").get(url).text  # its writer still reads it
    assert "我同意，楼里老人多" in login("team").get(url).text  # and the moderators


def test_a_proposal_page_with_an_open_vote_is_kept_no_longer_than_the_vote(app, world, login, kept, monkeypatch):
    from datetime import timedelta

    from council.ballots.models import Basis
    from council.ballots.rules import Rule
    from council.proposals import stages
    from council.proposals.rules import ProposalState
    from council.sqltypes import utcnow
    from tests.test_meetings import _user

    pid = published(app, world, login, title="加装电梯")
    with app.app_context():
        proposal = db.session.get(Proposal, pid)
        proposal.state = ProposalState.ON_AGENDA
        stages.open_vote(proposal, _user("secretary"), Rule.SIMPLE_MAJORITY, Basis.HOUSEHOLDS, False,
                         utcnow() + timedelta(hours=1, minutes=5))
        db.session.commit()
    monkeypatch.setitem(app.config, "CACHE_DEFAULT_TIMEOUT", 24 * 3600)
    kept_pages = _spy_on_keeping(monkeypatch)
    assert login("resident").get(f"/proposals/{pid}").status_code == 200
    (_key, timeout), = kept_pages
    assert 0 < timeout <= 3900  # not a day: until the vote closes


# ---- what moves which versions ------------------------------------------------------------------------

def _changed_by(app, work) -> set[str]:
    """The version scopes `work` (run in a transaction, then committed) moves."""
    moved = []
    real = versions._move
    try:
        versions._move = lambda scopes: moved.append(set(scopes))
        with app.app_context():
            work()
            db.session.commit()
    finally:
        versions._move = real
    return set().union(*moved)


@pytest.mark.parametrize("secret", [False, True])
def test_a_ballot_moves_nothing_and_the_kept_proposal_page_shows_its_turnout_live(app, world, login, kept, secret):
    """During a vote every ballot changes the turnout and nothing else a kept page shows: the turnout is a live
    part, so the pages of the estate being voted in stay kept through the vote."""
    from council.ballots.models import Basis, Choice, Rule
    from tests.test_ballots_votes import _cast, _on_agenda, _open

    with app.app_context():
        proposal_id = _on_agenda(world, buildings=[world.b1]).id
        db.session.commit()
    resident(app, "wang", world.h12)
    poll_id = _open(app, proposal_id, Rule.SIMPLE_MAJORITY, Basis.HOUSEHOLDS, secret=secret)
    client = login("leader")
    url = f"/proposals/{proposal_id}"
    def taken_part(html: str) -> int:
        return int(re.search(r"(\d+) of \d+ have taken part", html).group(1))

    assert taken_part(client.get(url).text) == 0
    moved = _changed_by(app, lambda: _cast(poll_id, "resident", world.h11, Choice.FOR))
    assert not moved
    html, statements = _rendered(app, client, url)
    assert taken_part(html) == 1 and "@@council-live" not in html
    assert statements <= 3  # the person and their standing (counted afresh), the turnout: the page was kept
    app.config["LIVE_SECONDS"] = 60
    try:
        assert taken_part(client.get(url).text) == 1  # read now, and kept by the process for a minute
        moved = _changed_by(app, lambda: _cast(poll_id, "wang", world.h12, Choice.AGAINST))
        assert not moved and taken_part(client.get(url).text) == 1
        pagecache._lively.clear()  # a minute later
        assert taken_part(client.get(url).text) == 2
    finally:
        app.config["LIVE_SECONDS"] = 0


def test_a_comment_and_its_inbox_messages_move_the_estate_only(app, world, login, kept):
    from council.accounts.models import User
    from council.permissions import load_standing
    from council.proposals import discussion

    pid = published(app, world, login, title="加装电梯")
    login("leader").post(f"/proposals/{pid}/follow")  # so the comment sends an inbox message

    def comment():
        proposal = db.session.get(Proposal, pid)
        leader = db.session.scalar(sa.select(User).where(User.username == "resident"))
        discussion.add_comment(proposal, leader, load_standing(leader.id), "好")

    moved = _changed_by(app, comment)
    assert versions.EVERYTHING not in moved and f"place:{world.estate}" in moved


def test_a_page_past_its_lifetime_is_not_sent_from_memory_or_from_the_store(app, kept):
    import time

    with app.app_context():
        pagecache._store("members:test:1", "<p>kept</p>", 60)
        assert pagecache._fetch("members:test:1") == "<p>kept</p>"
        pagecache.forget_local()
        assert pagecache._fetch("members:test:1") == "<p>kept</p>"  # from the store, then kept here again
        cache.set("members:test:2", ("<p>old</p>", time.time() - 1))  # the store's copy outlived its lifetime
        assert pagecache._fetch("members:test:2") is None
        pagecache._remember("members:test:3", ("<p>old</p>", time.time() - 1))
        assert pagecache._fetch("members:test:3") is None


def test_a_kept_place_page_reads_no_place_and_a_renamed_place_is_read_again(app, world, login, kept):
    client = login("resident")
    for url in (f"/places/{world.estate}", f"/places/{world.estate}/proposals"):
        client.get(url)
        with counting(app) as statements:
            assert client.get(url).status_code == 200
        assert not any("FROM places" in s or "FROM proposals" in s for s in statements), statements
        assert len(statements) <= 2  # who is signed in, and their standing (whether they have drafts: kept)
    with app.app_context():
        db.session.get(Place, world.estate).name = "化肥厂新村"
        db.session.commit()
    assert "化肥厂新村" in client.get(f"/places/{world.estate}").text
    assert "化肥厂新村" in client.get(f"/places/{world.estate}/proposals").text
    assert login("team").get(f"/places/{world.estate}/ledger").status_code == 200
    client = login("resident")
    assert client.get(f"/places/{world.estate}/ledger").status_code == 403  # the head is kept, the check is not
    assert client.get(f"/places/{world.b1}/proposals").status_code == 404  # a building has no proposal list


def test_a_kept_proposal_or_meeting_page_reads_only_who_is_signed_in(app, world, login, kept):
    from datetime import timedelta

    pid = published(app, world, login, title="加装电梯")
    meeting_id = _published_meeting(app, world, timedelta(days=7))
    client = login("resident")
    for url in (f"/proposals/{pid}", f"/meetings/{meeting_id}"):
        client.get(url)
        with counting(app) as statements:
            assert client.get(url).status_code == 200
        assert len(statements) <= 2, statements  # who is signed in, and their standing


def test_a_kept_head_never_lets_a_draft_through_and_follows_its_publication(app, world, login, kept):
    resident(app, "wang", world.h12)
    author = login("resident")
    pid = proposal_id_from(write(author, world.estate, title="我的草稿"))
    assert "我的草稿" in author.get(f"/proposals/{pid}").text  # the head is kept now
    wang = login("wang")
    assert wang.get(f"/proposals/{pid}").status_code == 403
    login("resident").post(f"/proposals/{pid}/publish")
    assert "我的草稿" in login("wang").get(f"/proposals/{pid}").text
    assert login("outsider").get(f"/proposals/{pid}").status_code == 403  # another estate's resident
