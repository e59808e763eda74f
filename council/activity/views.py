"""The activity log of a place, for staff."""
from flask import current_app, render_template, request
from flask_login import login_required

from council.activity import bp
from council.activity.services import activity_beneath, describe, describe_detail
from council.permissions import Action, require
from council.territory.services import get_place_or_404


@bp.get("/places/<int:place_id>/activity")
@login_required
def place_activity(place_id: int):
    place = get_place_or_404(place_id)
    require(Action.ACTIVITY_VIEW, place)
    page = activity_beneath(place, request.args.get("page", 1, type=int), current_app.config["PER_PAGE"])
    return render_template("activity/place.html", place=place, page=page, describe=describe,
                           describe_detail=describe_detail)
