"""The Friday meeting (相约星期五) end to end, in Chinese and English, on a phone: 化肥厂小区's party-branch
secretary builds the agenda of the next draft Friday from this week's list of concerns, publishes it, runs the
meeting from the live console (checks a resident in, takes the items in turn, records a decision with a show of
hands and an action item), closes it by writing the minutes from the console, approves and publishes them; then
an anonymous visitor finds the minutes in the archive by a word of the decision, reads the decision and opens
the A4 sheet for the notice board.

Issue #7 asks that the meeting run on a phone, so every step of the secretary's is on a 360×740 phone. The flow
publishes an agenda, notifies members and publishes minutes: each run has a server and database of its own.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tests.e2e.browser import click_through, sign_in

# What the secretary writes, in the language they run the meeting in. The decision carries words found nowhere
# else in the demo's minutes, so the visitor's search finds exactly this meeting's.
WRITTEN = {
    "zh_Hans": {
        "follow_up": "上周两项事项：楼道声控灯已换好，其余在办。",
        "notes": "居民反映情况属实，物业和服务队现场说明了处理办法。",
        "decision": "同意在东门空地划出临时停车区，由服务队协调物业两周内完成。",
        "word": "临时停车区",
        "action": "东门空地划线并设置指示牌",
        "free": "楼栋长换届时间安排",
        "closing": "会议于21时结束。",
    },
    "en": {
        "follow_up": "Last week's two items: the stairwell lights are replaced, the rest is under way.",
        "notes": "Residents confirmed the problem; the property manager and the team explained the fix.",
        "decision": "Agreed: mark a temporary parking bay by the east gate; the team and the property manager "
                    "finish it within two weeks.",
        "word": "parking bay",
        "action": "Paint the bay by the east gate and put up signs",
        "free": "When the building leaders are re-elected",
        "closing": "The meeting closed at 21:00.",
    },
}
HANDS = (15, 2, 1)  # for, against, abstaining


def display_name(server, username: str) -> str:
    from council.accounts.models import User

    return server.scalar(sa.select(User.display_name).where(User.username == username))


def labelled(server, language: str, label: str, value: str) -> str:
    """"Label: value" as the app writes it in a language (a full-width colon in Chinese)."""
    from flask_babel import force_locale, gettext

    from council.i18n import labelled as written_as

    with server.app.test_request_context(), force_locale(language):
        return written_as(gettext(label), value)


def follow_up_title(server) -> str:
    """The item every meeting after the first opens with. Its title is stored when the date is created: the
    demo's series was made without a request, in the default language."""
    return server.text("zh_Hans", "Follow-up on the last meeting's action items")


def build_agenda(page, text, written, follow_up: str, presenter: str) -> list[str]:
    """On the draft meeting's page: two concerns from this week's list and one item of the secretary's own, then
    the first concern moved to the top. Returns the concerns' titles. (No proposal of the demo's waits for an
    agenda: its co-signed one is already being voted on, so the page lists none to add.)"""
    builder = page.locator("main section.card.staff")
    assert builder.locator("ul.plain").nth(1).locator("li.muted").inner_text() == text(
        "No proposal is waiting for the agenda.")
    concerns = builder.locator("ul.plain").first.locator("li")
    assert concerns.count() >= 2, "this week's list offers the demo's open concerns"
    titles = []
    for _ in range(2):  # the list's first entry each time: an added concern leaves the list
        entry = concerns.first
        titles.append(entry.evaluate("li => [...li.childNodes].filter(n => n.nodeType === Node.TEXT_NODE)"
                                     ".map(n => n.textContent).join('').trim()"))
        click_through(page, entry.locator("button[type=submit]"))
        assert text("Added to the agenda.") in page.locator("main .flash-success").inner_text()
        assert page.locator("main ol.agenda > li", has_text=titles[-1]).count() == 1
        assert builder.locator("ul.plain").first.locator("li", has_text=titles[-1]).count() == 0, \
            "an added concern leaves the list it was added from"

    page.fill("main #title", written["free"])
    page.fill("main #presenter", presenter)
    page.fill("main #minutes", "15")
    click_through(page, builder.locator("form.stack button[type=submit]"))  # in Chinese, worded as "Add"
    items = page.locator("main ol.agenda > li")
    agenda = [items.nth(i).locator("strong").inner_text() for i in range(items.count())]
    assert agenda == [follow_up, *titles, written["free"]], agenda
    assert text("presented by %(name)s", name=presenter) in items.nth(3).inner_text()

    # The first concern goes before the follow-up: one press of "Move up" on its card.
    click_through(page, items.nth(1).locator("button", has_text=text("Move up")))
    order = [items.nth(i).locator("strong").inner_text() for i in range(items.count())]
    assert order[:2] == [titles[0], agenda[0]], order
    return titles


def take_items_in_turn(page, text, written, titles, follow_up: str, owner: str) -> None:
    """The console: each item's notes saved on its own button, in agenda order; the first concern gets the
    decision, a show of hands and an action item for the service team."""
    sections = page.locator("main section[id^=item-]")
    assert sections.count() == 4
    headings = [sections.nth(i).locator("h2").inner_text() for i in range(4)]
    assert headings[0] == f"1. {titles[0]}", headings
    for i in range(4):
        section = page.locator("main section[id^=item-]").nth(i)
        item = section.get_attribute("id").removeprefix("item-")
        notes = written["follow_up"] if headings[i].endswith(follow_up) else written["notes"]
        page.fill(f"#notes-{item}", notes)
        if i == 0:
            page.fill(f"#decision-{item}", written["decision"])
            for field, value in zip(("hands_for", "hands_against", "hands_abstain"), HANDS, strict=True):
                page.fill(f"#{field}-{item}", str(value))
        click_through(page, section.locator("button[type=submit]", has_text=text("Save this item")))
        assert page.url.endswith(f"#item-{item}"), "the console comes back to the item just saved"
        assert page.locator("main .flash-success").inner_text() == text("Saved.")
        assert page.input_value(f"#notes-{item}") == notes, "kept at once, item by item"

    first = page.locator("main section[id^=item-]").first
    item = first.get_attribute("id").removeprefix("item-")
    assert page.input_value(f"#decision-{item}") == written["decision"]
    first.locator("summary", has_text=text("Add an action item")).click()
    due = (datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=14)).isoformat()
    page.fill(f"#what-a{item}", written["action"])
    page.fill(f"#owner-a{item}", "team")
    page.fill(f"#due-a{item}", due)
    click_through(page, first.locator("button", has_text=text("Set the action item")))
    assert page.locator("main .flash-success").inner_text() == text("The action item is set.")
    actions = page.locator("main #actions li")
    assert actions.count() == 1
    assert written["action"] in actions.first.inner_text() and owner in actions.first.inner_text()


@pytest.mark.parametrize("language", ("zh_Hans", "en"))
def test_the_secretary_runs_the_friday_meeting_on_a_phone_and_anyone_reads_the_minutes(language, pages,
                                                                                    private_server):
    server = private_server
    text = server.in_language(language)
    written = WRITTEN[language]
    team = display_name(server, "team")
    resident = display_name(server, "resident")

    page = pages.open(language, "phone")
    sign_in(page, server, "secretary")
    # Home → the estate → its meetings → the next Friday still in draft (the coming one is already published).
    click_through(page, page.locator("main a", has_text="化肥厂小区").first)
    estate_url = page.url
    click_through(page, page.locator("main section[aria-labelledby=meetings-heading] a", has_text=text("All meetings")))
    draft = page.locator("main ul.cards > li.card", has=page.locator(".badge.pending")).first
    when = draft.locator("p").first.inner_text()
    click_through(page, draft.locator("h2 a"))
    meeting_url = page.url
    assert page.locator("main h1").inner_text() == "相约星期五"
    assert page.locator("main .badge.pending").inner_text() == text("Draft: only the organisers see it")

    follow_up = follow_up_title(server)
    titles = build_agenda(page, text, written, follow_up, display_name(server, "secretary"))
    click_through(page, page.locator("main button", has_text=text("Publish the agenda")))
    assert page.locator("main .flash-success").inner_text() == text(
        "The agenda is published; the members have been told.")
    assert page.locator("main .badge.pending").count() == 0

    # The live console, on the phone: check a resident in, then the items in turn.
    click_through(page, page.locator("main a.button", has_text=text("Run the meeting")))
    assert page.locator("main h1").inner_text() == text("Meeting console")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), "the console fits the phone"
    page.locator("main #attendance summary").click()
    page.fill("main #login", "resident")
    click_through(page, page.locator("main #attendance button[type=submit]"))
    assert page.locator("main .flash-success").inner_text() == text("Checked in.")
    assert resident in page.locator("main #attendance p").first.inner_text()
    take_items_in_turn(page, text, written, titles, follow_up, team)

    # Closing: back to the meeting, the minutes written from the console, completed, approved and published.
    click_through(page, page.locator("main p a", has_text="相约星期五").first)
    assert page.url.split("#")[0] == meeting_url
    click_through(page, page.locator("main button", has_text=text("Write the minutes from the console")))
    assert page.url.endswith("/edit"), page.url
    decision = labelled(server, language, "Decision", written["decision"])
    draft_text = page.input_value("main #body")
    for expected in (titles[0], titles[1], written["free"], written["notes"], written["follow_up"], resident,
                     decision, text("Show of hands: %(a)s for, %(b)s against, %(c)s abstaining.", a=15, b=2, c=1),
                     f"{written['action']} · {team}"):
        assert expected in draft_text, f"the draft from the console lacks {expected!r}"
    page.fill("main #body", draft_text.rstrip() + "\n\n" + written["closing"])
    click_through(page, page.locator("main form button[type=submit]"))
    assert page.locator("main .badge.pending").inner_text() == text("Draft")
    click_through(page, page.locator("main button", has_text=text("Approve (chair)")))
    assert page.locator("main .flash-success").inner_text() == text("The minutes are approved.")
    click_through(page, page.locator("main button", has_text=text("Publish the minutes")))
    assert page.locator("main .flash-success").inner_text() == text(
        "The minutes are published: anyone can read and print them now.")
    minutes_path = page.url.split("#")[0].removeprefix(server.base)

    # Anyone, signed in or not: the archive finds the minutes by a word of the decision.
    visitor = pages.open(language, "phone")
    visitor.goto(f"{estate_url}/minutes")
    assert visitor.locator("header a[href='/login']").count() == 1, "nobody is signed in"
    visitor.fill("main #q", written["word"])
    click_through(visitor, visitor.locator("main form button[type=submit]"))
    found = visitor.locator("main ul.cards > li.card")
    assert found.count() == 1, "only this meeting's minutes hold the word"
    assert when.split(" · ")[0] in found.first.inner_text(), (when, found.first.inner_text())
    click_through(visitor, found.first.locator("a"))
    assert visitor.url.removeprefix(server.base) == minutes_path
    assert visitor.locator("main h1").inner_text() == f"{text('Meeting minutes')}: 相约星期五"
    body = visitor.locator("main .minutes-body").inner_text()
    assert decision in body
    assert written["closing"] in body, "the minutes as the secretary completed them"
    assert visitor.locator("main form").count() == 0, "published minutes take no more corrections or steps"

    click_through(visitor, visitor.locator("main a[href$='/print']"))
    assert visitor.locator("h1").inner_text().startswith("相约星期五")
    assert visitor.locator(".minutes-body").inner_text() == body
    assert visitor.locator("figure.qr svg").count() == 1

