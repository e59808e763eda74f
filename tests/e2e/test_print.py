"""The printouts, as Chromium prints them to PDF on A4, in Chinese and English: the published minutes for the
lobby notice board, the posted result of 化肥厂小区's finished service-team election, and the estate's concerns
ledger (台账) for filing. Each PDF is read back with pypdf: every page is A4 (595×842 pt), there are as many pages
as the content needs, and the texts that matter (title, every line of the minutes, every candidate and the elected
names, every concern's title) are on them. Before printing, the page is laid out as for print at the width the
paper leaves between the stylesheet's @page margins, and nothing may stick out past it or be cut off.
"""
from __future__ import annotations

import io
import math
import re

import pytest
import sqlalchemy as sa

from tests.e2e.layout import overflows

pypdf = pytest.importorskip("pypdf", reason="pip install -e '.[test]' (pypdf reads the printed PDFs)")

LANGUAGES = ("zh_Hans", "en")
A4_POINTS = (595.28, 841.89)  # 210 × 297 mm
PX_PER_MM = 96 / 25.4  # CSS pixels: 96 to the inch
both_languages = pytest.mark.parametrize("language", LANGUAGES)

# The stylesheet's paper: size and margins of its @page rule, as the browser read them.
PAGE_RULE = """() => [...document.styleSheets].flatMap(s => [...s.cssRules])
  .filter(r => r instanceof CSSPageRule)
  .map(r => [r.style.getPropertyValue('size'), r.style.getPropertyValue('margin')])"""


def paper(page) -> tuple[float, float]:
    """The printable width and height in CSS px: A4 less the @page margins of static/css/council.css."""
    rules = page.evaluate(PAGE_RULE)
    assert len(rules) == 1, f"one @page rule lays out every printout: {rules}"
    size, margin = rules[0]
    assert size.lower() == "a4", size
    found = re.fullmatch(r"([\d.]+)mm", margin)
    assert found, f"the @page margin is one length in mm: {margin!r}"
    inset = 2 * float(found[1])
    return (210 - inset) * PX_PER_MM, (297 - inset) * PX_PER_MM


def lay_out_for_print(page) -> tuple[float, list[str]]:
    """The page laid out as printed (print media, as wide as the paper's printable area): its content's height
    in CSS px, and whatever sticks out past the paper's width or is cut off."""
    width, height = paper(page)
    page.emulate_media(media="print")
    page.set_viewport_size({"width": math.floor(width), "height": math.floor(height)})
    tall = page.evaluate("Math.max(...[...document.body.children].map(e => e.getBoundingClientRect().bottom))")
    return tall, overflows(page, width)


def print_to_pdf(page) -> list[str]:
    """Print as a person does from Chromium (A4, backgrounds on, the stylesheet's @page size and margins); returns
    each page's text after checking that every page is A4 portrait."""
    pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    for number, sheet in enumerate(reader.pages, start=1):
        size = (float(sheet.mediabox.width), float(sheet.mediabox.height))
        assert all(abs(got - a4) <= 1 for got, a4 in zip(size, A4_POINTS, strict=True)), \
            f"page {number} is {size} pt, not A4 {A4_POINTS}"
    return [sheet.extract_text() for sheet in reader.pages]


def unfolding(page, needles: list[str]) -> dict[int, str]:
    """How to read the PDF's text back as it was written. Chromium names each glyph by the first code point the
    font gives it, so 厂 and 民 come back as the radicals ⼚ and ⺠ (U+2F1A, U+2EA0). Each character of the needles
    is printed on a line of its own, in the same language and fonts as the page, and read back: where the two
    differ, a translation table back to the written character."""
    characters = sorted({c for needle in needles for c in needle if not c.isascii() and not c.isspace()})
    language = page.evaluate("document.documentElement.lang")
    stylesheet = page.locator("link[rel=stylesheet]").evaluate("link => link.href")
    sheet = page.context.new_page()
    try:
        sheet.set_content(f'<!doctype html><html lang="{language}"><link rel="stylesheet" href="{stylesheet}"><body>'
                          + "".join(f"<p>{c}</p>" for c in characters) + "</body></html>")
        sheet.wait_for_load_state("load")
        read = [line.strip() for text in print_to_pdf(sheet) for line in text.splitlines() if line.strip()]
    finally:
        sheet.close()
    assert len(read) == len(characters), f"each character reads back as one: {characters} → {read}"
    return str.maketrans({printed: written for written, printed in zip(characters, read, strict=True)
                          if printed != written})


def squash(text: str) -> str:
    """Text without white space: lines break wherever the paper makes them."""
    return re.sub(r"\s+", "", text)


def check_printout(page, needles: list[str], expected_pages) -> list[str]:
    """Lay the page out for print, print it, and check pages and texts; `expected_pages` is a number, or a function
    of the content's height and the paper's printable height giving the range of right counts. Returns each page's
    (unfolded) text."""
    tall, cut = lay_out_for_print(page)
    assert not cut, "sticks out past the paper or is cut off:\n  " + "\n  ".join(cut)
    _, height = paper(page)
    wanted = expected_pages(tall, height) if callable(expected_pages) else range(expected_pages, expected_pages + 1)
    table = unfolding(page, needles)
    texts = [text.translate(table) for text in print_to_pdf(page)]
    assert len(texts) in wanted, f"{len(texts)} pages printed, the content ({tall:.0f}px) needs {list(wanted)}"
    assert all(squash(text) for text in texts), "no page is printed empty"
    printed = squash("".join(texts))
    missing = [needle for needle in needles if squash(needle) not in printed]
    assert not missing, f"not on the printed pages: {missing}"
    return texts


@both_languages
def test_published_minutes_print_on_one_a4_sheet(language, live_server, demo, pages):
    """The lobby notice: one sheet, as a notice board holds one. The demo's minutes (about twenty short lines at
    11pt, a heading and a QR code) fill well under a page; every line of them is printed, down to the last."""
    from council.meetings.models import Minutes

    text = live_server.in_language(language)
    body = live_server.scalar(sa.select(Minutes.body).where(Minutes.id == demo.minutes))
    lines = [line for line in body.splitlines() if line.strip()]
    assert any("同意物业方案" in line for line in lines), "the demo's minutes record the decision on the lights"
    page = pages.open(language, "desktop")  # anyone: published minutes need no sign-in
    page.goto(live_server.url(f"/minutes/{demo.minutes}/print"))
    needles = [f"相约星期五 · {text('Meeting minutes')}", "化肥厂小区", text("Scan to read online"),
               live_server.url(f"/minutes/{demo.minutes}"), *lines]
    check_printout(page, needles, 1)


@both_languages
def test_election_result_notice_prints_on_one_a4_sheet(language, live_server, demo, pages, signed_in):
    """The posted result (公示) of 化肥厂小区's first election: one sheet (a notice board holds one) with the
    heading, all nine candidates each followed by their votes in the table, the seven elected named under it, and
    the committee's signature line at the foot."""
    from council.accounts.models import User
    from council.demo_elections import HFC_TITLE
    from council.elections.models import ElectionRound, RoundCandidate

    text = live_server.in_language(language)
    candidates = rows(live_server, sa.select(User.display_name, RoundCandidate.elected, RoundCandidate.votes)
                      .join(RoundCandidate, RoundCandidate.user_id == User.id)
                      .join(ElectionRound, ElectionRound.id == RoundCandidate.round_id)
                      .where(ElectionRound.election_id == demo.hfc_election, ElectionRound.number == 1))
    elected = [name for name, chosen, _ in candidates if chosen]
    assert (len(candidates), len(elected)) == (9, 7), "the demo: nine candidates, seven elected"

    page = pages.open(language, "desktop", storage_state=signed_in("resident"))
    page.goto(live_server.url(f"/elections/{demo.hfc_election}/rounds/1/notice"))
    needles = [f"{HFC_TITLE} · {text('Election result')}", text("Round %(n)s", n=1),
               *(f"{name} {votes}" for name, _, votes in candidates),
               text("Elected"), text("Election committee:"), text("Scrutineers:")]
    texts = check_printout(page, needles, 1)
    printed = squash("".join(texts))
    line = page.locator("p.lead").inner_text()
    assert sorted(line.split("、")) == sorted(elected), "the elected, and only they, are named under the table"
    assert squash(line) in printed


@both_languages
def test_the_estate_ledger_prints_every_concern_on_a4(language, live_server, demo, pages, signed_in):
    """The ledger for filing: thirteen columns on A4 portrait (in English the longest, since words do not break
    between letters), every one of the estate's concerns by title, as many pages as the table's height needs
    (at 7pt the demo's 28 concerns fill one)."""
    from council.concerns.models import Concern

    text = live_server.in_language(language)
    titles = [title for title, in rows(live_server, sa.select(Concern.title)
                                        .where(Concern.estate_id == demo.hfc_estate))]
    assert len(titles) >= 20, "the demo's ledger is long enough to matter"
    page = pages.open(language, "desktop", storage_state=signed_in("secretary"))  # the estate's staff only
    page.goto(live_server.url(f"/places/{demo.hfc_estate}/ledger/print"))
    needles = [f"{text('Concerns ledger')} · 化肥厂小区", text("Person responsible"), text("Rating"), *titles]
    check_printout(page, needles, table_pages)


def table_pages(tall: float, height: float) -> range:
    """A long table's pages: its height over the paper's, and on more than one page maybe one more, since the
    header repeats on every page and a row is never split between two."""
    pages = math.ceil(tall / height)
    return range(pages, pages + (2 if pages > 1 else 1))


def rows(server, statement) -> list[tuple]:
    """Every row of a query on the server's database."""
    from council.extensions import db

    with server.app.app_context():
        return [tuple(row) for row in db.session.execute(statement)]
