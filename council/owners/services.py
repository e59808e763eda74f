"""The owner register: record a unit's owners (a sale or a correction keeps the history), read the register
of a building, mask certificate numbers, and import or export an estate's register as CSV (all or nothing)."""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from council.accounts.models import User
from council.accounts.services import find_by_login, normalise_mobile
from council.activity.services import record, register_verbs
from council.exceptions import Refused
from council.extensions import db
from council.owners.models import Ownership
from council.sqltypes import utcnow
from council.territory.models import Household, Place, UnitKind
from council.territory.services import parse_area

register_verbs({"owners.recorded": _l("recorded the owners of a unit")})

KIND_WORDS = {
    "": UnitKind.DWELLING, "dwelling": UnitKind.DWELLING, "住宅": UnitKind.DWELLING,
    "shop": UnitKind.SHOP, "商铺": UnitKind.SHOP, "商业": UnitKind.SHOP,
    "parking": UnitKind.PARKING, "车位": UnitKind.PARKING,
}
YES = {"y", "yes", "1", "true", "是", "√"}


@dataclass(frozen=True)
class OwnerEntry:
    """One owner as staff type them from the certificate: name, mobile (optional), account (optional)."""

    name: str
    mobile: str = ""
    login: str = ""
    caster: bool = False


def mask(certificate_no: str) -> str:
    """A certificate number with every digit but the last three hidden: 皖(****)合肥市不动产权第****456号."""
    digits = sum(ch.isdigit() for ch in certificate_no)
    hidden = max(0, digits - 3)
    out = []
    for ch in certificate_no:
        if ch.isdigit() and hidden:
            out.append("*")
            hidden -= 1
        else:
            out.append(ch)
    return "".join(out)


def live_owners(household_ids: Iterable[int]) -> dict[int, list[Ownership]]:
    """The current owners of each unit (one query), casters first."""
    ids = sorted(set(household_ids))
    owners: dict[int, list[Ownership]] = {hid: [] for hid in ids}
    if not ids:
        return owners
    for ownership in db.session.scalars(sa.select(Ownership).where(
            Ownership.household_id.in_(ids), Ownership.ended_at.is_(None))
            .order_by(Ownership.household_id, Ownership.is_caster.desc(), Ownership.id)):
        owners[ownership.household_id].append(ownership)
    return owners


def owner_key(owners: list[Ownership]) -> str | None:
    """The head a unit's vote counts for: its sole owner, or its co-owners together (one vote per unit)."""
    if not owners:
        return None
    return "+".join(sorted(o.key for o in owners))


def _clean(entries: list[OwnerEntry]) -> list[tuple[OwnerEntry, str | None, User | None]]:
    entries = [e for e in entries if (e.name or "").strip() or (e.mobile or "").strip() or (e.login or "").strip()]
    if not entries:
        raise Refused(_l("A unit needs at least one owner."), "owners")
    cleaned, mobiles = [], set()
    for entry in entries:
        name = (entry.name or "").strip()
        if not name or len(name) > 64:
            raise Refused(_l("Give each owner's name as on the certificate (at most 64 characters)."), "owners")
        mobile = None
        if (entry.mobile or "").strip():
            mobile = normalise_mobile(entry.mobile)
            if mobile is None:
                raise Refused(_l("%(name)s: this is not a mainland mobile number.", name=name), "owners")
            if mobile in mobiles:
                raise Refused(_l("The same mobile number is given for two owners."), "owners")
            mobiles.add(mobile)
        user = None
        if (entry.login or "").strip():
            user = find_by_login(entry.login)
            if user is None:
                raise Refused(_l("%(name)s: nobody with this mobile number or username has an account.",
                                 name=name), "owners")
        elif mobile:
            user = db.session.scalar(sa.select(User).where(User.mobile == mobile))
        if user is not None and mobile is None:
            mobile = user.mobile
        cleaned.append((entry, mobile, user))
    casters = sum(e.caster for e, _m, _u in cleaned)
    if len(cleaned) > 1 and casters != 1:
        raise Refused(_l("A jointly owned unit is one vote: name the one co-owner who casts it."), "owners")
    return cleaned


def _certificate_elsewhere(certificate_no: str, household_id: int) -> Household | None:
    return db.session.scalar(sa.select(Household).join(Ownership, Ownership.household_id == Household.id).where(
        Ownership.certificate_no == certificate_no, Ownership.ended_at.is_(None),
        Ownership.household_id != household_id).limit(1))


def record_owners(household: Household, entries: list[OwnerEntry], certificate_no: str, by: User | None,
                  kind: UnitKind | None = None) -> list[Ownership]:
    """Replace a unit's current owners (a sale, or a correction): the old records end, the new ones start."""
    certificate_no = re.sub(r"\s+", "", certificate_no or "")
    if not certificate_no or len(certificate_no) > 64:
        raise Refused(_l("Give the property certificate number (at most 64 characters)."), "certificate_no")
    cleaned = _clean(entries)
    other = _certificate_elsewhere(certificate_no, household.id)
    if other is not None:
        raise Refused(_l("This certificate number is already recorded for %(unit)s.", unit=other.label),
                      "certificate_no")
    now = utcnow()
    db.session.execute(sa.update(Ownership).where(Ownership.household_id == household.id,
                                                  Ownership.ended_at.is_(None)).values(ended_at=now))
    db.session.flush()
    if kind is not None:
        household.kind = kind
    created = []
    for entry, mobile, user in cleaned:
        ownership = Ownership(household_id=household.id, name=entry.name.strip(), mobile=mobile,
                              user_id=user.id if user else None, certificate_no=certificate_no,
                              is_caster=entry.caster or len(cleaned) == 1, started_at=now,
                              recorded_by_id=by.id if by else None)
        db.session.add(ownership)
        created.append(ownership)
    db.session.flush()
    record(by, "owners.recorded", household.building_id, "household", household.id, detail=household.label)
    return created


def building_page(building: Place, page: int, per_page: int):
    """A page of a building's units (their owners come from `live_owners` on the page's ids)."""
    query = (sa.select(Household).where(Household.building_id == building.id)
             .order_by(Household.sort_key, Household.id))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def missing_owners(household_ids: Iterable[int]) -> list[int]:
    """Units without a current owner on the register."""
    ids = sorted(set(household_ids))
    if not ids:
        return []
    owned = set(db.session.scalars(sa.select(Ownership.household_id).where(
        Ownership.household_id.in_(ids), Ownership.ended_at.is_(None))))
    return [hid for hid in ids if hid not in owned]


def has_register(household_ids: Iterable[int]) -> bool:
    """Does any of these units have an owner on the register? (Then the register decides who votes.)"""
    ids = sorted(set(household_ids))
    return bool(ids) and db.session.scalar(sa.select(Ownership.id).where(
        Ownership.household_id.in_(ids), Ownership.ended_at.is_(None)).limit(1)) is not None


def owns_in(user: User, estate_id: int) -> bool:
    """Is this person a current owner of a unit of the estate (a landlord living elsewhere, say)?"""
    who = [Ownership.user_id == user.id]
    if user.mobile:
        who.append(Ownership.mobile == user.mobile)
    return db.session.scalar(
        sa.select(Ownership.id).join(Household, Household.id == Ownership.household_id)
        .join(Place, Place.id == Household.building_id)
        .where(Ownership.ended_at.is_(None), sa.or_(*who), Place.parent_id == estate_id).limit(1)) is not None


def may_cast_for(user: User) -> sa.ColumnElement:
    """SQL: the live ownerships through which this person casts their unit's vote (the named caster)."""
    who = [Ownership.user_id == user.id]
    if user.mobile:
        who.append(Ownership.mobile == user.mobile)
    return sa.and_(Ownership.ended_at.is_(None), Ownership.is_caster.is_(True), sa.or_(*who))


# ---- CSV import and export ------------------------------------------------------------------------

COLUMNS = ("building", "unit", "room", "certificate_no", "owner_name")
OPTIONAL = ("owner_mobile", "owner_login", "caster", "kind", "area")


@dataclass
class UnitRows:
    household: Household
    certificate_no: str
    kind: UnitKind
    area_dm2: int | None
    owners: list[OwnerEntry] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)


@dataclass
class RegisterReport:
    errors: list[tuple[int, str]] = field(default_factory=list)
    units: dict[int, UnitRows] = field(default_factory=dict)
    owners_recorded: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def _header(reader: csv.DictReader, report: RegisterReport) -> list[str] | None:
    header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS + OPTIONAL]
    repeated = sorted({c for c in header if header.count(c) > 1})
    if missing or unknown or repeated:
        report.errors.append((1, str(_l(
            "The header must have building,unit,room,certificate_no,owner_name and may have owner_mobile, "
            "owner_login, caster, kind, area. Missing: %(missing)s. Unknown or repeated: %(unknown)s.",
            missing=", ".join(missing) or "-", unknown=", ".join(unknown + repeated) or "-"))))
        return None
    return header


def _rows(reader: csv.DictReader, report: RegisterReport):
    """The reader's rows; a value longer than the csv module reads (128 KB) ends the file with an error, not
    a 500."""
    try:
        yield from reader
    except csv.Error:
        report.errors.append((reader.line_num, str(_l("This row cannot be read: a value in it is too long. "
                                                      "Nothing after it was read."))))


def check_register_rows(estate: Place, text: str) -> RegisterReport:
    """Validate a whole owner register CSV without changing anything: one row per owner, co-owners of a
    unit on several rows with the same certificate number and exactly one of them marked as caster."""
    report = RegisterReport()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = _header(reader, report)
    if header is None:
        return report
    reader.fieldnames = header
    units = {(b, h.unit, h.room): h for h, b in db.session.execute(
        sa.select(Household, Place.name).join(Place, Place.id == Household.building_id)
        .where(Place.parent_id == estate.id))}
    certificates: dict[str, tuple[int, int]] = {}  # certificate → (household id, first line)
    for row in _rows(reader, report):
        line = reader.line_num
        if None in row:
            report.errors.append((line, str(_l("This row has more values than the header."))))
            continue
        values = {k: (row.get(k) or "").strip() for k in header}
        empty = [c for c in COLUMNS if not values[c]]
        if empty:
            report.errors.append((line, str(_l("Empty value in: %(cols)s.", cols=", ".join(empty)))))
            continue
        household = units.get((values["building"], values["unit"], values["room"]))
        if household is None:
            report.errors.append((line, str(_l("There is no such unit in this estate; import the households "
                                                "first."))))
            continue
        kind = KIND_WORDS.get(values.get("kind", "").lower())
        if kind is None:
            report.errors.append((line, str(_l("Kind must be dwelling, shop or parking."))))
            continue
        area = None
        if values.get("area"):
            try:
                area = parse_area(values["area"])
            except Refused as refusal:
                report.errors.append((line, str(refusal.message)))
                continue
        certificate = re.sub(r"\s+", "", values["certificate_no"])
        first = certificates.setdefault(certificate, (household.id, line))
        if first[0] != household.id:
            report.errors.append((line, str(_l("This certificate number is already used on line %(other)d for "
                                                "another unit.", other=first[1]))))
            continue
        unit = report.units.setdefault(household.id, UnitRows(household, certificate, kind, area))
        if unit.certificate_no != certificate:
            report.errors.append((line, str(_l("Co-owners of a unit share one certificate number (see line "
                                                "%(other)d).", other=unit.lines[0]))))
            continue
        unit.owners.append(OwnerEntry(values["owner_name"], values.get("owner_mobile", ""),
                                      values.get("owner_login", ""), values.get("caster", "").lower() in YES))
        unit.lines.append(line)
    for unit in report.units.values():
        try:
            _clean(unit.owners)
        except Refused as refusal:
            report.errors.append((unit.lines[0], str(refusal.message)))
        other = _certificate_elsewhere(unit.certificate_no, unit.household.id)
        if other is not None and other.id not in report.units:
            report.errors.append((unit.lines[0], str(_l("This certificate number is already recorded for "
                                                        "%(unit)s.", unit=other.label))))
    if not report.units and not report.errors:
        report.errors.append((1, str(_l("The file has no rows."))))
    report.errors.sort()
    return report


def import_register_rows(report: RegisterReport, by: User | None,
                         progress: Callable[[Iterable[UnitRows]], Iterable[UnitRows]] = iter) -> None:
    """Record every checked unit's owners (in the caller's transaction; all or nothing)."""
    if not report.ok:
        raise Refused(_l("The file has errors; nothing was imported."))
    # End every listed unit's owners first, so certificates can move between units within one file.
    db.session.execute(sa.update(Ownership).where(Ownership.household_id.in_(list(report.units)),
                                                  Ownership.ended_at.is_(None)).values(ended_at=utcnow()))
    for unit in progress(list(report.units.values())):
        if unit.area_dm2 is not None:
            unit.household.floor_area_dm2 = unit.area_dm2
        report.owners_recorded += len(record_owners(unit.household, unit.owners, unit.certificate_no, by,
                                                    unit.kind))


def export_rows(estate: Place) -> Iterable[list[str]]:
    """The estate's current register in the import's own shape (certificate numbers in full: staff only)."""
    yield ["building", "unit", "room", "kind", "area", "certificate_no", "owner_name", "owner_mobile", "caster"]
    rows = db.session.execute(
        sa.select(Place.name, Household, Ownership).join(Household, Household.building_id == Place.id)
        .join(Ownership, Ownership.household_id == Household.id)
        .where(Place.parent_id == estate.id, Ownership.ended_at.is_(None))
        .order_by(Place.sort_key, Household.sort_key, Ownership.is_caster.desc(), Ownership.id))
    for building, household, ownership in rows:
        yield [building, household.unit, household.room, household.kind.value, str(household.floor_area),
               ownership.certificate_no, ownership.name, ownership.mobile or "", "y" if ownership.is_caster else ""]
