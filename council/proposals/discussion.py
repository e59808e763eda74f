"""Discussion of a proposal: comments with one level of replies, quotes, short edits, moderation, reports,
and the secretary's official answer. Commenting makes one follow the proposal."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from council import versions
from council.accounts.models import User
from council.activity.services import record, register_verbs
from council.exceptions import Refused
from council.extensions import db
from council.notifications import services as inbox
from council.permissions import Action, Standing, allowed
from council.proposals.models import CommentReport, Follow, Proposal, ProposalComment
from council.proposals.rules import ProposalState, may_edit
from council.proposals.services import following, is_following, may_view
from council.sqltypes import utcnow

MAX_BODY = 4000
MAX_REASON = 200
# The page shows at most this many top-level comments (with all their replies), with a note beyond.
COMMENTS_PER_PAGE = 20  # top-level comments per page of a thread, each with its replies
# Neither a draft (its author's alone) nor a withdrawn proposal is open to discussion.
CLOSED_TO_COMMENTS = frozenset({ProposalState.DRAFT, ProposalState.WITHDRAWN})

register_verbs({
    "proposal.comment_hidden": _l("hid a comment"),
    "proposal.answered": _l("posted the official answer"),
    "proposal.comment_reported": _l("reported a comment to the moderators"),
})


# ---- who may do what ------------------------------------------------------------------------------

def may_comment(standing: Standing, user: User, proposal: Proposal) -> bool:
    """Those who may read a published proposal, while it is not a draft and not withdrawn."""
    return proposal.state not in CLOSED_TO_COMMENTS and may_view(standing, user, proposal)


def may_moderate(standing: Standing, proposal: Proposal) -> bool:
    """Staff of the estate (or above it) hide comments and read reports."""
    return allowed(standing, Action.PROPOSAL_MODERATE, proposal.estate.lineage_ids)


def may_answer(standing: Standing, proposal: Proposal) -> bool:
    """The party-branch secretary or an administrator of the estate gives the official answer."""
    return proposal.state not in CLOSED_TO_COMMENTS and allowed(
        standing, Action.PROPOSAL_ANSWER, proposal.estate.lineage_ids)


def may_edit_comment(comment: ProposalComment, user: User, now: datetime | None = None) -> bool:
    return comment.author_id == user.id and may_edit(comment.created_at, now or utcnow())


def get_comment_or_404(proposal: Proposal, comment_id: int) -> ProposalComment:
    comment = db.session.get(ProposalComment, comment_id)
    if comment is None or comment.proposal_id != proposal.id:
        abort(404)
    return comment


# ---- writing --------------------------------------------------------------------------------------

def _clean(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise Refused(_l("Please write something."), "body")
    if len(body) > MAX_BODY:
        raise Refused(_l("A comment is at most %(n)s characters.", n=MAX_BODY), "body")
    return body


def _sibling(proposal: Proposal, comment_id: int | None) -> ProposalComment | None:
    if comment_id is None:
        return None
    comment = db.session.get(ProposalComment, comment_id)
    if comment is None or comment.proposal_id != proposal.id:
        raise Refused(_l("That comment is not part of this discussion."))
    return comment


def add_comment(proposal: Proposal, by: User, standing: Standing, body: str, parent_id: int | None = None,
                quoted_id: int | None = None, official: bool = False) -> ProposalComment:
    """Post a comment (or a reply, or a quote); tell the followers; the commenter starts following."""
    if not may_comment(standing, by, proposal):
        raise Refused(_l("This proposal is not open for discussion."))
    body = _clean(body)
    parent = _sibling(proposal, parent_id)
    if parent is not None and parent.parent_id is not None:
        parent = db.session.get(ProposalComment, parent.parent_id)  # one level of replies only
    quoted = _sibling(proposal, quoted_id)
    comment = ProposalComment(proposal_id=proposal.id, author_id=by.id, body=body, is_official=official,
                              parent_id=parent.id if parent else None, quoted_id=quoted.id if quoted else None,
                              created_at=utcnow())
    db.session.add(comment)
    db.session.execute(versions.placed(sa.update(Proposal).where(Proposal.id == proposal.id)
                                       .values(comment_count=Proposal.comment_count + 1), proposal.estate_id))
    db.session.flush()
    inbox.notify_selected(following(proposal), "proposal.commented", "proposal", proposal.id, proposal.title, by.id)
    if not is_following(proposal, by):
        db.session.add(Follow(proposal_id=proposal.id, user_id=by.id))
        db.session.flush()
    return comment


def reply(proposal: Proposal, parent: ProposalComment, by: User, standing: Standing, body: str) -> ProposalComment:
    """Answer a comment; replying to a reply attaches to its top-level comment."""
    return add_comment(proposal, by, standing, body, parent_id=parent.id)


def answer(proposal: Proposal, by: User, standing: Standing, body: str) -> ProposalComment:
    """The official answer of the branch secretary or the estate's administrator, shown apart at the top."""
    if not may_answer(standing, proposal):
        raise Refused(_l("Only the party-branch secretary or an administrator gives the official answer."))
    comment = add_comment(proposal, by, standing, body, official=True)
    record(by, "proposal.answered", proposal.estate_id, "proposal", proposal.id)
    return comment


def edit_comment(comment: ProposalComment, by: User, body: str, now: datetime | None = None) -> None:
    """The author corrects their comment within 15 minutes; the page shows that it was edited."""
    if comment.author_id != by.id:
        raise Refused(_l("Only the author can do this."))
    now = now or utcnow()
    if not may_edit(comment.created_at, now):
        raise Refused(_l("A comment can be edited only within 15 minutes of posting."))
    comment.body = _clean(body)
    comment.edited_at = now
    db.session.flush()


def hide(comment: ProposalComment, proposal: Proposal, by: User, standing: Standing, reason: str) -> None:
    """A moderator hides a comment with a reason; its author and the moderators still see it."""
    if not may_moderate(standing, proposal):
        raise Refused(_l("Only staff of the estate can hide comments."))
    reason = (reason or "").strip()
    if not reason:
        raise Refused(_l("Please give a reason."), "reason")
    if comment.hidden_at is not None:
        raise Refused(_l("This comment is already hidden."))
    comment.hidden_at, comment.hidden_by_id, comment.hidden_reason = utcnow(), by.id, reason[:MAX_REASON]
    record(by, "proposal.comment_hidden", proposal.estate_id, "proposal", proposal.id,
           detail=str(comment.id), note=reason)
    db.session.flush()


def report(comment: ProposalComment, proposal: Proposal, by: User, reason: str = "") -> None:
    """Report a comment to the moderators, once per person (kept off the proposal's public timeline)."""
    if comment.author_id == by.id:
        raise Refused(_l("You cannot report your own comment."))
    try:
        with db.session.begin_nested():  # two tabs at once: the unique constraint decides, politely
            db.session.add(CommentReport(comment_id=comment.id, reporter_id=by.id,
                                         reason=(reason or "").strip()[:MAX_REASON], created_at=utcnow()))
    except IntegrityError:
        raise Refused(_l("You have already reported this comment.")) from None
    record(by, "proposal.comment_reported", proposal.estate_id, "proposal_comment", comment.id)


# ---- reading --------------------------------------------------------------------------------------

@dataclass
class Discussion:
    """What the page shows: official answers, one page of top-level comments, their replies by parent, report
    counts."""

    page: object  # the Pagination of top-level comments (db.paginate)
    official: list[ProposalComment] = field(default_factory=list)
    comments: list[ProposalComment] = field(default_factory=list)
    replies: dict[int, list[ProposalComment]] = field(default_factory=dict)
    reports: dict[int, int] = field(default_factory=dict)


def _top_level(proposal: Proposal, official: bool):
    return (sa.select(ProposalComment).where(ProposalComment.proposal_id == proposal.id,
                                             ProposalComment.parent_id.is_(None),
                                             ProposalComment.is_official.is_(official))
            .order_by(ProposalComment.id))


def discussion_of(proposal: Proposal, moderator: bool = False, page: int = 1,
                  per_page: int = COMMENTS_PER_PAGE) -> Discussion:
    """Oldest first, a page of top-level comments at a time (a busy thread has hundreds), in a fixed number of
    queries: official answers, the page and its count, replies, and (for moderators) report counts."""
    options = (joinedload(ProposalComment.author), joinedload(ProposalComment.quoted))
    official = list(db.session.scalars(_top_level(proposal, True).options(*options)))
    listing = db.paginate(_top_level(proposal, False).options(*options), page=max(1, page), per_page=per_page,
                          error_out=False)
    result = Discussion(page=listing, official=official, comments=list(listing.items))
    ids = [c.id for c in (*official, *result.comments)]
    if ids:
        for r in db.session.scalars(sa.select(ProposalComment).options(*options)
                                    .where(ProposalComment.parent_id.in_(ids)).order_by(ProposalComment.id)):
            result.replies.setdefault(r.parent_id, []).append(r)
    if moderator:
        rows = db.session.execute(
            sa.select(CommentReport.comment_id, sa.func.count(CommentReport.id))
            .join(ProposalComment, ProposalComment.id == CommentReport.comment_id)
            .where(ProposalComment.proposal_id == proposal.id).group_by(CommentReport.comment_id))
        result.reports = dict(rows.all())
    return result


def page_of(proposal: Proposal, comment_id: int, per_page: int = COMMENTS_PER_PAGE) -> int:
    """The page of the discussion that shows a comment (a reply is shown under its top-level comment)."""
    comment = db.session.get(ProposalComment, comment_id)
    if comment is None or comment.proposal_id != proposal.id or comment.is_official:
        return 1
    top = comment.parent_id or comment.id
    before = db.session.scalar(sa.select(sa.func.count(ProposalComment.id)).where(
        ProposalComment.proposal_id == proposal.id, ProposalComment.parent_id.is_(None),
        ProposalComment.is_official.is_(False), ProposalComment.id <= top)) or 0
    return max(1, -(-before // per_page))
