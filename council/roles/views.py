"""Administrators grant and revoke roles on the places beneath them."""
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from council.accounts.services import find_by_login
from council.exceptions import Refused
from council.extensions import db
from council.forms import EmptyForm, saving
from council.permissions import Action, current_standing, may_grant, require
from council.roles import bp, services
from council.roles.forms import GrantForm
from council.roles.models import Role
from council.territory.models import PlaceKind
from council.territory.panels import Panel, register_panel
from council.territory.services import ancestors, get_place_or_404


def _form_for(place) -> GrantForm:
    form = GrantForm()
    form.role.choices = [(r.value, services.ROLE_LABELS[r]) for r in services.roles_for(place)
                         if may_grant(current_standing(), r, place.lineage_ids)]
    return form


@bp.route("/places/<int:place_id>/roles", methods=["GET", "POST"])
@login_required
def place_roles(place_id: int):
    place = get_place_or_404(place_id)
    require(Action.ROLES_MANAGE, place)
    form = _form_for(place)
    if form.validate_on_submit():
        person = find_by_login(form.person.data)
        if person is None:
            form.person.errors.append(_("Nobody with this mobile number or username has an account."))
        elif not may_grant(current_standing(), Role(form.role.data), place.lineage_ids):
            abort(403)
        else:
            with saving(form, "role") as saved:
                services.grant(person, Role(form.role.data), place, current_user, form.duty.data)
            if saved.ok:
                flash(_("%(name)s is now %(role)s of %(place)s.", name=person.display_name,
                        role=services.ROLE_LABELS[Role(form.role.data)], place=place.name), "success")
                return redirect(url_for("roles.place_roles", place_id=place.id))
    page = services.grants_page(place, request.args.get("page", 1, type=int), current_app.config["PER_PAGE"])
    status = 400 if form.errors else 200
    return render_template("roles/place.html", place=place, page=page, form=form, revoke_form=EmptyForm(),
                           crumbs=ancestors(place) + [place]), status


@bp.post("/roles/<int:grant_id>/revoke")
@login_required
def revoke(grant_id: int):
    entry = services.get_grant_or_404(grant_id)
    if not may_grant(current_standing(), entry.role, entry.place.lineage_ids):
        abort(403)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        services.revoke(entry, current_user)
    except Refused as refusal:
        db.session.rollback()
        flash(refusal.message, "error")
    else:
        db.session.commit()
        flash(_("The role is revoked."), "success")
    return redirect(url_for("roles.place_roles", place_id=entry.place_id))


@bp.app_template_global()
def may_revoke(grant) -> bool:
    """Whether the signed-in person may take this role away (the same rule as granting it)."""
    return may_grant(current_standing(), grant.role, grant.place.lineage_ids)


@bp.app_template_global()
def role_label(role: Role) -> str:
    return str(services.ROLE_LABELS[role])


@register_panel(order=30)
def team_panel(place):
    """Who holds a role on an estate or a building: the people to ask."""
    if place.kind not in (PlaceKind.ESTATE, PlaceKind.BUILDING):
        return None
    return Panel("roles/_panel_team.html", {"team": services.grants_page(place, 1, 50, count=False)})
