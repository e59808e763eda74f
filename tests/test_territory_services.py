"""Territory services: where places may sit, unique names, natural order, floor areas, households, search."""
from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from council.activity.models import Activity
from council.exceptions import Refused
from council.extensions import db
from council.territory.models import CHILD_KINDS, PARENT_KINDS, Household, Place, PlaceKind, Tenure, natural_key
from council.territory.services import (
    MAX_AREA_DM2,
    ancestors,
    children_page,
    create_household,
    create_place,
    estate_of,
    estates_page,
    households_page,
    parse_area,
    units_of,
    update_household,
    update_place,
)

# parse_area needs neither the app nor the database; the suite's autouse fixture is harmless here.
property_settings = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)


@pytest.fixture
def ctx(app):
    """A request context in English (so refusals read as their msgids), rolled back afterwards."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield
        db.session.rollback()


def build_tree() -> SimpleNamespace:
    """street ─ community ─ grid ─ estate ─ building, one of each kind."""
    street = create_place(PlaceKind.STREET, "金山街道", None, None)
    community = create_place(PlaceKind.COMMUNITY, "城北社区", street, None)
    grid = create_place(PlaceKind.GRID, "第一网格", community, None)
    estate = create_place(PlaceKind.ESTATE, "化肥厂小区", grid, None)
    building = create_place(PlaceKind.BUILDING, "1号楼", estate, None)
    return SimpleNamespace(street=street, community=community, grid=grid, estate=estate, building=building)


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def activities(verb: str) -> list[Activity]:
    return list(db.session.scalars(sa.select(Activity).where(Activity.verb == verb).order_by(Activity.id)))


# ---- where a place may sit ---------------------------------------------------------------------

PARENT_CHOICES = [None, *PlaceKind]


@pytest.mark.parametrize("kind", list(PlaceKind), ids=str)
@pytest.mark.parametrize("parent_kind", PARENT_CHOICES, ids=lambda k: f"under-{k or 'top'}")
def test_create_place_follows_parent_kinds(ctx, kind, parent_kind):
    """Every (kind, parent kind) pair: created exactly when PARENT_KINDS allows it, else refused on "kind"."""
    tree = build_tree()
    parent = None if parent_kind is None else getattr(tree, parent_kind.value)
    before = count(Place)
    if parent_kind in PARENT_KINDS[kind]:
        place = create_place(kind, "新的地方", parent, None)
        assert place.kind is kind and place.parent is parent
        assert count(Place) == before + 1
    else:
        with pytest.raises(Refused) as refused:
            create_place(kind, "新的地方", parent, None)
        assert refused.value.field == "kind"
        assert str(refused.value.message) == "A place of this kind cannot be created here."
        assert count(Place) == before


def test_named_parent_rules(ctx):
    """The rules people ask about: estates under a grid or straight under a community, buildings only
    in estates, streets only at the top."""
    tree = build_tree()
    assert create_place(PlaceKind.ESTATE, "香林美域", tree.grid, None).parent is tree.grid
    assert create_place(PlaceKind.ESTATE, "青和居", tree.community, None).parent is tree.community
    for kind, parent in ((PlaceKind.BUILDING, tree.community), (PlaceKind.BUILDING, tree.grid),
                         (PlaceKind.BUILDING, None), (PlaceKind.STREET, tree.street),
                         (PlaceKind.COMMUNITY, None), (PlaceKind.ESTATE, tree.street)):
        with pytest.raises(Refused):
            create_place(kind, "某处", parent, None)
    assert create_place(PlaceKind.STREET, "清河街道", None, None).parent is None


def test_child_kinds_mirror_parent_kinds():
    assert CHILD_KINDS[PlaceKind.STREET] == (PlaceKind.COMMUNITY,)
    assert set(CHILD_KINDS[PlaceKind.COMMUNITY]) == {PlaceKind.GRID, PlaceKind.ESTATE}
    assert CHILD_KINDS[PlaceKind.GRID] == (PlaceKind.ESTATE,)
    assert CHILD_KINDS[PlaceKind.ESTATE] == (PlaceKind.BUILDING,)
    assert CHILD_KINDS[PlaceKind.BUILDING] == ()


# ---- names, paths and records --------------------------------------------------------------------

def test_path_and_lineage(ctx):
    tree = build_tree()
    ids = [tree.street.id, tree.community.id, tree.grid.id, tree.estate.id, tree.building.id]
    assert tree.street.path == f"/{tree.street.id}/"
    assert tree.building.path == "/" + "/".join(map(str, ids)) + "/"
    assert tree.building.lineage_ids == tuple(ids)
    assert tree.street.lineage_ids == (tree.street.id,)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Place, tree.building.id).lineage_ids == tuple(ids)
    assert ancestors(tree.building) == [tree.street, tree.community, tree.grid, tree.estate]
    assert ancestors(tree.street) == []
    # An estate straight under its community has a four-step lineage.
    estate = create_place(PlaceKind.ESTATE, "青和居", tree.community, None)
    assert estate.lineage_ids == (tree.street.id, tree.community.id, estate.id)


def test_estate_of(ctx):
    tree = build_tree()
    assert estate_of(tree.building) is tree.estate
    assert estate_of(tree.estate) is tree.estate
    assert estate_of(tree.grid) is None
    assert estate_of(tree.street) is None


def test_create_place_trims_and_records(ctx):
    tree = build_tree()
    place = create_place(PlaceKind.BUILDING, "  12号楼 ", tree.estate, None, address="")
    assert place.name == "12号楼"
    assert place.sort_key == natural_key("12号楼")
    assert place.address is None
    created = activities("place.created")
    assert len(created) == 6  # the tree's five and this one
    assert (created[-1].place_id, created[-1].subject_id, created[-1].detail) == (place.id, place.id, "12号楼")


@pytest.mark.parametrize("name", ["1号楼", " 1号楼", "1号楼  "])
def test_duplicate_sibling_name_refused(ctx, name):
    tree = build_tree()
    before = count(Place)
    with pytest.raises(Refused) as refused:
        create_place(PlaceKind.BUILDING, name, tree.estate, None)
    assert refused.value.field == "name"
    assert str(refused.value.message) == "There is already a place with this name here."
    assert count(Place) == before


def test_same_name_under_another_parent_allowed(ctx):
    tree = build_tree()
    other = create_place(PlaceKind.ESTATE, "香林美域", tree.grid, None)
    assert create_place(PlaceKind.BUILDING, "1号楼", other, None).name == "1号楼"
    db.session.commit()  # the unique constraint agrees


def test_duplicate_street_name_refused(ctx):
    """Streets have no parent, so the database's (parent_id, name) constraint does not catch them."""
    build_tree()
    with pytest.raises(Refused) as refused:
        create_place(PlaceKind.STREET, "金山街道", None, None)
    assert refused.value.field == "name"


def test_update_place(ctx):
    tree = build_tree()
    update_place(tree.building, " 10号楼 ", "北门进", None)
    assert (tree.building.name, tree.building.address) == ("10号楼", "北门进")
    assert tree.building.sort_key == natural_key("10号楼")
    assert activities("place.updated")[-1].detail == "10号楼"
    # Keeping its own name (changing only the address) is not a clash with itself.
    update_place(tree.building, "10号楼", "", None)
    assert tree.building.address is None
    assert len(activities("place.updated")) == 2


def test_update_place_refuses_a_siblings_name(ctx):
    tree = build_tree()
    create_place(PlaceKind.BUILDING, "2号楼", tree.estate, None)
    with pytest.raises(Refused) as refused:
        update_place(tree.building, "2号楼", None, None)
    assert refused.value.field == "name"
    assert tree.building.name == "1号楼"
    assert activities("place.updated") == []


def test_update_place_same_name_elsewhere_allowed(ctx):
    tree = build_tree()
    other = create_place(PlaceKind.ESTATE, "香林美域", tree.grid, None)
    building = create_place(PlaceKind.BUILDING, "5号楼", other, None)
    update_place(building, "1号楼", None, None)
    db.session.commit()
    assert building.name == "1号楼"


def test_update_street_refuses_another_streets_name(ctx):
    build_tree()
    street = create_place(PlaceKind.STREET, "清河街道", None, None)
    with pytest.raises(Refused):
        update_place(street, "金山街道", None, None)


# ---- natural order -------------------------------------------------------------------------------

def test_natural_key_orders_numbers_by_value():
    assert natural_key("2号楼") < natural_key("10号楼")
    assert natural_key("9") < natural_key("10") < natural_key("100")
    names = ["10号楼", "2号楼", "1号楼", "1号楼A", "B座", "a座", "20号楼"]
    assert sorted(names, key=natural_key) == ["1号楼", "1号楼A", "2号楼", "10号楼", "20号楼", "a座", "B座"]


def test_natural_key_ignores_case_and_outer_spaces():
    assert natural_key(" A座 ") == natural_key("a座")


@given(st.integers(min_value=0, max_value=10**8 - 1), st.integers(min_value=0, max_value=10**8 - 1))
@property_settings
def test_natural_key_agrees_with_numbers(a, b):
    """Up to eight digits, names that differ only in their number sort by that number."""
    assert (natural_key(f"{a}号楼") < natural_key(f"{b}号楼")) == (a < b)


def test_children_page_in_natural_order(ctx):
    tree = build_tree()
    for name in ("10号楼", "2号楼", "3号楼", "11号楼"):
        create_place(PlaceKind.BUILDING, name, tree.estate, None)
    page = children_page(tree.estate, 1, 50)
    assert [p.name for p in page.items] == ["1号楼", "2号楼", "3号楼", "10号楼", "11号楼"]
    assert [p.name for p in children_page(None, 1, 50).items] == ["金山街道"]
    second = children_page(tree.estate, 2, 2)
    assert [p.name for p in second.items] == ["3号楼", "10号楼"] and second.total == 5


# ---- floor areas ---------------------------------------------------------------------------------

@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100000), places=2))
@example(Decimal("0.01"))
@example(Decimal("100000.00"))
@example(Decimal("86.50"))
@property_settings
def test_parse_area_round_trips(value):
    """Any area with at most two decimals in (0, 100000] becomes whole dm² and back, exactly."""
    dm2 = parse_area(value)
    assert isinstance(dm2, int)
    assert Decimal(dm2) / 100 == value
    assert parse_area(str(value)) == dm2
    assert parse_area(f" {value:f} ") == dm2
    assert parse_area(f"{value.normalize():f}") == dm2  # "86.5" as well as "86.50"
    assert Household(floor_area_dm2=dm2).floor_area == value
    assert 1 <= dm2 <= MAX_AREA_DM2


@given(st.decimals(min_value=Decimal("0.001"), max_value=Decimal(100000), places=3)
       .filter(lambda d: d != d.quantize(Decimal("0.01"))))
@property_settings
def test_parse_area_refuses_three_decimals(value):
    with pytest.raises(Refused):
        parse_area(value)
    with pytest.raises(Refused):
        parse_area(str(value))


@given(st.decimals(max_value=Decimal(0), places=2, allow_nan=False, allow_infinity=False))
@property_settings
def test_parse_area_refuses_zero_and_negative(value):
    with pytest.raises(Refused):
        parse_area(value)
    with pytest.raises(Refused):
        parse_area(str(value))


@given(st.decimals(min_value=Decimal("100000.01"), places=2, allow_nan=False, allow_infinity=False))
@property_settings
def test_parse_area_refuses_above_the_maximum(value):
    with pytest.raises(Refused):
        parse_area(value)


@pytest.mark.parametrize("text", [
    "0", "0.00", "-0", "-1", "-0.01", "1.234", "86.505", "abc", "", "   ", "NaN", "nan", "sNaN",
    "Infinity", "-Infinity", "inf", "100000.01", "1e30", "1e5", "8_6.5", "86,5", "86.5m²", "1/2",
])
def test_parse_area_refusals(text):
    with pytest.raises(Refused):
        parse_area(text)


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), Decimal("1e30"),
                                   Decimal("1e-30"), Decimal(0), Decimal("-5")])
def test_parse_area_refuses_odd_decimals(value):
    """The form hands over Decimals: huge or tiny ones are refused, not crashed on."""
    with pytest.raises(Refused):
        parse_area(value)


@pytest.mark.parametrize(("text", "dm2"), [
    ("86.5", 8650), (" 86.50 ", 8650), ("0.01", 1), ("100000", 10_000_000), ("72", 7200), ("1.230", 123),
    (".5", 50), ("８６.５", 8650),  # full-width digits from a Chinese input method
])
def test_parse_area_accepts(text, dm2):
    assert parse_area(text) == dm2


def test_parse_area_messages(ctx):
    for text, message in (("abc", "The floor area must be a number of square metres, e.g. 86.5."),
                          ("0", "The floor area must be greater than zero."),
                          ("1.234", "The floor area can have at most two decimals."),
                          ("100001", "This floor area is too large to be a household.")):
        with pytest.raises(Refused) as refused:
            parse_area(text)
        assert str(refused.value.message) == message


# ---- households ----------------------------------------------------------------------------------

def test_create_household(ctx):
    tree = build_tree()
    household = create_household(tree.building, " 2 ", " 301 ", 8650, Tenure.RENTED, None)
    assert (household.unit, household.room, household.label) == ("2", "301", "2-301")
    assert household.floor_area == Decimal("86.50")
    assert household.tenure is Tenure.RENTED
    assert household.building is tree.building
    entry = activities("household.created")[-1]
    assert (entry.place_id, entry.subject_id, entry.detail) == (tree.building.id, household.id, "2-301")
    db.session.commit()


def test_create_household_without_log(ctx):
    tree = build_tree()
    create_household(tree.building, "1", "101", 100, Tenure.OWNER_OCCUPIED, None, log=False)
    assert activities("household.created") == []


@pytest.mark.parametrize(("unit", "room"), [("1", "101"), (" 1", "101 ")])
def test_create_household_duplicate_refused(ctx, unit, room):
    tree = build_tree()
    create_household(tree.building, "1", "101", 8650, Tenure.OWNER_OCCUPIED, None)
    with pytest.raises(Refused) as refused:
        create_household(tree.building, unit, room, 7000, Tenure.RENTED, None)
    assert refused.value.field == "room"
    assert str(refused.value.message) == "This building already has that unit and room."
    assert count(Household) == 1


def test_same_room_in_another_unit_or_building_allowed(ctx):
    tree = build_tree()
    other = create_place(PlaceKind.BUILDING, "2号楼", tree.estate, None)
    create_household(tree.building, "1", "101", 8650, Tenure.OWNER_OCCUPIED, None)
    create_household(tree.building, "2", "101", 8650, Tenure.OWNER_OCCUPIED, None)
    create_household(other, "1", "101", 8650, Tenure.OWNER_OCCUPIED, None)
    db.session.commit()
    assert count(Household) == 3


@pytest.mark.parametrize("where", ["street", "community", "grid", "estate"])
def test_households_only_in_buildings(ctx, where):
    tree = build_tree()
    with pytest.raises(Refused):
        create_household(getattr(tree, where), "1", "101", 8650, Tenure.OWNER_OCCUPIED, None)
    assert count(Household) == 0


def test_update_household(ctx):
    tree = build_tree()
    household = create_household(tree.building, "1", "101", 8650, Tenure.OWNER_OCCUPIED, None)
    update_household(household, "1", "101", 9025, Tenure.RENTED, None)  # its own unit and room: fine
    assert (household.floor_area_dm2, household.tenure) == (9025, Tenure.RENTED)
    update_household(household, " 3 ", " 302 ", 9025, Tenure.RENTED, None)
    assert (household.label, household.sort_key) == ("3-302", natural_key("3-302"))
    updates = activities("household.updated")
    assert [(a.place_id, a.subject_id, a.detail) for a in updates] == [
        (tree.building.id, household.id, "1-101"), (tree.building.id, household.id, "3-302")]
    db.session.commit()


def test_update_household_duplicate_refused(ctx):
    tree = build_tree()
    create_household(tree.building, "1", "101", 8650, Tenure.OWNER_OCCUPIED, None)
    second = create_household(tree.building, "1", "102", 7000, Tenure.OWNER_OCCUPIED, None)
    with pytest.raises(Refused) as refused:
        update_household(second, "1", " 101", 7000, Tenure.OWNER_OCCUPIED, None)
    assert refused.value.field == "room"
    assert second.label == "1-102"
    assert activities("household.updated") == []


def test_update_household_may_take_a_room_free_in_its_building(ctx):
    """Only its own building counts: 1-101 in another building is no clash."""
    tree = build_tree()
    other = create_place(PlaceKind.BUILDING, "2号楼", tree.estate, None)
    create_household(other, "1", "101", 8650, Tenure.OWNER_OCCUPIED, None)
    household = create_household(tree.building, "1", "102", 7000, Tenure.OWNER_OCCUPIED, None)
    update_household(household, "1", "101", 7000, Tenure.OWNER_OCCUPIED, None)
    db.session.commit()
    assert household.label == "1-101"


def test_households_page_and_units_in_natural_order(ctx):
    tree = build_tree()
    for unit, room in (("10", "101"), ("2", "1001"), ("2", "201"), ("1", "102"), ("1", "101"), ("2", "901")):
        create_household(tree.building, unit, room, 8000, Tenure.OWNER_OCCUPIED, None)
    labels = [h.label for h in households_page(tree.building, 1, 50).items]
    assert labels == ["1-101", "1-102", "2-201", "2-901", "2-1001", "10-101"]
    assert [h.label for h in households_page(tree.building, 1, 50, unit="2").items] == ["2-201", "2-901", "2-1001"]
    assert units_of(tree.building) == ["1", "2", "10"]


# ---- estate search -------------------------------------------------------------------------------

def _estates(tree, *names):
    for name in names:
        create_place(PlaceKind.ESTATE, name, tree.grid, None)


def test_estates_page_search(ctx):
    tree = build_tree()
    _estates(tree, "香林美域", "香林二期", "青和居")
    assert [p.name for p in estates_page("", 1, 50).items] == sorted(
        ["化肥厂小区", "香林美域", "香林二期", "青和居"], key=natural_key)
    assert {p.name for p in estates_page("香林", 1, 50).items} == {"香林美域", "香林二期"}
    assert [p.name for p in estates_page("居", 1, 50).items] == ["青和居"]
    assert estates_page("不存在", 1, 50).items == []
    # Only estates: the building "1号楼" and the grid do not match.
    assert estates_page("号楼", 1, 50).items == []
    assert estates_page("网格", 1, 50).items == []


def test_estates_page_natural_order_and_pages(ctx):
    tree = build_tree()
    _estates(tree, "10期", "2期", "1期")
    page = estates_page("期", 1, 2)
    assert [p.name for p in page.items] == ["1期", "2期"] and page.total == 3
    assert [p.name for p in estates_page("期", 2, 2).items] == ["10期"]
    assert page.items[0].parent is tree.grid  # loaded with the page


@pytest.mark.parametrize(("q", "expected"), [
    ("%", {"100%满意苑"}),
    ("_", {"A_B苑"}),
    ("A_B", {"A_B苑"}),
    ("100%", {"100%满意苑"}),
    ("/", {"东/西苑"}),
    ("\\", {"反\\斜苑"}),
    ("苑", {"100%满意苑", "A_B苑", "AxB苑", "东/西苑", "反\\斜苑", "1000满意苑"}),
])
def test_estates_page_wildcards_are_literal(ctx, q, expected):
    """% and _ in the search are the characters themselves, not LIKE wildcards."""
    tree = build_tree()
    _estates(tree, "100%满意苑", "1000满意苑", "A_B苑", "AxB苑", "东/西苑", "反\\斜苑")
    assert {p.name for p in estates_page(q, 1, 50).items} == expected
