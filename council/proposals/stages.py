"""A proposal after discussion: on the agenda, put to a vote, passed or rejected, carried out, done.

The vote itself is the shared poll machinery of `council.ballots`; this module builds the proposal's
roll (its buildings, or the whole estate), opens the poll, and moves the proposal when the poll closes.
"""
from __future__ import annotations

from datetime import datetime

from flask import url_for
from flask_babel import lazy_gettext as _l

from council.accounts.models import User
from council.activity.services import register_verbs
from council.ballots import services as polls
from council.ballots.models import Basis, Poll
from council.ballots.rules import Rule
from council.exceptions import Refused
from council.extensions import db
from council.notifications import services as inbox
from council.proposals.models import Proposal
from council.proposals.rules import Category, ProposalState, Step
from council.proposals.services import followers, following, move, scope_of

register_verbs({
    "proposal.put_on_agenda": _l("put it on the agenda"),
    "proposal.open_vote": _l("opened the vote"),
    "proposal.pass": _l("recorded that the vote passed it"),
    "proposal.reject": _l("recorded that the vote did not pass it"),
    "proposal.start": _l("started carrying it out"),
    "proposal.finish": _l("marked it done"),
})
inbox.register({
    "proposal.vote_opened": _l("A vote has opened on a proposal you can vote on or follow."),
    "proposal.result": _l("The vote on a proposal you follow has been counted."),
}, "proposal", lambda proposal_id: url_for("proposals.show", proposal_id=proposal_id))

def suggested_rule(category: Category) -> Rule:
    """Adding a lift rebuilds a common part of the building: Art. 278 item 8 needs three-quarters."""
    if category is Category.LIFT:
        return Rule.CIVIL_CODE_278_SPECIAL
    if category is Category.ESTATE_RULES:
        return Rule.CIVIL_CODE_278_ORDINARY
    return Rule.SIMPLE_MAJORITY


def put_on_agenda(proposal: Proposal, by: User) -> None:
    """Only a proposal that enough households co-signed goes on the agenda."""
    if proposal.state is ProposalState.OPEN and proposal.eligible_at is None:
        raise Refused(_l("Not enough households have co-signed this proposal yet."))
    move(proposal, Step.PUT_ON_AGENDA, by)


def poll_of(proposal: Proposal) -> Poll | None:
    return polls.poll_for("proposal", proposal.id)


def open_vote(proposal: Proposal, by: User, rule: Rule, basis: Basis, secret: bool, closes_at: datetime,
              now: datetime | None = None, objection_days: int = 0, options: list[str] | None = None,
              max_choices: int = 1) -> Poll:
    """Freeze the roll of the proposal's scope and open its vote; followers and voters are told."""
    if rule.by_area:
        basis = Basis.OWNERS
    move(proposal, Step.OPEN_VOTE, by, tell=False)
    buildings = sorted(scope_of(proposal)) or polls.buildings_of(proposal.estate)
    poll = polls.open_poll(proposal.estate, "proposal", proposal.id, proposal.title, rule, basis, secret,
                           closes_at, by, polls.roll_lines(basis, buildings), now=now,
                           objection_days=objection_days, options=options, max_choices=max_choices)
    inbox.notify([*followers(proposal), *polls.casters(poll)], "proposal.vote_opened", "proposal",
                 proposal.id, proposal.title, by.id)
    return poll


def _closed(poll: Poll) -> None:
    """The poll machinery counted the vote: pass or reject the proposal and tell its followers."""
    proposal = db.session.get(Proposal, poll.subject_id)
    if proposal is None or proposal.state is not ProposalState.VOTING:
        return
    move(proposal, Step.PASS if poll.passed else Step.REJECT, None, tell=False)
    inbox.notify_selected(following(proposal), "proposal.result", "proposal", proposal.id, proposal.title)


polls.register_subject("proposal", lambda proposal_id: url_for("proposals.show", proposal_id=proposal_id), _closed)


def start(proposal: Proposal, by: User) -> None:
    move(proposal, Step.START, by)


def finish(proposal: Proposal, by: User) -> None:
    move(proposal, Step.FINISH, by)
