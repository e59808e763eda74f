"""The README's screenshots, regenerated from the demo data: `make screenshots` (or `.venv/bin/python
scripts/screenshots.py`).

Builds a fresh demo database, serves it on 127.0.0.1 and drives Debian's Chromium with Playwright through the key
pages on a phone (360×740), as the demo person who would look at each, mostly in Chinese and once in English; the
PNGs go to docs/screenshots/ under stable names, so a regenerated set shows up in `git diff` as changed images and
nothing else. It reuses the browser tests' harness (tests/e2e/browser.py): the screenshots show what the tests
check, served the same way. The demo's dates follow today's date, so two runs on different days differ a little.
"""
from __future__ import annotations

import io
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the harness lives in the tests package, beside the app

from tests.e2e.browser import (  # noqa: E402 (after the path above)
    CHROMIUM,
    CHROMIUM_ARGS,
    VIEWPORTS,
    DemoPages,
    LiveServer,
    build_demo,
    context_options,
    demo_pages,
    serve_copy,
    sign_in,
    sync_playwright,
    unavailable,
)

OUTPUT = ROOT / "docs" / "screenshots"
BUDGET = 150_000  # bytes per PNG: the README loads all of them at once, on a phone too
SCREEN = VIEWPORTS["phone"]["height"]  # CSS pixels: one phone screen, so the pictures line up in the README
MARGIN = 16  # CSS pixels above an element a picture starts at


@dataclass(frozen=True)
class Ids:
    """The demo records the screenshots show, looked up in the fresh demo (ids are not assumed)."""

    pages: DemoPages
    shed_proposal: int  # 化肥厂小区's e-bike shed: its vote is open and `resident` may take part
    lift_proposal: int  # 送变电家园's lift: a discussion and an owners' vote (Art. 278) that passed
    held_meeting: int  # last Friday's meeting at 化肥厂小区, whose minutes are published


@dataclass(frozen=True)
class Shot:
    """One screenshot: its file, who looks (None: a visitor), in which language, where, what must be on the page
    (so a sign-in page or an error page is never saved as the product) and where the picture starts: at the top
    of the page, or scrolled down to an element where what the shot is about would not fit in the first screen.
    Every picture is one screen tall, so they line up in the README's grid."""

    file: str
    login: str | None
    language: str
    address: Callable[[Ids], str]
    content: str
    start: str | None = None


SHOTS = [
    Shot("01-home.zh.png", "resident", "zh_Hans", lambda i: "/", "main .card h3 a"),
    Shot("02-estate.zh.png", "resident", "zh_Hans", lambda i: f"/places/{i.pages.hfc_estate}",
         "section[aria-labelledby=election-heading]"),
    # On a phone the ledger's filters fill the first screen: the picture starts at its export links and rows.
    Shot("03-ledger.zh.png", "team", "zh_Hans", lambda i: f"/places/{i.pages.hfc_estate}/ledger",
         "main table.ledger tbody tr", start="main form.ledger-filters + p.links"),
    Shot("04-concern.zh.png", "resident", "zh_Hans", lambda i: f"/concerns/{i.pages.concern}", "main form"),
    # From its title down, so the open vote and its button fit in one screen.
    Shot("05-proposal.zh.png", "resident", "zh_Hans", lambda i: f"/proposals/{i.shed_proposal}",
         "main section.vote-box a.button", start="main h1"),
    # The lift's page opens with its plan: the picture starts at the owners' vote and its Art. 278 tally.
    Shot("06-vote.zh.png", "sbd", "zh_Hans", lambda i: f"/proposals/{i.lift_proposal}",
         "main section.vote-box .vote-result table", start="main section.vote-box"),
    Shot("07-console.zh.png", "secretary", "zh_Hans", lambda i: f"/meetings/{i.held_meeting}/console",
         "main form textarea"),
    Shot("08-minutes.zh.png", None, "zh_Hans", lambda i: f"/minutes/{i.pages.minutes}", "main .minutes-body"),
    # The first screen is the secrecy notice: the picture starts at the voter's ballot and its candidates.
    Shot("09-ballot.zh.png", "sbd", "zh_Hans", lambda i: f"/elections/{i.pages.sbd_election}/rounds/1/ballot",
         "form.ballot input[name^=mark-]", start="main section.vote-line"),
    # From its title down, so the first of the elected shows below the turnout.
    Shot("10-results.zh.png", "resident", "zh_Hans",
         lambda i: f"/elections/{i.pages.hfc_election}/rounds/1/results", "main table", start="main h1"),
    Shot("11-estate.en.png", "resident", "en", lambda i: f"/places/{i.pages.hfc_estate}",
         "section[aria-labelledby=election-heading]"),
]


def look_up(server: LiveServer) -> Ids:
    """The ids of the demo records the shots need, from the server's database."""
    from council.demo_votes import LIFT_TITLE, SHED_TITLE
    from council.meetings.models import Minutes
    from council.proposals.models import Proposal

    pages = demo_pages(server)

    def proposal(title: str) -> int | None:
        return server.scalar(sa.select(Proposal.id).where(Proposal.title == title))

    ids = Ids(pages, shed_proposal=proposal(SHED_TITLE), lift_proposal=proposal(LIFT_TITLE),
              held_meeting=server.scalar(sa.select(Minutes.meeting_id).where(Minutes.id == pages.minutes)))
    missing = [name for name, value in vars(pages).items() if value is None]
    missing += [name for name in ("shed_proposal", "lift_proposal", "held_meeting") if getattr(ids, name) is None]
    if missing:
        raise SystemExit(f"screenshots: the demo has no {', '.join(missing)}: has council.demo changed?")
    return ids


def small_png(png: bytes) -> bytes:
    """The PNG reduced to a 256-colour palette without dithering: about half the bytes, and the text stays crisp
    (a page has few colours besides the anti-aliasing of its letters, and no photographs)."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        reduced = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                                dither=Image.Dither.NONE)
    out = io.BytesIO()
    reduced.save(out, format="PNG", optimize=True)
    return out.getvalue()


def take(browser, server: LiveServer, ids: Ids, shot: Shot, sessions: dict) -> bytes:
    """Open the shot's page as its person on a phone, check it is the page meant, and return the PNG."""
    context = browser.new_context(**context_options(shot.language, "phone"), storage_state=sessions.get(shot.login))
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        url = server.url(shot.address(ids))
        response = page.goto(url, wait_until="load")
        if response is None or response.status != 200 or page.url != url:
            raise SystemExit(f"screenshots: {shot.file}: {url} answered {response and response.status}, "
                             f"ended at {page.url}")
        if page.locator(shot.content).count() == 0:
            raise SystemExit(f"screenshots: {shot.file}: {url} has nothing matching {shot.content!r}")
        page.evaluate("document.fonts.ready.then(() => true)")  # every glyph drawn in its own font
        top = 0
        if shot.start:  # the element's top on the page (nothing has scrolled yet), less a little air above it
            box = page.locator(shot.start).first.bounding_box() if page.locator(shot.start).count() else None
            if box is None:
                raise SystemExit(f"screenshots: {shot.file}: {url} has nothing visible matching {shot.start!r}")
            top = max(0, int(box["y"]) - MARGIN)
        bottom = min(page.evaluate("document.documentElement.scrollHeight"), top + SCREEN)
        return page.screenshot(full_page=True, animations="disabled", caret="hide",
                               clip={"x": 0, "y": top, "width": page.viewport_size["width"], "height": bottom - top})
    finally:
        context.close()


def signed_in(browser, server: LiveServer, logins: set[str]) -> dict:
    """Each person's cookies, signing in once through the form (as the browser tests do)."""
    sessions = {}
    for login in sorted(logins):
        context = browser.new_context()
        sign_in(context.new_page(), server, login)
        sessions[login] = context.storage_state()
        context.close()
    return sessions


def main() -> int:
    reason = unavailable()
    if reason:
        print(f"screenshots: cannot run: {reason}", file=sys.stderr)
        return 1
    started = time.monotonic()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per shot, not one per request
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="council-screenshots-") as folder:
        template = Path(folder) / "demo.db"
        print("screenshots: building the demo database", flush=True)
        build_demo(template)
        server = serve_copy(template, Path(folder) / "served.db")
        try:
            ids = look_up(server)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                try:
                    sessions = signed_in(browser, server, {s.login for s in SHOTS if s.login})
                    sizes = {}
                    for shot in SHOTS:
                        png = small_png(take(browser, server, ids, shot, sessions))
                        (OUTPUT / shot.file).write_bytes(png)
                        sizes[shot.file] = len(png)
                        print(f"  {shot.file:<19} {shot.language:<8} {shot.login or 'visitor':<10} "
                              f"{shot.address(ids):<32} {len(png) / 1000:5.1f} KB", flush=True)
                finally:
                    browser.close()
        finally:
            server.stop()
    print(f"screenshots: {len(sizes)} PNGs, {sum(sizes.values()) / 1000:.0f} KB in all, in "
          f"{OUTPUT.relative_to(ROOT)}/ ({time.monotonic() - started:.0f} s)")
    heavy = [f"{name} ({size / 1000:.0f} KB)" for name, size in sizes.items() if size > BUDGET]
    if heavy:
        print(f"screenshots: over the {BUDGET // 1000} KB budget: {', '.join(heavy)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
