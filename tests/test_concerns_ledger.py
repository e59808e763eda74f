"""The estate ledger (台账) on screen, as CSV and on A4 paper, and this week's list (民情清单): filters, who may
see them, what a file that travels may say, and a fixed number of queries whatever the size of the ledger."""
from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask_babel import gettext

from council.activity.models import Activity
from council.concerns.models import Concern
from council.concerns.queries import coming_friday
from council.concerns.rules import Category, ConcernStatus, Level
from council.extensions import db
from council.sqltypes import utcnow
from tests.helpers import counting

S = ConcernStatus
SHANGHAI = ZoneInfo("Asia/Shanghai")
ESTATE_OF = {"estate": "estate", "b1": "estate", "b2": "estate", "estate2": "estate2", "b3": "estate2",
             "estate3": "estate3", "b4": "estate3"}
HEADER = ["No.", "Date reported", "Title", "Category", "Building or place", "Reported by", "Date accepted",
          "Person responsible", "Responsible unit", "Deadline", "Level", "Status", "Date resolved", "Rating"]


def shanghai(*args) -> datetime:
    """A wall-clock time in Shanghai, as the UTC moment stored."""
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)


def add(app, world, title: str, where: str = "b1", *, status=S.REPORTED, category=Category.FACILITIES,
        created: datetime | None = None, support: int = 1, deadline: date | None = None, reporter: str | None = None,
        reporter_name: str | None = None, show_name: bool = True, owner: str | None = None,
        unit: str | None = None) -> int:
    """A concern written straight to the table: the ledger only reads."""
    with app.app_context():
        estate_id = getattr(world, ESTATE_OF[where])
        concern = Concern(
            place_id=getattr(world, where), estate_id=estate_id, holder_id=estate_id, level=Level.ESTATE,
            title=title, description="", category=category, status=status, support_count=support,
            reporter_id=world.users[reporter] if reporter else None, reporter_name=reporter_name,
            show_name=show_name, owner_id=world.users[owner] if owner else None, responsible_unit=unit,
            deadline=deadline, created_at=created or utcnow())
        db.session.add(concern)
        db.session.commit()
        return concern.id


def ledger(client, world, **args):
    return client.get(f"/places/{world.estate}/ledger", query_string=args)


def read_csv(response) -> list[list[str]]:
    with response:  # the file the CSV is sent from is closed with the response
        return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


# ---- filters ---------------------------------------------------------------------------------------

@pytest.fixture
def four(app, world):
    add(app, world, "alpha-lamp", "b1", status=S.REPORTED, category=Category.FACILITIES)
    add(app, world, "bravo-parking", "b2", status=S.IN_PROGRESS, category=Category.PARKING)
    add(app, world, "charlie-gate", "estate", status=S.CLOSED, category=Category.SAFETY)
    add(app, world, "delta-bins", "b1", status=S.RESOLVED, category=Category.ENVIRONMENT)
    add(app, world, "echo-elsewhere", "b3", status=S.REPORTED)  # another estate: never in this ledger
    return ("alpha-lamp", "bravo-parking", "charlie-gate", "delta-bins")


@pytest.mark.parametrize(("args", "expected"), [
    ({}, {"alpha-lamp", "bravo-parking", "charlie-gate", "delta-bins"}),
    ({"status": "reported"}, {"alpha-lamp"}),
    ({"status": "open"}, {"alpha-lamp", "bravo-parking"}),
    ({"status": "closed"}, {"charlie-gate"}),
    ({"category": "parking"}, {"bravo-parking"}),
    ({"building": "b1"}, {"alpha-lamp", "delta-bins"}),
    ({"building": "estate"}, {"charlie-gate"}),
    ({"status": "open", "building": "b1"}, {"alpha-lamp"}),
])
def test_each_filter_narrows_the_ledger(world, login, four, args, expected):
    if "building" in args:
        args = {**args, "building": getattr(world, args["building"])}
    page = ledger(login("team"), world, **args).text
    assert {title for title in four if title in page} == expected
    assert "echo-elsewhere" not in page


def test_a_filter_that_does_not_validate_is_shown_and_ignored(world, login, four):
    response = ledger(login("team"), world, status="nonsense", building=world.b3, date_from="31/02/2026")
    assert response.status_code == 200
    assert "could not be used" in response.text
    assert all(title in response.text for title in four)


def test_period_uses_shanghai_days_both_ends_included(app, world, login):
    add(app, world, "before-start", created=shanghai(2026, 2, 28, 23, 59))  # 15:59 UTC on the 28th
    add(app, world, "first-minute", created=shanghai(2026, 3, 1, 0, 0))  # 16:00 UTC on 28 Feb
    add(app, world, "last-minute", created=shanghai(2026, 3, 31, 23, 59))  # 15:59 UTC on the 31st
    add(app, world, "next-day", created=shanghai(2026, 4, 1, 0, 5))  # still 31 March in UTC
    team = login("team")
    page = ledger(team, world, date_from="2026-03-01", date_to="2026-03-31").text
    assert "first-minute" in page and "last-minute" in page
    assert "before-start" not in page and "next-day" not in page
    assert "next-day" in ledger(team, world, date_from="2026-04-01").text
    assert "last-minute" not in ledger(team, world, date_from="2026-04-01").text
    # An end before the start is refused; the start still applies.
    page = ledger(team, world, date_from="2026-03-02", date_to="2026-03-01").text
    assert "The end date is before the start date." in page
    assert "last-minute" in page and "first-minute" not in page


def test_pages_keep_the_filters(app, world, login):
    with app.app_context():
        db.session.execute(sa.insert(Concern), [
            dict(place_id=world.b1, estate_id=world.estate, holder_id=world.estate, title=f"parking-{i}",
                 category=Category.PARKING, status=S.REPORTED, created_at=utcnow()) for i in range(25)])
        db.session.commit()
    page = ledger(login("team"), world, category="parking").text
    assert "25 concerns" in page
    assert "category=parking" in page.split('rel="next"')[0].rsplit("<a ", 1)[1]


def test_staff_see_a_hidden_reporter_on_screen(app, world, login):
    add(app, world, "noise-upstairs", reporter="resident", show_name=False)
    assert "周丽华" in ledger(login("team"), world).text


# ---- who may open it --------------------------------------------------------------------------------

LEDGER_URLS = ("/places/{id}/ledger", "/places/{id}/ledger.csv", "/places/{id}/ledger/print")


@pytest.mark.parametrize(("username", "status"), [
    ("team", 200), ("secretary", 200), ("estate_admin", 200), ("community_admin", 200), ("street_admin", 200),
    ("resident", 403), ("outsider", 403), ("admin3", 403), ("leader3", 403), ("leader", 403), ("newcomer", 403),
])
def test_ledger_is_for_the_estates_staff(world, login, username, status):
    client = login(username)
    for url in LEDGER_URLS:
        with client.get(url.format(id=world.estate)) as response:
            assert response.status_code == status, url


def test_ledger_needs_sign_in_and_an_estate(world, client, login):
    for url in LEDGER_URLS:
        response = client.get(url.format(id=world.estate))
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    admin = login("street_admin")
    for url in LEDGER_URLS:
        assert admin.get(url.format(id=world.b1)).status_code == 404
        assert admin.get(url.format(id=world.community)).status_code == 404
    assert login("admin3").get(f"/places/{world.estate3}/ledger").status_code == 200


# ---- CSV --------------------------------------------------------------------------------------------

def test_csv_is_excel_ready_and_keeps_hidden_reporters_hidden(app, world, login):
    add(app, world, "noise-upstairs", reporter="resident", show_name=False, owner="team", unit="物业公司",
        status=S.ACCEPTED, deadline=date(2026, 5, 1))
    add(app, world, "lift-noise", reporter_name="李奶奶", show_name=True, category=Category.SAFETY)
    add(app, world, "closed-one", status=S.CLOSED)
    response = login("team").get(f"/places/{world.estate}/ledger.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.data.startswith(b"\xef\xbb\xbf")
    assert int(response.headers["Content-Length"]) == len(response.data)
    rows = read_csv(response)
    assert rows[0] == HEADER and len(rows) == 4
    assert all(len(row) == len(HEADER) for row in rows)
    text = response.data.decode("utf-8-sig")
    assert "周丽华" not in text and "李奶奶" in text
    hidden = next(row for row in rows if row[2] == "noise-upstairs")
    assert hidden[5] == "A resident" and hidden[7] == "team" and hidden[8] == "物业公司"
    assert hidden[9] == "2026-05-01" and hidden[11] == "Accepted" and hidden[10] == "Estate"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=\"ledger-")
    assert f"filename*=UTF-8''{quote('化肥厂小区')}-" in disposition
    disposition.encode("ascii")  # the header itself is plain ASCII


def test_csv_speaks_the_readers_language(app, world, login):
    add(app, world, "in-chinese", category=Category.PARKING)
    response = login("team").get(f"/places/{world.estate}/ledger.csv", headers={"Accept-Language": "zh-CN"})
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = read_csv(response)
    assert len(rows) == 2
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert rows[0] == [gettext(label) for label in HEADER]  # whatever the catalog holds today
        assert rows[1][3] == gettext("Parking and traffic") and rows[1][10] == gettext("Estate") == "小区"


def test_csv_follows_the_filters_and_the_export_is_recorded(app, world, login):
    add(app, world, "open-one", status=S.REPORTED)
    add(app, world, "closed-one", status=S.CLOSED)
    team = login("team")
    rows = read_csv(team.get(f"/places/{world.estate}/ledger.csv?status=open"))
    assert [row[2] for row in rows[1:]] == ["open-one"]
    with app.app_context():
        entry = db.session.scalars(sa.select(Activity).where(Activity.verb == "concern.exported")).one()
        assert (entry.actor_id, entry.place_id, entry.detail) == (world.users["team"], world.estate, "status=open")
    assert "exported the concerns ledger" in team.get(f"/places/{world.estate}/activity").text


def test_csv_cells_never_run_as_formulas(app, world, login):
    for title in ("=HYPERLINK(\"http://x\",\"y\")", "+86 138", "-1 floor", "@SUM(A1)", "\tTAB"):
        add(app, world, title, unit="=cmd|' /C calc'!A0")
    add(app, world, "plain title", reporter_name="=bad", show_name=True)
    rows = read_csv(login("team").get(f"/places/{world.estate}/ledger.csv"))
    titles = {row[2] for row in rows[1:]}
    assert titles == {"'=HYPERLINK(\"http://x\",\"y\")", "'+86 138", "'-1 floor", "'@SUM(A1)", "'\tTAB", "plain title"}
    assert {row[8] for row in rows[1:] if row[2] != "plain title"} == {"'=cmd|' /C calc'!A0"}
    assert next(row for row in rows if row[2] == "plain title")[5] == "'=bad"


# ---- print ------------------------------------------------------------------------------------------

def test_print_view_lists_every_matching_row_for_a4(app, world, login):
    for i in range(30):
        add(app, world, f"printed-{i:02d}", category=Category.PARKING)
    add(app, world, "other-kind", category=Category.SAFETY)
    add(app, world, "secret-reporter", reporter="resident", show_name=False, category=Category.PARKING)
    page = login("team").get(f"/places/{world.estate}/ledger/print?category=parking").text
    assert all(f"printed-{i:02d}" in page for i in range(30)) and "other-kind" not in page
    assert "council.css" in page  # whose @page sets A4 (no inline style under the CSP)
    assert "化肥厂小区" in page and "Category: Parking and traffic" in page and "Printed" in page
    assert "31 concerns" in page and "Only the first" not in page
    assert "周丽华" not in page  # paper travels too


def test_print_view_is_capped(app, world, login, monkeypatch):
    monkeypatch.setattr("council.concerns.reports.LEDGER_PRINT_CAP", 3)
    for i in range(5):
        add(app, world, f"capped-{i}", created=utcnow() - timedelta(days=i))
    page = login("team").get(f"/places/{world.estate}/ledger/print").text
    assert "Only the first 3 of 5 concerns are printed" in page
    assert [f"capped-{i}" in page for i in range(5)] == [True, True, True, False, False]


# ---- this week's list -------------------------------------------------------------------------------

@pytest.mark.parametrize(("today", "friday"), [
    (date(2026, 1, 5), date(2026, 1, 9)),  # Monday
    (date(2026, 1, 6), date(2026, 1, 9)),
    (date(2026, 1, 7), date(2026, 1, 9)),
    (date(2026, 1, 8), date(2026, 1, 9)),
    (date(2026, 1, 9), date(2026, 1, 9)),  # Friday: today
    (date(2026, 1, 10), date(2026, 1, 16)),  # Saturday: next week's
    (date(2026, 1, 11), date(2026, 1, 16)),
    (date(2025, 12, 27), date(2026, 1, 2)),  # across the year
])
def test_coming_friday(today, friday):
    assert coming_friday(today) == friday and friday.weekday() == 4


def test_this_week_by_support_then_age_not_overdue(app, world, login, monkeypatch):
    now = utcnow()
    add(app, world, "old-popular", support=5, created=now - timedelta(days=9))
    add(app, world, "new-popular", support=5, created=now - timedelta(days=1))
    add(app, world, "overdue-lonely", status=S.ACCEPTED, support=1, deadline=date(2020, 1, 1),
        created=now - timedelta(days=30))
    add(app, world, "middling", status=S.IN_PROGRESS, support=3, created=now - timedelta(days=2))
    add(app, world, "done-already", status=S.RESOLVED, support=9)
    add(app, world, "declined-one", status=S.DECLINED, support=9)
    monkeypatch.setattr("council.i18n.local_today", lambda: date(2026, 1, 7))
    page = login("team").get(f"/places/{world.estate}/this-week").text
    order = ["old-popular", "new-popular", "middling", "overdue-lonely"]
    assert [page.index(title) for title in order] == sorted(page.index(title) for title in order)
    assert "done-already" not in page and "declined-one" not in page
    assert "Friday Jan 9, 2026" in page


def test_this_week_of_an_estate_shows_members_their_own_places(app, world, login):
    add(app, world, "in-my-building", "b1")
    add(app, world, "whole-estate", "estate")
    add(app, world, "other-building", "b2")
    page = login("resident").get(f"/places/{world.estate}/this-week").text
    assert "in-my-building" in page and "whole-estate" in page and "other-building" not in page
    page = login("team").get(f"/places/{world.estate}/this-week").text
    assert all(title in page for title in ("in-my-building", "whole-estate", "other-building"))
    for username, status in (("leader", 200), ("secretary", 200), ("outsider", 403), ("admin3", 403),
                             ("newcomer", 403)):
        assert login(username).get(f"/places/{world.estate}/this-week").status_code == status, username


def test_this_week_of_a_community_gathers_its_estates_for_staff(app, world, login, client):
    add(app, world, "estate-one", "b1", support=2)
    add(app, world, "estate-two", "b3", support=4)
    add(app, world, "other-community", "b4", support=9)
    add(app, world, "closed-here", "b1", status=S.CLOSED)
    url = f"/places/{world.community}/this-week"
    assert "/login" in client.get(url).headers["Location"]
    page = login("committee").get(url).text
    assert page.index("estate-two") < page.index("estate-one")
    assert "other-community" not in page and "closed-here" not in page
    assert "香林美域" in page  # each item says which estate it is in
    for username, status in (("community_admin", 200), ("street_admin", 200), ("team", 403), ("gridworker", 403),
                             ("resident", 403), ("outsider", 403)):
        assert login(username).get(url).status_code == status, username
    admin = login("street_admin")
    assert admin.get(f"/places/{world.grid}/this-week").status_code == 404
    assert admin.get(f"/places/{world.b1}/this-week").status_code == 404


def test_links_to_the_ledger_and_this_week(app, world, login):
    team = login("team")
    for url in (f"/places/{world.estate}/concerns", f"/places/{world.estate}/queue"):
        page = team.get(url).text
        for link in (f"/places/{world.estate}/ledger", f"/places/{world.estate}/ledger.csv",
                     f"/places/{world.estate}/this-week"):
            assert f'href="{link}"' in page, (url, link)
    page = login("resident").get(f"/places/{world.b1}/concerns").text
    assert f"/places/{world.estate}/this-week" in page and "/ledger" not in page
    page = login("leader").get(f"/places/{world.b1}/queue").text
    assert f"/places/{world.estate}/this-week" in page and "/ledger" not in page
    assert f"/places/{world.community}/this-week" in login("committee").get(f"/places/{world.community}/queue").text


# ---- a fixed number of queries ----------------------------------------------------------------------

def bulk_add(app, world, start: int, count: int) -> None:
    users = [world.users[name] for name in ("resident", "team", "leader")]
    places = [world.b1, world.b2, world.estate]
    statuses = list(ConcernStatus)
    with app.app_context():
        db.session.execute(sa.insert(Concern), [dict(
            place_id=places[i % 3], estate_id=world.estate, holder_id=world.estate, level=Level.ESTATE,
            title=f"bulk-{i}", category=list(Category)[i % 7], status=statuses[i % len(statuses)],
            reporter_id=users[i % 3] if i % 4 else None, reporter_name=None if i % 4 else f"name-{i}",
            show_name=bool(i % 2), owner_id=users[(i + 1) % 3] if i % 5 else None,
            deadline=date(2026, 1, 1) + timedelta(days=i % 90), support_count=1 + i % 11,
            created_at=shanghai(2025, 1, 1) + timedelta(minutes=37 * i)) for i in range(start, start + count)])
        db.session.commit()


def test_ledger_and_csv_queries_do_not_grow_with_the_data(app, world, login):
    team = login("team")
    urls = {"page": f"/places/{world.estate}/ledger?status=open&page=2",
            "plain page": f"/places/{world.estate}/ledger",
            "csv": f"/places/{world.estate}/ledger.csv",
            "print": f"/places/{world.estate}/ledger/print"}

    def measure() -> dict[str, int]:
        counts = {}
        for name, url in urls.items():
            with counting(app) as statements:
                with team.get(url) as response:
                    assert response.status_code == 200
                    response.get_data()  # were anything streamed, its queries would run now
            counts[name] = len(statements)
        return counts

    bulk_add(app, world, 0, 10)
    measure()  # warm up
    small = measure()
    bulk_add(app, world, 10, 9_990)
    large = measure()
    rows = read_csv(team.get(urls["csv"]))
    assert len(rows) == 10_001
    assert {name: small[name] for name in urls} == {name: large[name] for name in urls}, (small, large)
    print("queries per request:", {name: small[name] for name in urls})
