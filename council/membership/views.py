"""Joining a household, deciding requests, household pages, residents without a phone, party members."""
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from council.accounts.services import format_code, issue_claim_code
from council.activity.services import describe, record
from council.exceptions import Refused
from council.extensions import db
from council.forms import EmptyForm, commit_or_flash
from council.membership import bp, services
from council.membership.forms import DecisionForm, JoinForm, PartyMemberForm, RegisterResidentForm
from council.membership.models import MembershipStatus, PartyMember, Relation
from council.permissions import Action, can, require
from council.territory import services as territory
from council.territory.models import PlaceKind
from council.territory.panels import Panel, register_panel


def _per_page() -> int:
    return current_app.config["PER_PAGE"]


def _page() -> int:
    return request.args.get("page", 1, type=int)


@bp.get("/join")
@login_required
def join():
    """Step 1: find the estate."""
    q = request.args.get("q", "").strip()[:50]
    page = territory.estates_page(q, _page(), _per_page())
    return render_template("membership/join_estate.html", page=page, q=q)


@bp.get("/join/estates/<int:estate_id>")
@login_required
def join_building(estate_id: int):
    """Step 2: choose the building."""
    estate = territory.get_place_or_404(estate_id, PlaceKind.ESTATE)
    page = territory.children_page(estate, _page(), 60)
    return render_template("membership/join_building.html", estate=estate, page=page)


@bp.get("/join/buildings/<int:building_id>")
@login_required
def join_room(building_id: int):
    """Step 3: choose the unit, then the room."""
    building = territory.get_place_or_404(building_id, PlaceKind.BUILDING)
    units = territory.units_of(building)
    unit = request.args.get("unit") if request.args.get("unit") in units else (units[0] if len(units) == 1 else None)
    page = territory.households_page(building, _page(), 60, unit=unit) if unit else None
    return render_template("membership/join_room.html", building=building, units=units, unit=unit, page=page)


@bp.route("/join/households/<int:household_id>", methods=["GET", "POST"])
@login_required
def join_household(household_id: int):
    """Step 4: confirm and send the request."""
    household = territory.get_household_or_404(household_id)
    form = JoinForm()
    if form.validate_on_submit():
        try:
            services.request_join(current_user, household, Relation(form.relation.data))
        except Refused as refusal:
            db.session.rollback()
            flash(refusal.message, "error")
        else:
            db.session.commit()
            flash(_("Your request has been sent. Your building leader will answer it."), "success")
            return redirect(url_for("membership.mine"))
    return render_template("membership/join_confirm.html", household=household, form=form)


@bp.get("/my/households")
@login_required
def mine():
    page = services.my_memberships(current_user, _page(), _per_page())
    return render_template("membership/mine.html", page=page, form=EmptyForm())


@bp.post("/memberships/<int:membership_id>/withdraw")
@login_required
def withdraw(membership_id: int):
    membership = services.get_membership_or_404(membership_id)
    commit_or_flash(lambda: services.withdraw(membership, current_user), _("Your request is withdrawn."))
    return redirect(url_for("membership.mine"))


@bp.get("/places/<int:place_id>/requests")
@login_required
def requests(place_id: int):
    place = territory.get_place_or_404(place_id)
    require(Action.RESIDENTS_VIEW, place)
    page = services.pending_beneath(place, _page(), _per_page())
    return render_template("membership/requests.html", place=place, page=page, form=DecisionForm(),
                           crumbs=territory.ancestors(place) + [place])


@bp.post("/memberships/<int:membership_id>/decide")
@login_required
def decide(membership_id: int):
    """Approve or refuse a request (the reason is required to refuse)."""
    membership = services.get_membership_or_404(membership_id)
    require(Action.MEMBERSHIP_DECIDE, membership.household.building)
    form = DecisionForm()
    back = url_for("membership.requests", place_id=request.form.get("back", type=int)
                   or membership.household.building_id)
    if not form.validate_on_submit():
        flash(_("Please correct the marked fields."), "error")
        return redirect(back)
    if request.form.get("decision") == "approve":
        commit_or_flash(lambda: services.approve(membership, current_user),
                    _("%(name)s is now a member of %(household)s.", name=membership.user.display_name,
                      household=membership.household.label))
    elif request.form.get("decision") == "refuse":
        commit_or_flash(lambda: services.refuse(membership, current_user, form.reason.data),
                    _("The request is refused; the resident will see your reason."))
    else:
        abort(400)
    return redirect(back)


@bp.get("/households/<int:household_id>")
@login_required
def household(household_id: int):
    household = territory.get_household_or_404(household_id)
    building = household.building
    staff = can(Action.RESIDENTS_VIEW, building)
    if not staff and not services.is_member_of(current_user, household):
        abort(403)
    members = services.household_members(household)
    estate = building.parent
    party = services.party_flags([m.user_id for m in members], estate) if staff else {}
    return render_template(
        "membership/household.html", household=household, building=building, estate=estate, members=members,
        party=party, staff=staff, form=EmptyForm(), register_form=RegisterResidentForm(),
        party_form=PartyMemberForm(), history=services.household_history(household) if staff else [],
        crumbs=territory.ancestors(building) + [building], describe=describe)


def _managed_membership(membership_id: int):
    membership = services.get_membership_or_404(membership_id)
    require(Action.RESIDENT_REGISTER, membership.household.building)
    if not EmptyForm().validate_on_submit():
        abort(400)
    return membership


@bp.post("/memberships/<int:membership_id>/representative")
@login_required
def representative(membership_id: int):
    membership = _managed_membership(membership_id)
    commit_or_flash(lambda: services.make_representative(membership, current_user),
         _("%(name)s now represents the household.", name=membership.user.display_name))
    return redirect(url_for("membership.household", household_id=membership.household_id))


@bp.post("/memberships/<int:membership_id>/end")
@login_required
def end(membership_id: int):
    membership = _managed_membership(membership_id)
    commit_or_flash(lambda: services.end(membership, current_user),
         _("The move-out of %(name)s is recorded.", name=membership.user.display_name))
    return redirect(url_for("membership.household", household_id=membership.household_id))


@bp.post("/households/<int:household_id>/register")
@login_required
def register(household_id: int):
    """Register a resident who has no phone or account."""
    household = territory.get_household_or_404(household_id)
    require(Action.RESIDENT_REGISTER, household.building)
    form = RegisterResidentForm()
    if form.validate_on_submit():
        commit_or_flash(lambda: services.register_resident(household, form.display_name.data,
                                                           Relation(form.relation.data), form.is_adult.data,
                                                           current_user),
                        _("%(name)s is registered in this household.", name=form.display_name.data.strip()))
        return redirect(url_for("membership.household", household_id=household.id))
    members = services.household_members(household)
    return render_template(
        "membership/household.html", household=household, building=household.building,
        estate=household.building.parent, members=members, staff=True, form=EmptyForm(), register_form=form,
        party=services.party_flags([m.user_id for m in members], household.building.parent),
        party_form=PartyMemberForm(), history=services.household_history(household),
        crumbs=territory.ancestors(household.building) + [household.building], describe=describe), 400


@bp.post("/memberships/<int:membership_id>/claim-code")
@login_required
def claim_code(membership_id: int):
    """Issue a one-time code so a staff-registered resident can take over their record at sign-up."""
    membership = _managed_membership(membership_id)
    try:
        code = issue_claim_code(membership.user, current_user, current_app.config["CLAIM_CODE_DAYS"])
    except Refused as refusal:
        db.session.rollback()
        flash(refusal.message, "error")
        return redirect(url_for("membership.household", household_id=membership.household_id))
    record(current_user, "membership.claim_code", membership.household.building_id, "membership",
           membership.id, target=membership.user)
    db.session.commit()
    # Shown once, on this page only: the code is not stored in clear anywhere.
    return render_template("membership/claim_code.html", membership=membership, code=format_code(code),
                           days=current_app.config["CLAIM_CODE_DAYS"])


@bp.post("/memberships/<int:membership_id>/party")
@login_required
def party_add(membership_id: int):
    membership = services.get_membership_or_404(membership_id)
    estate = membership.household.building.parent
    require(Action.PARTY_MANAGE, estate)
    form = PartyMemberForm()
    if not form.validate_on_submit():
        abort(400)
    commit_or_flash(lambda: services.record_party_member(membership.user, estate, form.reporting.data, current_user),
         _("%(name)s is recorded as a party member of the branch.", name=membership.user.display_name))
    return redirect(url_for("membership.household", household_id=membership.household_id))


@bp.get("/places/<int:estate_id>/party")
@login_required
def party(estate_id: int):
    estate = territory.get_place_or_404(estate_id, PlaceKind.ESTATE)
    require(Action.PARTY_MANAGE, estate)
    page = services.party_members_page(estate, _page(), _per_page())
    return render_template("membership/party.html", estate=estate, page=page, form=EmptyForm(),
                           crumbs=territory.ancestors(estate) + [estate])


@bp.post("/party-members/<int:entry_id>/end")
@login_required
def party_end(entry_id: int):
    entry = db.session.get(PartyMember, entry_id) or abort(404)
    require(Action.PARTY_MANAGE, entry.estate)
    if not EmptyForm().validate_on_submit():
        abort(400)
    commit_or_flash(lambda: services.end_party_member(entry, current_user),
                    _("The attachment to the branch has ended."))
    return redirect(url_for("membership.party", estate_id=entry.estate_id))


@bp.app_template_global()
def status_label(status: MembershipStatus) -> str:
    return str(services.STATUS_LABELS[status])


@bp.app_template_global()
def relation_label(relation: Relation) -> str:
    return str(services.RELATION_LABELS[relation])


@register_panel(order=10)
def staff_panel(place):
    """On a place's page, staff see waiting requests and their tools."""
    if not can(Action.RESIDENTS_VIEW, place):
        return None
    return Panel("membership/_panel_staff.html", {"pending": services.count_pending_beneath(place)})
