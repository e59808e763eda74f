"""Place pages and the administrators' pages for places and households, from inside and outside the scope."""
from __future__ import annotations

from urllib.parse import urlparse

import pytest
import sqlalchemy as sa

from council.activity.models import Activity
from council.extensions import db
from council.territory.models import Household, Place, PlaceKind, Tenure
from council.territory.services import create_household, create_place
from tests.factories import ROLE_HOLDERS

OTHER_PEOPLE = ("siteadmin", "resident", "outsider", "newcomer")
EVERYONE = (*ROLE_HOLDERS, *OTHER_PEOPLE)
# Who may manage the territory at world.estate and beneath: administrators on it or above it.
MANAGERS = {"estate_admin", "community_admin", "street_admin", "siteadmin"}


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session.scalar(sa.select(sa.func.count(Place.id))),
                db.session.scalar(sa.select(sa.func.count(Household.id))))


def place_row(app, place_id: int) -> tuple[str, str | None, int | None]:
    with app.app_context():
        place = db.session.get(Place, place_id)
        return place.name, place.address, place.parent_id


def household_row(app, household_id: int) -> tuple[str, str, int, Tenure]:
    with app.app_context():
        h = db.session.get(Household, household_id)
        return h.unit, h.room, h.floor_area_dm2, h.tenure


def admin_urls(world) -> list[str]:
    """The pages that change the territory at world.estate and beneath."""
    return [
        f"/places/{world.estate}/edit",
        f"/places/{world.b1}/edit",
        f"/places/{world.estate}/new/building",
        f"/places/{world.b1}/households/new",
        f"/households/{world.h11}/edit",
    ]


# ---- an estate administrator builds their estate -----------------------------------------------

def test_estate_admin_adds_a_building_and_a_household(app, world, login):
    client = login("estate_admin")
    assert client.get(f"/places/{world.estate}/new/building").status_code == 200
    response = client.post(f"/places/{world.estate}/new/building", data={"name": " 3号楼 ", "address": "北门"})
    assert response.status_code == 302
    with app.app_context():
        building = db.session.scalar(sa.select(Place).where(Place.parent_id == world.estate, Place.name == "3号楼"))
        assert building is not None and building.kind is PlaceKind.BUILDING and building.address == "北门"
        assert building.lineage_ids == (world.street, world.community, world.grid, world.estate, building.id)
        building_id = building.id
        entry = db.session.scalar(sa.select(Activity).where(Activity.verb == "place.created",
                                                            Activity.subject_id == building_id))
        assert entry.actor_id == world.users["estate_admin"]
    assert urlparse(response.headers["Location"]).path == f"/places/{building_id}"
    page = client.get(f"/places/{building_id}")
    assert page.status_code == 200
    assert "3号楼 is created." in page.text
    assert "No households yet." in page.text

    assert client.get(f"/places/{building_id}/households/new").status_code == 200
    response = client.post(f"/places/{building_id}/households/new",
                           data={"unit": "2", "room": "301", "area": "86.5", "tenure": "rented"})
    assert response.status_code == 302
    assert urlparse(response.headers["Location"]).path == f"/places/{building_id}/households/new"
    with app.app_context():
        household = db.session.scalar(sa.select(Household).where(Household.building_id == building_id))
        assert (household.label, household.floor_area_dm2, household.tenure) == ("2-301", 8650, Tenure.RENTED)
        household_id = household.id
        entry = db.session.scalar(sa.select(Activity).where(Activity.verb == "household.created",
                                                            Activity.subject_id == household_id))
        assert (entry.actor_id, entry.place_id, entry.subject_id) == (
            world.users["estate_admin"], building_id, household_id)
    assert "Household 2-301 is added." in client.get(f"/places/{building_id}/households/new").text

    page = client.get(f"/places/{building_id}")
    assert page.status_code == 200
    assert f'href="/households/{household_id}"' in page.text
    assert "301" in page.text
    assert "86.50 m²" in page.text
    assert "Rented" in page.text


def test_smallest_area_is_accepted(app, world, login):
    """0.01 m² is inside the form's advertised range (a float bound used to refuse it)."""
    client = login("estate_admin")
    response = client.post(f"/places/{world.b2}/households/new",
                           data={"unit": "1", "room": "999", "area": "0.01", "tenure": "owner_occupied"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(Household.floor_area_dm2).where(Household.room == "999")) == 1


@pytest.mark.parametrize(("data", "message"), [
    ({"name": ""}, "Please enter a name."),
    ({"name": "   "}, "Please enter a name."),
    ({"name": "1号楼"}, "There is already a place with this name here."),
    ({"name": " 2号楼 "}, "There is already a place with this name here."),
    ({"name": "楼" * 101}, "Field cannot be longer than 100 characters."),
    ({"name": "5号楼", "address": "路" * 201}, "Field cannot be longer than 200 characters."),
])
def test_place_form_bad_input(app, world, login, data, message):
    client = login("estate_admin")
    before = counts(app)
    response = client.post(f"/places/{world.estate}/new/building", data=data)
    assert response.status_code == 400
    assert message in response.text
    assert "Please correct the marked fields." in response.text
    assert counts(app) == before


GOOD_HOUSEHOLD = {"unit": "1", "room": "301", "area": "86.5", "tenure": "owner_occupied"}


@pytest.mark.parametrize(("change", "message"), [
    ({"unit": ""}, "Please enter the unit."),
    ({"room": " "}, "Please enter the room."),
    ({"unit": "1" * 17}, "Field cannot be longer than 16 characters."),
    ({"area": ""}, "Please enter the floor area as a number, e.g. 86.5."),
    ({"area": "abc"}, "Not a valid decimal value."),
    ({"area": "0"}, "The floor area must be between 0.01 and 100,000 m²."),
    ({"area": "-12"}, "The floor area must be between 0.01 and 100,000 m²."),
    ({"area": "100000.01"}, "The floor area must be between 0.01 and 100,000 m²."),
    ({"area": "NaN"}, "The floor area must be between 0.01 and 100,000 m²."),
    ({"area": "1.234"}, "The floor area can have at most two decimals."),
    ({"room": "101"}, "This building already has that unit and room."),
    ({"room": " 101 "}, "This building already has that unit and room."),
    ({"tenure": "sublet"}, "Not a valid choice."),
])
def test_household_form_bad_input(app, world, login, change, message):
    client = login("estate_admin")
    before = counts(app)
    response = client.post(f"/places/{world.b1}/households/new", data={**GOOD_HOUSEHOLD, **change})
    assert response.status_code == 400
    assert message in response.text
    assert counts(app) == before


# ---- editing ---------------------------------------------------------------------------------------

def test_community_admin_edits_places_beneath(app, world, login):
    client = login("community_admin")
    form = client.get(f"/places/{world.estate}/edit")
    assert form.status_code == 200
    assert 'value="化肥厂小区"' in form.text
    response = client.post(f"/places/{world.estate}/edit", data={"name": "化肥厂新村", "address": "北京路1号"})
    assert response.status_code == 302
    assert urlparse(response.headers["Location"]).path == f"/places/{world.estate}"
    assert place_row(app, world.estate) == ("化肥厂新村", "北京路1号", world.grid)
    assert client.post(f"/places/{world.b2}/edit", data={"name": "2号楼", "address": "西侧"}).status_code == 302
    assert place_row(app, world.b2) == ("2号楼", "西侧", world.estate)
    with app.app_context():
        actors = db.session.scalars(sa.select(Activity.actor_id).where(Activity.verb == "place.updated")).all()
        assert actors == [world.users["community_admin"]] * 2


def test_edit_place_to_a_siblings_name_is_refused(app, world, login):
    client = login("community_admin")
    response = client.post(f"/places/{world.b2}/edit", data={"name": "1号楼"})
    assert response.status_code == 400
    assert "There is already a place with this name here." in response.text
    assert place_row(app, world.b2)[0] == "2号楼"


def test_community_admin_cannot_edit_another_community(app, world, login):
    client = login("community_admin")
    assert client.get(f"/places/{world.estate3}/edit").status_code == 403
    assert client.post(f"/places/{world.estate3}/edit", data={"name": "改名"}).status_code == 403
    assert place_row(app, world.estate3)[0] == "青和居"


def test_edit_household(app, world, login):
    client = login("community_admin")
    form = client.get(f"/households/{world.h11}/edit")
    assert form.status_code == 200
    assert 'value="86.50"' in form.text
    response = client.post(f"/households/{world.h11}/edit",
                           data={"unit": "1", "room": "101", "area": "90.25", "tenure": "rented"})
    assert response.status_code == 302
    assert urlparse(response.headers["Location"]).path == f"/places/{world.b1}"
    assert household_row(app, world.h11) == ("1", "101", 9025, Tenure.RENTED)


def test_edit_household_to_a_taken_room_is_refused(app, world, login):
    client = login("estate_admin")
    response = client.post(f"/households/{world.h12}/edit",
                           data={"unit": "1", "room": "101", "area": "72", "tenure": "rented"})
    assert response.status_code == 400
    assert "This building already has that unit and room." in response.text
    assert household_row(app, world.h12) == ("1", "102", 7200, Tenure.RENTED)


def test_edit_household_bad_area(app, world, login):
    client = login("estate_admin")
    response = client.post(f"/households/{world.h12}/edit",
                           data={"unit": "1", "room": "102", "area": "0", "tenure": "rented"})
    assert response.status_code == 400
    assert household_row(app, world.h12) == ("1", "102", 7200, Tenure.RENTED)


# ---- who may do what -------------------------------------------------------------------------------

@pytest.mark.parametrize("username", EVERYONE)
def test_admin_pages_by_person(app, world, login, username):
    """Only administrators on the estate or above it (and site administrators) open the admin pages."""
    client = login(username)
    expected = 200 if username in MANAGERS else 403
    for url in admin_urls(world):
        assert client.get(url).status_code == expected, url


@pytest.mark.parametrize("username", sorted(set(EVERYONE) - MANAGERS))
def test_refused_posts_change_nothing(app, world, login, username):
    client = login(username)
    before = counts(app)
    posts = {
        f"/places/{world.estate}/edit": {"name": "改名"},
        f"/places/{world.estate}/new/building": {"name": "9号楼"},
        f"/places/{world.b1}/households/new": GOOD_HOUSEHOLD,
        f"/households/{world.h11}/edit": {**GOOD_HOUSEHOLD, "room": "101", "area": "1"},
    }
    for url, data in posts.items():
        assert client.post(url, data=data).status_code == 403, url
    assert counts(app) == before
    assert place_row(app, world.estate)[0] == "化肥厂小区"
    assert household_row(app, world.h11)[2] == 8650


def test_admin_of_another_estate_is_refused(app, world, login):
    client = login("admin3")
    for url in admin_urls(world):
        assert client.get(url).status_code == 403, url
    # ...while their own estate is theirs to manage.
    assert client.get(f"/places/{world.estate3}/edit").status_code == 200
    assert client.get(f"/places/{world.b4}/households/new").status_code == 200
    assert client.get(f"/households/{world.h41}/edit").status_code == 200


# Who sees the place pages: approved residents their own building and estate; staff every place at
# and beneath their role; a building leader also their estate.
VIEWERS = {
    "estate": {"leader", "team", "secretary", "gridworker", "committee", "estate_admin", "community_admin",
               "street_admin", "siteadmin", "resident"},
    "b1": {"leader", "team", "secretary", "gridworker", "committee", "estate_admin", "community_admin",
           "street_admin", "siteadmin", "resident"},
    "b2": {"team", "secretary", "gridworker", "committee", "estate_admin", "community_admin", "street_admin",
           "siteadmin"},
    "estate2": {"gridworker", "committee", "community_admin", "street_admin", "siteadmin", "leader3"},
    "estate3": {"street_admin", "siteadmin", "admin3", "outsider"},
    "b4": {"street_admin", "siteadmin", "admin3", "outsider"},
    "grid": {"gridworker", "committee", "community_admin", "street_admin", "siteadmin"},
    "community": {"committee", "community_admin", "street_admin", "siteadmin"},
    "street": {"street_admin", "siteadmin"},
}


@pytest.mark.parametrize("username", EVERYONE)
def test_place_pages_by_person(app, world, login, username):
    client = login(username)
    for where, viewers in VIEWERS.items():
        expected = 200 if username in viewers else 403
        assert client.get(f"/places/{getattr(world, where)}").status_code == expected, where


def test_resident_sees_own_places_only(app, world, login):
    client = login("resident")
    estate = client.get(f"/places/{world.estate}")
    assert estate.status_code == 200
    assert "化肥厂小区" in estate.text
    assert f'href="/places/{world.b1}"' in estate.text
    building = client.get(f"/places/{world.b1}")
    assert building.status_code == 200
    # A resident sees neither the staff box, the household list, nor the admin buttons.
    assert "For staff" not in building.text
    assert "Households" not in building.text
    assert f"/places/{world.estate}/new/building" not in estate.text
    assert "/edit" not in estate.text + building.text
    for where in ("b2", "estate3", "estate2", "grid", "community", "street"):
        assert client.get(f"/places/{getattr(world, where)}").status_code == 403, where
    for url in admin_urls(world):
        assert client.get(url).status_code == 403, url


def test_staff_see_households_and_admin_buttons(app, world, login):
    client = login("estate_admin")
    estate = client.get(f"/places/{world.estate}")
    assert f'href="/places/{world.estate}/new/building"' in estate.text
    assert f'href="/places/{world.estate}/edit"' in estate.text
    building = client.get(f"/places/{world.b1}")
    assert "For staff" in building.text
    assert f'href="/places/{world.b1}/households/new"' in building.text
    assert f'href="/places/{world.b1}/edit"' in building.text
    assert f'href="/households/{world.h11}"' in building.text
    assert "86.50 m²" in building.text and "72.00 m²" in building.text
    # A building leader sees the households but may not change them.
    client = login("leader")
    building = client.get(f"/places/{world.b1}")
    assert f'href="/households/{world.h11}"' in building.text
    assert "/edit" not in building.text
    assert f"/places/{world.b1}/households/new" not in building.text


def test_anonymous_is_sent_to_sign_in(app, world, client):
    before = counts(app)
    read_only = ["/places", f"/places/{world.estate}", f"/places/{world.b1}"]
    forms = ["/streets/new", *admin_urls(world)]
    requests = [(client.get, url) for url in read_only + forms] + [(client.post, url) for url in forms]
    for method, url in requests:
        response = method(url, data={"name": "x", **GOOD_HOUSEHOLD} if method == client.post else None)
        assert response.status_code == 302, url
        location = urlparse(response.headers["Location"])
        assert location.path == "/login", url
        assert "next=" in location.query, url
    assert counts(app) == before


def test_unknown_ids_give_404(app, world, login):
    client = login("siteadmin")
    for url in ("/places/999999999", "/places/999999999/edit", "/places/999999999/new/building",
                "/places/999999999/households/new", "/households/999999999/edit",
                f"/places/{world.estate}/households/new",  # an estate is not a building
                f"/places/{world.street}/households/new",
                f"/places/{world.estate}/new/bogus"):
        assert client.get(url).status_code == 404, url
        if url != "/places/999999999":
            assert client.post(url, data=GOOD_HOUSEHOLD).status_code == 404, url


@pytest.mark.parametrize(("where", "kind"), [
    ("estate", "community"), ("estate", "street"), ("estate", "estate"), ("b1", "building"),
    ("street", "street"), ("street", "estate"), ("grid", "building"), ("community", "building"),
])
def test_kind_that_cannot_sit_there_gives_404(app, world, login, where, kind):
    """A place of the wrong kind for its parent: no such page (it used to crash on POST)."""
    client = login("siteadmin")
    before = counts(app)
    url = f"/places/{getattr(world, where)}/new/{kind}"
    assert client.get(url).status_code == 404
    assert client.post(url, data={"name": "新地方"}).status_code == 404
    assert counts(app) == before


def test_place_zero_is_not_the_top(app, world, login):
    """/places/0/new/street is not another way to /streets/new."""
    client = login("siteadmin")
    before = counts(app)
    assert client.post("/places/0/new/street", data={"name": "清河街道"}).status_code == 404
    assert counts(app) == before


@pytest.mark.parametrize(("where", "kind"), [
    ("street", "community"), ("community", "grid"), ("community", "estate"), ("grid", "estate"),
    ("estate", "building"),
])
def test_every_allowed_kind_can_be_added(app, world, login, where, kind):
    client = login("street_admin")
    parent = getattr(world, where)
    assert client.get(f"/places/{parent}/new/{kind}").status_code == 200
    assert client.post(f"/places/{parent}/new/{kind}", data={"name": "新地方"}).status_code == 302
    with app.app_context():
        place = db.session.scalar(sa.select(Place).where(Place.name == "新地方"))
        assert (place.kind.value, place.parent_id) == (kind, parent)


def test_streets_new_only_for_site_admins(app, world, login):
    for username in ("street_admin", "community_admin", "estate_admin", "resident", "newcomer"):
        client = login(username)
        assert client.get("/streets/new").status_code == 403, username
        assert client.post("/streets/new", data={"name": "清河街道"}).status_code == 403, username
    client = login("siteadmin")
    assert client.get("/streets/new").status_code == 200
    assert client.post("/streets/new", data={"name": "金山街道"}).status_code == 400  # already there
    response = client.post("/streets/new", data={"name": "清河街道"})
    assert response.status_code == 302
    with app.app_context():
        street = db.session.scalar(sa.select(Place).where(Place.name == "清河街道"))
        assert street.kind is PlaceKind.STREET and street.parent_id is None
        assert street.path == f"/{street.id}/"
    assert "清河街道" in client.get("/places").text


def test_places_page(app, world, login):
    client = login("siteadmin")
    page = client.get("/places")
    assert page.status_code == 200
    assert f'href="/places/{world.street}"' in page.text and 'href="/streets/new"' in page.text
    client = login("estate_admin")
    page = client.get("/places")
    assert page.status_code == 200
    assert f'href="/places/{world.estate}"' in page.text
    assert "/streets/new" not in page.text
    assert login("resident").get("/places").status_code == 200


# ---- natural order on the pages --------------------------------------------------------------------

def test_estate_page_lists_buildings_in_natural_order(app, world, login):
    with app.app_context():
        estate = db.session.get(Place, world.estate)
        b10 = create_place(PlaceKind.BUILDING, "10号楼", estate, None).id
        for name in ("3号楼", "21号楼"):
            create_place(PlaceKind.BUILDING, name, estate, None)
        db.session.commit()
    for username in ("estate_admin", "resident"):  # the resident may see some buildings by name only
        text = login(username).get(f"/places/{world.estate}").text
        assert f'href="/places/{b10}"' in text or username == "resident"
        positions = [text.index(f">{name}</") for name in ("1号楼", "2号楼", "3号楼", "10号楼", "21号楼")]
        assert positions == sorted(positions), username


def test_building_page_lists_households_in_natural_order(app, world, login):
    with app.app_context():
        building = db.session.get(Place, world.b2)
        ids = {room: create_household(building, "1", room, 8000, Tenure.OWNER_OCCUPIED, None).id
               for room in ("1001", "99", "201")}
        db.session.commit()
    text = login("estate_admin").get(f"/places/{world.b2}").text
    order = [ids["99"], world.h21, ids["201"], ids["1001"]]  # 99, 101, 201, 1001
    positions = [text.index(f'href="/households/{household_id}"') for household_id in order]
    assert positions == sorted(positions)
