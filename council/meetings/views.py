"""Meeting pages: a place's meetings, scheduling (single or weekly), the agenda built with one click per
concern or proposal, publishing, moving or skipping a date, who will come, and calendar files."""
from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from council import pagecache
from council.accounts.services import find_by_login
from council.concerns.queries import coming_friday
from council.concerns.services import get_concern_or_404
from council.exceptions import Refused
from council.extensions import db
from council.forms import EmptyForm, button_action, commit_or_flash, posted_id, saving
from council.i18n import at_local, local_today
from council.meetings import bp, cobuilding, console, minutes, panel, services  # noqa: F401  (panel registers)
from council.meetings.forms import (
    ActionForm,
    ArchiveForm,
    CheckInForm,
    ClaimForm,
    CloseActionForm,
    ItemForm,
    ItemNotesForm,
    MeetingForm,
    MinutesForm,
    MoveForm,
    OfferForm,
    RevisionForm,
    SuggestionForm,
)
from council.meetings.models import MeetingSeries
from council.meetings.rules import AttendeeKind, MeetingKind, MeetingState, MinutesState, is_overdue
from council.pagecache import MembersPage
from council.permissions import Action, can, current_standing
from council.proposals.services import get_proposal_or_404
from council.territory.models import PlaceKind
from council.territory.services import ancestors, get_place_or_404


def _place_or_404(place_id: int):
    place = get_place_or_404(place_id)
    if place.kind not in (PlaceKind.ESTATE, PlaceKind.COMMUNITY):
        abort(404)
    return place


def _person(text: str, field: str):
    if not (text or "").strip():
        return None
    person = find_by_login(text)
    if person is None:
        raise Refused(_("Nobody with this mobile number or username has an account."), field)
    return person


@bp.get("/places/<int:place_id>/meetings")
@login_required
def listing(place_id: int):
    """The coming meetings of an estate or community (or the past ones); the series keep four weeks ahead."""
    place = _place_or_404(place_id)
    standing = current_standing()
    if not services.is_member(standing, place):
        abort(403)
    organiser = can(Action.MEETING_RUN, place)
    if organiser:
        for series in db.session.scalars(db.select(MeetingSeries).where(
                MeetingSeries.place_id == place.id, MeetingSeries.ended_at.is_(None))):
            if services.extend_series(series, current_user):
                db.session.commit()
    past = request.args.get("past") == "1"
    page = services.upcoming_page(place, current_user, organiser, request.args.get("page", 1, type=int),
                                  current_app.config["PER_PAGE"], past=past)
    return render_template("meetings/list.html", place=place, page=page, past=past, organiser=organiser,
                           kinds=services.KIND_LABELS, crumbs=ancestors(place) + [place])


@bp.route("/places/<int:place_id>/meetings/new", methods=["GET", "POST"])
@login_required
def new(place_id: int):
    """Schedule a meeting, or a weekly series (相约星期五: Friday 19:30 by default)."""
    place = _place_or_404(place_id)
    if not can(Action.MEETING_RUN, place):
        abort(403)
    form = MeetingForm()
    if request.method == "GET":
        form.day.data = coming_friday(local_today())
    if form.validate_on_submit():
        with saving(form, "title") as saved:
            if form.weekly.data:
                meeting = None
                services.start_series(place, current_user, form.title.data, form.day.data.weekday(),
                                      form.at.data.hour, form.at.data.minute, form.location.data, today=form.day.data)
            else:
                meeting = services.schedule(
                    place, current_user, MeetingKind(form.kind.data), form.title.data,
                    at_local(form.day.data, form.at.data), form.location.data,
                    _person(form.chair.data, "chair"), _person(form.minute_taker.data, "minute_taker"),
                    form.invited_units.data)
        if saved.ok and meeting is None:
            flash(_("The weekly meeting is set up; its next dates are drafts for you to prepare."), "success")
            return redirect(url_for("meetings.listing", place_id=place.id))
        if saved.ok:
            flash(_("The meeting is scheduled as a draft. Build its agenda, then publish it."), "success")
            return redirect(url_for("meetings.show", meeting_id=meeting.id))
    return render_template("meetings/new.html", place=place, form=form, crumbs=ancestors(place) + [place]), \
        400 if form.errors else 200


def _load(meeting_id: int):
    meeting = services.get_meeting_or_404(meeting_id)
    if not services.may_see(current_standing(), current_user, meeting):
        abort(403)
    return meeting


def _run(meeting_id: int):
    meeting = _load(meeting_id)
    if not services.may_run(current_standing(), current_user, meeting):
        abort(403)
    return meeting


@bp.get("/meetings/<int:meeting_id>")
@login_required
def show(meeting_id: int):
    kept, head = MembersPage.of_row("meetings.show", ("meeting", meeting_id),
                                    lambda: services.meeting_head(meeting_id),
                                    plain=lambda: services.get_meeting_or_404(meeting_id))
    standing = current_standing()
    if not services.may_see(standing, current_user, head):
        abort(403)
    organiser = services.may_run(standing, current_user, head)
    # Kept for those who hold the same and gave the same answer.
    mine = kept.fact(("answer", current_user.id, meeting_id), lambda: services.answer_of(meeting_id, current_user))
    return kept.serve((organiser, mine),
                      lambda: _show(services.get_meeting_or_404(meeting_id), standing, organiser))


def _show(meeting, standing, organiser: bool) -> str:
    concerns, proposals = services.candidates(meeting, standing) if organiser and \
        meeting.state is not MeetingState.CANCELLED else ([], [])
    coming, not_coming, mine = services.answers(meeting, current_user)
    return render_template("meetings/show.html", meeting=meeting, agenda=services.agenda(meeting),
                           organiser=organiser, concerns=concerns, proposals=proposals,
                           item_form=ItemForm() if organiser else None,  # the organisers' forms: theirs only
                           form=EmptyForm(), coming=coming, not_coming=not_coming, mine=mine,
                           latest_minutes=minutes.latest(meeting), offer_form=OfferForm() if organiser else None,
                           kinds=services.KIND_LABELS, crumbs=ancestors(meeting.place) + [meeting.place])


def _back(meeting, anchor: str = "agenda"):
    return redirect(url_for("meetings.show", meeting_id=meeting.id, _anchor=anchor))


def _act(meeting, change, success: str):
    button_action(change, success)
    return _back(meeting)


@bp.post("/meetings/<int:meeting_id>/items/concern/<int:concern_id>")
@login_required
def add_concern(meeting_id: int, concern_id: int):
    meeting = _run(meeting_id)
    concern = get_concern_or_404(concern_id)
    return _act(meeting, lambda: services.add_concern(meeting, concern), _("Added to the agenda."))


@bp.post("/meetings/<int:meeting_id>/items/proposal/<int:proposal_id>")
@login_required
def add_proposal(meeting_id: int, proposal_id: int):
    meeting = _run(meeting_id)
    proposal = get_proposal_or_404(proposal_id)
    return _act(meeting, lambda: services.add_proposal(meeting, proposal, current_user), _("Added to the agenda."))


@bp.post("/meetings/<int:meeting_id>/items")
@login_required
def add_item(meeting_id: int):
    meeting = _run(meeting_id)
    form = ItemForm()
    if not form.validate_on_submit():
        flash(next(iter(form.errors.values()), [_("The form has expired. Please try again.")])[0], "error")
        return _back(meeting)
    commit_or_flash(lambda: services.add_free(meeting, form.title.data, form.presenter.data, form.minutes.data),
                    _("Added to the agenda."))
    return _back(meeting)


@bp.post("/meetings/<int:meeting_id>/items/<int:item_id>/<any(up, down, remove):how>")
@login_required
def change_item(meeting_id: int, item_id: int, how: str):
    meeting = _run(meeting_id)
    item = services.get_item_or_404(meeting, item_id)
    if how == "remove":
        return _act(meeting, lambda: services.remove_item(meeting, item), _("Removed from the agenda."))
    return _act(meeting, lambda: services.move_item(meeting, item, -1 if how == "up" else 1), _("Moved."))


@bp.post("/meetings/<int:meeting_id>/publish")
@login_required
def publish(meeting_id: int):
    meeting = _run(meeting_id)
    return _act(meeting, lambda: services.publish(meeting, current_user),
                _("The agenda is published; the members have been told."))


@bp.post("/meetings/<int:meeting_id>/cancel")
@login_required
def cancel(meeting_id: int):
    meeting = _run(meeting_id)
    return _act(meeting, lambda: services.cancel(meeting, current_user),
                _("The meeting is cancelled. A weekly series goes on with its next date."))


@bp.route("/meetings/<int:meeting_id>/move", methods=["GET", "POST"])
@login_required
def move(meeting_id: int):
    meeting = _run(meeting_id)
    form = MoveForm()
    if form.validate_on_submit():
        with saving(form, "day") as saved:
            services.move(meeting, current_user, at_local(form.day.data, form.at.data), form.location.data)
        if saved.ok:
            flash(_("The meeting is moved."), "success")
            return _back(meeting, "top")
    return render_template("meetings/move.html", meeting=meeting, form=form,
                           crumbs=ancestors(meeting.place) + [meeting.place]), 400 if form.errors else 200


@bp.post("/meetings/<int:meeting_id>/rsvp")
@login_required
def rsvp(meeting_id: int):
    meeting = _load(meeting_id)
    coming = request.form.get("coming") == "yes"
    return _act(meeting, lambda: services.answer(meeting, current_user, coming),
                _("Thank you: see you there.") if coming else _("Thank you for letting us know."))


@bp.get("/meetings/<int:meeting_id>.ics")
@login_required
def calendar_file(meeting_id: int):
    meeting = _load(meeting_id)
    return Response(services.ics(meeting), mimetype="text/calendar",
                    headers={"Content-Disposition": f"attachment; filename=meeting-{meeting.id}.ics"})


@bp.get("/places/<int:place_id>/meetings.ics")
def feed(place_id: int):
    """The published meetings of an estate or community, for calendar apps (no sign-in: notices are public;
    party members' meetings are never in it)."""
    place = _place_or_404(place_id)
    return Response(services.feed(place), mimetype="text/calendar")


@bp.app_template_global()
def meeting_kind_label(kind) -> str:
    return str(services.KIND_LABELS[kind])


# ---- the live meeting and its action items ---------------------------------------------------------

def _console(meeting, anchor: str = "console"):
    return redirect(url_for("meetings.console_page", meeting_id=meeting.id, _anchor=anchor))


def _first_error(form) -> str:
    return next(iter(form.errors.values()), [_("The form has expired. Please try again.")])[0]


@bp.get("/meetings/<int:meeting_id>/console")
@login_required
def console_page(meeting_id: int):
    """The secretary's console, on a phone or tablet: check-in, each item's notes and decision, actions."""
    meeting = _run(meeting_id)
    return render_template("meetings/console.html", meeting=meeting, agenda=services.agenda(meeting),
                           present=console.attendance(meeting), actions=console.actions_of(meeting),
                           check_in_form=CheckInForm(), notes_form=ItemNotesForm(), action_form=ActionForm(),
                           crumbs=ancestors(meeting.place) + [meeting.place])


@bp.post("/meetings/<int:meeting_id>/check-in")
@login_required
def check_in(meeting_id: int):
    meeting = _run(meeting_id)
    form = CheckInForm()
    if not form.validate_on_submit():
        flash(_first_error(form), "error")
        return _console(meeting, "attendance")
    outcome = []

    def change():
        person = _person(form.login.data, "login")
        outcome.append(console.check_in(meeting, current_user, person, form.name.data, AttendeeKind(form.kind.data),
                                        form.unit.data))
    if commit_or_flash(change, _("Checked in.")) and not outcome[0]:
        flash(_("Already checked in: counted once."), "info")
    return _console(meeting, "attendance")


@bp.post("/meetings/<int:meeting_id>/items/<int:item_id>/notes")
@login_required
def save_notes(meeting_id: int, item_id: int):
    """Save one item as the meeting goes: notes, decision, a show of hands. Kept at once, item by item."""
    meeting = _run(meeting_id)
    item = services.get_item_or_404(meeting, item_id)
    form = ItemNotesForm()
    if not form.validate_on_submit():
        flash(_first_error(form), "error")
    else:
        hands = (form.hands_for.data, form.hands_against.data, form.hands_abstain.data)
        commit_or_flash(lambda: console.save_item(meeting, item, form.notes.data, form.decision.data,
                                                  hands if any(h is not None for h in hands) else None),
                        _("Saved."))
    return _console(meeting, f"item-{item.id}")


@bp.post("/meetings/<int:meeting_id>/actions")
@login_required
def add_action(meeting_id: int):
    meeting = _run(meeting_id)
    form = ActionForm()
    item_id = posted_id("item_id")
    item = services.get_item_or_404(meeting, item_id) if item_id else None
    if not form.validate_on_submit():
        flash(_first_error(form), "error")
    else:
        commit_or_flash(lambda: console.add_action(meeting, current_user, form.what.data, form.due.data,
                                                   _person(form.owner.data, "owner"), form.unit.data, item),
                        _("The action item is set."))
    return _console(meeting, f"item-{item.id}" if item else "actions")


@bp.get("/places/<int:place_id>/actions")
@login_required
def actions(place_id: int):
    """A place's action items from its meetings: open ones by deadline, overdue ones flagged."""
    place = _place_or_404(place_id)
    if not services.is_member(current_standing(), place):
        abort(403)
    done = request.args.get("done") == "1"
    page = console.open_actions_page(place, request.args.get("page", 1, type=int), current_app.config["PER_PAGE"],
                                     done)
    return render_template("meetings/actions.html", place=place, page=page, done=done, form=CloseActionForm(),
                           organiser=can(Action.MEETING_RUN, place), today=local_today(), is_overdue=is_overdue,
                           crumbs=ancestors(place) + [place])


@bp.post("/actions/<int:action_id>/done")
@login_required
def close_action(action_id: int):
    """The owner or the organisers mark an action item done; its concern or proposal moves on."""
    action = console.get_action_or_none(action_id)
    if action is None:
        abort(404)
    place = action.meeting.place
    if action.owner_id != current_user.id and not can(Action.MEETING_RUN, place):
        abort(403)
    form = CloseActionForm()
    if not form.validate_on_submit():
        flash(_first_error(form), "error")
    else:
        commit_or_flash(lambda: console.close_action(action, current_user, form.note.data), _("Marked as done."))
    return redirect(url_for("meetings.actions", place_id=place.id))


# ---- minutes ----------------------------------------------------------------------------------------------

def _minutes_visible(minutes_obj) -> bool:
    """Published minutes: everyone (party meetings: party members). Drafts: the organisers and attendees."""
    if minutes.public(minutes_obj):
        return True
    if not current_user.is_authenticated:
        return False
    meeting, standing = minutes_obj.meeting, current_standing()
    if services.may_run(standing, current_user, meeting):
        return True
    if minutes_obj.state is MinutesState.PUBLISHED:
        return services.may_see(standing, current_user, meeting)
    return minutes.attended(meeting, current_user)


def _load_minutes(minutes_id: int):
    found = minutes.get_minutes_or_404(minutes_id)
    if not _minutes_visible(found):
        if not current_user.is_authenticated:
            return None
        abort(403)
    return found


def _to_minutes(found, anchor: str = "top"):
    return redirect(url_for("meetings.minutes_page", minutes_id=found.id, _anchor=anchor))


@bp.post("/meetings/<int:meeting_id>/minutes")
@login_required
def draft_minutes(meeting_id: int):
    """Draft the minutes from the console (or a correcting revision of the published text)."""
    meeting = _run(meeting_id)
    form = RevisionForm()
    if not form.validate_on_submit():
        flash(_first_error(form), "error")
        return _back(meeting, "top")
    made = []
    if commit_or_flash(lambda: made.append(minutes.draft(meeting, current_user, form.change_note.data)),
                       _("The draft minutes are written from the console. Check and complete them.")):
        return redirect(url_for("meetings.edit_minutes", minutes_id=made[0].id))
    return _back(meeting, "top")


@bp.route("/minutes/<int:minutes_id>/edit", methods=["GET", "POST"])
@login_required
def edit_minutes(minutes_id: int):
    found = minutes.get_minutes_or_404(minutes_id)
    if not services.may_run(current_standing(), current_user, found.meeting):
        abort(403)
    form = MinutesForm(obj=found)
    if form.validate_on_submit():
        with saving(form, "body") as saved:
            minutes.edit(found, form.body.data)
        if saved.ok:
            flash(_("Saved."), "success")
            return _to_minutes(found)
    return render_template("meetings/minutes_edit.html", minutes=found, form=form,
                           crumbs=ancestors(found.meeting.place) + [found.meeting.place]), 400 if form.errors else 200


@bp.get("/minutes/<int:minutes_id>")
def minutes_page(minutes_id: int):
    """Minutes: public once published (no sign-in), never changed; revisions show what they corrected.
    Anonymous visitors get the page rendered once per language (council/pagecache.py)."""
    if (kept := pagecache.kept("minutes", minutes_id)) is not None:
        return kept
    found = _load_minutes(minutes_id)
    if found is None:
        return redirect(url_for("accounts.login", next=request.path))
    meeting = found.meeting
    organiser = current_user.is_authenticated and services.may_run(current_standing(), current_user, meeting)
    attendee = current_user.is_authenticated and minutes.attended(meeting, current_user)
    chair = current_user.is_authenticated and current_user.id == meeting.chair_id
    html = render_template("meetings/minutes.html", minutes=found, meeting=meeting, organiser=organiser,
                           attendee=attendee, chair=chair,
                           corrections=minutes.corrections(found) if found.state is not MinutesState.PUBLISHED else [],
                           differences=minutes.differences(found), revisions=minutes.published_of(meeting),
                           suggestion_form=SuggestionForm(), revision_form=RevisionForm(), form=EmptyForm(),
                           crumbs=ancestors(meeting.place) + [meeting.place])
    return pagecache.keep("minutes", (found.id,), html) if minutes.public(found) else html


@bp.get("/minutes/<int:minutes_id>/print")
def minutes_print(minutes_id: int):
    """A4 for the lobby notice board, with a QR code to the online page (drawn on the server); kept for
    anonymous visitors like the page itself."""
    if (kept := pagecache.kept("minutes-print", minutes_id)) is not None:
        return kept
    found = _load_minutes(minutes_id)
    if found is None:
        return redirect(url_for("accounts.login", next=request.path))
    online = url_for("meetings.minutes_page", minutes_id=found.id, _external=True)
    html = render_template("meetings/minutes_print.html", minutes=found, meeting=found.meeting, online=online,
                           qr=Markup(minutes.qr_svg(online)))
    return pagecache.keep("minutes-print", (found.id,), html) if minutes.public(found) else html


@bp.post("/minutes/<int:minutes_id>/corrections")
@login_required
def suggest_correction(minutes_id: int):
    found = minutes.get_minutes_or_404(minutes_id)
    if not _minutes_visible(found):
        abort(403)
    form = SuggestionForm()
    if not form.validate_on_submit():
        flash(_first_error(form), "error")
    else:
        commit_or_flash(lambda: minutes.suggest(found, current_user, form.body.data),
                        _("Thank you: the minute-taker will accept or decline your correction."))
    return _to_minutes(found, "corrections")


@bp.post("/minutes/<int:minutes_id>/corrections/<int:correction_id>/<any(accept, decline):how>")
@login_required
def decide_correction(minutes_id: int, correction_id: int, how: str):
    found = minutes.get_minutes_or_404(minutes_id)
    if not services.may_run(current_standing(), current_user, found.meeting):
        abort(403)
    correction = next((c for c in minutes.corrections(found) if c.id == correction_id), None)
    if correction is None:
        abort(404)
    button_action(lambda: minutes.decide(correction, found, current_user, how == "accept"), _("Saved."))
    return _to_minutes(found, "corrections")


@bp.post("/minutes/<int:minutes_id>/<any(approve, publish):step>")
@login_required
def minutes_step(minutes_id: int, step: str):
    """The chair approves; the organisers publish the approved minutes."""
    found = minutes.get_minutes_or_404(minutes_id)
    if not services.may_run(current_standing(), current_user, found.meeting):
        abort(403)
    if step == "approve":
        button_action(lambda: minutes.approve(found, current_user), _("The minutes are approved."))
    else:
        button_action(lambda: minutes.publish(found, current_user),
                      _("The minutes are published: anyone can read and print them now."))
    return _to_minutes(found)


@bp.get("/places/<int:place_id>/minutes")
def archive(place_id: int):
    """Published minutes of an estate or community, by words and dates; open to everyone."""
    place = _place_or_404(place_id)
    form = ArchiveForm(request.args)
    form.validate()
    page = minutes.archive_page(place, request.args.get("page", 1, type=int), current_app.config["PER_PAGE"],
                                form.q.data or "", form.start.data, form.end.data)
    return render_template("meetings/archive.html", place=place, page=page, form=form,
                           crumbs=ancestors(place) + [place])


# ---- the co-building list (共建清单) ----------------------------------------------------------------------

@bp.post("/meetings/<int:meeting_id>/cobuilding")
@login_required
def offer_task(meeting_id: int):
    meeting = _run(meeting_id)
    form = OfferForm()
    if not form.validate_on_submit():
        flash(_first_error(form), "error")
    else:
        commit_or_flash(lambda: cobuilding.offer(meeting, current_user, form.title.data), _("The task is offered."))
    return _back(meeting, "cobuilding")


@bp.get("/places/<int:place_id>/cobuilding")
@login_required
def cobuilding_list(place_id: int):
    """The year's co-building list: what was offered, claimed and done, per unit."""
    place = _place_or_404(place_id)
    year = request.args.get("year", local_today().year, type=int)
    if not 2000 <= year <= 2100:
        abort(404)
    page = cobuilding.year_page(place, year, request.args.get("page", 1, type=int), current_app.config["PER_PAGE"])
    offered, claimed, done, units = cobuilding.year_summary(place, year)
    return render_template("meetings/cobuilding.html", place=place, year=year, page=page, offered=offered,
                           claimed=claimed, done=done, units=units, claim_form=ClaimForm(), form=EmptyForm(),
                           organiser=can(Action.MEETING_RUN, place), crumbs=ancestors(place) + [place])


@bp.post("/cobuilding/<int:task_id>/<any(claim, done):step>")
@login_required
def cobuilding_step(task_id: int, step: str):
    """A unit's representative claims a task; the claimer or the organisers mark it done."""
    task = cobuilding.get_task_or_none(task_id)
    if task is None:
        abort(404)
    place = task.meeting.place
    organiser = can(Action.MEETING_RUN, place)
    if step == "claim":
        form = ClaimForm()
        if not form.validate_on_submit():
            flash(_first_error(form), "error")
        else:
            commit_or_flash(lambda: cobuilding.claim(task, current_user, form.unit.data),
                            _("Thank you: the task is yours."))
    else:
        if not organiser and task.claimed_by_id != current_user.id:
            abort(403)
        button_action(lambda: cobuilding.finish(task, current_user, request.form.get("note", "")),
                      _("Marked as done."))
    return redirect(url_for("meetings.cobuilding_list", place_id=place.id, year=task.year))
