"""A proposal from draft to counted vote, through the real pages in Chromium, in Chinese and English on a phone
and a desktop: a resident of 化肥厂小区 writes and publishes it; neighbours co-sign it until enough households
have; the party-branch secretary puts it on the agenda and opens a secret vote, one vote per household; the demo
resident votes online on the ballot page; the secretary, as teller, checks two households off the roll for paper
ballots and enters the batch; the voting window ends and the vote closes when it is next looked at; the result
page explains the rule, the threshold, the turnout and the counts, and the published ballots hold every one.

Each run writes a proposal of its own and votes only on it, so the shared server serves it.
"""
from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from council.ballots.models import Poll, PollState, RollLine
from council.extensions import db
from council.proposals.services import threshold_of
from council.sqltypes import utcnow
from council.territory.models import Household, Place
from tests.e2e.browser import click_through
from tests.e2e.flow_steps import both_languages_and_devices, compact, seen, visit_as

TITLES = {
    ("zh_Hans", "phone"): ("在3号楼和4号楼之间种一排桂花树",
                           "两楼之间的空地长满杂草，种一排桂花树，夏天遮阴，秋天花香。"),
    ("zh_Hans", "desktop"): ("把北门旁的空地改成儿童沙坑",
                             "孩子们放学没地方玩，北门旁的空地铺上沙子，四周围上矮栏杆。"),
    ("en", "phone"): ("Plant a row of osmanthus between buildings 3 and 4", "The strip is all weeds; trees would "
                      "give shade in summer and scent in autumn."),
    ("en", "desktop"): ("Turn the plot by the north gate into a sandpit", "The children have nowhere to play "
                        "after school; sand and a low fence would do."),
}
AUTHOR = "hfc10"  # 潘玉珍, 2号楼
COSIGNERS = ["hfc11", "hfc12", "hfc13", "hfc14", "hfc15", "hfc06"]  # households in 2号楼 to 6号楼, in turn
STEERS = "secretary"  # 吉永锋, the party-branch secretary: steers proposals and is a teller
VOTER, VOTER_LINE = "resident", "1号楼 1-301"  # 周丽华 votes online for her household
PAPER_LINES = ["6号楼 1-301", "2号楼 2-302"]  # households that take a paper ballot from the roving box
PAPER = {"in_favour": 1, "against": 1, "abstain": 0}  # what the tellers count in the box


def _poll_id(url: str) -> int:
    match = re.search(r"/votes/(\d+)$", url)
    assert match, url
    return int(match.group(1))


def end_voting(server, poll_id: int) -> None:
    """The week of voting is over: on the server's database, the window is moved to have ended a minute ago (and
    its opening two hours back, since the polls table refuses a window that ends before it opens). Nothing is
    closed or counted here: the app does that itself (see the test)."""
    now = utcnow()
    with server.app.app_context():
        db.session.execute(sa.update(Poll).where(Poll.id == poll_id)
                           .values(opened_at=now - timedelta(hours=2), closes_at=now - timedelta(minutes=1)))
        db.session.commit()


def result_row(page, text, measure: str) -> list[str]:
    """The cells of the result table's line for one measure, as a person reads them."""
    line = page.locator("main .vote-result tbody tr", has=page.locator("td", has_text=text(measure)))
    assert line.count() == 1, f"no line for {measure!r}"
    return [cell.strip() for cell in line.locator("td").all_inner_texts()]


@both_languages_and_devices
def test_a_proposal_is_cosigned_voted_online_and_on_paper_and_its_result_explained(
        language, device, live_server, demo, pages, signed_in):
    title, body = TITLES[(language, device)]
    text = live_server.in_language(language)
    with live_server.app.app_context():
        threshold = threshold_of(demo.hfc_estate)
    households = live_server.scalar(sa.select(sa.func.count(Household.id))
                                    .join(Place, Place.id == Household.building_id)
                                    .where(Place.parent_id == demo.hfc_estate))
    assert 1 <= threshold <= len(COSIGNERS) and households > 0
    page = pages.open(language, device)

    # The author writes a draft for the whole estate and publishes it.
    visit_as(page, signed_in, AUTHOR, live_server.url(f"/places/{demo.hfc_estate}"))
    panel = page.locator("section[aria-labelledby=proposals-heading]")
    click_through(page, panel.locator("a", has_text=text("Write a proposal")))
    page.fill("#title", title)
    page.fill("#body", body)
    page.locator("input[name=category][value=greening]").check()
    click_through(page, page.locator("main form button[type=submit]"))
    now = seen(page)
    assert re.search(r"/proposals/\d+$", page.url), (page.url, now)
    proposal_url = page.url
    assert (now.flash, now.badge) == (text("Your draft is saved. Only you can see it until you publish it."),
                                      text("Draft"))
    click_through(page, page.locator("main form[action$='/publish'] button"))
    now = seen(page)
    assert (now.flash, now.badge) == (text("Published: your neighbours can now read, discuss and co-sign it."),
                                      text("Open for discussion"))
    assert now.facts[text("Applies to")] == f"{text('The whole estate')} · 化肥厂小区"
    assert now.facts[text("Co-signed by")] == text("%(n)s of %(threshold)s households", n=0, threshold=threshold)

    # Neighbours of as many households as the threshold co-sign; only the last makes it eligible for the agenda.
    eligible = page.locator("main h1 + p strong", has_text=text("Eligible for the agenda"))
    for n, login in enumerate(COSIGNERS[:threshold], start=1):
        visit_as(page, signed_in, login, proposal_url)
        click_through(page, page.locator("main form[action$='/cosign'] button", has_text=text("Co-sign")))
        now = seen(page)
        assert now.flash == text("Thank you: your co-signature is counted.")
        assert now.facts[text("Co-signed by")] == text("%(n)s of %(threshold)s households", n=n,
                                                       threshold=threshold)
        assert page.locator("main .actions .badge.approved").inner_text() == text("You have co-signed")
        assert eligible.count() == (1 if n == threshold else 0), f"eligible after {n} of {threshold}?"

    # The secretary puts it on the agenda and opens a secret vote, one vote per household, for a week.
    visit_as(page, signed_in, STEERS, proposal_url)
    click_through(page, page.locator("main form[action$='/agenda'] button"))
    now = seen(page)
    assert (now.flash, now.badge) == (text("The proposal is on the agenda."), text("On the agenda"))
    click_through(page, page.locator("main a.button", has_text=text("Open the vote")))
    assert page.locator("input[name=rule][value=simple_majority]").is_checked(), "suggested for greening"
    assert page.locator("input[name=basis][value=households]").is_checked()
    page.locator("#secret").check()
    click_through(page, page.locator("main form button[type=submit]"))
    poll_id, vote_url, now = _poll_id(page.url), page.url, seen(page)
    assert (now.flash, now.h1) == (text("The vote is open."), f"{text('Vote')}: {title}")
    assert now.facts[text("Taken part so far")].startswith(text("%(voted)s of %(roll)s", voted=0, roll=households))
    assert live_server.scalar(sa.select(sa.func.count(RollLine.id)).where(RollLine.poll_id == poll_id)) \
        == households, "the roll is every household of the estate, frozen when the vote opened"

    # The resident votes online from the proposal's page and is shown a tracker, once.
    now = visit_as(page, signed_in, VOTER, proposal_url)
    assert now.badge == text("Voting")
    click_through(page, page.locator("main .vote-box a.button", has_text=text("Go to the vote")))
    assert page.url == vote_url
    line = page.locator("main section.vote-line", has=page.locator("h2", has_text=VOTER_LINE))
    line.locator("input[name=choice][value=for]").check()
    click_through(page, line.locator("button[type=submit]", has_text=text("Cast this ballot")))
    assert seen(page).h1 == text("Your ballot is cast")
    tracker = compact(page.locator("main .tracker").inner_text())
    assert re.fullmatch(r"[0-9A-Z]{12}", tracker), tracker

    # The teller checks two households off the roll for paper ballots, then enters the counted batch.
    visit_as(page, signed_in, STEERS, vote_url)
    click_through(page, page.locator("main a", has_text=text("Roll, proxies and paper ballots (tellers)")))
    found = page.locator("main table tbody tr")
    for label in PAPER_LINES:
        page.fill("#q", label)
        click_through(page, page.locator("main form.inline-search button[type=submit]"))
        assert found.count() == 1 and found.first.locator("td").first.inner_text() == label
        found.first.locator("summary", has_text=text("Paper ballot")).click()
        click_through(page, found.first.locator("button", has_text=text("Check off the roll")))
        assert seen(page).flash == text("%(line)s is checked off for a paper ballot.", line=label)
        assert found.count() == 1 and found.first.locator("td").nth(1).inner_text() == text("On paper"), \
            "the teller is back on the same search, the line now taken part on paper"
    click_through(page, page.locator("main p a", has_text=title))
    click_through(page, page.locator("main a", has_text=text("Enter paper ballots")))
    now = seen(page)
    assert (now.facts[text("Papers handed out")], now.facts[text("Entered so far")]) == (str(len(PAPER_LINES)), "0")
    for name, n in PAPER.items():
        page.fill(f"#{name}", str(n))
    click_through(page, page.locator("main form button[type=submit]"))
    now = seen(page)
    assert now.flash == text("%(n)s paper ballots are in the box.", n=sum(PAPER.values()))
    assert now.facts[text("Entered so far")] == str(sum(PAPER.values()))

    # The window runs out; the first person to open the vote's page closes and counts it (the cron job
    # `flask council close-votes` does the same for votes nobody looks at).
    end_voting(live_server, poll_id)
    now = visit_as(page, signed_in, VOTER, vote_url)
    assert live_server.scalar(sa.select(Poll.state).where(Poll.id == poll_id)) is PollState.CLOSED, \
        "opening the page closed the vote"
    in_favour, against, abstain = 1 + PAPER["in_favour"], PAPER["against"], PAPER["abstain"]
    cast = in_favour + against + abstain
    assert compact(now.facts[text("Taken part so far")]) == compact("{} ({})".format(
        text("%(voted)s of %(roll)s", voted=cast, roll=households),
        text("online %(a)s, by proxy %(b)s, on paper %(c)s", a=1, b=0, c=len(PAPER_LINES))))
    assert page.locator("main .badge.pending").inner_text() == text("Preliminary result")
    result = page.locator("main .vote-result")
    assert result.locator("h2 .badge").inner_text() == text("Passed")
    assert result.locator("h2 + p").inner_text() == text(
        "Simple majority: more than half of the votes cast are in favour")
    needed, reached, met = result_row(page, text, "Votes in favour, of all votes cast")[1:]
    assert needed == text("more than half")
    assert compact(reached) == compact(f"{in_favour / cast * 100:.2f}% ({text('%(n)s of %(d)s', n=in_favour, d=cast)})")
    assert met == f"✓ {text('Yes')}"
    assert (now.facts[text("In favour")], now.facts[text("Against")], now.facts[text("Abstain")],
            now.facts[text("On the roll")]) == (str(in_favour), str(against), str(abstain), str(households))

    # Every ballot is published, shuffled and nameless: the online one with its tracker, the paper ones without.
    click_through(page, page.locator("main a", has_text=text("Check your tracker and recount the ballots")))
    assert page.locator("main table tbody tr").count() == cast
    assert page.locator("main table tbody code", has_text=text("(paper)")).count() == len(PAPER_LINES)
    page.fill("#tracker", tracker)
    click_through(page, page.locator("main form button[type=submit]"))
    ballot = page.locator("main table tbody tr")
    assert ballot.count() == 1 and ballot.locator("td").nth(2).inner_text() == text("In favour")

    # The proposal itself is now passed, with the same count, and says so in its history.
    now = visit_as(page, signed_in, AUTHOR, proposal_url)
    assert now.badge == text("Passed")
    assert page.locator("main .vote-box .vote-result h2 .badge").inner_text() == text("Passed")
    assert now.facts[text("In favour")] == str(in_favour)
    assert page.locator("#timeline li").last.inner_text().endswith(text("recorded that the vote passed it"))
