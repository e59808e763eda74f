"""Vote pages: vote (once, shown a tracker once), the result with its thresholds, the published ballots,
and the tellers' roll for written proxies and paper ballots."""
import csv
import io
from datetime import timedelta
from itertools import islice

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
from flask_login import current_user, login_required
from markupsafe import escape

from council.accounts.services import find_by_login
from council.audit import services as audit
from council.ballots import bp, casting, choices, publication, queries, services
from council.ballots.casting import LABEL_MARK, TRACKER_MARK, spaced
from council.ballots.forms import (
    BASIS_LABELS,
    CHOICE_LABELS,
    MEASURE_LABELS,
    RULE_LABELS,
    AnswerForm,
    CastForm,
    CheckOffForm,
    ObjectionForm,
    PaperBatchForm,
    ProxyForm,
    TrackerForm,
    required_label,
)
from council.ballots.models import Poll
from council.ballots.rules import Choice
from council.csvfiles import safe_row
from council.exceptions import Refused
from council.extensions import casting_limited, db
from council.forms import EmptyForm, commit_or_flash, saving
from council.owners.services import owns_in
from council.pagecache import briefly_kept, live
from council.permissions import Action, can, current_standing
from council.sqltypes import utcnow
from council.territory.services import ancestors, get_place_or_404
from council.versions import PlaceHead


def _load(poll_id: int, action: Action = Action.PLACE_VIEW):
    """The poll, closed first if its window has ended (so nobody ever sees a stale 'open'); 403 outside.
    Whoever holds a ballot of the poll may see it, even an owner who lives elsewhere."""
    poll = services.get_poll_or_404(poll_id)
    if services.shown_by_subject(poll):  # an election round: its own pages, with its own officials
        abort(404)
    if not can(action, poll.place) and not (action is Action.PLACE_VIEW and (
            services.lines_for(poll, current_user) or owns_in(current_user, poll.place_id))):
        abort(403)
    if services.close_if_due(poll):
        db.session.commit()
    return poll


@live("turnout")
def turnout_sentence(poll_id: int) -> str:
    """How many of the roll have taken part so far: a live part of kept pages (every ballot moves it)."""
    turnout = services.turnout_of(poll_id)
    return str(escape(_("%(voted)s of %(roll)s have taken part.", voted=turnout.voted, roll=turnout.roll)))


def place_head(poll) -> PlaceHead:
    """Where the poll (or its head) is, enough for `can`: its place's lineage (names are not needed)."""
    return PlaceHead(poll.place_id, None, "", None, poll.lineage_ids)


def _crumbs(poll):
    place = poll.place if isinstance(poll, Poll) else get_place_or_404(poll.place_id)
    return ancestors(place) + [place]


def _options(poll) -> dict:
    """A choice vote's options and, once closed, its recount (for the result table)."""
    options = choices.options_of(poll)
    counted = services.count_choices(poll) if options and not poll.is_open else None
    return dict(options=options, choice_result=counted)


def _marks(poll, form) -> tuple[Choice, frozenset[int]]:
    """What the ballot form says: for / against / abstain, or a choice vote's picks."""
    if poll.max_choices is None:
        if not form.choice.data:
            raise Refused(_("Please choose one."), "choice")
        return Choice(form.choice.data), frozenset()
    return choices.read_vote(request.form.getlist("vote"))


@bp.get("/votes/<int:poll_id>")
@login_required
def show(poll_id: int):
    """The vote: what is asked, by which rule, the turnout so far; the voter's ballot(s); the result."""
    poll = _load(poll_id)
    # While open: the ballots this person may cast. After the close, in a named vote: their own recorded
    # choices, which the law lets an owner ask to see (the public sees units and areas only).
    lines = services.lines_for(poll, current_user) if poll.is_open or not poll.secret else []
    organiser = can(Action.VOTE_TELLER, poll.place)
    return render_template("ballots/show.html", poll=poll, lines=lines, form=CastForm(), **_options(poll),
                           turnout=services.turnout(poll), result=services.stored_result(poll),
                           standing=publication.standing(poll), organiser=organiser,
                           by_building=publication.turnout_by_building(poll) if organiser else [],
                           subject_link=services.subject_link(poll), teller=current_standing().is_staff,
                           crumbs=_crumbs(poll))


@bp.post("/votes/<int:poll_id>/lines/<int:line_id>/cast")
@casting_limited
@login_required
def cast(poll_id: int, line_id: int):
    """Cast one line's ballot. A secret ballot's tracker is shown on this response only, never stored
    with the voter nor put in the session: reloading cannot show it again. What the cast needs of the poll
    comes from this process's memory (casting.kept_head); whether it is open, from the cast's own statement."""
    now = utcnow()
    head = casting.kept_head(poll_id, now)
    if head is None or services.shown_by_subject(head):
        abort(404)
    if head.by_register or not can(Action.PLACE_VIEW, place_head(head)):
        return _cast_read(poll_id, line_id)  # the owner register's general path; or whoever holds a ballot here
    form = CastForm()  # its CSRF token was checked before any view, as every POST's (CSRFProtect)
    if head.max_choices is None and not form.validate():
        flash(next(iter(form.errors.values()))[0], "error")
        return redirect(url_for("ballots.show", poll_id=poll_id))
    try:
        choice, picks = _marks(head, form)
        done = casting.cast(head, line_id, choice, current_user.id, now, picks)
    except Refused as refusal:
        db.session.rollback()
        flash(refusal.message, "error")
        return redirect(url_for("ballots.show", poll_id=poll_id))
    return _receipt(head, done.label, done.tracker, choice, picks)


def _cast_read(poll_id: int, line_id: int):
    """The cast with the poll and the line read first (the owner register's polls; a voter who holds a ballot
    of a poll of a place they do not belong to)."""
    poll = _load(poll_id)
    line = services.get_line_or_404(poll, line_id)
    form = CastForm()
    if not EmptyForm().validate_on_submit() or (poll.max_choices is None and not form.validate()):
        flash(next(iter(form.errors.values()), [_("The form has expired. Please try again.")])[0], "error")
        return redirect(url_for("ballots.show", poll_id=poll.id))
    try:
        choice, picks = _marks(poll, form)
        tracker = services.cast(poll, line, choice, current_user, picks=picks)
    except Refused as refusal:
        db.session.rollback()
        flash(refusal.message, "error")
        return redirect(url_for("ballots.show", poll_id=poll.id))
    return _receipt(poll, line.label, tracker, choice, picks)


def _receipt(poll, label: str, tracker: str | None, choice: Choice, picks: frozenset[int]):
    """The receipt, made before the commit (nothing is read again after it) and sent only once the commit
    succeeded: a failed commit is an error page, never a receipt. A secret ballot's is the same for every voter
    of the same standing but for the tracker, the line and the header: rendered once per process a while."""
    if tracker is not None:
        receipt = briefly_kept(
            "vote-receipt", (poll.id,), {TRACKER_MARK: spaced(tracker), LABEL_MARK: str(escape(label))},
            lambda: render_template("ballots/receipt.html", poll=poll, label=LABEL_MARK, tracker_shown=TRACKER_MARK,
                                    crumbs=_crumbs(poll)))
    else:
        receipt = render_template(
            "ballots/receipt.html", poll=poll, label=label, choice=choice,
            picked=None if poll.max_choices is None else mark_label(choice, choices.encode(picks),
                                                                    choices.options_of(poll)),
            crumbs=_crumbs(poll))
    db.session.commit()
    response = make_response(receipt)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/votes/<int:poll_id>/ballots")
@login_required
def ballots(poll_id: int):
    """After the close: every secret ballot in shuffled order, to check one's tracker and recount."""
    poll = _load(poll_id)
    if not poll.secret or poll.is_open:
        abort(404)
    form = TrackerForm(request.args)
    form.validate()
    tracker = form.tracker.data or ""
    page = queries.published_page(poll, request.args.get("page", 1, type=int), current_app.config["PER_PAGE"],
                                   tracker)
    return render_template("ballots/ballots.html", poll=poll, page=page, form=form, tracker=tracker,
                           result=services.stored_result(poll), **_options(poll), crumbs=_crumbs(poll))


@bp.get("/votes/<int:poll_id>/proxies")
@login_required
def proxies(poll_id: int):
    """The written proxies of the vote, published to voters: who votes for whom, never how."""
    poll = _load(poll_id)
    page = queries.proxies_page(poll, request.args.get("page", 1, type=int), current_app.config["PER_PAGE"])
    return render_template("ballots/proxies.html", poll=poll, page=page, crumbs=_crumbs(poll))


# ---- tellers --------------------------------------------------------------------------------------

def _tellers_scope(poll) -> list[int] | None:
    """None when the person is a teller for the whole roll (staff of the estate or above); otherwise the
    buildings of the roll they serve (a building leader's own), or 403."""
    if can(Action.VOTE_TELLER, poll.place):
        return None
    mine = [b.id for b in queries.roll_buildings(poll) if can(Action.VOTE_TELLER, b)]
    if not mine:
        abort(403)
    return mine


def _teller_line(poll_id: int, line_id: int):
    """The poll and one of its lines that this teller may act on (403 for another building's line)."""
    poll = _load(poll_id)
    scope = _tellers_scope(poll)
    line = services.get_line_or_404(poll, line_id)
    if scope is not None and line.building_id not in scope:
        abort(403)
    return poll, line


@bp.get("/votes/<int:poll_id>/roll")
@login_required
def roll(poll_id: int):
    """The frozen roll for tellers: who has taken part and how (never what they chose), proxies, paper."""
    poll = _load(poll_id)
    scope = _tellers_scope(poll)
    words = (request.args.get("q") or "")[:40]
    waiting = request.args.get("waiting") == "1"
    page = queries.roll_page(poll, request.args.get("page", 1, type=int), current_app.config["PER_PAGE"],
                              words, waiting, scope)
    return render_template("ballots/roll.html", poll=poll, page=page, words=words, waiting=waiting,
                           proxy_form=ProxyForm(), check_form=CheckOffForm(), turnout=services.turnout(poll),
                           options=choices.options_of(poll),
                           crumbs=_crumbs(poll))


def _back_to_roll(poll):
    return redirect(url_for("ballots.roll", poll_id=poll.id, q=request.args.get("q") or None,
                            page=request.args.get("page", type=int)))


@bp.post("/votes/<int:poll_id>/lines/<int:line_id>/proxy")
@login_required
def record_proxy(poll_id: int, line_id: int):
    poll, line = _teller_line(poll_id, line_id)
    form = ProxyForm()
    if not form.validate_on_submit():
        flash(next(iter(form.errors.values()), [_("The form has expired. Please try again.")])[0], "error")
        return _back_to_roll(poll)
    holder = find_by_login(form.holder.data)
    if holder is None:
        flash(_("Nobody with that mobile number or username has an account."), "error")
        return _back_to_roll(poll)
    commit_or_flash(lambda: services.record_proxy(poll, line, holder, current_user),
                    _("The proxy is recorded: %(name)s votes for %(line)s.", name=holder.display_name,
                      line=line.label))
    return _back_to_roll(poll)


@bp.post("/votes/<int:poll_id>/lines/<int:line_id>/proxy/clear")
@login_required
def clear_proxy(poll_id: int, line_id: int):
    poll, line = _teller_line(poll_id, line_id)
    if not CheckOffForm().validate_on_submit():
        flash(_("The form has expired. Please try again."), "error")
    else:
        commit_or_flash(lambda: services.clear_proxy(poll, line, current_user), _("The proxy is cancelled."))
    return _back_to_roll(poll)


@bp.post("/votes/<int:poll_id>/lines/<int:line_id>/paper")
@login_required
def check_off(poll_id: int, line_id: int):
    """Hand out a paper ballot: the line can no longer vote online (a named vote takes the signed choice)."""
    poll, line = _teller_line(poll_id, line_id)
    form = CheckOffForm()
    if not form.validate_on_submit():
        flash(_("The form has expired. Please try again."), "error")
        return _back_to_roll(poll)

    def check_off():
        choice, picks = (None, frozenset()) if poll.secret else _marks(poll, form)
        services.check_off(poll, line, current_user, choice, picks=picks)
    commit_or_flash(check_off,
                    _("%(line)s is checked off for a paper ballot.", line=line.label))
    return _back_to_roll(poll)


@bp.route("/votes/<int:poll_id>/paper", methods=["GET", "POST"])
@login_required
def paper(poll_id: int):
    """Enter a secret vote's paper ballots in batches; never more than papers were handed out."""
    poll = _load(poll_id, Action.VOTE_TELLER)
    if not poll.secret:
        abort(404)
    form = PaperBatchForm()
    options = choices.options_of(poll)
    if options and poll.is_open and request.method == "POST":
        try:
            if not EmptyForm().validate_on_submit():
                raise Refused(_("The form has expired. Please try again."))
            choice, picks = choices.read_vote(request.form.getlist("vote"))
            services.enter_paper_ballot(poll, choice, picks, current_user)
        except Refused as refusal:
            db.session.rollback()
            flash(refusal.message, "error")
        else:
            db.session.commit()
            flash(_("%(n)s paper ballots are in the box.", n=1), "success")
        return redirect(url_for("ballots.paper", poll_id=poll.id))
    if poll.is_open and form.validate_on_submit():
        counts = {Choice.FOR: form.in_favour.data, Choice.AGAINST: form.against.data,
                  Choice.ABSTAIN: form.abstain.data}
        with saving(form, "in_favour") as saved:
            batch = services.enter_paper(poll, counts, current_user)
        if saved.ok:
            flash(_("%(n)s paper ballots are in the box.", n=batch), "success")
            return redirect(url_for("ballots.paper", poll_id=poll.id))
    return render_template("ballots/paper.html", poll=poll, form=form, issued=services.paper_issued(poll),
                           options=options,
                           crumbs=_crumbs(poll)), 400 if form.errors else 200


# ---- turnout drive ------------------------------------------------------------------------------

@bp.get("/votes/<int:poll_id>/doors")
@login_required
def doors(poll_id: int):
    """The door-to-door list of units (or people) that have not voted yet, to print: never a choice."""
    poll = _load(poll_id)
    scope = _tellers_scope(poll)
    page = publication.doors_page(poll, request.args.get("page", 1, type=int), 100, scope)
    return render_template("ballots/doors.html", poll=poll, page=page, owners=publication.owner_names(page.items),
                           form=CheckOffForm(), crumbs=_crumbs(poll))


@bp.post("/votes/<int:poll_id>/lines/<int:line_id>/declined")
@login_required
def declined(poll_id: int, line_id: int):
    """A door visit where the voter declined; they may still vote until the close."""
    poll, line = _teller_line(poll_id, line_id)
    if not CheckOffForm().validate_on_submit():
        flash(_("The form has expired. Please try again."), "error")
    else:
        commit_or_flash(lambda: publication.record_declined(poll, line, current_user),
                        _("Recorded: %(line)s declined to vote.", line=line.label))
    return redirect(url_for("ballots.doors", poll_id=poll.id, page=request.args.get("page", type=int)))


# ---- after the close: participation, objections, filing -------------------------------------------

def _closed(poll_id: int, action: Action = Action.PLACE_VIEW):
    poll = _load(poll_id, action)
    if poll.is_open:
        abort(404)
    return poll


@bp.get("/votes/<int:poll_id>/participation")
@login_required
def participation(poll_id: int):
    """The units that took part, with their floor areas: never a name, never a choice."""
    poll = _closed(poll_id)
    page = publication.participation_page(poll, request.args.get("page", 1, type=int),
                                          current_app.config["PER_PAGE"])
    return render_template("ballots/participation.html", poll=poll, page=page, crumbs=_crumbs(poll))


@bp.route("/votes/<int:poll_id>/objections", methods=["GET", "POST"])
@login_required
def objections(poll_id: int):
    """Objections to the preliminary result and the organisers' public answers."""
    poll = _closed(poll_id)
    form = ObjectionForm()
    if request.method == "POST" and form.validate_on_submit():
        with saving(form, "body") as saved:
            publication.lodge(poll, current_user, form.body.data)
        if saved.ok:
            flash(_("Your objection is recorded; the organisers will answer it here."), "success")
            return redirect(url_for("ballots.objections", poll_id=poll.id))
    page = publication.objections(poll, request.args.get("page", 1, type=int), current_app.config["PER_PAGE"])
    return render_template("ballots/objections.html", poll=poll, page=page, form=form,
                           standing=publication.standing(poll), organiser=can(Action.VOTE_TELLER, poll.place),
                           until=poll.closed_at + timedelta(days=poll.objection_days),
                           crumbs=_crumbs(poll)), 400 if form.errors else 200


@bp.post("/votes/<int:poll_id>/objections/<int:objection_id>/answer")
@login_required
def answer_objection(poll_id: int, objection_id: int):
    poll = _closed(poll_id, Action.VOTE_TELLER)
    objection = publication.get_objection_or_none(poll, objection_id)
    if objection is None:
        abort(404)
    form = AnswerForm()
    if not form.validate_on_submit():
        flash(next(iter(form.errors.values()), [_("The form has expired. Please try again.")])[0], "error")
    else:
        commit_or_flash(lambda: publication.answer(objection, poll, current_user, form.body.data),
                        _("The answer is published."))
    return redirect(url_for("ballots.objections", poll_id=poll.id, _anchor=f"objection-{objection.id}"))


PRINT_LIMIT = 3000  # units on one printed filing table: more than the largest estate's building group


def _csv(rows, filename: str) -> Response:
    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        yield "\ufeff"  # Excel opens UTF-8 with a byte-order mark
        for row in rows:
            writer.writerow(safe_row(row))
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate(0)
    return Response(stream_with_context(generate()), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


def _audit_export(poll, action: str) -> None:
    """The filing tables leave the platform: who took which, audited (the entry names the vote, no choice)."""
    audit.append(current_user, action, poll.place_id, poll.subject_type, poll.subject_id)
    db.session.commit()


@bp.get("/votes/<int:poll_id>/filing/detail.csv")
@login_required
def filing_detail(poll_id: int):
    """明细表 for the organisers: every unit, its area, whether and how it took part (and, in a named
    vote, its choice: the organisers may see it, the public never)."""
    poll = _closed(poll_id, Action.VOTE_TELLER)
    _audit_export(poll, "export.filing_detail_csv")
    return _csv(publication.detail_rows(poll, with_choices=True), f"vote-{poll.id}-detail.csv")


@bp.get("/votes/<int:poll_id>/filing/summary.csv")
@login_required
def filing_summary(poll_id: int):
    """汇总表: the count and every threshold."""
    poll = _closed(poll_id, Action.VOTE_TELLER)
    _audit_export(poll, "export.filing_summary_csv")
    return _csv(publication.summary_rows(poll), f"vote-{poll.id}-summary.csv")


@bp.get("/votes/<int:poll_id>/filing/print")
@login_required
def filing_print(poll_id: int):
    """Both tables on A4, to file with the street office: units and areas, no names, no choices."""
    poll = _closed(poll_id, Action.VOTE_TELLER)
    rows = list(islice(publication.detail_rows(poll, with_choices=False), 1, PRINT_LIMIT + 1))
    page = render_template("ballots/filing_print.html", poll=poll, rows=rows, result=services.stored_result(poll),
                           **_options(poll),
                           standing=publication.standing(poll), turnout=services.turnout(poll))
    _audit_export(poll, "export.filing_print")
    return page


@bp.app_template_global()
def mark_label(choice, picks, options) -> str:
    """A choice-vote ballot as words: the options picked, "none of these", or "abstain"."""
    if choice is Choice.FOR:
        return choices.labels(options, picks)
    return str(_("None of these") if choice is Choice.AGAINST else _("Abstain"))


@bp.app_template_global()
def vote_labels():
    """Labels for rules, bases, choices and thresholds, as residents read them."""
    return dict(rule=RULE_LABELS, basis=BASIS_LABELS, choice=CHOICE_LABELS, measure=MEASURE_LABELS,
                required=required_label)


@bp.app_template_filter("percent")
def percent(share) -> str:
    """A Fraction as a percentage with two decimals, for reading; the thresholds compare exact fractions."""
    return f"{float(share) * 100:.2f}%"
