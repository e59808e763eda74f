"""Public statistics: the pure figures at their edges, the page for an estate and a community (signed
out too), and a page whose number of queries does not grow with the number of concerns."""
from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from babel.dates import format_skeleton
from hypothesis import example, given
from hypothesis import strategies as st

from council.concerns.models import Concern
from council.concerns.rules import OPEN, Category, ConcernStatus, Level
from council.concerns.statistics import (
    DONE,
    MIN_GROUP,
    ZONE,
    ConcernFacts,
    is_late,
    local_month,
    month_starts,
    summarise,
    window_start,
)
from council.extensions import db
from tests.helpers import counting

S = ConcernStatus


def sh(text: str) -> datetime:
    """A wall-clock time in Shanghai, e.g. "2026-02-01 09:00"."""
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def fact(created_at, status=S.REPORTED, resolved_at=None, deadline=None, level=None, rating=None) -> ConcernFacts:
    return ConcernFacts(created_at=created_at, resolved_at=resolved_at, deadline=deadline, status=status,
                        resolved_level=level, rating=rating)


# ---- the pure figures on known data, computed by hand ---------------------------------------------

TODAY = date(2026, 3, 15)  # the window: April 2025 to March 2026
KNOWN = [
    # February 2026
    fact(sh("2026-02-01 09:00"), S.CLOSED, sh("2026-02-03 09:00"), date(2026, 2, 3), Level.ESTATE, 5),  # 2 d, on time
    fact(sh("2026-02-02 12:00"), S.FOLLOWED_UP, sh("2026-02-06 00:00"), date(2026, 2, 5), Level.GRID, 4),  # 3.5 d, late
    fact(sh("2026-02-10 08:00"), S.RESOLVED, sh("2026-02-20 08:00"), None, Level.COMMUNITY),  # 10 d
    fact(sh("2026-02-11 10:00"), S.IN_PROGRESS, None, date(2026, 3, 1), rating=2),  # reopened, open past deadline
    fact(sh("2026-02-12 10:00"), S.ACCEPTED, None, date(2026, 3, 20)),  # deadline still ahead
    fact(sh("2026-02-13 10:00"), S.DECLINED),
    fact(sh("2026-02-14 10:00"), S.MERGED, None, date(2026, 2, 20)),  # a duplicate: not counted at all
    fact(utc("2026-01-31 17:00")),  # 1 February 01:00 in Shanghai
    # March 2026
    fact(sh("2026-03-01 00:30"), S.RESOLVED, sh("2026-03-01 12:30"), date(2026, 3, 1), Level.STREET),  # 0.5 d
    fact(sh("2026-03-14 10:00"), S.ACCEPTED, None, date(2026, 3, 15)),  # due today: not late yet
    # January 2026: the last second of 31 January in Shanghai
    fact(utc("2026-01-31 15:59:59"), S.CLOSED, utc("2026-02-01 15:59:59"), None, Level.ESTATE, 3),  # 1 d
    # The window's first instant (1 April 2025 00:00 in Shanghai), and one second before it, and after today's month
    fact(utc("2025-03-31 16:00")),
    fact(utc("2025-03-31 15:59:59")),
    fact(sh("2026-04-01 00:00")),
]


def test_known_months_by_hand():
    stats = summarise(KNOWN, TODAY, min_group=1)
    months = {f.month: f for f in stats.months}
    assert len(months) == 12 and min(months) == date(2025, 4, 1) and max(months) == date(2026, 3, 1)
    feb, mar, jan, apr = (months[date(2026, 2, 1)], months[date(2026, 3, 1)], months[date(2026, 1, 1)],
                          months[date(2025, 4, 1)])
    assert feb.collected == 7  # 8 raised, one merged away
    assert dict(feb.resolved) == {Level.ESTATE: 1, Level.GRID: 1, Level.COMMUNITY: 1, Level.STREET: 0}
    assert feb.median_days == 3.5  # of 2, 3.5, 10
    assert (feb.with_deadline, feb.late, feb.late_share) == (4, 2, 0.5)
    assert feb.rated == 3 and feb.average_rating == pytest.approx(11 / 3)
    assert mar.collected == 2 and mar.resolved[Level.STREET] == 1
    assert (mar.median_days, mar.with_deadline, mar.late, mar.late_share) == (0.5, 2, 0, 0.0)
    assert mar.average_rating is None  # nobody rated: None, not 0
    assert jan.collected == 1 and jan.median_days == 1.0 and jan.average_rating == 3
    assert apr.collected == 1
    assert sum(f.collected for f in stats.months) == stats.total.collected == 11


def test_known_total_and_the_minimum_group():
    stats = summarise(KNOWN, TODAY)  # MIN_GROUP = 3
    total = stats.total
    assert total.collected == 11 and total.resolved_total == 5
    assert dict(total.resolved) == {Level.ESTATE: 2, Level.GRID: 1, Level.COMMUNITY: 1, Level.STREET: 1}
    assert total.median_days == 2.0  # of 0.5, 1, 2, 3.5, 10
    assert (total.with_deadline, total.late) == (6, 2) and total.late_share == pytest.approx(1 / 3)
    assert total.average_rating == 3.5  # of 5, 4, 2, 3
    feb, mar = stats.months[-2], stats.months[-1]
    assert feb.median_days == 3.5 and feb.late_share == 0.5  # three and four concerns: shown
    # One resolved concern, two with a deadline, none rated: nothing about one or two concerns is shown.
    assert (mar.median_days, mar.late_share, mar.average_rating) == (None, None, None)
    assert mar.collected == 2 and mar.resolved[Level.STREET] == 1  # counts always are
    assert MIN_GROUP == 3


# ---- the pure figures at their edges --------------------------------------------------------------

moments = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))
facts = st.builds(
    fact,
    created_at=moments,
    status=st.sampled_from(list(ConcernStatus)),
    resolved_at=st.none() | moments,
    deadline=st.none() | st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 1, 1)),
    level=st.none() | st.sampled_from(list(Level)),
    rating=st.none() | st.integers(1, 5),
)
todays = st.dates(min_value=date(2024, 6, 1), max_value=date(2027, 12, 31))


def test_empty_input():
    stats = summarise([], TODAY)
    assert len(stats.months) == 12
    for f in (*stats.months, stats.total):
        assert (f.collected, f.resolved_total, f.with_deadline, f.late, f.rated) == (0, 0, 0, 0, 0)
        assert (f.median_days, f.late_share, f.average_rating) == (None, None, None)


@given(facts, todays)
def test_one_concern(one, today):
    stats = summarise([one], today, min_group=1)
    inside = one.status is not S.MERGED and local_month(one.created_at) in month_starts(today)
    assert [f.collected for f in stats.months].count(1) == int(inside)
    assert stats.total.collected == int(inside)
    if inside and one.rating is not None:
        assert stats.total.average_rating == one.rating
    if inside and one.status in DONE and one.resolved_at is not None:
        assert stats.total.median_days == (one.resolved_at - one.created_at) / timedelta(days=1)
    # The default minimum hides every figure drawn from one concern.
    hidden = summarise([one], today).total
    assert (hidden.median_days, hidden.late_share, hidden.average_rating) == (None, None, None)


@given(st.lists(facts, max_size=40), todays, st.integers(1, 4))
def test_months_add_up_to_the_total(many, today, min_group):
    stats = summarise(many, today, min_group=min_group)
    assert [f.month for f in stats.months] == month_starts(today)
    for name in ("collected", "resolved_total", "finished", "with_deadline", "late", "rated"):
        assert sum(getattr(f, name) for f in stats.months) == getattr(stats.total, name), name
    for f in (*stats.months, stats.total):
        assert f.resolved_total <= f.collected and f.late <= f.with_deadline <= f.collected
        assert (f.late_share is None) == (f.with_deadline < min_group)
        assert (f.average_rating is None) == (f.rated < min_group)
        assert (f.median_days is None) == (f.finished < min_group)
        if f.late_share is not None:
            assert 0 <= f.late_share <= 1
        if f.average_rating is not None:
            assert 1 <= f.average_rating <= 5
    # The order of the records does not matter.
    assert summarise(list(reversed(many)), today, min_group=min_group) == stats


@given(st.lists(facts.map(lambda f: fact(f.created_at, f.status, f.resolved_at, f.deadline, f.resolved_level)),
                max_size=30), todays)
def test_all_unrated_is_none_not_zero(unrated, today):
    stats = summarise(unrated, today, min_group=1)
    assert all(f.average_rating is None for f in (*stats.months, stats.total))


@given(st.lists(facts, max_size=30), todays)
def test_only_the_window_counts(many, today):
    start, end = window_start(today), datetime.combine(
        (month_starts(today)[-1] + timedelta(days=32)).replace(day=1), time(0), ZONE)
    expected = sum(1 for f in many if f.status is not S.MERGED and start <= f.created_at < end)
    assert summarise(many, today).total.collected == expected


@given(st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31)), st.times(), todays,
       st.sampled_from(sorted(DONE)))
def test_resolved_on_the_deadline_day_is_not_late(deadline, at, today, status):
    created = datetime.combine(deadline - timedelta(days=3), time(9), ZONE)
    on_the_day = datetime.combine(deadline, at, ZONE)  # any moment of the deadline day, Shanghai time
    assert not is_late(fact(created, status, on_the_day, deadline), today)
    next_day = datetime.combine(deadline + timedelta(days=1), at, ZONE)
    assert is_late(fact(created, status, next_day, deadline), today)
    # The same moments written in UTC: 23:59 in Shanghai is 15:59 UTC, still the deadline day.
    assert not is_late(fact(created, status, on_the_day.astimezone(UTC), deadline), today)


@given(st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31)), st.sampled_from(sorted(OPEN)))
def test_open_on_the_deadline_day_is_not_late(deadline, status):
    created = datetime.combine(deadline - timedelta(days=3), time(9), ZONE)
    assert not is_late(fact(created, status, None, deadline), deadline)
    assert is_late(fact(created, status, None, deadline), deadline + timedelta(days=1))


@given(moments)
@example(utc("2026-01-31 17:00"))
@example(utc("2026-01-31 15:59:59.999999"))
@example(utc("2026-12-31 16:00"))
def test_months_are_shanghai_months(moment):
    """Shanghai keeps UTC+8 all year (no summer time since 1991)."""
    assert local_month(moment) == (moment + timedelta(hours=8)).date().replace(day=1)


def test_month_boundaries_in_shanghai():
    assert local_month(utc("2026-01-31 17:00")) == date(2026, 2, 1)
    assert local_month(utc("2026-01-31 15:59:59")) == date(2026, 1, 1)
    assert local_month(utc("2026-01-31 16:00")) == date(2026, 2, 1)
    assert local_month(utc("2025-12-31 16:00")) == date(2026, 1, 1)
    assert window_start(date(2026, 1, 5)) == utc("2025-01-31 16:00")
    assert month_starts(date(2026, 1, 31))[:2] == [date(2025, 2, 1), date(2025, 3, 1)]
    assert month_starts(date(2026, 1, 31))[-1] == date(2026, 1, 1)


@given(todays)
def test_the_query_window_is_the_first_month(today):
    start = window_start(today)
    assert local_month(start) == month_starts(today)[0]
    assert local_month(start - timedelta(microseconds=1)) != month_starts(today)[0]


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        summarise([fact(datetime(2026, 3, 1, 12))], TODAY)


# ---- the page -------------------------------------------------------------------------------------

SECRET_TITLE, SECRET_NAME = "楼道灯坏了请修理", "王秘密"


def this_month() -> tuple[date, datetime]:
    """Today in Shanghai, and noon on the first of this month there (the view counts by Shanghai months)."""
    today = datetime.now(ZONE).date()
    return today, datetime.combine(today.replace(day=1), time(12), ZONE)


def rows_for(place_id: int, count: int, start: datetime, **values) -> list[dict]:
    return [{"place_id": place_id, "estate_id": place_id, "holder_id": place_id, "title": SECRET_TITLE,
             "description": "", "category": Category.FACILITIES, "status": S.REPORTED, "reporter_name": SECRET_NAME,
             "created_at": start + timedelta(seconds=i), **values} for i in range(count)]


def insert(app, rows: list[dict]) -> None:
    with app.app_context():
        db.session.execute(sa.insert(Concern), rows)
        db.session.commit()


def resolved(place_id: int, start: datetime, days: int, level: Level, rating: int | None, deadline: date | None):
    return rows_for(place_id, 1, start, status=S.CLOSED, resolved_at=start + timedelta(days=days),
                    resolved_level=level, rating=rating, deadline=deadline, rating_comment=SECRET_NAME)


def table(page: str) -> dict[str, list[str]]:
    """The statistics table: row heading → the cells of its row, as text."""
    body = page[page.index('<table class="stack stats-table">'):page.index("</table>")]
    rows = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        cells = [" ".join(html.unescape(re.sub(r"<[^>]+>", "", cell)).split())
                 for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        rows[cells[0]] = cells[1:]
    return rows


@pytest.fixture
def figures(app, world):
    """This month: the estate has 3 closed (1, 2, 3 days; deadline the next day; rated 5, 4, 3) and 1 open;
    estate2 (same community) 2 closed at grid level in 4 days; estate3 (another community) 5 open.
    Last month: one open concern in the estate."""
    today, start = this_month()
    due = (start + timedelta(days=1)).date()
    rows = [row for days, rating in ((1, 5), (2, 4), (3, 3))
            for row in resolved(world.estate, start, days, Level.ESTATE, rating, due)]
    rows += rows_for(world.estate, 1, start) + rows_for(world.estate, 1, start - timedelta(days=20))
    rows += resolved(world.estate2, start, 4, Level.GRID, None, None) * 2
    rows += rows_for(world.estate3, 5, start)
    insert(app, rows)
    return today, start


def test_estate_page_signed_out(client, world, figures):
    today, start = figures
    response = client.get(f"/places/{world.estate}/stats")
    assert response.status_code == 200
    page = response.text
    rows = table(page)
    month = format_skeleton("yMMM", start.date(), locale="en")
    last_month = format_skeleton("yMMM", (start - timedelta(days=20)).date(), locale="en")
    #            raised, estate, grid, community, street, median days, late, satisfaction
    assert rows["All 12 months"] == ["5", "3", "0", "0", "0", "2.0", "67%", "4.0"]
    assert rows[month] == ["4", "3", "0", "0", "0", "2.0", "67%", "4.0"]
    assert rows[last_month] == ["1", "0", "0", "0", "0", "—", "—", "—"]
    assert len(rows) == 1 + 12 + 1  # header, twelve months, total
    # Numbers only: never a title, a name or a comment; no script at all; charts that speak.
    assert SECRET_TITLE not in page and SECRET_NAME not in page
    assert "<script" not in page
    assert page.count('role="img"') == 5 and page.count("<svg") == 5
    assert 'aria-label="Concerns raised. The same numbers are in the table below."' in page
    assert f"<title>{month}: 4</title>" in page


def test_community_page_adds_up_its_estates(client, world, figures):
    response = client.get(f"/places/{world.community}/stats")
    assert response.status_code == 200
    rows = table(response.text)
    # estate + estate2; estate3 belongs to another community. Median of 1, 2, 3, 4, 4 days.
    assert rows["All 12 months"] == ["7", "3", "2", "0", "0", "3.0", "67%", "4.0"]
    other = table(client.get(f"/places/{world.community2}/stats").text)
    assert other["All 12 months"] == ["5", "0", "0", "0", "0", "—", "—", "—"]
    assert table(client.get(f"/places/{world.estate3}/stats").text)["All 12 months"][0] == "5"


def test_signed_in_and_in_chinese(client, world, figures, login):
    assert login("outsider").get(f"/places/{world.estate}/stats").status_code == 200
    client.post("/logout")
    client.environ_base.pop("HTTP_ACCEPT_LANGUAGE")
    _today, start = figures
    page = client.get(f"/places/{world.community}/stats").text
    assert format_skeleton("yMMM", start.date(), locale="zh_Hans") in page  # e.g. 2026年3月


@pytest.mark.parametrize("key", ["street", "grid", "b1"])
def test_only_estates_and_communities(client, world, key):
    assert client.get(f"/places/{getattr(world, key)}/stats").status_code == 404
    assert client.get("/places/999999/stats").status_code == 404


def test_the_concerns_list_links_to_the_figures(world, login):
    resident = login("resident")
    assert f"/places/{world.estate}/stats" in resident.get(f"/places/{world.estate}/concerns").text
    assert f"/places/{world.estate}/stats" in resident.get(f"/places/{world.b1}/concerns").text


def count_queries(app, client, url: str) -> tuple[int, str]:
    with counting(app) as statements:
        response = client.get(url)
    assert response.status_code == 200
    return len(statements), response.text


def test_queries_do_not_grow_with_the_concerns(app, client, world):
    _today, start = this_month()
    statuses = [S.REPORTED, S.ACCEPTED, S.IN_PROGRESS, S.CLOSED]

    def many(place_id, count, offset):
        rows = rows_for(place_id, count, start - timedelta(days=40))
        for i, row in enumerate(rows, offset):
            row["created_at"] = start - timedelta(days=(i * 7) % 320, seconds=i)
            row["status"] = statuses[i % 4]
            if row["status"] is S.CLOSED:
                row.update(resolved_at=row["created_at"] + timedelta(hours=i % 200), resolved_level=Level.ESTATE,
                           rating=1 + i % 5, deadline=row["created_at"].date() + timedelta(days=3))
        return rows

    insert(app, many(world.estate, 10, 0))
    for url in (f"/places/{world.estate}/stats", f"/places/{world.community}/stats"):
        client.get(url)  # warm up: nothing cached on the first request counts against either side
    small = {url: count_queries(app, client, url)[0]
             for url in (f"/places/{world.estate}/stats", f"/places/{world.community}/stats")}
    insert(app, many(world.estate, 9_990, 10) + many(world.estate2, 5_000, 10_000))
    large = {url: count_queries(app, client, url) for url in small}
    assert {url: n for url, (n, _page) in large.items()} == small
    assert max(small.values()) <= 3, small  # the place, the places above it, the concerns' facts
    estate_total = table(large[f"/places/{world.estate}/stats"][1])["All 12 months"][0]
    community_total = table(large[f"/places/{world.community}/stats"][1])["All 12 months"][0]
    assert (estate_total, community_total) == ("10,000", "15,000")
