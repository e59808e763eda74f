"""Proposal pages: write, edit and publish a draft, read, co-sign, follow, withdraw, discuss, put on the agenda
and to a vote, carry out; the estate's list."""
from datetime import timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from council.activity.services import activity_about, describe
from council.ballots import choices as vote_choices
from council.ballots import services as polls
from council.ballots.models import Basis
from council.ballots.rules import Rule
from council.extensions import db
from council.forms import EmptyForm, button_action, commit_or_flash, saving
from council.i18n import at_local, local_today
from council.pagecache import MembersPage
from council.permissions import Action, can, current_standing, require
from council.proposals import bp, discussion, panel, services, stages  # noqa: F401  (panel registers itself)
from council.proposals.forms import (
    CommentEditForm,
    CommentForm,
    FilterForm,
    OpenVoteForm,
    ProposalForm,
    ReasonForm,
    SettingsForm,
)
from council.proposals.rules import EDIT_WINDOW, Category, ProposalState, Step, allowed_steps
from council.proposals.text import render
from council.sqltypes import utcnow
from council.territory.models import PlaceKind
from council.territory.services import ancestors, get_place_or_404
from council.versions import good_until


def _estate_or_404(place_id: int):
    estate = get_place_or_404(place_id)
    if estate.kind is not PlaceKind.ESTATE:
        abort(404)
    return estate


def _buildings(estate):
    return sorted((c for c in estate.children if c.kind is PlaceKind.BUILDING), key=lambda b: (b.sort_key, b.id))


def _fields(form: ProposalForm) -> dict:
    return dict(title=form.title.data, body=form.body.data, category=Category(form.category.data),
                building_ids=form.buildings.data or [], cost=form.cost_yuan.data,
                government=form.share_government.data, outside=form.share_outside.data,
                residents=form.share_residents.data)


@bp.route("/places/<int:place_id>/proposals/new", methods=["GET", "POST"])
@login_required
def new(place_id: int):
    """Write a draft proposal for one's estate or some of its buildings."""
    estate = _estate_or_404(place_id)
    if not services.may_write(current_standing(), estate):
        abort(403)
    form = ProposalForm(_buildings(estate))
    if form.validate_on_submit():
        with saving(form, "title") as saved:
            proposal = services.create(estate, current_user, **_fields(form))
        if saved.ok:
            flash(_("Your draft is saved. Only you can see it until you publish it."), "success")
            return redirect(url_for("proposals.show", proposal_id=proposal.id))
    return render_template("proposals/edit.html", estate=estate, form=form, proposal=None,
                           crumbs=ancestors(estate) + [estate]), 400 if form.errors else 200


def _load(proposal_id: int):
    proposal = services.get_proposal_or_404(proposal_id)
    if not services.may_view(current_standing(), current_user, proposal):
        abort(403)
    return proposal


def _author(proposal):
    if proposal.author_id != current_user.id:
        abort(403)


@bp.route("/proposals/<int:proposal_id>/edit", methods=["GET", "POST"])
@login_required
def edit(proposal_id: int):
    proposal = _load(proposal_id)
    _author(proposal)
    if Step.EDIT not in allowed_steps(proposal.state):
        flash(_("Only a draft can be edited."), "error")
        return redirect(url_for("proposals.show", proposal_id=proposal.id))
    form = ProposalForm(_buildings(proposal.estate), obj=proposal)
    if request.method == "GET":
        form.buildings.data = [b.id for b in proposal.buildings]
        form.category.data = proposal.category.value
    if form.validate_on_submit():
        with saving(form, "title") as saved:
            services.edit(proposal, current_user, **_fields(form))
        if saved.ok:
            flash(_("Saved."), "success")
            return redirect(url_for("proposals.show", proposal_id=proposal.id))
    return render_template("proposals/edit.html", estate=proposal.estate, form=form, proposal=proposal,
                           crumbs=ancestors(proposal.estate) + [proposal.estate]), 400 if form.errors else 200


@bp.get("/proposals/<int:proposal_id>")
@login_required
def show(proposal_id: int):
    kept, head = MembersPage.of_row("proposals.show", ("proposal", proposal_id),
                                    lambda: services.proposal_head(proposal_id),
                                    plain=lambda: services.get_proposal_or_404(proposal_id))
    if not services.may_view(current_standing(), current_user, head):
        abort(403)
    # Kept for readers who hold the same, co-signed and follow alike and wrote nothing in it (a writer's own
    # comments read differently to them: theirs alone).
    cosigned, following, commented = kept.fact(("reader", current_user.id, proposal_id),
                                               lambda: services.reader_facts(proposal_id, current_user))
    return kept.serve((head.author_id == current_user.id, cosigned, following, commented and current_user.id),
                      lambda: _show(services.get_proposal_or_404(proposal_id), cosigned, following))


def _show(proposal, cosigned: bool, following: bool) -> str:
    standing = current_standing()
    moderator = discussion.may_moderate(standing, proposal)
    now = utcnow()
    poll = stages.poll_of(proposal)
    if poll is not None and polls.close_if_due(poll, now):
        db.session.commit()
    if poll is not None and poll.is_open:
        good_until(poll.closes_at)  # then the first reader closes it and sees the result
    talk = discussion.discussion_of(proposal, moderator=moderator, page=request.args.get("comments", 1, type=int))
    everyone = [*talk.official, *talk.comments, *(r for rs in talk.replies.values() for r in rs)]
    editable = {c.id: c.created_at for c in everyone if discussion.may_edit_comment(c, current_user, now)}
    for posted in editable.values():
        good_until(posted + EDIT_WINDOW)  # the "Edit" link goes then
    return render_template(
        "proposals/show.html", proposal=proposal, body=render(proposal.body), talk=talk, moderator=moderator,
        may_comment=discussion.may_comment(standing, current_user, proposal),
        may_answer=discussion.may_answer(standing, proposal), comment_form=CommentForm(), editable=set(editable),
        threshold=services.threshold_of(proposal.estate_id), may_cosign=services.may_cosign(standing, proposal),
        cosigned=cosigned, following=following, steps=allowed_steps(proposal.state),
        author=proposal.author_id == current_user.id, timeline=activity_about("proposal", proposal.id),
        describe=describe, form=EmptyForm(), crumbs=ancestors(proposal.estate) + [proposal.estate],
        poll=poll, result=polls.stored_result(poll) if poll else None,
        options=vote_choices.options_of(poll) if poll else [],
        choice_result=polls.count_choices(poll) if poll and poll.max_choices and not poll.is_open else None,
        steer=can(Action.PROPOSAL_STEER, proposal.estate))


def _act(proposal, change, success: str):
    """Check the CSRF token, run one service call, commit, and go back to the proposal."""
    button_action(change, success)
    return redirect(url_for("proposals.show", proposal_id=proposal.id))


@bp.post("/proposals/<int:proposal_id>/publish")
@login_required
def publish(proposal_id: int):
    proposal = _load(proposal_id)
    _author(proposal)
    return _act(proposal, lambda: services.publish(proposal, current_user),
                _("Published: your neighbours can now read, discuss and co-sign it."))


@bp.post("/proposals/<int:proposal_id>/withdraw")
@login_required
def withdraw(proposal_id: int):
    proposal = _load(proposal_id)
    _author(proposal)
    return _act(proposal, lambda: services.withdraw(proposal, current_user), _("The proposal is withdrawn."))


@bp.post("/proposals/<int:proposal_id>/cosign")
@login_required
def cosign(proposal_id: int):
    proposal = _load(proposal_id)
    if not services.may_cosign(current_standing(), proposal):
        abort(403)
    return _act(proposal, lambda: services.cosign(proposal, current_user, current_standing()),
                _("Thank you: your co-signature is counted."))


@bp.post("/proposals/<int:proposal_id>/follow")
@login_required
def follow(proposal_id: int):
    proposal = _load(proposal_id)
    return _act(proposal, lambda: services.follow(proposal, current_user),
                _("You follow this proposal: you will hear in your inbox when it moves on."))


@bp.post("/proposals/<int:proposal_id>/unfollow")
@login_required
def unfollow(proposal_id: int):
    proposal = _load(proposal_id)
    return _act(proposal, lambda: services.unfollow(proposal, current_user), _("You no longer follow it."))


# ---- agenda, vote, carrying out -------------------------------------------------------------------

def _steer(proposal_id: int):
    proposal = _load(proposal_id)
    require(Action.PROPOSAL_STEER, proposal.estate)
    return proposal


@bp.post("/proposals/<int:proposal_id>/agenda")
@login_required
def put_on_agenda(proposal_id: int):
    """The secretary takes up a proposal that enough households co-signed."""
    proposal = _steer(proposal_id)
    return _act(proposal, lambda: stages.put_on_agenda(proposal, current_user), _("The proposal is on the agenda."))


@bp.post("/proposals/<int:proposal_id>/start")
@login_required
def start(proposal_id: int):
    proposal = _steer(proposal_id)
    return _act(proposal, lambda: stages.start(proposal, current_user), _("Marked as being carried out."))


@bp.post("/proposals/<int:proposal_id>/finish")
@login_required
def finish(proposal_id: int):
    proposal = _steer(proposal_id)
    return _act(proposal, lambda: stages.finish(proposal, current_user), _("Marked as done."))


@bp.route("/proposals/<int:proposal_id>/vote", methods=["GET", "POST"])
@login_required
def open_vote(proposal_id: int):
    """Open the proposal's vote: the roll of its scope is frozen, and rule, secrecy and window are final."""
    proposal = _steer(proposal_id)
    if Step.OPEN_VOTE not in allowed_steps(proposal.state):
        flash(_("A vote is opened on a proposal that is on the agenda."), "error")
        return redirect(url_for("proposals.show", proposal_id=proposal.id))
    form = OpenVoteForm()
    if request.method == "GET":
        form.rule.data = stages.suggested_rule(proposal.category).value
        form.closes_on.data = local_today() + timedelta(days=7)
    if form.validate_on_submit():
        with saving(form, "rule") as saved:
            poll = stages.open_vote(proposal, current_user, Rule(form.rule.data), Basis(form.basis.data),
                                    form.secret.data, at_local(form.closes_on.data, form.closes_time.data),
                                    objection_days=form.objection_days.data, options=form.option_list(),
                                    max_choices=form.max_choices.data)
        if saved.ok:
            flash(_("The vote is open."), "success")
            return redirect(url_for("ballots.show", poll_id=poll.id))
    return render_template("proposals/open_vote.html", proposal=proposal, form=form,
                           crumbs=ancestors(proposal.estate) + [proposal.estate]), 400 if form.errors else 200


# ---- discussion -----------------------------------------------------------------------------------

def _to_discussion(proposal, anchor: str = "discussion"):
    """Back to the discussion; to a comment, on the page of the thread that shows it."""
    page = discussion.page_of(proposal, int(anchor.removeprefix("comment-"))) if anchor.startswith("comment-") else 1
    return redirect(url_for("proposals.show", proposal_id=proposal.id, comments=page if page > 1 else None,
                            _anchor=anchor))


def _invalid(form) -> None:
    """A small form on the proposal page failed: say why there (the page is re-read after the redirect)."""
    errors = [e for field_errors in form.errors.values() for e in field_errors]
    flash(errors[0] if errors else _("The form has expired. Please try again."), "error")


def _post_comment(proposal, post) -> object:
    """Validate the comment form, run `post(form)` (a service call returning the comment), commit, redirect."""
    form = CommentForm()
    if not form.validate_on_submit():
        _invalid(form)
        return _to_discussion(proposal)
    posted = []
    if commit_or_flash(lambda: posted.append(post(form)), _("Your comment is posted.")):
        return _to_discussion(proposal, f"comment-{posted[0].id}")
    return _to_discussion(proposal)


@bp.post("/proposals/<int:proposal_id>/comments")
@login_required
def comment(proposal_id: int):
    """A comment, a reply (parent_id) or a quoting comment (quoted_id); the commenter follows the proposal."""
    proposal = _load(proposal_id)
    return _post_comment(proposal, lambda form: discussion.add_comment(
        proposal, current_user, current_standing(), form.body.data,
        parent_id=form.id_of("parent_id"), quoted_id=form.id_of("quoted_id")))


@bp.post("/proposals/<int:proposal_id>/answer")
@login_required
def answer(proposal_id: int):
    """The official answer of the party-branch secretary or the estate's administrator."""
    proposal = _load(proposal_id)
    if not discussion.may_answer(current_standing(), proposal):
        abort(403)
    return _post_comment(proposal, lambda form: discussion.answer(
        proposal, current_user, current_standing(), form.body.data))


@bp.route("/proposals/<int:proposal_id>/comments/<int:comment_id>/edit", methods=["GET", "POST"])
@login_required
def edit_comment(proposal_id: int, comment_id: int):
    """The author corrects a comment within 15 minutes of posting."""
    proposal = _load(proposal_id)
    item = discussion.get_comment_or_404(proposal, comment_id)
    if item.author_id != current_user.id:
        abort(403)
    if not discussion.may_edit_comment(item, current_user):
        flash(_("A comment can be edited only within 15 minutes of posting."), "error")
        return _to_discussion(proposal, f"comment-{item.id}")
    form = CommentEditForm(obj=item)
    if form.validate_on_submit():
        with saving(form, "body") as saved:
            discussion.edit_comment(item, current_user, form.body.data)
        if saved.ok:
            flash(_("Saved."), "success")
            return _to_discussion(proposal, f"comment-{item.id}")
    return render_template("proposals/edit_comment.html", proposal=proposal, comment=item, form=form,
                           crumbs=ancestors(proposal.estate) + [proposal.estate]), 400 if form.errors else 200


@bp.post("/proposals/<int:proposal_id>/comments/<int:comment_id>/hide")
@login_required
def hide_comment(proposal_id: int, comment_id: int):
    """A moderator (staff of the estate) hides a comment, giving a reason that everyone sees."""
    proposal = _load(proposal_id)
    if not discussion.may_moderate(current_standing(), proposal):
        abort(403)
    item = discussion.get_comment_or_404(proposal, comment_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        _invalid(form)
    else:
        commit_or_flash(lambda: discussion.hide(item, proposal, current_user, current_standing(), form.reason.data),
                        _("The comment is hidden."))
    return _to_discussion(proposal, f"comment-{item.id}")


@bp.post("/proposals/<int:proposal_id>/comments/<int:comment_id>/report")
@login_required
def report_comment(proposal_id: int, comment_id: int):
    """Anyone who may read the proposal reports a comment to the moderators, once."""
    proposal = _load(proposal_id)
    item = discussion.get_comment_or_404(proposal, comment_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        _invalid(form)
    else:
        commit_or_flash(lambda: discussion.report(item, proposal, current_user, form.reason.data),
                        _("Thank you: the moderators will look at it."))
    return _to_discussion(proposal, f"comment-{item.id}")


@bp.get("/places/<int:place_id>/proposals")
@login_required
def listing(place_id: int):
    """The estate's proposals the reader may see, by state and category; newest, most co-signed, most discussed."""
    kept, estate = MembersPage.of_place("proposals.listing", place_id, PlaceKind.ESTATE)
    require(Action.PLACE_VIEW, estate)
    may_write = services.may_write(current_standing(), estate)
    # Members who hold the same share the page, but for drafts of their own it lists.
    drafts = kept.fact(("drafts", current_user.id, estate.id), lambda: services.has_unpublished(estate, current_user))
    return kept.serve((*estate.shown, drafts and current_user.id),
                      lambda: _listing(_estate_or_404(place_id), may_write))


def _listing(estate, may_write: bool) -> str:
    filters = FilterForm(request.args)
    filters.validate()
    state, category = filters.value("state"), filters.value("category")
    page = services.estate_page(
        estate, current_user, request.args.get("page", 1, type=int), current_app.config["PER_PAGE"],
        state=ProposalState(state) if state else None, category=Category(category) if category else None,
        sort=filters.value("sort") or "newest", words=filters.value("q") or "")
    return render_template("proposals/list.html", estate=estate, page=page, filters=filters,
                           threshold=services.threshold_of(estate.id), may_write=may_write,
                           crumbs=ancestors(estate) + [estate])


@bp.route("/places/<int:place_id>/proposals/settings", methods=["GET", "POST"])
@login_required
def settings(place_id: int):
    """The estate administrator sets how many households must co-sign before the agenda."""
    estate = _estate_or_404(place_id)
    require(Action.TERRITORY_MANAGE, estate)
    form = SettingsForm(data={"cosign_threshold": services.threshold_of(estate.id)}
                        if request.method == "GET" else None)
    if form.validate_on_submit():
        with saving(form, "cosign_threshold") as saved:
            services.set_threshold(estate, current_user, form.cosign_threshold.data)
        if saved.ok:
            flash(_("Saved."), "success")
            return redirect(url_for("proposals.listing", place_id=estate.id))
    return render_template("proposals/settings.html", estate=estate, form=form,
                           crumbs=ancestors(estate) + [estate]), 400 if form.errors else 200


@bp.app_template_global()
def proposal_state_label(state) -> str:
    return str(services.STATE_LABELS[state])


@bp.app_template_global()
def proposal_category_label(category) -> str:
    return str(services.CATEGORY_LABELS[category])
