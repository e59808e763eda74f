"""Proposal services: write, edit, publish, withdraw, co-sign (联署), follow; who may see and do what."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import abort, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from council import versions
from council.accounts.models import User
from council.activity.services import record, register_verbs
from council.exceptions import Refused
from council.extensions import db
from council.membership.models import Membership, MembershipStatus
from council.notifications import services as inbox
from council.owners.services import owns_in
from council.permissions import Action, Standing, allowed
from council.proposals.models import (
    DEFAULT_COSIGN_THRESHOLD,
    Cosign,
    Follow,
    Proposal,
    ProposalComment,
    ProposalSettings,
)
from council.proposals.rules import (
    COSIGNABLE,
    Category,
    CostProblem,
    NotAllowed,
    ProposalState,
    Step,
    cost_problem,
    in_scope,
    next_state,
    reaches_threshold,
)
from council.sqltypes import utcnow
from council.territory.models import Household, Place, PlaceKind

CATEGORY_LABELS = {
    Category.LIFT: _l("Adding a lift"),
    Category.PARKING: _l("Parking"),
    Category.EBIKE_SHED: _l("E-bike shed"),
    Category.GREENING: _l("Greening"),
    Category.ESTATE_RULES: _l("Estate rules"),
    Category.FACILITIES: _l("Facilities"),
    Category.OTHER: _l("Other"),
}
STATE_LABELS = {
    ProposalState.DRAFT: _l("Draft"),
    ProposalState.OPEN: _l("Open for discussion"),
    ProposalState.ON_AGENDA: _l("On the agenda"),
    ProposalState.VOTING: _l("Voting"),
    ProposalState.PASSED: _l("Passed"),
    ProposalState.REJECTED: _l("Rejected"),
    ProposalState.IN_PROGRESS: _l("Being carried out"),
    ProposalState.DONE: _l("Done"),
    ProposalState.WITHDRAWN: _l("Withdrawn"),
}
COST_PROBLEMS = {
    CostProblem.NEGATIVE: _l("Amounts cannot be negative."),
    CostProblem.SHARES_WITHOUT_COST: _l("Give the estimated cost before sharing it."),
    CostProblem.INCOMPLETE: _l("Give all three shares (write 0 where nobody pays), or none."),
    CostProblem.WRONG_SUM: _l("The three shares must add up to the estimated cost."),
}
# Activity sentences for the proposal's timeline, and inbox sentences for its followers.
TIMELINE = {
    "proposal.created": _l("wrote the draft"),
    "proposal.edit": _l("edited the draft"),
    "proposal.publish": _l("published it for discussion"),
    "proposal.withdraw": _l("withdrew it"),
    "proposal.eligible": _l("recorded that enough households co-signed: it may go on the agenda"),
}
INBOX = {
    "proposal.changed": _l("A proposal you follow has moved on."),
    "proposal.eligible": _l("A proposal you follow has enough co-signatures for the agenda."),
    "proposal.commented": _l("There is a new comment on a proposal you follow."),
}
register_verbs(TIMELINE)
inbox.register(INBOX, "proposal", lambda proposal_id: url_for("proposals.show", proposal_id=proposal_id))

REFUSALS = {
    Step.PUBLISH: _l("Only a draft can be published."),
    Step.EDIT: _l("Only a draft can be edited."),
    Step.WITHDRAW: _l("A proposal can be withdrawn only before voting starts."),
    Step.PUT_ON_AGENDA: _l("Only a proposal open for discussion can go on the agenda."),
    Step.OPEN_VOTE: _l("A vote is opened on a proposal that is on the agenda."),
    Step.START: _l("Only a passed proposal can be carried out."),
    Step.FINISH: _l("Only a proposal being carried out can be marked done."),
}


# ---- loading and permissions ----------------------------------------------------------------------

def get_proposal_or_404(proposal_id: int) -> Proposal:
    proposal = db.session.get(Proposal, proposal_id, options=[
        joinedload(Proposal.estate), joinedload(Proposal.author), selectinload(Proposal.buildings)])
    if proposal is None:
        abort(404)
    return proposal


@dataclass(frozen=True)
class ProposalHead:
    """What the proposal page needs before a kept page is asked for: who may read it, and its estate."""
    id: int
    author_id: int
    published_at: datetime | None
    estate_id: int
    estate: versions.PlaceHead

    @property
    def lineage_ids(self) -> tuple[int, ...]:
        return self.estate.lineage_ids


def proposal_head(proposal_id: int) -> ProposalHead:
    """One query, always read afresh (not from the session's identity map), or 404."""
    row = db.session.execute(
        sa.select(Proposal.id, Proposal.author_id, Proposal.published_at, Proposal.estate_id, Place.kind,
                  Place.name, Place.address, Place.path)
        .join(Place, Place.id == Proposal.estate_id).where(Proposal.id == proposal_id)).one_or_none()
    if row is None:
        abort(404)
    return ProposalHead(row.id, row.author_id, row.published_at, row.estate_id,
                        versions.place_head(row.estate_id, row.kind, row.name, row.address, row.path))


def may_view(standing: Standing, user: User | None, proposal: Proposal | ProposalHead) -> bool:
    """Drafts: their author only. Published ones: members of the estate, its owners, and staff above it."""
    if user is not None and proposal.author_id == user.id:
        return True
    if proposal.published_at is None:
        return False
    # Owners of the estate's units read its proposals too, even if they live elsewhere: they may vote on them.
    return allowed(standing, Action.PLACE_VIEW, proposal.estate.lineage_ids) or (
        user is not None and owns_in(user, proposal.estate_id))


def may_write(standing: Standing, estate: Place) -> bool:
    """Residents of the estate (approved members, and building leaders) write proposals for it."""
    return estate.kind is PlaceKind.ESTATE and estate.id in standing.member_places


def scope_of(proposal: Proposal) -> frozenset[int]:
    return frozenset(b.id for b in proposal.buildings)


def may_cosign(standing: Standing, proposal: Proposal) -> bool:
    """Members of the proposal's scope: the chosen buildings, or the whole estate."""
    return proposal.state in COSIGNABLE and in_scope(standing.member_places, proposal.estate_id, scope_of(proposal))


def visible_clause(user: User):
    """What of an estate's proposals a reader who may view the estate lists: published ones and their drafts."""
    return sa.or_(Proposal.published_at.is_not(None), Proposal.author_id == user.id)


_UNPUBLISHED = (sa.select(Proposal.id).where(Proposal.estate_id == sa.bindparam("estate"),
                                              Proposal.author_id == sa.bindparam("user"),
                                              Proposal.published_at.is_(None)).limit(1))


def has_unpublished(estate: Place, user: User) -> bool:
    """Has this person drafts (or proposals withdrawn unpublished) in the estate? Only they see them listed.
    (Asked on every list page: the statement is built once.)"""
    return db.session.scalar(_UNPUBLISHED, {"estate": estate.id, "user": user.id}) is not None


def threshold_of(estate_id: int) -> int:
    value = db.session.scalar(sa.select(ProposalSettings.cosign_threshold)
                              .where(ProposalSettings.estate_id == estate_id))
    return value or DEFAULT_COSIGN_THRESHOLD


def set_threshold(estate: Place, by: User, threshold: int) -> None:
    if threshold < 1:
        raise Refused(_l("The threshold is at least one household."), "cosign_threshold")
    settings = db.session.scalar(sa.select(ProposalSettings).where(ProposalSettings.estate_id == estate.id))
    if settings is None:
        settings = ProposalSettings(estate_id=estate.id)
        db.session.add(settings)
    settings.cosign_threshold = threshold
    db.session.flush()


# ---- writing --------------------------------------------------------------------------------------

def _buildings(estate: Place, building_ids: Iterable[int]) -> list[Place]:
    ids = sorted(set(building_ids))
    if not ids:
        return []
    found = list(db.session.scalars(sa.select(Place).where(
        Place.id.in_(ids), Place.parent_id == estate.id, Place.kind == PlaceKind.BUILDING)))
    if len(found) != len(ids):
        raise Refused(_l("Choose buildings of this estate."), "buildings")
    return found


def _check_cost(cost, government, outside, residents) -> None:
    problem = cost_problem(cost, government, outside, residents)
    if problem is not None:
        raise Refused(COST_PROBLEMS[problem], "cost_yuan" if problem is CostProblem.SHARES_WITHOUT_COST
                      else "share_residents")


def _fill(proposal: Proposal, estate: Place, title: str, body: str, category: Category, building_ids,
          cost, government, outside, residents) -> None:
    title = (title or "").strip()
    if not title:
        raise Refused(_l("Please write a short title."), "title")
    _check_cost(cost, government, outside, residents)
    proposal.title, proposal.body, proposal.category = title[:120], (body or "").strip()[:20000], category
    proposal.buildings = _buildings(estate, building_ids)
    proposal.cost_yuan = cost
    proposal.share_government, proposal.share_outside, proposal.share_residents = government, outside, residents


def create(estate: Place, by: User, title: str, body: str, category: Category, building_ids: Iterable[int] = (),
           cost: int | None = None, government: int | None = None, outside: int | None = None,
           residents: int | None = None) -> Proposal:
    """Write a draft; its author follows it from the start."""
    if estate.kind is not PlaceKind.ESTATE:
        raise Refused(_l("Proposals are written for an estate."))
    proposal = Proposal(estate_id=estate.id, author_id=by.id, state=ProposalState.DRAFT, created_at=utcnow())
    _fill(proposal, estate, title, body, category, building_ids, cost, government, outside, residents)
    db.session.add(proposal)
    db.session.flush()
    db.session.add(Follow(proposal_id=proposal.id, user_id=by.id))
    record(by, "proposal.created", estate, "proposal", proposal.id)
    return proposal


def move(proposal: Proposal, step: Step, by: User | None, tell: bool = True) -> None:
    """Move the proposal by `step` (refused unless the table allows it), record it, tell the followers
    (unless the caller sends them a more precise message itself)."""
    try:
        proposal.state = next_state(proposal.state, step)
    except NotAllowed:
        raise Refused(REFUSALS.get(step, _l("This is not possible now."))) from None
    record(by, f"proposal.{step.value}", proposal.estate_id, "proposal", proposal.id)
    if tell and step is not Step.EDIT:
        inbox.notify_selected(following(proposal), "proposal.changed", "proposal", proposal.id, proposal.title,
                              by.id if by else None)


def _author_only(proposal: Proposal, by: User) -> None:
    if proposal.author_id != by.id:
        raise Refused(_l("Only the author can do this."))


def edit(proposal: Proposal, by: User, title: str, body: str, category: Category, building_ids: Iterable[int] = (),
         cost: int | None = None, government: int | None = None, outside: int | None = None,
         residents: int | None = None) -> None:
    """Change a draft; once published the text stays as the neighbours co-signed it."""
    _author_only(proposal, by)
    move(proposal, Step.EDIT, by)
    _fill(proposal, proposal.estate, title, body, category, building_ids, cost, government, outside, residents)


def publish(proposal: Proposal, by: User) -> None:
    _author_only(proposal, by)
    move(proposal, Step.PUBLISH, by)
    proposal.published_at = utcnow()


def withdraw(proposal: Proposal, by: User) -> None:
    _author_only(proposal, by)
    move(proposal, Step.WITHDRAW, by)
    proposal.withdrawn_at = utcnow()


# ---- co-signing and following ---------------------------------------------------------------------

def _scope_households(proposal: Proposal):
    """Households inside the proposal's scope (its buildings, or every building of the estate)."""
    buildings = scope_of(proposal)
    query = sa.select(Household.id).join(Place, Place.id == Household.building_id)
    if buildings:
        return query.where(Household.building_id.in_(sorted(buildings)))
    return query.where(Place.parent_id == proposal.estate_id)


def _approved_households(user_ids) -> sa.Select:
    return sa.select(Membership.household_id).where(
        Membership.user_id.in_(user_ids), Membership.status == MembershipStatus.APPROVED)


def cosigning_households(proposal: Proposal) -> int:
    """Distinct households, inside the scope, of the people who co-signed: the count that matters."""
    cosigners = sa.select(Cosign.user_id).where(Cosign.proposal_id == proposal.id).scalar_subquery()
    query = _approved_households(cosigners).where(
        Membership.household_id.in_(_scope_households(proposal).scalar_subquery()))
    return db.session.scalar(sa.select(sa.func.count(sa.distinct(query.subquery().c.household_id)))) or 0


_READER_FACTS = sa.select(  # built once: asked on every proposal page
    sa.exists().where(Cosign.proposal_id == sa.bindparam("proposal"), Cosign.user_id == sa.bindparam("user")),
    sa.exists().where(Follow.proposal_id == sa.bindparam("proposal"), Follow.user_id == sa.bindparam("user")),
    sa.exists().where(ProposalComment.proposal_id == sa.bindparam("proposal"),
                      ProposalComment.author_id == sa.bindparam("user")))


def reader_facts(proposal_id: int, user: User) -> tuple[bool, bool, bool]:
    """Has this person co-signed the proposal, do they follow it, have they commented on it? One query."""
    row = db.session.execute(_READER_FACTS, {"proposal": proposal_id, "user": user.id}).one()
    return bool(row[0]), bool(row[1]), bool(row[2])


def has_cosigned(proposal: Proposal, user: User) -> bool:
    return db.session.scalar(sa.select(Cosign.id).where(
        Cosign.proposal_id == proposal.id, Cosign.user_id == user.id)) is not None


def cosign(proposal: Proposal, user: User, standing: Standing) -> bool:
    """Co-sign once; returns True if this made the proposal eligible for the agenda."""
    if proposal.state not in COSIGNABLE:
        raise Refused(_l("Proposals are co-signed while they are open for discussion."))
    if not may_cosign(standing, proposal):
        raise Refused(_l("Only residents of the buildings the proposal concerns can co-sign it."))
    if has_cosigned(proposal, user):
        raise Refused(_l("You have already co-signed this proposal."))
    mine = _approved_households([user.id]).where(
        Membership.household_id.in_(_scope_households(proposal).scalar_subquery()))
    if db.session.scalar(mine.limit(1)) is None:
        raise Refused(_l("Only residents of the buildings the proposal concerns can co-sign it."))
    try:
        with db.session.begin_nested():  # two tabs at once: the unique constraint decides, politely
            db.session.add(Cosign(proposal_id=proposal.id, user_id=user.id))
    except IntegrityError:
        raise Refused(_l("You have already co-signed this proposal.")) from None
    proposal.household_count = cosigning_households(proposal)
    if proposal.eligible_at is None and reaches_threshold(proposal.household_count, threshold_of(proposal.estate_id)):
        proposal.eligible_at = utcnow()
        record(None, "proposal.eligible", proposal.estate_id, "proposal", proposal.id,
               detail=str(proposal.household_count))
        inbox.notify(followers(proposal), "proposal.eligible", "proposal", proposal.id, proposal.title)
        return True
    return False


def following(proposal: Proposal) -> sa.Select:
    """Who follows the proposal, as a query (for notify_selected: told in one statement)."""
    return sa.select(Follow.user_id).where(Follow.proposal_id == proposal.id)


def followers(proposal: Proposal) -> list[int]:
    return list(db.session.scalars(following(proposal)))


def is_following(proposal: Proposal, user: User) -> bool:
    return db.session.scalar(sa.select(Follow.id).where(
        Follow.proposal_id == proposal.id, Follow.user_id == user.id)) is not None


def follow(proposal: Proposal, user: User) -> None:
    if is_following(proposal, user):
        raise Refused(_l("You already follow this proposal."))
    db.session.add(Follow(proposal_id=proposal.id, user_id=user.id))
    db.session.flush()


def unfollow(proposal: Proposal, user: User) -> None:
    deleted = db.session.execute(versions.placed(sa.delete(Follow).where(
        Follow.proposal_id == proposal.id, Follow.user_id == user.id), proposal.estate_id)).rowcount
    if not deleted:
        raise Refused(_l("You do not follow this proposal."))


# ---- lists ----------------------------------------------------------------------------------------

SORTS = ("newest", "cosigned", "discussed")


def search_clause(words: str):
    """Every word (split on spaces) must appear in the title or the body. Chinese has no spaces, so a
    word is any run of characters: "电梯 补贴" finds proposals that mention both; % and _ are literal."""
    terms = [w for w in (words or "").split() if w][:5]
    return sa.and_(*[sa.or_(Proposal.title.contains(t, autoescape=True), Proposal.body.contains(t, autoescape=True))
                     for t in terms]) if terms else sa.true()


def estate_page(estate: Place, user: User, page: int, per_page: int, state: ProposalState | None = None,
                category: Category | None = None, sort: str = "newest", words: str = ""):
    """One page of an estate's proposals the reader may see (three queries: rows, count, buildings)."""
    query = (sa.select(Proposal).where(Proposal.estate_id == estate.id, visible_clause(user))
             .options(joinedload(Proposal.author), selectinload(Proposal.buildings)))
    if state is not None:
        query = query.where(Proposal.state == state)
    if category is not None:
        query = query.where(Proposal.category == category)
    query = query.where(search_clause(words))
    if sort == "cosigned":
        query = query.order_by(Proposal.household_count.desc(), Proposal.id.desc())
    elif sort == "discussed":
        query = query.order_by(Proposal.comment_count.desc(), Proposal.id.desc())
    else:
        query = query.order_by(Proposal.created_at.desc(), Proposal.id.desc())
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def open_count(estate_id: int) -> int:
    """Published proposals of the estate that are not finished, for the estate page's panel."""
    return db.session.scalar(sa.select(sa.func.count(Proposal.id)).where(
        Proposal.estate_id == estate_id, Proposal.state.in_(
            [ProposalState.OPEN, ProposalState.ON_AGENDA, ProposalState.VOTING]))) or 0

