"""Concern pages: report, read and support, handle, escalate, follow up; the queues."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from council.accounts.services import find_by_login
from council.activity.services import activity_about, describe, describe_detail
from council.concerns import bp, panel, photos, queries, reports, services  # noqa: F401  (panel, reports register)
from council.concerns.forms import (
    AssignForm,
    CallForm,
    CommentForm,
    FollowUpForm,
    MergeForm,
    NoteForm,
    ReasonForm,
    RecordForm,
    ReportForm,
)
from council.concerns.models import DepartmentCall
from council.concerns.rules import Category, Channel, allowed_steps
from council.exceptions import Refused
from council.extensions import db
from council.forms import EmptyForm, commit_or_flash, saving
from council.permissions import Action, can, current_standing, require
from council.territory.models import PlaceKind
from council.territory.services import ancestors, get_place_or_404


def _page() -> int:
    return request.args.get("page", 1, type=int)


@bp.route("/places/<int:place_id>/concerns/new", methods=["GET", "POST"])
@login_required
def new(place_id: int):
    """Raise a concern about a building or an estate; staff may record one for a resident."""
    place = get_place_or_404(place_id)
    if place.kind not in (PlaceKind.BUILDING, PlaceKind.ESTATE):
        abort(404)
    require(Action.PLACE_VIEW, place)
    on_behalf = request.args.get("for") == "resident" and can(Action.CONCERN_RECORD, place)
    form = RecordForm() if on_behalf else ReportForm()
    similar = []
    if form.validate_on_submit():
        similar = [] if form.confirmed.data else services.similar_open(place, form.title.data)
        if not similar:
            with saving(form, "title") as saved:
                concern = _report(place, form, on_behalf)
                # Same transaction: a refused photo rolls the concern back too, shown under the field.
                photos.add_photos(concern, form.photos.data)
            if saved.ok:
                flash(_("Thank you. Your concern is recorded; you will hear here when it moves on."), "success")
                return redirect(url_for("concerns.show", concern_id=concern.id))
    return render_template("concerns/new.html", place=place, form=form, similar=similar, on_behalf=on_behalf,
                           crumbs=ancestors(place) + [place]), 400 if form.errors else 200


def _report(place, form, on_behalf: bool):
    if not on_behalf:
        return services.report(place, current_user, form.title.data, form.description.data,
                               Category(form.category.data), form.show_name.data)
    reporter = find_by_login(form.reporter_login.data) if form.reporter_login.data else None
    if form.reporter_login.data and reporter is None:
        raise Refused(_("Nobody with this mobile number or username has an account."), "reporter_login")
    return services.report(place, current_user, form.title.data, form.description.data,
                           Category(form.category.data), form.show_name.data, channel=Channel(form.channel.data),
                           reporter=reporter, reporter_name=form.reporter_name.data)


def _load(concern_id: int, handle: bool = False):
    concern = services.get_concern_or_404(concern_id)
    standing = current_standing()
    if not services.may_view(standing, concern) and not services.may_handle(standing, concern):
        abort(403)
    if handle and not services.may_handle(standing, concern):
        abort(403)
    return concern


@bp.get("/concerns/<int:concern_id>")
@login_required
def show(concern_id: int):
    concern = _load(concern_id)
    standing = current_standing()
    handler = services.may_handle(standing, concern)
    return render_template(
        "concerns/show.html", concern=concern, handler=handler, steps=allowed_steps(concern.status),
        reporter=services.reporter_label(concern, handler or can(Action.CONCERN_HANDLE, concern.place)),
        supported=services.has_supported(concern, current_user), comments=services.comments_of(concern),
        timeline=activity_about("concern", concern.id), calls=services.calls_of(concern),
        may_follow_up=services.may_follow_up(standing, current_user, concern),
        form=EmptyForm(), comment_form=CommentForm(), accept_form=AssignForm(prefix="accept"),
        assign_form=AssignForm(prefix="assign", unit=concern.responsible_unit, deadline=concern.deadline),
        decline_form=ReasonForm(prefix="decline"), escalate_form=ReasonForm(prefix="escalate"),
        resolve_form=NoteForm(prefix="resolve"), follow_up_form=FollowUpForm(), merge_form=MergeForm(),
        call_form=CallForm(), note_form=NoteForm,
        describe=describe, describe_detail=describe_detail,
        crumbs=ancestors(concern.place) + [concern.place])


def _act(concern, form, change, success: str, field: str | None = None):
    """Validate a small form, run one service call, commit, and go back to the concern."""
    if not form.validate_on_submit():
        errors = [str(e) for errors in form.errors.values() for e in errors]
        flash(" ".join(errors) or _("Please correct the marked fields."), "error")
    else:
        commit_or_flash(change, success)
    return redirect(url_for("concerns.show", concern_id=concern.id) + (f"#{field}" if field else ""))


@bp.post("/concerns/<int:concern_id>/support")
@login_required
def support(concern_id: int):
    concern = _load(concern_id)
    if not services.may_view(current_standing(), concern):
        abort(403)
    return _act(concern, EmptyForm(), lambda: services.support(concern, current_user),
                _("Thank you: your support is counted."))


@bp.post("/concerns/<int:concern_id>/comments")
@login_required
def comment(concern_id: int):
    concern = _load(concern_id)
    form = CommentForm()
    return _act(concern, form, lambda: services.add_comment(concern, current_user, form.body.data),
                _("Your comment is posted."), "comments")


def _owner(form: AssignForm):
    if not form.owner.data:
        return None
    owner = find_by_login(form.owner.data)
    if owner is None:
        raise Refused(_("Nobody with this mobile number or username has an account."), "owner")
    return owner


@bp.post("/concerns/<int:concern_id>/accept")
@login_required
def accept(concern_id: int):
    concern = _load(concern_id, handle=True)
    form = AssignForm(prefix="accept")
    return _act(concern, form, lambda: services.accept(concern, current_user, _owner(form), form.unit.data,
                                                       form.deadline.data), _("The concern is accepted."))


@bp.post("/concerns/<int:concern_id>/assign")
@login_required
def assign(concern_id: int):
    concern = _load(concern_id, handle=True)
    form = AssignForm(prefix="assign")
    return _act(concern, form, lambda: services.assign(concern, current_user, _owner(form), form.unit.data,
                                                       form.deadline.data), _("Saved."))


@bp.post("/concerns/<int:concern_id>/decline")
@login_required
def decline(concern_id: int):
    concern = _load(concern_id, handle=True)
    form = ReasonForm(prefix="decline")
    return _act(concern, form, lambda: services.decline(concern, current_user, form.reason.data),
                _("The concern is declined; the resident will see your reason."))


@bp.post("/concerns/<int:concern_id>/start")
@login_required
def start(concern_id: int):
    concern = _load(concern_id, handle=True)
    return _act(concern, EmptyForm(), lambda: services.start(concern, current_user), _("Work has started."))


@bp.post("/concerns/<int:concern_id>/resolve")
@login_required
def resolve(concern_id: int):
    concern = _load(concern_id, handle=True)
    form = NoteForm(prefix="resolve")
    return _act(concern, form, lambda: services.resolve(concern, current_user, form.note.data),
                _("Marked resolved. Remember the follow-up visit within 7 days."))


@bp.post("/concerns/<int:concern_id>/follow-up")
@login_required
def follow_up(concern_id: int):
    concern = _load(concern_id)
    if not services.may_follow_up(current_standing(), current_user, concern):
        abort(403)
    form = FollowUpForm()
    return _act(concern, form, lambda: services.follow_up(concern, current_user, form.rating.data,
                                                          form.comment.data), _("The follow-up visit is recorded."))


@bp.post("/concerns/<int:concern_id>/close")
@login_required
def close(concern_id: int):
    concern = _load(concern_id, handle=True)
    return _act(concern, EmptyForm(), lambda: services.close(concern, current_user), _("The concern is closed."))


@bp.post("/concerns/<int:concern_id>/escalate")
@login_required
def escalate(concern_id: int):
    concern = _load(concern_id, handle=True)
    form = ReasonForm(prefix="escalate")
    return _act(concern, form, lambda: services.escalate(concern, current_user, form.reason.data),
                _("The concern has gone up a level."))


@bp.post("/concerns/<int:concern_id>/merge")
@login_required
def merge(concern_id: int):
    concern = _load(concern_id, handle=True)
    form = MergeForm()

    def change():
        into = db.session.get(type(concern), form.into.data)
        if into is None:
            raise Refused(_("Choose another open concern of the same estate."))
        services.merge(concern, into, current_user)

    return _act(concern, form, change, _("Merged; its supporters now support the other concern."))


@bp.post("/concerns/<int:concern_id>/calls")
@login_required
def call(concern_id: int):
    concern = _load(concern_id, handle=True)
    form = CallForm()
    return _act(concern, form, lambda: services.call_department(concern, current_user, form.department.data),
                _("The call to the department is recorded."), "calls")


@bp.post("/concerns/<int:concern_id>/calls/<int:call_id>/reported")
@login_required
def reported(concern_id: int, call_id: int):
    concern = _load(concern_id, handle=True)
    entry = db.session.get(DepartmentCall, call_id)
    if entry is None or entry.concern_id != concern.id:
        abort(404)
    form = NoteForm(prefix=f"reported-{entry.id}")
    return _act(concern, form, lambda: services.confirm_reported(entry, concern, current_user, form.note.data),
                _("The department's report is recorded."), "calls")


@bp.get("/places/<int:place_id>/queue")
@login_required
def queue(place_id: int):
    """The concerns this place holds, overdue first, then by support and age."""
    place = get_place_or_404(place_id)
    require(Action.CONCERN_HANDLE, place)
    page = queries.queue_page(place, _page(), current_app.config["PER_PAGE"])
    follow_ups = queries.follow_ups_due(place, limit=20)
    return render_template("concerns/queue.html", place=place, page=page, follow_ups=follow_ups,
                           crumbs=ancestors(place) + [place])


@bp.get("/places/<int:place_id>/concerns")
@login_required
def listing(place_id: int):
    """The concerns of an estate (or a building): all of them for staff, what they may see for members."""
    place = get_place_or_404(place_id)
    if place.kind not in (PlaceKind.ESTATE, PlaceKind.BUILDING):
        abort(404)
    require(Action.PLACE_VIEW, place)
    page = queries.place_page(place, current_standing(), _page(), current_app.config["PER_PAGE"])
    return render_template("concerns/list.html", place=place, page=page, crumbs=ancestors(place) + [place],
                           staff=can(Action.CONCERN_HANDLE, place))


@bp.app_template_global()
def concern_status_label(status) -> str:
    return str(services.STATUS_LABELS[status])


@bp.app_template_global()
def concern_category_label(category) -> str:
    return str(services.CATEGORY_LABELS[category])


@bp.app_template_global()
def concern_level_label(level) -> str:
    return str(services.LEVEL_LABELS[level])


@bp.app_template_global()
def concern_channel_label(channel) -> str:
    return str(services.CHANNEL_LABELS[channel])


@bp.get("/concerns/<int:concern_id>/photos/<int:photo_id>")
@login_required
def photo(concern_id: int, photo_id: int):
    """A concern's photo, for exactly those who may open the concern (the stored copy is a clean JPEG)."""
    concern = _load(concern_id)
    found = photos.get_photo(concern, photo_id)
    if found is None:
        abort(404)
    response = current_app.response_class(found.data, mimetype=found.content_type)
    response.headers["Cache-Control"] = "private, max-age=86400"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.app_template_global()
def concern_photos(concern) -> list[dict]:
    """The concern's photos for its page: id, size and thumbnail size, without the image bytes."""
    return photos.photos_of(concern.id)
