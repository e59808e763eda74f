"""The inbox page."""
from flask import abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from council.extensions import db
from council.forms import EmptyForm
from council.notifications import bp, services
from council.notifications.models import Notification


@bp.get("/inbox")
@login_required
def inbox():
    page = services.inbox_page(current_user.id, request.args.get("page", 1, type=int),
                               current_app.config["PER_PAGE"])
    return render_template("notifications/inbox.html", page=page, form=EmptyForm(), sentence=services.sentence)


@bp.post("/inbox/<int:notification_id>")
@login_required
def open_one(notification_id: int):
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != current_user.id:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    target = services.open_notification(notification)
    db.session.commit()
    return redirect(target)


@bp.post("/inbox/read")
@login_required
def read_all():
    if not EmptyForm().validate_on_submit():
        abort(400)
    services.mark_all_read(current_user.id)
    db.session.commit()
    return redirect(url_for("notifications.inbox"))


@bp.app_context_processor
def unread():
    """The unread count for the header: loaded with the signed-in person (notifications.models)."""
    if current_user.is_authenticated:
        return {"unread_count": current_user.unread_count}
    return {"unread_count": 0}
