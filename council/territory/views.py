"""Place pages, and the administrators' pages that create and edit places and households."""
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from council.forms import saving
from council.pagecache import MembersPage
from council.permissions import Action, can, require
from council.territory import bp, services
from council.territory.forms import HouseholdForm, PlaceForm
from council.territory.models import CHILD_KINDS, PARENT_KINDS, PlaceKind, Tenure
from council.territory.panels import panels_for


def _page() -> int:
    return request.args.get("page", 1, type=int)


@bp.get("/places/<int:place_id>")
@login_required
def place(place_id: int):
    kept, head = MembersPage.of_place("territory.place", place_id)
    require(Action.PLACE_VIEW, head)
    # Kept for members who hold the same here (the panels and links follow what they may do).
    return kept.serve(head.shown, lambda: _place_page(services.get_place_or_404(place_id)))


def _place_page(place) -> str:
    per_page = current_app.config["PER_PAGE"]
    children = services.children_page(place, _page(), per_page * 3) if place.kind is not PlaceKind.BUILDING else None
    households, units, unit = None, [], None
    if place.kind is PlaceKind.BUILDING and can(Action.RESIDENTS_VIEW, place):
        units = services.units_of(place)
        unit = request.args.get("unit") if request.args.get("unit") in units else (units[0] if units else None)
        households = services.households_page(place, _page(), per_page * 3, unit=unit)
    return render_template("territory/place.html", place=place, crumbs=services.ancestors(place),
                           children=children, households=households, units=units, unit=unit,
                           panels=panels_for(place), child_kinds=CHILD_KINDS[place.kind])


@bp.route("/places/<int:place_id>/new/<kind>", methods=["GET", "POST"])
@bp.route("/streets/new", methods=["GET", "POST"], defaults={"place_id": None, "kind": "street"})
@login_required
def new_place(place_id: int | None, kind: str):
    parent = services.get_place_or_404(place_id) if place_id is not None else None
    try:
        kind = PlaceKind(kind)
    except ValueError:
        abort(404)
    if (parent.kind if parent else None) not in PARENT_KINDS[kind]:
        abort(404)  # no such page: a building under a community, a street under a street...
    require(Action.TERRITORY_MANAGE, parent)
    form = PlaceForm()
    if form.validate_on_submit():
        with saving(form, "name") as saved:
            created = services.create_place(kind, form.name.data, parent, current_user, form.address.data)
        if saved.ok:
            flash(_("%(name)s is created.", name=created.name), "success")
            return redirect(url_for("territory.place", place_id=created.id))
    return render_template("territory/place_form.html", form=form, parent=parent, kind=kind, place=None,
                           crumbs=(services.ancestors(parent) + [parent]) if parent else []), \
        400 if form.errors else 200


@bp.route("/places/<int:place_id>/edit", methods=["GET", "POST"])
@login_required
def edit_place(place_id: int):
    place = services.get_place_or_404(place_id)
    require(Action.TERRITORY_MANAGE, place)
    form = PlaceForm(obj=place)
    if form.validate_on_submit():
        with saving(form, "name") as saved:
            services.update_place(place, form.name.data, form.address.data, current_user)
        if saved.ok:
            flash(_("Saved."), "success")
            return redirect(url_for("territory.place", place_id=place.id))
    return render_template("territory/place_form.html", form=form, parent=place.parent, kind=place.kind,
                           place=place, crumbs=services.ancestors(place) + [place]), 400 if form.errors else 200


def _household_form(**kwargs) -> HouseholdForm:
    form = HouseholdForm(**kwargs)
    form.tenure.choices = [(t.value, services.TENURE_LABELS[t]) for t in Tenure]
    return form


@bp.route("/places/<int:building_id>/households/new", methods=["GET", "POST"])
@login_required
def new_household(building_id: int):
    building = services.get_place_or_404(building_id, PlaceKind.BUILDING)
    require(Action.TERRITORY_MANAGE, building)
    form = _household_form()
    if form.validate_on_submit():
        with saving(form, "area") as saved:
            household = services.create_household(building, form.unit.data, form.room.data,
                                                  services.parse_area(form.area.data), Tenure(form.tenure.data),
                                                  current_user)
        if saved.ok:
            flash(_("Household %(label)s is added.", label=household.label), "success")
            return redirect(url_for("territory.new_household", building_id=building.id))
    return render_template("territory/household_form.html", form=form, building=building, household=None,
                           crumbs=services.ancestors(building) + [building]), 400 if form.errors else 200


@bp.route("/households/<int:household_id>/edit", methods=["GET", "POST"])
@login_required
def edit_household(household_id: int):
    household = services.get_household_or_404(household_id)
    building = household.building
    require(Action.TERRITORY_MANAGE, building)
    form = _household_form(obj=household, data=None if request.method == "POST" else {
        "area": household.floor_area, "tenure": household.tenure.value})
    if form.validate_on_submit():
        with saving(form, "area") as saved:
            services.update_household(household, form.unit.data, form.room.data,
                                      services.parse_area(form.area.data), Tenure(form.tenure.data), current_user)
        if saved.ok:
            flash(_("Saved."), "success")
            return redirect(url_for("territory.place", place_id=building.id))
    return render_template("territory/household_form.html", form=form, building=building, household=household,
                           crumbs=services.ancestors(building) + [building]), 400 if form.errors else 200


@bp.app_template_global()
def kind_label(kind: PlaceKind) -> str:
    return str(services.KIND_LABELS[kind])


@bp.app_template_global()
def tenure_label(tenure: Tenure) -> str:
    return str(services.TENURE_LABELS[tenure])
