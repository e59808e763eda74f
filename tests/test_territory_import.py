"""`flask council import-households`: a whole estate from CSV, every bad row reported, all rows or none."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from council.activity.models import Activity
from council.exceptions import Refused
from council.extensions import db
from council.territory.models import Household, Place, PlaceKind, Tenure
from council.territory.services import (
    check_household_rows,
    children_page,
    create_household,
    create_place,
    import_household_rows,
)

HEADER = "building,unit,room,area,tenure\n"


@pytest.fixture
def estate(app):
    """An estate with one building (1号楼, household 1-101) and a second estate next to it (ids)."""
    with app.app_context():
        street = create_place(PlaceKind.STREET, "金山街道", None, None)
        community = create_place(PlaceKind.COMMUNITY, "城北社区", street, None)
        grid = create_place(PlaceKind.GRID, "第一网格", community, None)
        estate = create_place(PlaceKind.ESTATE, "化肥厂小区", grid, None)
        building = create_place(PlaceKind.BUILDING, "1号楼", estate, None)
        create_household(building, "1", "101", 8650, Tenure.OWNER_OCCUPIED, None)
        other = create_place(PlaceKind.ESTATE, "香林美域", grid, None)
        other_building = create_place(PlaceKind.BUILDING, "1号楼", other, None)
        create_household(other_building, "1", "102", 9000, Tenure.OWNER_OCCUPIED, None)
        db.session.commit()
        return SimpleNamespace(id=estate.id, name=estate.name, building=building.id, other=other.id,
                               grid=grid.id)


def run_import(app, tmp_path, text: str | bytes, estate_ref, encoding: str = "utf-8"):
    path = tmp_path / "households.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    return app.test_cli_runner().invoke(
        args=["council", "import-households", str(path), "--estate", str(estate_ref)])


def snapshot(app) -> tuple[int, int, int]:
    """(places, households, activity records): what a refused import must leave untouched."""
    with app.app_context():
        return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(m))
                     for m in (Place, Household, Activity))


def households_of(app, estate_id: int) -> dict[tuple[str, str, str], tuple[int, Tenure]]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(Place.name, Household.unit, Household.room, Household.floor_area_dm2, Household.tenure)
            .join(Household, Household.building_id == Place.id).where(Place.parent_id == estate_id))
        return {(b, u, r): (a, t) for b, u, r, a, t in rows}


def error_lines(output: str) -> list[int]:
    return [int(line.split(":")[0].removeprefix("line ")) for line in output.splitlines()
            if line.startswith("line ")]


# ---- a good file ---------------------------------------------------------------------------------

GOOD = (
    "\ufeffbuilding,unit,room,area,tenure\n"
    "1号楼,1,102,86.5,自住\n"
    "2号楼,1,101,72,出租\n"
    "2号楼,2,201,90.25,rented\n"
    "10号楼,1,101,100,\n"
    "10号楼,1,102,64.80,Owner_Occupied\n"
)


def test_good_file_imports_everything(app, tmp_path, estate):
    result = run_import(app, tmp_path, GOOD, estate.id)
    assert result.exit_code == 0, result.output
    assert f"Imported 5 households into {estate.name} (2 new buildings)." in result.stdout
    assert "line " not in result.output
    found = households_of(app, estate.id)
    assert found == {
        ("1号楼", "1", "101"): (8650, Tenure.OWNER_OCCUPIED),  # was there before
        ("1号楼", "1", "102"): (8650, Tenure.OWNER_OCCUPIED),
        ("2号楼", "1", "101"): (7200, Tenure.RENTED),
        ("2号楼", "2", "201"): (9025, Tenure.RENTED),
        ("10号楼", "1", "101"): (10000, Tenure.OWNER_OCCUPIED),
        ("10号楼", "1", "102"): (6480, Tenure.OWNER_OCCUPIED),
    }
    with app.app_context():
        estate_place = db.session.get(Place, estate.id)
        buildings = children_page(estate_place, 1, 50).items
        assert [b.name for b in buildings] == ["1号楼", "2号楼", "10号楼"]
        assert all(b.kind is PlaceKind.BUILDING and b.path == f"{estate_place.path}{b.id}/" for b in buildings)
        households = db.session.scalars(sa.select(Household).join(Place).where(Place.name == "10号楼")).all()
        assert {h.sort_key for h in households} == {"00000001-00000101", "00000001-00000102"}
        imported = db.session.scalars(sa.select(Activity).where(Activity.verb == "household.imported")).all()
        assert [(a.place_id, a.detail, a.actor_id) for a in imported] == [(estate.id, "5", None)]
        created = db.session.scalars(sa.select(Activity.detail).where(Activity.verb == "place.created")).all()
        assert {"2号楼", "10号楼"} <= set(created)
    # The other estate's 1号楼 is untouched.
    assert households_of(app, estate.other) == {("1号楼", "1", "102"): (9000, Tenure.OWNER_OCCUPIED)}


def test_estate_by_name_header_in_any_order_and_case_without_tenure(app, tmp_path, estate):
    text = " Room ,AREA,Building,unit\r\n301,88.8,3号楼,1\r\n302, 77 , 3号楼 , 1 \r\n"
    result = run_import(app, tmp_path, text, estate.name)
    assert result.exit_code == 0, result.output
    assert "Imported 2 households" in result.stdout and "(1 new buildings)" in result.stdout
    found = households_of(app, estate.id)
    assert found[("3号楼", "1", "301")] == (8880, Tenure.OWNER_OCCUPIED)
    assert found[("3号楼", "1", "302")] == (7700, Tenure.OWNER_OCCUPIED)


def test_file_without_bom_and_quoted_values(app, tmp_path, estate):
    text = 'building,unit,room,area\n"1号楼","1","103","86.5"\n'
    result = run_import(app, tmp_path, text, estate.id)
    assert result.exit_code == 0, result.output
    assert ("1号楼", "1", "103") in households_of(app, estate.id)


def test_same_rooms_as_another_estate_are_fine(app, tmp_path, estate):
    """1号楼 1-102 exists in the other estate only: no clash here."""
    result = run_import(app, tmp_path, HEADER + "1号楼,1,102,80,\n", estate.id)
    assert result.exit_code == 0, result.output
    assert "(0 new buildings)" in result.stdout


# ---- files refused as a whole --------------------------------------------------------------------

@pytest.mark.parametrize("header", [
    "building,unit,number,area",
    "building,unit,room",
    "building,unit,room,area,floor",
    "楼栋,单元,房号,面积",
    "building;unit;room;area",
    "building,unit,room,area,area",
    "building,unit,room,area,tenure,Tenure",
])
def test_wrong_columns_report_line_1(app, tmp_path, estate, header):
    before = snapshot(app)
    result = run_import(app, tmp_path, f"{header}\n1号楼,1,102,86.5\n", estate.id)
    assert result.exit_code == 1
    assert error_lines(result.stderr) == [1]
    assert "1 bad row(s); nothing was imported." in result.stderr
    assert "Imported" not in result.output
    assert snapshot(app) == before


@pytest.mark.parametrize("text", ["", "\ufeff", HEADER, HEADER + "\n\n"])
def test_empty_file_refused(app, tmp_path, estate, text):
    before = snapshot(app)
    result = run_import(app, tmp_path, text, estate.id)
    assert result.exit_code == 1
    assert error_lines(result.stderr) == [1]
    assert snapshot(app) == before


BAD = (
    HEADER +                            # line 1
    "1号楼,1,201,80,\n"                 # 2  good
    "1号楼,,202,80,\n"                  # 3  empty unit
    "1号楼,1,203,0,\n"                  # 4  area 0
    "1号楼,1,204,abc,\n"                # 5  area not a number
    "1号楼,1,201,81,\n"                 # 6  same as line 2
    "1号楼,1,101,80,\n"                 # 7  already in the database
    "1号楼,1,205,80,自住,extra\n"        # 8  too many values
    "1号楼,1,206,80,sublet\n"           # 9  unknown tenure
    "\n"                                # 10 blank: skipped, still counted
    "2号楼,1,101,70,\n"                 # 11 good
    "1号楼,1,207,1e30,\n"               # 12 area in exponent notation (crashed before)
    "1号楼,1,208,86.555,\n"             # 13 three decimals
    "1号楼,1,209,-5,\n"                 # 14 negative
    "1号楼,1,210,200000,\n"             # 15 too large
    f"{'楼' * 101},1,211,80,\n"         # 16 building name too long
    "1号楼,1,12345678901234567,80,\n"   # 17 room too long
    "1号楼,1\n"                         # 18 too few values
)


def test_every_bad_row_reported_and_nothing_changed(app, tmp_path, estate):
    before = snapshot(app)
    before_households = households_of(app, estate.id)
    result = run_import(app, tmp_path, BAD, estate.id)
    assert result.exit_code == 1
    assert error_lines(result.stderr) == [3, 4, 5, 6, 7, 8, 9, 12, 13, 14, 15, 16, 17, 18]
    assert "14 bad row(s); nothing was imported." in result.stderr
    assert "Imported" not in result.output
    assert snapshot(app) == before
    assert households_of(app, estate.id) == before_households
    with app.app_context():
        assert db.session.scalar(sa.select(Place.id).where(Place.name == "2号楼")) is None


def test_one_bad_row_among_many_good_blocks_the_file(app, tmp_path, estate):
    rows = "".join(f"5号楼,{u},{r}01,80,\n" for u in range(1, 6) for r in range(1, 21))
    before = snapshot(app)
    result = run_import(app, tmp_path, HEADER + rows + "5号楼,1,9999,0,\n", estate.id)
    assert result.exit_code == 1
    assert error_lines(result.stderr) == [102]
    assert snapshot(app) == before
    # ...and once fixed, all hundred go in.
    result = run_import(app, tmp_path, HEADER + rows, estate.id)
    assert result.exit_code == 0, result.output
    assert "Imported 100 households" in result.stdout
    assert snapshot(app)[1] == before[1] + 100


def test_importing_the_same_file_twice_is_refused(app, tmp_path, estate):
    assert run_import(app, tmp_path, GOOD, estate.id).exit_code == 0
    after_first = snapshot(app)
    result = run_import(app, tmp_path, GOOD, estate.id)
    assert result.exit_code == 1
    assert error_lines(result.stderr) == [2, 3, 4, 5, 6]
    assert snapshot(app) == after_first


# ---- the command's own errors --------------------------------------------------------------------

@pytest.mark.parametrize("ref", ["999999999", "9999999999", "不存在的小区", "金山街道", "²", "99999999999999999999"])
def test_unknown_estate(app, tmp_path, estate, ref):
    before = snapshot(app)
    result = run_import(app, tmp_path, GOOD, ref)
    assert result.exit_code == 1
    assert "Error: No estate" in result.stderr
    assert snapshot(app) == before


def test_a_building_is_not_an_estate(app, tmp_path, estate):
    result = run_import(app, tmp_path, GOOD, estate.building)
    assert result.exit_code == 1
    assert "No estate" in result.stderr


def test_estate_name_shared_by_two_estates(app, tmp_path, estate):
    with app.app_context():
        community = db.session.get(Place, estate.grid).parent
        create_place(PlaceKind.ESTATE, estate.name, community, None)
        db.session.commit()
    before = snapshot(app)
    result = run_import(app, tmp_path, GOOD, estate.name)
    assert result.exit_code == 1
    assert "give its id" in result.stderr
    assert snapshot(app) == before
    assert run_import(app, tmp_path, GOOD, estate.id).exit_code == 0


@pytest.mark.parametrize("encoding", ["gbk", "utf-16"])
def test_non_utf8_file(app, tmp_path, estate, encoding):
    before = snapshot(app)
    result = run_import(app, tmp_path, GOOD.lstrip("\ufeff"), estate.id, encoding=encoding)
    assert result.exit_code == 1
    assert "The file is not UTF-8 text." in result.stderr
    assert "Traceback" not in result.output
    assert snapshot(app) == before


def test_missing_file(app, tmp_path, estate):
    result = app.test_cli_runner().invoke(
        args=["council", "import-households", str(tmp_path / "nope.csv"), "--estate", str(estate.id)])
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_estate_option_required(app, tmp_path, estate):
    path = tmp_path / "h.csv"
    path.write_text(GOOD, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["council", "import-households", str(path)])
    assert result.exit_code == 2
    assert "--estate" in result.stderr


# ---- check_household_rows and import_household_rows directly -------------------------------------

@pytest.fixture
def en(app):
    """An English request context, so messages read as their msgids."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield
        db.session.rollback()


def test_check_rows(en, estate):
    place = db.session.get(Place, estate.id)
    report = check_household_rows(place, GOOD)
    assert report.ok and report.errors == []
    assert [(r.line, r.building, r.unit, r.room, r.area_dm2, r.tenure) for r in report.rows] == [
        (2, "1号楼", "1", "102", 8650, Tenure.OWNER_OCCUPIED),
        (3, "2号楼", "1", "101", 7200, Tenure.RENTED),
        (4, "2号楼", "2", "201", 9025, Tenure.RENTED),
        (5, "10号楼", "1", "101", 10000, Tenure.OWNER_OCCUPIED),
        (6, "10号楼", "1", "102", 6480, Tenure.OWNER_OCCUPIED),
    ]
    assert (report.households_created, report.buildings_created) == (0, 0)
    assert not db.session.new and not db.session.dirty


def test_check_rows_reports_every_error_with_its_message(en, estate):
    report = check_household_rows(db.session.get(Place, estate.id), BAD)
    assert not report.ok
    messages = dict(report.errors)
    assert messages[3] == "Empty value in: unit."
    assert messages[4] == "The floor area must be greater than zero."
    assert messages[5] == "The floor area must be a number of square metres, e.g. 86.5."
    assert messages[6] == "Same building, unit and room as line 2."
    assert messages[7] == "This household already exists in the estate."
    assert messages[8] == "This row has more values than the header."
    assert messages[9] == "Tenure must be owner_occupied or rented."
    assert messages[13] == "The floor area can have at most two decimals."
    assert messages[15] == "This floor area is too large to be a household."
    assert messages[16] == messages[17] == "A building, unit or room name is too long."
    assert messages[18] == "Empty value in: room, area."
    assert [r.line for r in report.rows] == [2, 11]


def test_check_rows_wrong_header_message(en, estate):
    report = check_household_rows(db.session.get(Place, estate.id), "building,unit,number,area\n1,1,1,1\n")
    assert report.errors == [(1, "The header must be: building,unit,room,area (and optionally tenure). "
                                 "Missing: room. Unknown: number.")]
    assert report.rows == []


def test_check_rows_repeated_column(en, estate):
    """Two area columns: refused, not the last one silently used."""
    report = check_household_rows(db.session.get(Place, estate.id), "building,unit,room,area,AREA\n9号楼,1,1,80,8\n")
    assert report.errors == [(1, "These columns appear more than once: area.")]


@pytest.mark.parametrize(("word", "tenure"), [
    ("", Tenure.OWNER_OCCUPIED), ("自住", Tenure.OWNER_OCCUPIED), ("owner", Tenure.OWNER_OCCUPIED),
    ("owner_occupied", Tenure.OWNER_OCCUPIED), ("OWNER", Tenure.OWNER_OCCUPIED),
    ("出租", Tenure.RENTED), ("rented", Tenure.RENTED), ("Rented", Tenure.RENTED), (" rent ", Tenure.RENTED),
])
def test_check_rows_tenure_words(en, estate, word, tenure):
    report = check_household_rows(db.session.get(Place, estate.id), f"{HEADER}9号楼,1,101,80,{word}\n")
    assert report.ok, report.errors
    assert report.rows[0].tenure is tenure


@pytest.mark.parametrize("word", ["sublet", "租", "owner-occupied", "0"])
def test_check_rows_bad_tenure(en, estate, word):
    report = check_household_rows(db.session.get(Place, estate.id), f"{HEADER}9号楼,1,101,80,{word}\n")
    assert report.errors == [(2, "Tenure must be owner_occupied or rented.")]


def test_check_rows_line_numbers_count_blank_lines(en, estate):
    text = "building,unit,room,area\n\n9号楼,1,101,80\n\n\n9号楼,1,101,80\n"
    report = check_household_rows(db.session.get(Place, estate.id), text)
    assert [r.line for r in report.rows] == [3]
    assert report.errors == [(6, "Same building, unit and room as line 3.")]


def test_check_rows_spaces_do_not_hide_duplicates(en, estate):
    text = "building,unit,room,area\n 1号楼 , 1 , 101 ,80\n9号楼,1,101,80\n9号楼 ,1, 101,80\n"
    report = check_household_rows(db.session.get(Place, estate.id), text)
    assert report.errors == [(2, "This household already exists in the estate."),
                             (4, "Same building, unit and room as line 3.")]


def test_import_rows_refuses_a_report_with_errors(en, estate):
    place = db.session.get(Place, estate.id)
    report = check_household_rows(place, BAD)
    with pytest.raises(Refused):
        import_household_rows(place, report, None)
    assert not db.session.new


def test_import_rows_only_into_an_estate(en, estate):
    building = db.session.get(Place, estate.building)
    report = check_household_rows(building, HEADER + "9号楼,1,101,80,\n")
    with pytest.raises(Refused):
        import_household_rows(building, report, None)
    assert not db.session.new


def test_import_rows_counts_and_progress(en, estate):
    place = db.session.get(Place, estate.id)
    report = check_household_rows(place, GOOD)
    seen = []

    def progress(rows):
        for row in rows:
            seen.append(row.line)
            yield row

    import_household_rows(place, report, None, progress=progress)
    assert seen == [2, 3, 4, 5, 6]
    assert (report.households_created, report.buildings_created) == (5, 2)
    db.session.commit()
