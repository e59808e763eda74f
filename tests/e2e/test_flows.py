"""Flows through the real pages in Chromium, each in Chinese and English, on a phone and a desktop: a resident
votes in the service-team election and finds their ballot by its tracker after the count; a newcomer joins a
household and sees their estate once the building leader approves; an anonymous visitor reads and prints
published minutes."""
from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from council.extensions import db
from tests.e2e.browser import click_through, sign_in
from tests.e2e.flow_steps import both_languages_and_devices


def close_and_count(server) -> None:
    """What the election committee does at the end of voting, done from the test on the server's database: the
    demo's voting window is moved to have ended a minute ago, then `sbdsec` (on the committee) counts it."""
    from council.accounts.models import User
    from council.ballots.models import Poll
    from council.demo_elections import SBD_TITLE
    from council.elections import counting, services, voting
    from council.elections.models import Election
    from council.sqltypes import utcnow

    with server.app.app_context():
        election = db.session.scalar(sa.select(Election).where(Election.title == SBD_TITLE))
        round_ = services.latest_round(election)
        poll = services.poll_of(round_)
        db.session.execute(sa.update(Poll).where(Poll.id == poll.id)
                           .values(closes_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
        assert voting.pending_batches(round_) == 0, "no paper batch may be waiting at the count"
        committee = db.session.scalar(sa.select(User).where(User.username == "sbdsec"))
        counting.count(election, round_, committee)
        db.session.commit()
        db.session.remove()


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


@both_languages_and_devices
def test_a_resident_votes_keeps_the_tracker_and_finds_it_after_the_count(language, device, pages, private_server):
    """sbd votes in 送变电家园's open election, sees the tracker once, and after the count finds that ballot in
    the published list. Counting ends the demo election, so each run has a server and database of its own."""
    server = private_server
    page = pages.open(language, device)
    text = server.in_language(language)
    sign_in(page, server, "sbd")

    click_through(page, page.locator("main a", has_text="送变电家园").first)
    assert "送变电家园" in page.locator("main h1").inner_text()
    panel = page.locator("section[aria-labelledby=election-heading]")
    click_through(page, panel.locator("a.button").first)  # open the election
    assert "送变电家园" in page.locator("main h1").inner_text()
    click_through(page, page.locator("main a.button", has_text=text("Vote now")))
    ballot_url = page.url

    candidates = page.locator("form.ballot ol.candidates > li")
    assert candidates.count() == 9, "the demo election has nine candidates"
    cast = []  # "name: mark" in ballot order, as the published list will show them
    for i in range(candidates.count()):  # five for, two against, two abstain: within the seven seats
        value, label = ("+", "For") if i < 5 else ("-", "Against") if i < 7 else ("=", "Abstain")
        candidate = candidates.nth(i)
        candidate.locator(f"input[name^=mark-][value='{value}']").check()
        cast.append(f"{candidate.locator('.candidate-name').inner_text()}: {text(label)}")
    click_through(page, page.locator("form.ballot button[type=submit]"))

    assert page.locator("main h1").inner_text() == text("Your ballot is cast")
    tracker = _compact(page.locator("main .tracker").inner_text())
    assert re.fullmatch(r"[0-9A-Za-z]{12}", tracker), tracker

    # Shown once: going back to the ballot page, or opening it again, never shows it.
    page.go_back()
    for _ in range(2):
        assert page.url == ballot_url
        assert page.locator(".tracker").count() == 0
        assert tracker not in _compact(page.content())
        assert page.locator("main .vote-line .badge").inner_text() == text("A ballot has been cast for this line.")
        assert page.locator("form.ballot").count() == 0
        page.reload()

    close_and_count(server)

    click_through(page, page.locator("main p a", has_text="送变电家园").first)  # back to the election
    click_through(page, page.locator("main a[href$='/rounds/1/results']").first)
    assert text("Round %(n)s", n=1) in page.locator("main h1").inner_text()
    click_through(page, page.locator("main a[href$='/rounds/1/ballots']").first)
    # Typed as it was shown, in groups of four: spaces do not matter.
    page.fill("#tracker", " ".join((tracker[:4], tracker[4:8], tracker[8:])))
    click_through(page, page.locator("main form button[type=submit]"))
    rows = page.locator("main table tbody tr")
    assert rows.count() == 1
    assert _compact(rows.first.locator("code").inner_text()) == tracker
    assert _compact(rows.first.locator("td").nth(2).inner_text()) == _compact("; ".join(cast)), \
        "the published ballot carries the marks as they were cast"


NEWCOMERS = {  # (language, device): username, display name, the room asked for (1号楼, unit 2)
    ("zh_Hans", "phone"): ("e2e_zh_phone", "林小雨", "501"),
    ("zh_Hans", "desktop"): ("e2e_zh_desktop", "高志远", "502"),
    ("en", "phone"): ("e2e_en_phone", "Emma Clarke", "601"),
    ("en", "desktop"): ("e2e_en_desktop", "Li Ming", "602"),
}


@both_languages_and_devices
def test_a_newcomer_joins_a_household_and_sees_the_estate_once_approved(language, device, live_server, pages):
    username, name, room = NEWCOMERS[(language, device)]
    text = live_server.in_language(language)

    page = pages.open(language, device)
    page.goto(live_server.url("/"))
    click_through(page, page.locator("header a[href='/signup']"))
    page.fill("#display_name", name)
    page.fill("#username", username)
    page.fill("#password", "Lantern-harbour-7391")
    page.fill("#confirm", "Lantern-harbour-7391")
    click_through(page, page.locator("main form button[type=submit]"))
    assert page.url.endswith("/join"), page.url
    assert text("Welcome, %(name)s. Your account is ready.", name=name) in page.locator("main").inner_text()

    page.fill("#q", "化肥厂")
    click_through(page, page.locator("main form[role=search] button[type=submit]"))
    click_through(page, page.locator("main .list a", has_text="化肥厂小区"))
    click_through(page, page.locator("main .choices a", has_text=re.compile(r"^1号楼$")))
    click_through(page, page.locator("main .choices a[href$='unit=2']"))
    click_through(page, page.locator("main .choices a", has_text=re.compile(rf"^{room}$")))
    assert page.locator("main h1").inner_text() == text("Is this your home?")
    page.locator("input[name=relation]").first.check()
    click_through(page, page.locator("main form button[type=submit]"))
    assert page.url.endswith("/my/households"), page.url
    assert page.locator("main .card .badge.pending").count() == 1, "the request waits for the building leader"

    leader = pages.open(language, device)
    sign_in(leader, live_server, "leader")
    click_through(leader, leader.locator("main a.button", has_text=text("My building")))
    click_through(leader, leader.locator("main a[href$='/requests']"))
    card = leader.locator("main .card", has=leader.locator("h2", has_text=name))
    click_through(leader, card.locator("button[value=approve]"))
    assert name in leader.locator("main .flash-success").inner_text()
    assert leader.locator("main .card h2", has_text=name).count() == 0

    page.goto(live_server.url("/"))
    assert text("Where I live") in page.locator("main").inner_text()
    home = page.locator("main .card", has_text=text("Building %(building)s, unit %(unit)s, room %(room)s",
                                                     building="1号楼", unit="2", room=room))
    click_through(page, home.locator("h3 a"))
    assert page.locator("main h1").inner_text().startswith("化肥厂小区")
    assert page.locator("main a", has_text=text("Raise a concern")).count() >= 1


@both_languages_and_devices
def test_an_anonymous_visitor_reads_and_prints_published_minutes(language, device, live_server, demo, pages):
    text = live_server.in_language(language)
    page = pages.open(language, device)
    page.goto(live_server.url(f"/places/{demo.hfc_estate}/minutes"))
    assert page.locator("header a[href='/login']").count() == 1, "nobody is signed in"
    click_through(page, page.locator("main a[href^='/minutes/']", has_text="相约星期五").first)
    assert re.search(r"/minutes/\d+$", page.url), f"minutes are public, yet went to {page.url}"
    assert page.locator("main h1").inner_text() == f"{text('Meeting minutes')}: 相约星期五"
    body = page.locator("main .minutes-body").inner_text()
    assert "同意物业方案" in body, "the decision taken at the meeting is in the minutes"

    click_through(page, page.locator("main a[href$='/print']"))
    assert page.locator("h1").inner_text().startswith("相约星期五")
    assert page.locator(".minutes-body").inner_text() == body
    assert page.locator("figure.qr svg").count() == 1, "the sheet carries a QR code to the page online"
    page.emulate_media(media="print")
    assert not page.locator("p.no-print").is_visible(), "the way back is not printed"
