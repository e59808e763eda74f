"""An owners' vote in the open: the turnout drive (counts and door lists, never choices), the preliminary
result with objections answered in public, the final result, and the filing tables."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from council.ballots import publication
from council.ballots import services as polls
from council.ballots.models import Basis, Poll
from council.ballots.rules import Choice, Rule, Standing, objections_open, result_standing
from council.exceptions import Refused
from council.extensions import db
from council.proposals import stages
from council.proposals.models import Proposal
from council.sqltypes import utcnow
from tests.test_ballots_register import _cast, _line, _open, _user, estate  # noqa: F401  (fixture)


def _close(poll_id):
    poll = db.session.get(Poll, poll_id)
    polls.close(poll, None, poll.closes_at)
    db.session.commit()
    return poll


@pytest.fixture
def voted(app, world, estate):  # noqa: F811
    """The b1 lift vote with 3 days for objections: 王伟 (two flats) against, 李强 for, the rest not yet."""
    opened = utcnow() - timedelta(days=7, hours=1)  # so that it has just closed when the test runs
    with app.app_context():
        poll = stages.open_vote(db.session.get(Proposal, estate["proposal"]), _user("secretary"),
                                Rule.CIVIL_CODE_278_ORDINARY, Basis.OWNERS, False, opened + timedelta(days=7),
                                now=opened, objection_days=3)
        for username, household, choice in (("wang", world.h12, Choice.AGAINST), ("li", estate["h13"], Choice.FOR)):
            polls.cast(poll, _line(poll.id, household), choice, _user(username), now=opened + timedelta(hours=1))
        db.session.commit()
        return poll.id


def test_turnout_by_building_and_the_door_list_never_show_a_choice(app, world, estate, login):  # noqa: F811
    voted = _open(app, estate["proposal"])
    with app.app_context():
        _cast(voted, "wang", world.h12, Choice.AGAINST)
        _cast(voted, "li", estate["h13"], Choice.FOR)
        db.session.commit()
        assert publication.turnout_by_building(db.session.get(Poll, voted)) == [("1号楼", 4, 3)]
        line_id = _line(voted, world.h11).id
    client = login("leader")
    page = client.get(f"/votes/{voted}/doors").get_data(as_text=True)
    assert "1号楼 1-101" in page and "周丽华" in page  # the one unit left, with its owner
    assert "1号楼 1-102" not in page and "Against" not in page and "In favour" not in page
    client.post(f"/votes/{voted}/lines/{line_id}/declined")
    with app.app_context():
        assert _line(voted, world.h11).declined_at is not None and _line(voted, world.h11).status is None
    assert "Turnout by building" in login("secretary").get(f"/votes/{voted}").get_data(as_text=True)
    assert "Turnout by building" not in login("resident").get(f"/votes/{voted}").get_data(as_text=True)
    assert login("resident").get(f"/votes/{voted}/doors").status_code == 403


def test_objections_then_a_final_result(app, world, estate, voted, login):  # noqa: F811
    with app.app_context():
        poll = _close(voted)
        closed = poll.closed_at
        assert publication.standing(poll, closed) is Standing.PRELIMINARY
        with pytest.raises(Refused):  # not on the roll
            publication.lodge(poll, _user("outsider"), "不同意", now=closed)
        with pytest.raises(Refused):  # after the window
            publication.lodge(poll, _user("resident"), "不同意", now=closed + timedelta(days=3))
        db.session.rollback()
    client = login("resident")
    response = client.post(f"/votes/{voted}/objections", data={"body": "我家没收到通知。"})
    assert response.status_code == 302
    with app.app_context():
        poll = db.session.get(Poll, voted)
        assert publication.standing(poll, closed + timedelta(days=4)) is Standing.PRELIMINARY  # unanswered
        objection_id = publication.objections(poll, 1, 20).items[0].id
    assert client.post(f"/votes/{voted}/objections/{objection_id}/answer",
                       data={"body": "x"}).status_code == 403
    login("secretary").post(f"/votes/{voted}/objections/{objection_id}/answer",
                            data={"body": "通知已于开票前七天张贴在单元门口，并上门送达。"})
    with app.app_context():
        poll = db.session.get(Poll, voted)
        assert publication.standing(poll, closed + timedelta(days=1)) is Standing.PRELIMINARY  # window open
        assert publication.standing(poll, closed + timedelta(days=3)) is Standing.FINAL
    page = login("outsider").get(f"/votes/{voted}/objections")
    assert page.status_code == 403
    page = login("leader").get(f"/votes/{voted}/objections").get_data(as_text=True)
    assert "我家没收到通知" in page and "上门送达" in page


def test_the_public_sees_units_and_areas_only_the_organisers_the_tables(app, world, estate, voted, login):  # noqa: F811
    with app.app_context():
        _close(voted)
    page = login("resident").get(f"/votes/{voted}/participation").get_data(as_text=True)
    assert "1号楼 1-102" in page and "72.00" in page and "1号楼 1-201" in page
    assert "王伟" not in page and "Against" not in page
    assert login("resident").get(f"/votes/{voted}/filing/detail.csv").status_code == 403
    client = login("secretary")
    detail = client.get(f"/votes/{voted}/filing/detail.csv").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(detail)))
    assert rows[0] == ["unit", "area_m2", "kind", "took_part", "channel", "choice"]
    assert ["1号楼 1-102", "72.00", "dwelling", "y", "online", "against"] in rows
    summary = client.get(f"/votes/{voted}/filing/summary.csv").get_data(as_text=True)
    assert "participation_area" in summary and "approval_owners" in summary
    printed = client.get(f"/votes/{voted}/filing/print").get_data(as_text=True)
    assert "1号楼 1-202" in printed and "王伟" not in printed and "against" not in printed.lower().split("<table")[2]
    assert login("resident").get(f"/votes/{voted}/filing/print").status_code == 403


def test_an_owner_sees_their_own_recorded_choice_after_the_close(app, world, estate, voted, login):  # noqa: F811
    wang = login("wang").get(f"/votes/{voted}").get_data(as_text=True)
    assert "Your recorded ballots" in wang and "1号楼 1-102: Against" in wang
    resident = login("resident").get(f"/votes/{voted}").get_data(as_text=True)
    assert "Your recorded ballots" not in resident and "Against" not in resident.split("Result")[0]


def test_pages_after_the_close_are_404_while_voting(app, world, estate, login):  # noqa: F811
    voted = _open(app, estate["proposal"])
    client = login("secretary")
    for url in ("participation", "objections", "filing/detail.csv", "filing/summary.csv", "filing/print"):
        assert client.get(f"/votes/{voted}/{url}").status_code == 404, url


@given(st.integers(0, 30), st.integers(-5 * 86400, 40 * 86400))
def test_objection_window_edges(days, offset):
    from datetime import UTC, datetime

    closed = datetime(2026, 11, 1, tzinfo=UTC)
    now = closed + timedelta(seconds=offset)
    expected = days > 0 and 0 <= offset < days * 86400
    assert objections_open(closed, days, now) is expected
    assert result_standing(closed, days, now, 0) is (Standing.PRELIMINARY if expected else Standing.FINAL)
    assert result_standing(closed, days, now, 1) is Standing.PRELIMINARY
    assert result_standing(None, days, now, 0) is Standing.OPEN
