"""Election pages for officials: calling an election, appointing officials, ruling on roll objections,
publishing the candidates, the tellers' desk (written proxies, paper check-off) and paper batches, the count,
further rounds and closing the election."""
from datetime import time, timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from council.accounts.services import find_by_login
from council.ballots import queries
from council.ballots import services as polls
from council.ballots.forms import ProxyForm
from council.ballots.models import Basis
from council.elections import bp, counting, forms, nominations, pages, rules, services, voting
from council.elections.forms import BatchForm, CallForm, OfficialForm, RoundForm, RulingForm
from council.elections.rules import Office, Ruling
from council.exceptions import Refused
from council.extensions import db
from council.forms import EmptyForm, button_action, commit_or_flash, saving, show_refusal
from council.i18n import at_local, local_today
from council.territory.models import PlaceKind
from council.territory.services import ancestors, get_place_or_404


def _end_of(day):
    """'Until 20 May' means until the end of that day where the estate is."""
    return at_local(day + timedelta(days=1), time(0, 0))


# ---- calling an election and its officials -------------------------------------------------------

@bp.route("/estates/<int:estate_id>/elections/new", methods=["GET", "POST"])
@login_required
def call(estate_id: int):
    estate = get_place_or_404(estate_id, PlaceKind.ESTATE)
    if not services.may_call(estate, current_user):
        abort(403)
    form = CallForm()
    if request.method == "GET":
        today = local_today()
        form.title.data = _("%(estate)s service team election", estate=estate.name)
        form.roll_until.data, form.nominations_until.data = today + timedelta(days=5), today + timedelta(days=12)
        form.opens_on.data, form.closes_on.data = today + timedelta(days=15), today + timedelta(days=15)
        form.opens_time.data, form.closes_time.data = time(8, 0), time(18, 0)
    if form.validate_on_submit():
        calling = services.Calling(
            title=form.title.data, seats=form.seats.data, basis=Basis(form.basis.data),
            with_marks=form.with_marks.data, self_nomination=form.self_nomination.data,
            nominators_needed=form.nominators_needed.data, second_round_factor=form.second_round_factor.data,
            notice_days=form.notice_days.data, roll_until=_end_of(form.roll_until.data),
            nominations_until=_end_of(form.nominations_until.data),
            opens_at=at_local(form.opens_on.data, form.opens_time.data),
            closes_at=at_local(form.closes_on.data, form.closes_time.data))
        fields = {"roll_until": "roll_until", "nominations_until": "nominations_until", "opens_at": "opens_on",
                  "closes_at": "closes_on", "closes_on": "closes_on"}
        try:
            election = services.call(estate, calling, current_user)
        except Refused as refusal:
            db.session.rollback()
            show_refusal(form, Refused(refusal.message, fields.get(refusal.field or "", refusal.field)), "title")
        else:
            db.session.commit()
            flash(_("The election is called and its voter roll is posted for objections."), "success")
            return redirect(url_for("elections.show", election_id=election.id))
    return render_template("elections/call.html", form=form, estate=estate, crumbs=ancestors(estate) + [estate])


@bp.route("/elections/<int:election_id>/officials", methods=["GET", "POST"])
@login_required
def officials(election_id: int):
    election = pages.load(election_id)
    may_run = services.may_run(election, current_user)
    form = OfficialForm()
    if request.method == "POST":
        if not may_run:
            abort(403)
        if form.validate_on_submit():
            person = find_by_login(form.person.data)
            if person is None:
                form.person.errors = [_("Nobody with that mobile number or username has an account.")]
            else:
                with saving(form, "person") as saved:
                    services.appoint(election, person, Office(form.office.data), current_user)
                if saved.ok:
                    flash(_("%(name)s is appointed.", name=person.display_name), "success")
                    return redirect(url_for("elections.officials", election_id=election.id))
    return render_template("elections/officials.html", election=election, officials=services.officials(election),
                           form=form, may_run=may_run, crumbs=pages.crumbs(election))


@bp.post("/elections/<int:election_id>/officials/<int:official_id>/remove")
@login_required
def remove_official(election_id: int, official_id: int):
    election = pages.load(election_id, services.may_run)
    official = services.get_official_or_404(election, official_id)
    button_action(lambda: services.remove_official(election, official, current_user), _("The official is removed."))
    return redirect(url_for("elections.officials", election_id=election.id))


# ---- the roll and the candidates -----------------------------------------------------------------

@bp.post("/elections/<int:election_id>/roll/objections/<int:objection_id>/rule")
@login_required
def rule_roll(election_id: int, objection_id: int):
    election = pages.load(election_id, services.may_run)
    objection = services.get_roll_objection_or_404(election, objection_id)
    form = RulingForm()
    if not form.validate_on_submit():
        flash(next(iter(form.errors.values()), [_("The form has expired. Please try again.")])[0], "error")
    else:
        person = find_by_login(form.person.data) if form.person.data else None
        if form.person.data and person is None:
            flash(_("Nobody with that mobile number or username has an account."), "error")
        else:
            commit_or_flash(lambda: services.rule_on(election, objection, Ruling(form.ruling.data), form.reason.data,
                                                     current_user, add=person), _("The ruling is recorded."))
    return redirect(url_for("elections.roll", election_id=election.id) + "#objections")


@bp.post("/elections/<int:election_id>/slate")
@login_required
def publish_slate(election_id: int):
    election = pages.load(election_id, services.may_run)
    button_action(lambda: nominations.publish_slate(election, current_user),
                  _("The candidates are published in ballot order."))
    return redirect(url_for("elections.show", election_id=election.id))


# ---- the tellers' desk ---------------------------------------------------------------------------

def _desk_round(election_id: int, number: int):
    election, round_ = pages.load_round(election_id, number, services.may_watch)
    return election, round_, services.poll_of(round_)


def _back_to_desk(election, round_):
    return redirect(url_for("elections.desk", election_id=election.id, number=round_.number,
                            q=request.args.get("q") or None, page=request.args.get("page", type=int)))


@bp.get("/elections/<int:election_id>/rounds/<int:number>/desk")
@login_required
def desk(election_id: int, number: int):
    """The roll as the tellers and scrutineers see it: who has taken part and how, never what they chose."""
    election, round_, poll = _desk_round(election_id, number)
    words = (request.args.get("q") or "")[:40]
    waiting = request.args.get("waiting") == "1"
    page = queries.roll_page(poll, request.args.get("page", 1, type=int), current_app.config["PER_PAGE"],
                             words, waiting)
    return render_template("elections/desk.html", election=election, round_=round_, poll=poll, page=page,
                           words=words, waiting=waiting, turnout=polls.turnout(poll),
                           voting_open=voting.may_vote_now(election, round_),
                           teller=services.is_teller(election, current_user),
                           may_run=services.may_run(election, current_user), proxy_form=ProxyForm(),
                           button=EmptyForm(), crumbs=pages.crumbs(election))


@bp.post("/elections/<int:election_id>/rounds/<int:number>/lines/<int:line_id>/paper")
@login_required
def check_off(election_id: int, number: int, line_id: int):
    election, round_, poll = _desk_round(election_id, number)
    line = polls.get_line_or_404(poll, line_id)
    button_action(lambda: voting.check_off(election, round_, line, current_user),
                  _("%(line)s is checked off: hand over a paper ballot.", line=line.label))
    return _back_to_desk(election, round_)


@bp.post("/elections/<int:election_id>/rounds/<int:number>/lines/<int:line_id>/proxy")
@login_required
def record_proxy(election_id: int, number: int, line_id: int):
    election, round_, poll = _desk_round(election_id, number)
    line = polls.get_line_or_404(poll, line_id)
    form = ProxyForm()
    if not form.validate_on_submit():
        flash(next(iter(form.errors.values()), [_("The form has expired. Please try again.")])[0], "error")
        return _back_to_desk(election, round_)
    holder = find_by_login(form.holder.data)
    if holder is None:
        flash(_("Nobody with that mobile number or username has an account."), "error")
        return _back_to_desk(election, round_)
    commit_or_flash(lambda: voting.record_proxy(election, round_, line, holder, current_user),
                    _("The proxy is recorded: %(name)s votes for %(line)s.", name=holder.display_name,
                      line=line.label))
    return _back_to_desk(election, round_)


# ---- paper batches, entered twice ----------------------------------------------------------------

@bp.route("/elections/<int:election_id>/rounds/<int:number>/batches", methods=["GET", "POST"])
@login_required
def batches(election_id: int, number: int):
    election, round_, poll = _desk_round(election_id, number)
    form = BatchForm()
    if request.method == "POST":
        if form.validate_on_submit():
            with saving(form, "size") as saved:
                batch = voting.start_batch(election, round_, form.size.data, current_user)
            if saved.ok:
                return redirect(url_for("elections.batch", election_id=election.id, number=round_.number,
                                        batch_number=batch.number))
    found = voting.batches(round_)
    return render_template("elections/batches.html", election=election, round_=round_, poll=poll, form=form,
                           batches=found, entered={b.id: voting.entered(b) for b in found},
                           issued=polls.paper_issued(poll), taken=sum(b.size for b in found),
                           phase=services.phase(election), teller=services.is_teller(election, current_user),
                           may_run=services.may_run(election, current_user), button=EmptyForm(),
                           crumbs=pages.crumbs(election))


def _batch(election_id: int, number: int, batch_number: int):
    election, round_, poll = _desk_round(election_id, number)
    return election, round_, voting.get_batch_or_404(round_, batch_number)


@bp.route("/elections/<int:election_id>/rounds/<int:number>/batches/<int:batch_number>", methods=["GET", "POST"])
@login_required
def batch(election_id: int, number: int, batch_number: int):
    """One teller's entry of a batch: each paper ballot copied as it stands; the other teller's entry is never
    shown until both are complete, and then only where they differ."""
    election, round_, found = _batch(election_id, number, batch_number)
    printed = nominations.printed(round_.id)
    error = None
    if request.method == "POST":
        if not EmptyForm().validate_on_submit():
            error = _("The form has expired. Please try again.")
        else:
            try:
                ballot = forms.read_ballot(election, round_, printed, request.form,
                                           lambda text: voting.resolve_write_in(election, text), paper=True)
                accepted = voting.enter(election, round_, found, ballot, current_user)
            except Refused as refusal:
                db.session.rollback()
                error = refusal.message
            else:
                db.session.commit()
                flash(_("Both entries agree: the batch is in the ballot box.") if accepted
                      else _("Ballot entered."), "success")
                return redirect(request.path)
    slot = voting.slot_of(found, current_user)
    counts = voting.entered(found)
    complete = counts[1] == found.size and counts[2] == found.size
    names = {c.user_id: c.user.display_name for c in printed}
    return render_template(
        "elections/batch.html", election=election, round_=round_, batch=found, printed=printed, slot=slot,
        counts=counts, mine=voting.entries(found, slot) if slot else [], names=names, error=error,
        differences=voting.differences(found) if complete and found.accepted_at is None else {},
        decode=rules.decode, teller=services.is_teller(election, current_user), button=EmptyForm(),
        crumbs=pages.crumbs(election)), 400 if error else 200


@bp.post("/elections/<int:election_id>/rounds/<int:number>/batches/<int:batch_number>/join")
@login_required
def join_batch(election_id: int, number: int, batch_number: int):
    election, round_, found = _batch(election_id, number, batch_number)
    button_action(lambda: voting.join_batch(election, round_, found, current_user),
                  _("You are the second teller of this batch."))
    return redirect(url_for("elections.batch", election_id=election.id, number=round_.number,
                            batch_number=found.number))


@bp.post("/elections/<int:election_id>/rounds/<int:number>/batches/<int:batch_number>/entries/<entry_id>/remove")
@login_required
def remove_entry(election_id: int, number: int, batch_number: int, entry_id: str):
    election, round_, found = _batch(election_id, number, batch_number)
    button_action(lambda: voting.remove_entry(found, entry_id[:32], current_user), _("The entry is removed."))
    return redirect(url_for("elections.batch", election_id=election.id, number=round_.number,
                            batch_number=found.number))


# ---- the count, further rounds, the end ------------------------------------------------------------

@bp.post("/elections/<int:election_id>/rounds/<int:number>/count")
@login_required
def count(election_id: int, number: int):
    election, round_ = pages.load_round(election_id, number, services.may_run)
    if button_action(lambda: counting.count(election, round_, current_user),
                     _("The ballots are counted and the result is posted.")):
        return redirect(url_for("elections.results", election_id=election.id, number=round_.number))
    return redirect(url_for("elections.batches", election_id=election.id, number=round_.number))


@bp.route("/elections/<int:election_id>/next-round", methods=["GET", "POST"])
@login_required
def next_round(election_id: int):
    election = pages.load(election_id, services.may_run)
    upcoming = counting.plan(election)
    form = RoundForm()
    if request.method == "GET":
        tomorrow = local_today() + timedelta(days=1)
        form.opens_on.data = form.closes_on.data = tomorrow
        form.opens_time.data, form.closes_time.data = time(8, 0), time(18, 0)
    if upcoming is not None and form.validate_on_submit():
        with saving(form, "closes_on") as saved:
            new = counting.open_next_round(election, current_user, at_local(form.opens_on.data, form.opens_time.data),
                                           at_local(form.closes_on.data, form.closes_time.data))
        if saved.ok:
            flash(_("The next round is called on the same roll."), "success")
            return redirect(url_for("elections.show", election_id=election.id, _anchor=f"round-{new.number}"))
    found = services.names_of(upcoming.candidates) if upcoming else {}
    names = [found.get(uid, "") for uid in upcoming.candidates] if upcoming else []
    return render_template("elections/next_round.html", election=election, upcoming=upcoming, names=names,
                           form=form, crumbs=pages.crumbs(election))


@bp.post("/elections/<int:election_id>/finish")
@login_required
def finish(election_id: int):
    election = pages.load(election_id, services.may_run)
    button_action(lambda: counting.finish(election, current_user),
                  _("The election is closed: the elected members now serve on the estate's team."))
    return redirect(url_for("elections.show", election_id=election.id))
