"""A concern from report to follow-up, through the real pages in Chromium, in Chinese and English on a phone and a
desktop: a resident of 化肥厂小区 reports a problem about the estate with a photo taken on the spot; a neighbour from
another building sees it (photo included) and adds "me too"; the service team accepts it, names the person
responsible, the unit and the deadline, starts work and marks it resolved; the resident rates the follow-up visit.

Each run creates a concern of its own with a title no other concern resembles (so the "is it one of these?" check
stays out of the way), and it ends followed up, off the estate's list of open concerns: the shared server serves it.
"""
from __future__ import annotations

import io
import re
from datetime import timedelta

import sqlalchemy as sa
from PIL import Image, ImageDraw

from council.accounts.models import User
from council.concerns.models import Concern
from council.concerns.rules import ConcernStatus
from tests.e2e.browser import click_through
from tests.e2e.flow_steps import both_languages_and_devices, date_as_shown, local_today, row, seen, visit_as

# Per run: title, details, the photo's format and size, what the team writes, what the resident says at the visit.
REPORTS = {
    ("zh_Hans", "phone"): ("北门岗亭的雨棚被大风掀翻", "昨晚刮大风，雨棚一角翘起来了，下面就是人行道。",
                           "JPEG", (480, 360), "物业公司", "雨棚已重新固定，加装了两根拉杆。", "修得很结实，谢谢"),
    ("zh_Hans", "desktop"): ("6号楼前井盖松动一踩就响", "井盖一踩就晃，晚上车开过去声音很大。",
                             "PNG", (400, 300), "供水公司", "换了新的井座和井盖。", "不响了"),
    ("en", "phone"): ("Broken bench by the east gate pavilion", "Two slats are split; an old man nearly fell.",
                      "PNG", (360, 480), "Property management", "Both slats replaced and sanded.", "Solid now"),
    ("en", "desktop"): ("Loose manhole cover rattles outside building 6", "It rocks when stepped on.",
                        "JPEG", (640, 480), "Water company", "New frame and cover fitted.", "Quiet at last"),
}
REPORTER, NEIGHBOUR, TEAM, OWNER = "resident", "hfc05", "team", "secretary"  # OWNER: 吉永锋, the branch secretary
RATING = 4


def snapshot(path, fmt: str, size: tuple[int, int]) -> None:
    """A small real photo-like image (sky, ground, a broken shelter) in JPEG or PNG, carrying the camera's details
    as a phone's photo does (the app must drop them)."""
    image = Image.new("RGB", size, (135, 180, 220))
    draw = ImageDraw.Draw(image)
    width, height = size
    draw.rectangle((0, height * 2 // 3, width, height), fill=(110, 110, 100))
    draw.polygon([(width // 5, height // 3), (width * 4 // 5, height // 4), (width * 4 // 5, height // 3 + 20)],
                 fill=(200, 60, 40))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Council Test Phone", "E2E-1"  # Make, Model
    image.save(path, fmt, exif=exif)
    assert Image.open(path).getexif().get(0x010F) == "Council Test Phone"


# The photo on the concern's page, once the browser has really loaded it (it loads lazily: brought into view, then
# waited for). One round trip.
_PHOTO = """async () => {
  const images = [...document.querySelectorAll('main #photos img')];
  const img = images[0];
  if (img) {
    img.scrollIntoView();
    if (!img.complete) await new Promise((done) => {
      img.addEventListener('load', done, {once: true});
      img.addEventListener('error', done, {once: true});
    });
  }
  return {count: images.length, alt: img && img.alt, src: img && img.src,
          size: img ? [img.naturalWidth, img.naturalHeight] : null};
}"""


def check_photo(page, text, size: tuple[int, int], fetch: bool = False) -> None:
    """The one photo is an <img> the browser really loaded, at the size sent (under the 1600 px cap the clean copy
    keeps it); fetched again, it is a JPEG without metadata whatever was uploaded."""
    photo = page.evaluate(_PHOTO)
    assert photo["count"] == 1, photo
    assert photo["alt"] == text("Photo %(n)s of %(total)s of this concern", n=1, total=1)
    assert photo["size"] == list(size), f"the photo did not load as sent: {photo}"
    if fetch:
        response = page.request.get(photo["src"])
        assert response.status == 200 and response.headers["content-type"] == "image/jpeg"
        served = Image.open(io.BytesIO(response.body()))
        assert served.format == "JPEG" and served.size == size and not served.getexif()


@both_languages_and_devices
def test_a_resident_reports_a_concern_with_a_photo_and_rates_its_follow_up(
        language, device, live_server, demo, pages, signed_in, tmp_path):
    title, details, fmt, size, unit, done, said = REPORTS[(language, device)]
    text = live_server.in_language(language)
    photo = tmp_path / f"on-the-spot.{fmt.lower()}"
    snapshot(photo, fmt, size)
    page = pages.open(language, device)

    # The resident reports it from the estate's page, with the photo, their name shown.
    visit_as(page, signed_in, REPORTER, live_server.url(f"/places/{demo.hfc_estate}"))
    panel = page.locator("section[aria-labelledby=concerns-heading]")
    click_through(page, panel.locator("a", has_text=text("Raise a concern")))
    page.fill("#title", title)
    page.fill("#description", details)
    page.locator("input[name=category][value=facilities]").check()
    page.set_input_files("#photos", str(photo))
    assert page.locator("#show_name").is_checked()
    click_through(page, page.locator("main form button[type=submit]"))
    now = seen(page)
    match = re.search(r"/concerns/(\d+)$", page.url)
    assert match, f"the report should lead to the new concern, yet went to {page.url}: {now}"
    concern_id, concern_url = int(match.group(1)), page.url
    assert now.flash == text("Thank you. Your concern is recorded; you will hear here when it moves on.")
    assert (now.h1, now.badge) == (title, text("Reported"))
    assert now.facts[text("Support")] == text("%(n)s people", n=1), "the reporter counts"
    assert now.facts[text("Where")] == "化肥厂小区"
    assert page.locator("main form[action$='/support']").count() == 0, "nobody supports their own concern"
    check_photo(page, text, size, fetch=True)

    # A neighbour from another building (侯春梅, 6号楼) sees it, photo and all, and adds "me too".
    now = visit_as(page, signed_in, NEIGHBOUR, concern_url)
    assert now.facts[text("Raised by")] == "周丽华", "the resident chose to show their name"
    assert page.locator("#handle").count() == 0, "a neighbour does not handle concerns"
    check_photo(page, text, size)
    click_through(page, page.locator("main form[action$='/support'] button", has_text=text("Me too")))
    now = seen(page)
    assert now.flash == text("Thank you: your support is counted.")
    assert now.facts[text("Support")] == text("%(n)s people", n=2)
    assert page.locator("main p.badge.approved").inner_text() == text("You support this concern")
    assert page.locator("main form[action$='/support']").count() == 0, "support counts once"

    # The service team (何燕) accepts it: who is responsible, which unit, by when; then works on it and resolves it.
    visit_as(page, signed_in, TEAM, concern_url)
    deadline = local_today(live_server) + timedelta(days=7)
    handle = page.locator("#handle")
    handle.locator("#accept-owner").fill(OWNER)
    handle.locator("#accept-unit").fill(unit)
    handle.locator("#accept-deadline").fill(deadline.isoformat())
    click_through(page, handle.locator("form[action$='/accept'] button[type=submit]"))
    now = seen(page)
    assert (now.flash, now.badge) == (text("The concern is accepted."), text("Accepted"))
    assert now.facts[text("Person responsible")] == "吉永锋"
    assert now.facts[text("Responsible unit")] == unit
    assert now.facts[text("Deadline")] == date_as_shown(live_server, language, deadline), "not overdue either"
    assert now.facts[text("Support")] == text("%(n)s people", n=2)
    assert page.locator("#timeline li", has_text=f"{text('assigned an owner')}: 吉永锋").count() == 1

    click_through(page, handle.locator("form[action$='/start'] button"))
    now = seen(page)
    assert (now.flash, now.badge) == (text("Work has started."), text("In progress"))
    handle.locator("#resolve-note").fill(done)
    click_through(page, handle.locator("form[action$='/resolve'] button[type=submit]"))
    now = seen(page)
    assert (now.flash, now.badge) == (text("Marked resolved. Remember the follow-up visit within 7 days."),
                                      text("Resolved"))

    # The resident sees it resolved and rates the follow-up visit; a rating of 3 or more completes it.
    now = visit_as(page, signed_in, REPORTER, concern_url)
    assert now.badge == text("Resolved")
    assert page.locator("#timeline li").last.inner_text().endswith(done), "the latest entry says what was done"
    visit = page.locator("#follow-up")
    assert visit.locator("h2").inner_text() == text("Follow-up visit")
    visit.locator(f"input[name=rating][value='{RATING}']").check()
    visit.locator("#comment").fill(said)
    click_through(page, visit.locator("button[type=submit]"))
    now = seen(page)
    assert (now.flash, now.badge) == (text("The follow-up visit is recorded."), text("Followed up"))
    assert now.facts[text("Follow-up rating")] == f"{RATING} / 5 · {said}"
    latest = page.locator("#timeline li").last.inner_text()
    assert text("recorded the follow-up visit") in latest and f"({RATING} / 5)" in latest and said in latest
    assert page.locator("#follow-up").count() == 0, "the visit is recorded once"

    stored = row(live_server, sa.select(Concern.status, Concern.rating, Concern.support_count, Concern.owner_id)
                 .where(Concern.id == concern_id))
    owner = live_server.scalar(sa.select(User.id).where(User.username == OWNER))
    assert stored == (ConcernStatus.FOLLOWED_UP, RATING, 2, owner), "what the pages showed is what is stored"
