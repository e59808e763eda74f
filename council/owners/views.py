"""Owner register pages: a building's register, recording a unit's owners, and an estate's CSV import and
export. Staff only: certificate numbers are shown masked, in full only in the export (managers)."""
import csv
import io

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required

from council.activity.services import record, register_verbs
from council.csvfiles import safe_row
from council.extensions import db
from council.forms import saving
from council.owners import bp, panel, services  # noqa: F401  (panel registers itself)
from council.owners.forms import OWNER_ROWS, UNIT_KIND_LABELS, ImportForm, OwnersForm
from council.permissions import Action, can, require
from council.territory.models import PlaceKind, UnitKind
from council.territory.services import ancestors, get_household_or_404, get_place_or_404

register_verbs({"owners.exported": _l("downloaded the owner register")})

# A cell starting with one of these is a formula to a spreadsheet (CSV injection).


@bp.get("/places/<int:place_id>/owners")
@login_required
def building(place_id: int):
    """A building's units with their current owners (a fixed number of queries per page)."""
    building = get_place_or_404(place_id, PlaceKind.BUILDING)
    require(Action.OWNERS_VIEW, building)
    page = services.building_page(building, request.args.get("page", 1, type=int), current_app.config["PER_PAGE"])
    owners = services.live_owners(h.id for h in page.items)
    return render_template("owners/building.html", building=building, page=page, owners=owners,
                           may_manage=can(Action.OWNERS_MANAGE, building), mask=services.mask,
                           crumbs=ancestors(building) + [building])


@bp.route("/households/<int:household_id>/owners", methods=["GET", "POST"])
@login_required
def edit(household_id: int):
    """Record a unit's owners from its certificate: a sale or a correction ends the current records."""
    household = get_household_or_404(household_id)
    building = household.building
    require(Action.OWNERS_MANAGE, building)
    form = OwnersForm()
    if request.method == "GET":
        form.kind.data = household.kind.value
        form.fill(services.live_owners([household.id])[household.id])
    if form.validate_on_submit():
        entries = [services.OwnerEntry(form[f"name_{row}"].data, form[f"mobile_{row}"].data or "",
                                       form[f"login_{row}"].data or "", caster=form.caster.data == str(row))
                   for row in OWNER_ROWS if (form[f"name_{row}"].data or "").strip()]
        # Refusals about the owners themselves (field "owners") show under the caster choice, which closes
        # the owners' part of the form; those about the certificate under its field.
        with saving(form, "caster") as saved:
            services.record_owners(household, entries, form.certificate_no.data, current_user,
                                   UnitKind(form.kind.data))
        if saved.ok:
            flash(_("The owners of %(unit)s are recorded.", unit=household.label), "success")
            return redirect(url_for("owners.building", place_id=building.id))
    return render_template("owners/edit.html", form=form, household=household, building=building,
                           crumbs=ancestors(building) + [building]), 400 if form.errors else 200


@bp.route("/places/<int:place_id>/owners/import", methods=["GET", "POST"])
@login_required
def import_register(place_id: int):
    """Upload an estate's owner register: every row is checked first, and nothing is saved unless all pass."""
    estate = get_place_or_404(place_id, PlaceKind.ESTATE)
    require(Action.OWNERS_MANAGE, estate)
    form = ImportForm()
    report = None
    if form.validate_on_submit():
        report = services.check_register_rows(estate, form.text)
        if report.ok:
            with saving(form, "file") as saved:
                services.import_register_rows(report, current_user)
            if saved.ok:
                flash(ngettext("%(num)d owner is recorded.", "%(num)d owners are recorded.",
                               report.owners_recorded), "success")
                return redirect(url_for("territory.place", place_id=estate.id))
    failed = bool(form.errors or (report is not None and not report.ok))
    return render_template("owners/import.html", form=form, estate=estate, report=report,
                           crumbs=ancestors(estate) + [estate]), 400 if failed else 200


@bp.get("/places/<int:place_id>/owners.csv")
@login_required
def export(place_id: int):
    """The estate's current register as CSV, in the import's own columns (UTF-8 with a BOM for Excel).
    The download is recorded: it holds full certificate and mobile numbers."""
    estate = get_place_or_404(place_id, PlaceKind.ESTATE)
    require(Action.OWNERS_MANAGE, estate)
    out = io.StringIO()
    out.write("\ufeff")
    csv.writer(out).writerows(safe_row(row) for row in services.export_rows(estate))
    record(current_user, "owners.exported", estate, "place", estate.id)
    db.session.commit()
    response = current_app.response_class(out.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="owners-{estate.id}.csv"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.app_template_global()
def unit_kind_label(kind: UnitKind) -> str:
    return str(UNIT_KIND_LABELS[kind])
