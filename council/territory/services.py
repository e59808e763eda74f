"""Territory: load places with a scope check, create and edit them, import households from CSV."""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from council.accounts.models import User
from council.activity.services import record
from council.exceptions import Refused
from council.extensions import db
from council.territory.models import PARENT_KINDS, Household, Place, PlaceKind, Tenure, natural_key

KIND_LABELS = {
    PlaceKind.STREET: _l("Street"),
    PlaceKind.COMMUNITY: _l("Community"),
    PlaceKind.GRID: _l("Grid"),
    PlaceKind.ESTATE: _l("Estate"),
    PlaceKind.BUILDING: _l("Building"),
}
TENURE_LABELS = {Tenure.OWNER_OCCUPIED: _l("Owner-occupied"), Tenure.RENTED: _l("Rented")}

MAX_AREA_DM2 = 100_000_00  # 100,000 m²: far above any dwelling, below any typo worth storing


def get_place_or_404(place_id: int, kind: PlaceKind | None = None) -> Place:
    """The place with this id (of this kind, if given), or 404."""
    place = db.session.get(Place, place_id)
    if place is None or (kind is not None and place.kind is not kind):
        abort(404)
    return place


def get_household_or_404(household_id: int) -> Household:
    household = db.session.get(Household, household_id)
    if household is None:
        abort(404)
    return household


def ancestors(place: Place) -> list[Place]:
    """The places above `place`, top first (one query)."""
    ids = place.lineage_ids[:-1]
    if not ids:
        return []
    found = {p.id: p for p in db.session.scalars(sa.select(Place).where(Place.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def estate_of(place: Place) -> Place | None:
    """The estate a building belongs to (or the estate itself)."""
    if place.kind is PlaceKind.ESTATE:
        return place
    if place.kind is PlaceKind.BUILDING:
        return place.parent
    return None


def create_place(kind: PlaceKind, name: str, parent: Place | None, by: User | None,
                 address: str | None = None) -> Place:
    """Add a place under `parent`, refusing a kind that cannot sit there or a name already taken."""
    name = name.strip()
    if (parent.kind if parent else None) not in PARENT_KINDS[kind]:
        raise Refused(_l("A place of this kind cannot be created here."), "kind")
    if _sibling_named(parent, name) is not None:
        raise Refused(_l("There is already a place with this name here."), "name")
    place = Place(kind=kind, name=name, sort_key=natural_key(name), parent=parent, address=address or None)
    db.session.add(place)
    db.session.flush()
    place.path = f"{parent.path if parent else '/'}{place.id}/"
    record(by, "place.created", place, "place", place.id, detail=name)
    return place


def update_place(place: Place, name: str, address: str | None, by: User) -> None:
    name = name.strip()
    other = _sibling_named(place.parent, name)
    if other is not None and other.id != place.id:
        raise Refused(_l("There is already a place with this name here."), "name")
    place.name, place.sort_key, place.address = name, natural_key(name), address or None
    record(by, "place.updated", place, "place", place.id, detail=name)


def _sibling_named(parent: Place | None, name: str) -> Place | None:
    parent_clause = Place.parent_id.is_(None) if parent is None else Place.parent_id == parent.id
    return db.session.scalar(sa.select(Place).where(parent_clause, Place.name == name))


def children_page(place: Place | None, page: int, per_page: int):
    """The places directly beneath `place` (streets when None), in natural order, one page."""
    parent_clause = Place.parent_id.is_(None) if place is None else Place.parent_id == place.id
    query = sa.select(Place).where(parent_clause).order_by(Place.sort_key, Place.id)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def estates_page(q: str, page: int, per_page: int):
    """Estates whose name contains `q` (all when empty), in natural order, one page."""
    query = sa.select(Place).where(Place.kind == PlaceKind.ESTATE)
    if q:
        query = query.where(Place.name.contains(q, autoescape=True))
    query = query.options(joinedload(Place.parent)).order_by(Place.sort_key, Place.id)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def households_page(building: Place, page: int, per_page: int, unit: str | None = None):
    """The households of a building, by unit and room in natural order, one page."""
    query = sa.select(Household).where(Household.building_id == building.id)
    if unit:
        query = query.where(Household.unit == unit)
    query = query.order_by(Household.sort_key, Household.id)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def units_of(building: Place) -> list[str]:
    """The distinct units (单元) of a building, in natural order."""
    units = db.session.scalars(sa.select(Household.unit).where(Household.building_id == building.id).distinct())
    return sorted(units, key=natural_key)


# Plain decimal notation only: Decimal() would also take "8_65" (865) and "1e3" from a spreadsheet.
_AREA_TEXT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def parse_area(text: str | Decimal) -> int:
    """Square metres (up to two decimals) as whole dm²; Refused when not a positive area."""
    if not isinstance(text, Decimal) and not _AREA_TEXT.fullmatch(str(text).strip()):
        raise Refused(_l("The floor area must be a number of square metres, e.g. 86.5."))
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise Refused(_l("The floor area must be a number of square metres, e.g. 86.5.")) from None
    if not value.is_finite() or value <= 0:
        raise Refused(_l("The floor area must be greater than zero."))
    # Before quantize(), which raises InvalidOperation on values with more than 28 digits.
    if value * 100 > MAX_AREA_DM2:
        raise Refused(_l("This floor area is too large to be a household."))
    if value != value.quantize(Decimal("0.01")):
        raise Refused(_l("The floor area can have at most two decimals."))
    return int(value * 100)


def _household_key(unit: str, room: str) -> str:
    return natural_key(f"{unit}-{room}")


def create_household(building: Place, unit: str, room: str, area_dm2: int, tenure: Tenure, by: User | None,
                     log: bool = True) -> Household:
    """Add a household to a building, refusing a unit and room that already exist there."""
    if building.kind is not PlaceKind.BUILDING:
        raise Refused(_l("Households can only be added to a building."))
    unit, room = unit.strip(), room.strip()
    exists = db.session.scalar(sa.select(Household.id).where(
        Household.building_id == building.id, Household.unit == unit, Household.room == room))
    if exists:
        raise Refused(_l("This building already has that unit and room."), "room")
    household = Household(building=building, unit=unit, room=room, sort_key=_household_key(unit, room),
                          floor_area_dm2=area_dm2, tenure=tenure)
    db.session.add(household)
    db.session.flush()
    if log:
        record(by, "household.created", building, "household", household.id, detail=household.label)
    return household


def update_household(household: Household, unit: str, room: str, area_dm2: int, tenure: Tenure,
                     by: User) -> None:
    unit, room = unit.strip(), room.strip()
    other = db.session.scalar(sa.select(Household.id).where(
        Household.building_id == household.building_id, Household.unit == unit, Household.room == room))
    if other is not None and other != household.id:
        raise Refused(_l("This building already has that unit and room."), "room")
    household.unit, household.room, household.sort_key = unit, room, _household_key(unit, room)
    household.floor_area_dm2, household.tenure = area_dm2, tenure
    record(by, "household.updated", household.building_id, "household", household.id, detail=household.label)


# ---- CSV import -------------------------------------------------------------------------------

IMPORT_COLUMNS = ("building", "unit", "room", "area")
OPTIONAL_COLUMNS = ("tenure",)
TENURE_WORDS = {
    "": Tenure.OWNER_OCCUPIED, "owner_occupied": Tenure.OWNER_OCCUPIED, "owner": Tenure.OWNER_OCCUPIED,
    "自住": Tenure.OWNER_OCCUPIED, "rented": Tenure.RENTED, "rent": Tenure.RENTED, "出租": Tenure.RENTED,
}


@dataclass
class ImportRow:
    line: int
    building: str
    unit: str
    room: str
    area_dm2: int
    tenure: Tenure


@dataclass
class ImportReport:
    """What an import found: every bad row by line number, or what it created."""

    errors: list[tuple[int, str]] = field(default_factory=list)
    rows: list[ImportRow] = field(default_factory=list)
    households_created: int = 0
    buildings_created: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def check_household_rows(estate: Place, text: str) -> ImportReport:
    """Validate a whole CSV (header building,unit,room,area[,tenure]) without changing anything."""
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in IMPORT_COLUMNS if c not in header]
    unknown = [c for c in header if c not in IMPORT_COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown:
        report.errors.append((1, str(_l(
            "The header must be: building,unit,room,area (and optionally tenure). "
            "Missing: %(missing)s. Unknown: %(unknown)s.",
            missing=", ".join(missing) or "-", unknown=", ".join(unknown) or "-"))))
        return report
    # DictReader would silently keep the last of two "area" columns.
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        report.errors.append((1, str(_l("These columns appear more than once: %(cols)s.",
                                        cols=", ".join(repeated)))))
        return report
    reader.fieldnames = header
    existing = set(db.session.execute(
        sa.select(Place.name, Household.unit, Household.room)
        .join(Household, Household.building_id == Place.id)
        .where(Place.parent_id == estate.id)
    ).all())
    seen: dict[tuple[str, str, str], int] = {}
    for row in reader:
        line = reader.line_num
        if None in row:
            report.errors.append((line, str(_l("This row has more values than the header."))))
            continue
        values = {k: (row.get(k) or "").strip() for k in header}
        empty = [c for c in IMPORT_COLUMNS if not values[c]]
        if empty:
            report.errors.append((line, str(_l("Empty value in: %(cols)s.", cols=", ".join(empty)))))
            continue
        if any(len(values[c]) > limit for c, limit in (("building", 100), ("unit", 16), ("room", 16))):
            report.errors.append((line, str(_l("A building, unit or room name is too long."))))
            continue
        try:
            area = parse_area(values["area"])
        except Refused as refusal:
            report.errors.append((line, str(refusal.message)))
            continue
        tenure = TENURE_WORDS.get(values.get("tenure", "").lower())
        if tenure is None:
            report.errors.append((line, str(_l("Tenure must be owner_occupied or rented."))))
            continue
        key = (values["building"], values["unit"], values["room"])
        if key in seen:
            report.errors.append((line, str(_l("Same building, unit and room as line %(other)d.",
                                                other=seen[key]))))
            continue
        if key in existing:
            report.errors.append((line, str(_l("This household already exists in the estate."))))
            continue
        seen[key] = line
        report.rows.append(ImportRow(line, *key, area_dm2=area, tenure=tenure))
    if not report.rows and not report.errors:
        report.errors.append((1, str(_l("The file has no rows."))))
    return report


def import_household_rows(estate: Place, report: ImportReport, by: User | None,
                          progress: Callable[[Iterable[ImportRow]], Iterable[ImportRow]] = iter) -> None:
    """Create the checked rows' buildings and households (all in the caller's transaction)."""
    if estate.kind is not PlaceKind.ESTATE:
        raise Refused(_l("Households are imported into an estate."))
    if not report.ok:
        raise Refused(_l("The file has errors; nothing was imported."))
    buildings = {p.name: p for p in db.session.scalars(sa.select(Place).where(Place.parent_id == estate.id))}
    for row in progress(report.rows):
        building = buildings.get(row.building)
        if building is None:
            building = create_place(PlaceKind.BUILDING, row.building, estate, by)
            buildings[row.building] = building
            report.buildings_created += 1
        db.session.add(Household(building=building, unit=row.unit, room=row.room,
                                 sort_key=_household_key(row.unit, row.room),
                                 floor_area_dm2=row.area_dm2, tenure=row.tenure))
        report.households_created += 1
    db.session.flush()
    record(by, "household.imported", estate, "place", estate.id,
           detail=str(report.households_created))
