"""The owner register pages: a building's register, recording a unit's owners, the estate's CSV import and
export, from inside and outside the scope."""
from __future__ import annotations

import csv
import html
import io
from urllib.parse import urlparse

import pytest
import sqlalchemy as sa

from council.activity.models import Activity
from council.extensions import db
from council.owners.models import Ownership
from council.owners.services import OwnerEntry, mask, record_owners
from council.territory.models import Household, Place, PlaceKind, Tenure, UnitKind
from council.territory.services import create_household, create_place
from tests.helpers import counting

CERT = "皖(2021)合肥市不动产权第0012345号"
CERT2 = "皖(2021)合肥市不动产权第0067890号"
HEADER = "building,unit,room,certificate_no,owner_name,owner_mobile,owner_login,caster,kind,area\n"

# Who may do what on world.estate and its buildings (b1: h11, h12).
MANAGERS = ("committee", "estate_admin", "community_admin", "street_admin", "siteadmin")
VIEWERS = ("leader", "team", "secretary", "gridworker")
OUTSIDE = ("leader3", "admin3", "resident", "outsider", "newcomer")


def owners_form(**fields) -> dict[str, str]:
    data = {"kind": "dwelling", "certificate_no": CERT, "caster": "1", "name_1": "王建国"}
    data.update(fields)
    return data


def live(app, household_id: int) -> list[tuple[str, str | None, bool, str]]:
    """(name, mobile, is_caster, certificate) of a unit's current owners, casters first."""
    with app.app_context():
        return [(o.name, o.mobile, o.is_caster, o.certificate_no) for o in db.session.scalars(
            sa.select(Ownership).where(Ownership.household_id == household_id, Ownership.ended_at.is_(None))
            .order_by(Ownership.is_caster.desc(), Ownership.id))]


def snapshot(app) -> tuple[int, int]:
    """(ownership rows, activity records): what a refused change must leave untouched."""
    with app.app_context():
        return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in (Ownership, Activity))


def upload(client, estate_id: int, content: bytes):
    return client.post(f"/places/{estate_id}/owners/import", content_type="multipart/form-data",
                       data={"file": (io.BytesIO(content), "owners.csv")})


# ---- inside and outside the scope -----------------------------------------------------------------

def manage_urls(world) -> list[str]:
    return [f"/households/{world.h11}/owners", f"/places/{world.estate}/owners/import",
            f"/places/{world.estate}/owners.csv"]


@pytest.mark.parametrize("username", MANAGERS)
def test_managers_open_every_page(world, login, username):
    client = login(username)
    for url in [f"/places/{world.b1}/owners", *manage_urls(world)]:
        assert client.get(url).status_code == 200, url
    assert "Edit owners" in client.get(f"/places/{world.b1}/owners").text


@pytest.mark.parametrize("username", VIEWERS)
def test_staff_read_the_register_but_do_not_change_it(world, login, username):
    client = login(username)
    page = client.get(f"/places/{world.b1}/owners")
    assert page.status_code == 200 and "1-101" in page.text
    assert "Edit owners" not in page.text
    for url in manage_urls(world):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/households/{world.h11}/owners", data=owners_form()).status_code == 403


def test_a_building_leader_reads_only_their_building(world, login):
    client = login("leader")
    assert client.get(f"/places/{world.b1}/owners").status_code == 200
    assert client.get(f"/places/{world.b2}/owners").status_code == 403


@pytest.mark.parametrize("username", OUTSIDE)
def test_outside_the_scope_is_forbidden(app, world, login, username):
    client = login(username)
    for url in [f"/places/{world.b1}/owners", f"/places/{world.b2}/owners", *manage_urls(world)]:
        assert client.get(url).status_code == 403, url
    assert client.post(f"/households/{world.h11}/owners", data=owners_form()).status_code == 403
    assert upload(client, world.estate, (HEADER + f"1号楼,1,101,{CERT},王建国,,,,,\n").encode()).status_code == 403
    assert snapshot(app)[0] == 0


def test_admin_of_another_estate_manages_their_own(world, login):
    client = login("admin3")
    assert client.get(f"/places/{world.b4}/owners").status_code == 200
    assert client.get(f"/households/{world.h41}/owners").status_code == 200
    assert client.get(f"/places/{world.estate3}/owners/import").status_code == 200


def test_anonymous_is_sent_to_sign_in(world, client):
    for url in [f"/places/{world.b1}/owners", *manage_urls(world)]:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_unknown_ids_and_wrong_kinds_are_404(world, login):
    client = login("siteadmin")
    for url in ("/places/999999/owners", "/households/999999/owners", "/places/999999/owners/import",
                "/places/999999/owners.csv",
                # The register is a building's; import and export an estate's.
                f"/places/{world.estate}/owners", f"/places/{world.b1}/owners/import",
                f"/places/{world.b1}/owners.csv", f"/places/{world.community}/owners.csv"):
        assert client.get(url).status_code == 404, url


def test_panels_link_to_the_register(world, login):
    client = login("team")
    assert f"/places/{world.b1}/owners" in client.get(f"/places/{world.b1}").text
    assert f"/places/{world.estate}/owners/import" not in client.get(f"/places/{world.estate}").text
    client = login("committee")
    estate_page = client.get(f"/places/{world.estate}").text
    assert f"/places/{world.estate}/owners/import" in estate_page
    assert f"/places/{world.estate}/owners.csv" in estate_page
    assert f"/places/{world.b1}/owners" not in login("resident").get(f"/places/{world.b1}").text


# ---- recording a unit's owners --------------------------------------------------------------------

def test_a_sole_owner_is_recorded(app, world, login):
    client = login("committee")
    response = client.post(f"/households/{world.h11}/owners",
                           data=owners_form(name_1=" 王建国 ", mobile_1="139 1234 5678", kind="shop"))
    assert response.status_code == 302
    assert urlparse(response.headers["Location"]).path == f"/places/{world.b1}/owners"
    assert live(app, world.h11) == [("王建国", "13912345678", True, CERT)]
    with app.app_context():
        assert db.session.get(Household, world.h11).kind is UnitKind.SHOP
        entry = db.session.scalar(sa.select(Activity).where(Activity.verb == "owners.recorded"))
        assert entry.actor_id == world.users["committee"] and entry.subject_id == world.h11
    page = client.get(response.headers["Location"])
    assert "The owners of 1-101 are recorded." in page.text and "王建国" in page.text and "Shop" in page.text


def test_the_form_is_filled_with_the_current_owners(app, world, login):
    client = login("estate_admin")
    client.post(f"/households/{world.h11}/owners", data=owners_form(
        name_1="王建国", name_2="李秀英", mobile_2="13800138000", caster="2"))
    page = client.get(f"/households/{world.h11}/owners").text
    # Casters first: the caster is now row 1 and chosen as such.
    assert 'value="李秀英"' in page
    assert '<input checked id="caster-0" name="caster" required type="radio" value="1">' in page
    assert 'value="王建国"' in page and f'value="{CERT}"' in page
    assert 'value="resident"' in page  # the account the mobile number belongs to


def test_co_owners_name_who_casts_the_vote(app, world, login):
    client = login("committee")
    response = client.post(f"/households/{world.h11}/owners", data=owners_form(
        name_1="王建国", mobile_1="13912345678", name_2="李秀英", mobile_2="13800138000", caster="2"))
    assert response.status_code == 302
    assert live(app, world.h11) == [("李秀英", "13800138000", True, CERT), ("王建国", "13912345678", False, CERT)]
    page = client.get(f"/places/{world.b1}/owners").text
    assert "casts the vote" in page
    assert "account linked" in page  # 13800138000 is the resident's account


def test_co_owners_without_one_caster_are_refused(app, world, login):
    client = login("committee")
    before = snapshot(app)
    # The chosen row is empty, so neither co-owner casts the vote.
    response = client.post(f"/households/{world.h11}/owners",
                           data=owners_form(name_1="王建国", name_2="李秀英", caster="3"))
    assert response.status_code == 400
    assert "name the one co-owner who casts it" in response.text
    assert snapshot(app) == before


def test_a_certificate_recorded_for_another_unit_is_refused(app, world, login):
    client = login("committee")
    assert client.post(f"/households/{world.h12}/owners", data=owners_form()).status_code == 302
    before = snapshot(app)
    response = client.post(f"/households/{world.h11}/owners", data=owners_form(name_1="张三"))
    assert response.status_code == 400
    assert "This certificate number is already recorded for 1-102." in response.text
    assert snapshot(app) == before and live(app, world.h11) == []


@pytest.mark.parametrize("fields, message", [
    ({"mobile_1": "12345"}, "This is not a mainland mobile number."),
    ({"name_2": "李秀英", "mobile_1": "13912345678", "mobile_2": "139-1234-5678"},
     "The same mobile number is given for two owners."),
    ({"login_1": "nobody-here"}, "nobody with this mobile number or username has an account"),
    ({"mobile_2": "13912345678"}, "Please enter this owner's name as on the certificate."),
    ({"name_1": ""}, "Please enter the owner's name as on the certificate."),
    ({"certificate_no": ""}, "Please enter the certificate number."),
])
def test_bad_owners_are_refused_and_nothing_is_saved(app, world, login, fields, message):
    client = login("committee")
    before = snapshot(app)
    response = client.post(f"/households/{world.h11}/owners", data=owners_form(**fields))
    assert response.status_code == 400
    assert message in html.unescape(response.text)
    assert snapshot(app) == before


def test_a_sale_ends_the_first_record_and_keeps_it(app, world, login):
    client = login("committee")
    client.post(f"/households/{world.h11}/owners", data=owners_form(name_1="王建国"))
    response = client.post(f"/households/{world.h11}/owners", data=owners_form(certificate_no=CERT2, name_1="赵敏"))
    assert response.status_code == 302
    assert live(app, world.h11) == [("赵敏", None, True, CERT2)]
    with app.app_context():
        history = db.session.scalars(sa.select(Ownership).where(Ownership.household_id == world.h11)
                                     .order_by(Ownership.id)).all()
        assert [(o.name, o.ended_at is not None) for o in history] == [("王建国", True), ("赵敏", False)]
        assert history[0].ended_at == history[1].started_at
    # The certificate of the unit sold is free again for the unit it now belongs to.
    assert client.post(f"/households/{world.h12}/owners", data=owners_form(name_1="钱七")).status_code == 302


def test_the_register_shows_certificates_masked(world, login):
    client = login("committee")
    client.post(f"/households/{world.h11}/owners", data=owners_form())
    page = login("team").get(f"/places/{world.b1}/owners").text
    assert mask(CERT) in page and "****" in page
    assert CERT not in page and "0012345" not in page
    assert "No owner recorded" in page  # 1-102
    assert "Dwelling" in page and "86.5" in page


# ---- import and export ----------------------------------------------------------------------------

def test_a_good_file_records_every_owner(app, world, login):
    text = HEADER + (
        f"1号楼,1,101,{CERT},王建国,13912345678,,,,\n"
        f"1号楼,1,101,{CERT},李秀英,13800138000,,y,,\n"
        f"1号楼,1,102,{CERT2},王建国,139 1234 5678,,,shop,72.5\n"
        "2号楼,1,101,皖(2021)合肥市不动产权第0099999号,孙晓明,,,,parking,\n")
    client = login("estate_admin")
    response = upload(client, world.estate, ("\ufeff" + text).encode())
    assert response.status_code == 302
    assert urlparse(response.headers["Location"]).path == f"/places/{world.estate}"
    assert "4 owners are recorded." in client.get(response.headers["Location"]).text
    assert live(app, world.h11) == [("李秀英", "13800138000", True, CERT), ("王建国", "13912345678", False, CERT)]
    with app.app_context():
        h12 = db.session.get(Household, world.h12)
        assert (h12.kind, h12.floor_area_dm2) == (UnitKind.SHOP, 7250)
        assert db.session.get(Household, world.h21).kind is UnitKind.PARKING
        wang = db.session.scalars(sa.select(Ownership).where(Ownership.name == "王建国")).all()
        # An owner of two units, given with the same mobile number, is one owner.
        assert len(wang) == 2 and len({o.key for o in wang}) == 1


def test_a_bad_file_lists_its_errors_by_line_and_saves_nothing(app, world, login):
    client = login("committee")
    client.post(f"/households/{world.h12}/owners", data=owners_form(certificate_no=CERT2, name_1="钱七"))
    before = snapshot(app)
    text = HEADER + (
        f"1号楼,1,101,{CERT},王建国,,,,,\n"                # line 2: fine by itself
        f"1号楼,1,101,{CERT},李秀英,,,,,\n"                # line 3: two co-owners, no caster (reported on line 2)
        "1号楼,9,909,皖X001,张三,,,,,\n"                    # line 4: no such unit
        "2号楼,1,101,皖X002,赵敏,12345,,,,\n"               # line 5: bad mobile
        "2号楼,1,101,,赵敏,,,,,\n"                          # line 6: empty certificate
        "1号楼,1,102,皖X003,钱七,,,,villa,\n")              # line 7: unknown kind
    response = upload(client, world.estate, text.encode())
    assert response.status_code == 400
    assert "nothing was imported" in response.text
    for line, words in ((2, "name the one co-owner who casts it"), (4, "no such unit"),
                        (5, "not a mainland mobile number"), (6, "Empty value in: certificate_no"),
                        (7, "Kind must be dwelling, shop or parking")):
        assert f"Line {line}: " in response.text and words in response.text, (line, words)
    assert snapshot(app) == before
    assert live(app, world.h12) == [("钱七", None, True, CERT2)]


def test_a_file_that_is_not_utf8_is_refused(app, world, login):
    before = snapshot(app)
    text = HEADER + f"1号楼,1,101,{CERT},王建国,,,,,\n"
    response = upload(login("committee"), world.estate, text.encode("gbk"))
    assert response.status_code == 400
    assert "The file is not UTF-8 text" in response.text
    assert snapshot(app) == before


def test_an_upload_without_a_file_is_refused(world, login):
    response = login("committee").post(f"/places/{world.estate}/owners/import", data={},
                                       content_type="multipart/form-data")
    assert response.status_code == 400 and "Please choose a CSV file." in response.text


def test_the_export_reimports_cleanly(app, world, login):
    client = login("committee")
    client.post(f"/households/{world.h11}/owners", data=owners_form(
        name_1="王建国", mobile_1="13912345678", name_2="李秀英", mobile_2="13800138000", caster="2"))
    client.post(f"/households/{world.h21}/owners", data=owners_form(certificate_no=CERT2, name_1="王建国",
                                                                    mobile_1="13912345678", kind="shop"))
    response = client.get(f"/places/{world.estate}/owners.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f'filename="owners-{world.estate}.csv"' in response.headers["Content-Disposition"]
    assert response.data.startswith("\ufeff".encode())  # the BOM, so Excel reads the Chinese
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["building", "unit", "room"] and len(rows) == 4
    assert CERT in response.data.decode("utf-8-sig")  # in full: managers only
    with app.app_context():
        assert db.session.scalar(sa.select(Activity).where(Activity.verb == "owners.exported")) is not None
        owners_before = {(o.household_id, o.name, o.mobile, o.is_caster, o.certificate_no)
                         for o in db.session.scalars(sa.select(Ownership).where(Ownership.ended_at.is_(None)))}
    again = upload(client, world.estate, response.data)
    assert again.status_code == 302, again.text
    with app.app_context():
        owners_after = {(o.household_id, o.name, o.mobile, o.is_caster, o.certificate_no)
                        for o in db.session.scalars(sa.select(Ownership).where(Ownership.ended_at.is_(None)))}
        assert owners_after == owners_before
        assert db.session.get(Household, world.h21).kind is UnitKind.SHOP


def test_the_export_defuses_spreadsheet_formulas(app, world, login):
    client = login("committee")
    client.post(f"/households/{world.h11}/owners", data=owners_form(name_1="=HYPERLINK(1)"))
    text = client.get(f"/places/{world.estate}/owners.csv").data.decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text


# ---- a fixed number of queries --------------------------------------------------------------------

def _building_with_units(app, world, name: str, units: int) -> int:
    """A building of world.estate with `units` households, each with two co-owners."""
    with app.app_context():
        building = create_place(PlaceKind.BUILDING, name, db.session.get(Place, world.estate), None)
        for n in range(units):
            household = create_household(building, "1", f"{n + 1:02d}01", 8000 + n, Tenure.OWNER_OCCUPIED, None)
            record_owners(household, [OwnerEntry(f"甲{n}", f"139000{n:05d}", caster=True), OwnerEntry(f"乙{n}")],
                          f"{name}-{n}", None)
        db.session.commit()
        return building.id


def test_the_register_takes_a_fixed_number_of_queries(app, world, login):
    small = _building_with_units(app, world, "3号楼", 2)
    large = _building_with_units(app, world, "4号楼", 12)
    client = login("committee")
    client.get(f"/places/{small}/owners")  # warm up
    counts = []
    for building_id in (small, large):
        with counting(app) as statements:
            response = client.get(f"/places/{building_id}/owners")
        assert response.status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    assert "甲11" in response.text
