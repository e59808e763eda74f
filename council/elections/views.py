"""Election pages for members: the election and its calendar, the roll and objections to it, nominations,
the ballot (its tracker shown once), the posted result with its objections, the printed notice, and the
published ballots with the tracker check and the CSV to recount."""
from datetime import timedelta

from flask import (
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf.file import FileField
from markupsafe import Markup

from council.accounts.models import User
from council.ballots import publication, queries
from council.ballots import services as polls
from council.ballots.casting import TRACKER_MARK, spaced
from council.ballots.forms import TrackerForm
from council.ballots.rules import objections_open
from council.elections import (  # noqa: F401  (desk: the officials' pages; counting: the poll subject)
    bp,
    counting,
    desk,
    forms,
    nominations,
    pages,
    published,
    services,
    voting,
)
from council.elections.rules import PHASE_ORDER, Phase, RollObjectionKind
from council.exceptions import Refused
from council.extensions import casting_limited, db
from council.forms import button_action, commit_or_flash, posted_id, saving
from council.meetings.minutes import qr_svg
from council.pagecache import briefly_kept
from council.permissions import Action, can
from council.sqltypes import utcnow
from council.territory.models import Place, PlaceKind
from council.territory.panels import Panel, register_panel
from council.territory.services import ancestors, get_place_or_404
from council.versions import good_until

EXPIRED = _l("The form has expired. Please try again.")


class AcceptPhotoForm(forms.AcceptForm):
    """Accepting a nomination, with an optional photo for the posted list of candidates."""

    photo = FileField(_l("Your photo (optional: JPEG or PNG)"), render_kw={"accept": "image/jpeg,image/png"})


def _page(name: str = "page") -> int:
    return request.args.get(name, 1, type=int)


def _per_page() -> int:
    return current_app.config["PER_PAGE"]


def _castable(line) -> bool:
    """A line this person can still vote on: not voted, and not held by someone else's written proxy."""
    return line.status is None and not (line.proxy_id and line.proxy_id != current_user.id)


# ---- the estate's elections and one election -------------------------------------------------------

@bp.get("/estates/<int:estate_id>/elections")
@login_required
def index(estate_id: int):
    """The estate's elections, newest first, each with the phase it is in."""
    estate = get_place_or_404(estate_id, PlaceKind.ESTATE)
    if not (can(Action.PLACE_VIEW, estate) or services.is_estate_adult(current_user.id, estate.id)):
        abort(403)
    page = services.elections_page(estate, _page(), _per_page())
    phases = services.phases(page.items)  # two queries for the whole page
    return render_template("elections/index.html", estate=estate, page=page, phases=phases,
                           may_call=services.may_call(estate, current_user), crumbs=ancestors(estate) + [estate])


@bp.get("/elections/<int:election_id>")
@login_required
def show(election_id: int):
    """The election: its calendar, who votes, the officials, my place on the roll, the candidates, the
    vote, the counted rounds and, once closed, the new team."""
    election = pages.load(election_id)
    rounds = services.rounds_of(election)
    latest = rounds[-1]
    poll = services.poll_of(latest)
    first_poll = poll if latest.number == 1 else services.poll_of(rounds[0])
    printed = nominations.printed(latest.id) if election.slate_published_at else []
    lines = polls.lines_for(poll, current_user) if voting.may_vote_now(election, latest) else []
    may_run = services.may_run(election, current_user)
    return render_template(
        "elections/show.html", election=election, phase=services.phase(election), phase_order=PHASE_ORDER,
        rounds=rounds, latest=latest, poll=poll, first_poll=first_poll, officials=services.officials(election),
        my_line=services.my_line(election, current_user), printed=printed,
        nominated={n.user_id: n for n in nominations.standing(election)} if printed else {},
        lines=lines, may_vote=any(_castable(line) for line in lines),
        elected=counting.elected(election) if election.finished_at else [],
        may_run=may_run, is_teller=services.is_teller(election, current_user),
        plan=counting.plan(election) if may_run else None,
        may_finish=may_run and counting.may_finish(election), crumbs=pages.crumbs(election))


# ---- the roll and objections to it ---------------------------------------------------------------------

def _roll_page(election, form=None, kind=None, line=None, status: int = 200):
    poll = services.first_poll(election)
    words = (request.args.get("q") or "")[:40]
    may_object = (services.phase(election) is Phase.ROLL
                  and services.is_estate_adult(current_user.id, election.estate_id))
    if line is None and may_object and request.args.get("object", type=int):
        line = polls.get_line_or_404(poll, request.args.get("object", type=int))
    may_rule = services.may_run(election, current_user) and utcnow() < poll.opened_at
    return render_template(
        "elections/roll.html", election=election, poll=poll, words=words,
        page=queries.roll_page(poll, _page(), _per_page(), words=words),
        objections=services.roll_objections_page(election, _page("opage"), _per_page()),
        may_object=may_object, object_line=line, my_line=services.my_line(election, current_user),
        moved_form=form if kind is RollObjectionKind.MOVED else forms.RollObjectionForm(formdata=None),
        missing_form=form if kind is RollObjectionKind.MISSING else forms.RollObjectionForm(formdata=None),
        failed=kind, Kind=RollObjectionKind,
        may_rule=may_rule, ruling_form=forms.RulingForm() if may_rule else None,
        crumbs=pages.crumbs(election)), status


@bp.get("/elections/<int:election_id>/roll")
@login_required
def roll(election_id: int):
    """The frozen roll of the first round (names only), searchable, with the objections and rulings."""
    return _roll_page(pages.load(election_id))


@bp.post("/elections/<int:election_id>/roll/objections")
@login_required
def object_roll(election_id: int):
    """Object to the roll while it is posted: a line that should not be there, or "I am missing"."""
    election = pages.load(election_id)
    try:
        kind = RollObjectionKind(request.form.get("kind", ""))
    except ValueError:
        abort(400)
    line_id = posted_id("line_id")
    line = polls.get_line_or_404(services.first_poll(election), line_id) if line_id else None
    form = forms.RollObjectionForm()
    if form.validate_on_submit():
        with saving(form, "body") as saved:
            services.object_to_roll(election, current_user, kind, form.body.data, line=line)
        if saved.ok:
            flash(_("Your objection is recorded. The election committee will rule on it and post the reason "
                    "here."), "success")
            return redirect(url_for("elections.roll", election_id=election.id, _anchor="objections"))
    return _roll_page(election, form, kind, line, 400)


@bp.get("/elections/<int:election_id>/rounds/<int:number>/proxies")
@login_required
def proxies(election_id: int, number: int):
    """The written proxies of a round, posted to the members: who votes for whom, never how."""
    election, round_ = pages.load_round(election_id, number)
    poll = services.poll_of(round_)
    return render_template("ballots/proxies.html", poll=poll, page=queries.proxies_page(poll, _page(), _per_page()),
                           back_url=url_for("elections.show", election_id=election.id), endpoint="elections.proxies",
                           crumbs=pages.crumbs(election))


# ---- nominations ------------------------------------------------------------------------------------

def _nominations_page(election, form=None, status: int = 200):
    rows = nominations.nominations(election)
    phase = services.phase(election)
    mine = next((n for n, _count, _stands in rows if n.user_id == current_user.id and n.withdrawn_at is None), None)
    return render_template(
        "elections/nominations.html", election=election, rows=rows, phase=phase,
        may_nominate=phase is Phase.NOMINATIONS and services.is_estate_adult(current_user.id, election.estate_id),
        seconded=nominations.seconded_by(election, current_user), mine=mine, form=form or forms.NominateForm(),
        crumbs=pages.crumbs(election)), status


@bp.get("/elections/<int:election_id>/nominations", endpoint="nominations")
@login_required
def nomination_list(election_id: int):
    """Every nomination: by whom, how many joined it, accepted or waiting, withdrawn."""
    return _nominations_page(pages.load(election_id))


@bp.post("/elections/<int:election_id>/nominations")
@login_required
def nominate(election_id: int):
    """Nominate yourself (name left blank) or another adult member, who may then accept."""
    election = pages.load(election_id)
    form = forms.NominateForm()
    if form.validate_on_submit():
        text = " ".join((form.name.data or "").split())
        with saving(form, "name") as saved:  # a name nobody (or several) has: Refused on "write_in"
            nominee = db.session.get(User, voting.resolve_write_in(election, text)) if text else current_user
            nomination = nominations.nominate(election, nominee, current_user)
        if saved.ok and nominee.id == current_user.id:
            flash(_("You are nominated. Write a short statement to accept and stand."), "success")
            return redirect(url_for("elections.accept", election_id=election.id, nomination_id=nomination.id))
        if saved.ok:
            flash(_("You nominated %(name)s. Other members may join the nomination; %(name)s must accept it.",
                    name=nominee.display_name), "success")
            return redirect(url_for("elections.nominations", election_id=election.id))
    return _nominations_page(election, form, 400)


@bp.post("/elections/<int:election_id>/nominations/<int:nomination_id>/second")
@login_required
def second(election_id: int, nomination_id: int):
    """Join a joint nomination (联名推荐)."""
    election = pages.load(election_id)
    nomination = nominations.get_nomination_or_404(election, nomination_id)
    button_action(lambda: nominations.second(election, nomination, current_user),
                  _("You joined the nomination of %(name)s.", name=nomination.user.display_name))
    return redirect(url_for("elections.nominations", election_id=election.id, _anchor=f"nomination-{nomination.id}"))


def _own_nomination(election_id: int, nomination_id: int):
    election = pages.load(election_id)
    nomination = nominations.get_nomination_or_404(election, nomination_id)
    if nomination.user_id != current_user.id:
        abort(403)
    return election, nomination


@bp.route("/elections/<int:election_id>/nominations/<int:nomination_id>/accept", methods=["GET", "POST"])
@login_required
def accept(election_id: int, nomination_id: int):
    """The nominee accepts (or edits) with a statement to the voters, a contact and perhaps a photo."""
    election, nomination = _own_nomination(election_id, nomination_id)
    form = AcceptPhotoForm(data={"statement": nomination.statement, "contact": nomination.contact})
    if form.validate_on_submit():
        upload = request.files.get("photo")
        with saving(form, "statement") as saved:
            try:
                nominations.accept(election, nomination, current_user, form.statement.data, form.contact.data or "",
                                   photo=upload.stream if upload and upload.filename else None)
            except Refused as refusal:  # the photo checks name their field "photos"
                raise Refused(refusal.message, "photo" if refusal.field == "photos" else refusal.field) from None
        if saved.ok:
            flash(_("Your acceptance and statement are saved."), "success")
            return redirect(url_for("elections.nominations", election_id=election.id))
    return render_template("elections/accept.html", election=election, nomination=nomination, form=form,
                           crumbs=pages.crumbs(election)), 400 if form.errors else 200


@bp.post("/elections/<int:election_id>/nominations/<int:nomination_id>/withdraw")
@login_required
def withdraw(election_id: int, nomination_id: int):
    election, nomination = _own_nomination(election_id, nomination_id)
    button_action(lambda: nominations.withdraw(election, nomination, current_user),
                  _("You have withdrawn from the election."))
    return redirect(url_for("elections.nominations", election_id=election.id))


@bp.get("/elections/<int:election_id>/nominations/<int:nomination_id>/photo")
@login_required
def photo(election_id: int, nomination_id: int):
    """A candidate's photo (a clean JPEG), for those who may see the election."""
    election = pages.load(election_id)
    data = nominations.photo_of(nominations.get_nomination_or_404(election, nomination_id))
    if data is None:
        abort(404)
    response = current_app.response_class(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=86400"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# ---- the ballot ---------------------------------------------------------------------------------------

def _cast(head: voting.BallotHead, line_id: int) -> str:
    """Read the ballot form and cast it; returns the tracker. Write-ins are named in any refusal."""
    written: dict[int, str] = {}

    def resolve(text: str) -> int:
        person = voting.resolve_write_in(head.election, text)
        written[person] = text
        return person

    marks = forms.read_ballot(head.election, head.round, head.printed, request.form, resolve)
    if written:  # the same check as the cast's, naming the write-in
        voting.check(head.election, head.round, marks, written, head.printed)
    return voting.cast_line(head, line_id, marks, current_user)


@bp.route("/elections/<int:election_id>/rounds/<int:number>/ballot", methods=["GET", "POST"])
@casting_limited
@login_required
def ballot(election_id: int, number: int):
    """The ballots this person may cast in a round (their own, and any they hold a written proxy for).
    The tracker is shown on the response to the cast only: never stored with the voter, flashed, put in
    the session or in a URL, so reloading cannot show it again. A cast reads what it needs of the round from
    this process's memory (voting.kept_head); the page is read afresh."""
    failed = None
    if request.method == "POST":
        head = voting.kept_head(election_id, number, utcnow())
        if not services.may_view(head.election, current_user):
            abort(403)
        line_id = posted_id("line_id") or 0
        try:  # its CSRF token was checked before any view, as every POST's (CSRFProtect: council.extensions)
            tracker = _cast(head, line_id)
        except Refused as refusal:
            db.session.rollback()
            failed = dict(line_id=line_id, message=refusal.message, form=request.form)
        else:
            # The receipt is made before the commit (from the head: nothing is read) and sent only once the
            # commit succeeded: a failed commit is an error page, never a receipt. Voters of the same standing get
            # the same receipt but for the tracker and their header: rendered once per process a while.
            receipt = briefly_kept("election-receipt", (head.election.id, head.round.number),
                                   {TRACKER_MARK: spaced(tracker)},
                                   lambda: render_template("elections/receipt.html", election=head.election,
                                                           round_=head.round, tracker_shown=TRACKER_MARK,
                                                           crumbs=pages.crumbs(head.election)))
            db.session.commit()
            response = make_response(receipt)
            response.headers["Cache-Control"] = "no-store"
            return response
    election, round_ = pages.load_round(election_id, number)
    poll = services.poll_of(round_)
    printed = nominations.printed(round_.id)
    lines = polls.lines_for(poll, current_user)
    response = make_response(render_template(
        "elections/ballot.html", election=election, round_=round_, poll=poll, printed=printed, lines=lines,
        open_now=voting.may_vote_now(election, round_), castable={line.id for line in lines if _castable(line)},
        failed=failed, crumbs=pages.crumbs(election)), 400 if failed else 200)
    response.headers["Cache-Control"] = "no-store"
    return response


# ---- after the count ----------------------------------------------------------------------------------

def _counted(election_id: int, number: int, check=None):
    """A counted round (404 before its count: no live results while voting is open)."""
    election, round_ = pages.load_round(election_id, number, check)
    if round_.counted_at is None:
        abort(404)
    return election, round_


def _results_page(election, round_, form=None, status: int = 200):
    poll = services.poll_of(round_)
    now = utcnow()
    rows = counting.table(round_)
    return render_template(
        "elections/results.html", election=election, round_=round_, poll=poll, rows=rows,
        names={r.user_id: r.user.display_name for r in rows}, valid=counting.is_valid(round_),
        plan=counting.plan(election) if services.latest_round(election).id == round_.id else None,
        standing=publication.standing(poll, now), until=poll.closed_at + timedelta(days=poll.objection_days),
        objections=publication.objections(poll, _page(), _per_page()),
        may_lodge=objections_open(poll.closed_at, poll.objection_days, now) and publication.on_roll(poll, current_user),
        may_run=services.may_run(election, current_user), form=form or forms.NoteForm(),
        crumbs=pages.crumbs(election)), status


@bp.get("/elections/<int:election_id>/rounds/<int:number>/results")
@login_required
def results(election_id: int, number: int):
    """The posted result (公示) of a counted round, with the objections to it and their answers."""
    election, round_ = _counted(election_id, number)
    return _results_page(election, round_)


@bp.post("/elections/<int:election_id>/rounds/<int:number>/objections")
@login_required
def object_result(election_id: int, number: int):
    """A voter on the roll objects to the posted result, within its posting period."""
    election, round_ = _counted(election_id, number)
    form = forms.NoteForm()
    if form.validate_on_submit():
        with saving(form, "body") as saved:
            publication.lodge(services.poll_of(round_), current_user, form.body.data)
        if saved.ok:
            flash(_("Your objection is recorded; the election committee will answer it here."), "success")
            return redirect(url_for("elections.results", election_id=election.id, number=round_.number,
                                    _anchor="objections"))
    return _results_page(election, round_, form, 400)


@bp.post("/elections/<int:election_id>/rounds/<int:number>/objections/<int:objection_id>/answer")
@login_required
def answer_objection(election_id: int, number: int, objection_id: int):
    """The election committee answers an objection in public; the result is final only once all are."""
    election, round_ = _counted(election_id, number, services.may_run)
    poll = services.poll_of(round_)
    objection = publication.get_objection_or_none(poll, objection_id)
    if objection is None:
        abort(404)
    form = forms.NoteForm()
    if not form.validate_on_submit():
        flash(next(iter(form.errors.values()), [EXPIRED])[0], "error")
    else:
        commit_or_flash(lambda: publication.answer(objection, poll, current_user, form.body.data),
                        _("The answer is published."))
    return redirect(url_for("elections.results", election_id=election.id, number=round_.number,
                            _anchor=f"objection-{objection_id}"))


@bp.get("/elections/<int:election_id>/rounds/<int:number>/notice")
@login_required
def notice(election_id: int, number: int):
    """The result on A4 for the lobby notice board, with a QR code to the page online."""
    election, round_ = _counted(election_id, number)
    poll = services.poll_of(round_)
    online = url_for("elections.results", election_id=election.id, number=round_.number, _external=True)
    return render_template("elections/notice.html", election=election, round_=round_, poll=poll,
                           rows=counting.table(round_), valid=counting.is_valid(round_),
                           until=poll.closed_at + timedelta(days=poll.objection_days), online=online,
                           qr=Markup(qr_svg(online)))


@bp.get("/elections/<int:election_id>/rounds/<int:number>/ballots")
@login_required
def ballots(election_id: int, number: int):
    """Every ballot of a counted round in shuffled order, with no name: check your tracker, or recount."""
    election, round_ = _counted(election_id, number)
    poll = services.poll_of(round_)
    form = TrackerForm(request.args)
    form.validate()
    tracker = form.tracker.data or ""
    page = queries.published_page(poll, _page(), _per_page(), tracker)
    return render_template("elections/ballots.html", election=election, round_=round_, poll=poll, form=form,
                           tracker=tracker, page=page, rows=published.describe(round_, page.items),
                           crumbs=pages.crumbs(election))


@bp.get("/elections/<int:election_id>/rounds/<int:number>/ballots.csv")
@login_required
def ballots_csv(election_id: int, number: int):
    """The published ballots as CSV, for `flask council recount FILE.csv` or a spreadsheet."""
    election, round_ = _counted(election_id, number)
    filename = f"election-{election.id}-round-{round_.number}-ballots.csv"
    return Response(stream_with_context(counting.ballots_csv(election, round_)),
                    content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


# ---- the estate page ----------------------------------------------------------------------------------

@register_panel(order=7)
def election_panel(place: Place) -> Panel | None:
    """The estate's current election and its phase; for those who may call one, the way to the list. At
    most seven queries (the election, its phase, and whether the person is an adult member here)."""
    if place.kind is not PlaceKind.ESTATE or not current_user.is_authenticated:
        return None
    if not (can(Action.PLACE_VIEW, place) or services.is_estate_adult(current_user.id, place.id)):
        return None
    election = services.current_election(place)
    may_call = services.may_call(place, current_user)
    if election is None and not may_call:
        return None
    if election is not None:
        good_until(services.phase_ends(election))
    return Panel("elections/_panel.html", {"place": place, "election": election, "may_call": may_call,
                                           "phase": services.phase(election) if election else None})
