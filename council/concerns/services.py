"""Concern services: report, support, comment, handle, escalate, follow up, merge, call departments."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import abort, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from council import versions
from council.accounts.models import User
from council.activity.services import record, register_detail_labels, register_verbs
from council.concerns.models import Comment, Concern, DepartmentCall, Support
from council.concerns.rules import (
    FINISHED,
    OPEN,
    Category,
    Channel,
    ConcernStatus,
    Level,
    NotAllowed,
    Step,
    allowed_steps,
    escalation_target,
    follow_up_step,
    next_status,
    similar_titles,
)
from council.exceptions import Refused
from council.extensions import db
from council.notifications import services as inbox
from council.permissions import Action, Standing, allowed
from council.sqltypes import utcnow
from council.territory.models import Place, PlaceKind

CATEGORY_LABELS = {
    Category.FACILITIES: _l("Facilities"),
    Category.PARKING: _l("Parking and traffic"),
    Category.SAFETY: _l("Safety and fire"),
    Category.ENVIRONMENT: _l("Environment and hygiene"),
    Category.DISPUTE: _l("Neighbour dispute"),
    Category.ELDERLY_CHILDREN: _l("Elderly and children"),
    Category.OTHER: _l("Other"),
}
CHANNEL_LABELS = {
    Channel.ONLINE: _l("Online"),
    Channel.STAND: _l("At the ground-floor stand (一楼见)"),
    Channel.PHONE: _l("By phone"),
    Channel.VISIT: _l("On a door visit"),
    Channel.MEETING: _l("At a meeting"),
}
STATUS_LABELS = {
    ConcernStatus.REPORTED: _l("Reported"),
    ConcernStatus.ACCEPTED: _l("Accepted"),
    ConcernStatus.IN_PROGRESS: _l("In progress"),
    ConcernStatus.RESOLVED: _l("Resolved"),
    ConcernStatus.FOLLOWED_UP: _l("Followed up"),
    ConcernStatus.CLOSED: _l("Closed"),
    ConcernStatus.DECLINED: _l("Declined"),
    ConcernStatus.MERGED: _l("Merged"),
}
LEVEL_LABELS = {
    Level.ESTATE: _l("Estate"),
    Level.GRID: _l("Grid"),
    Level.COMMUNITY: _l("Community"),
    Level.STREET: _l("Street"),
}
# Activity sentences for the concern's timeline, and inbox sentences for those who follow it.
TIMELINE = {
    "concern.reported": _l("reported it"),
    "concern.accept": _l("accepted it"),
    "concern.decline": _l("declined it"),
    "concern.start": _l("started work on it"),
    "concern.resolve": _l("marked it resolved"),
    "concern.follow_up_happy": _l("recorded the follow-up visit"),
    "concern.follow_up_unhappy": _l("recorded an unhappy follow-up visit and reopened it"),
    "concern.close": _l("closed it"),
    "concern.merge": _l("merged it into another concern"),
    "concern.merged_in": _l("merged a duplicate into it"),
    "concern.assign": _l("assigned an owner"),
    "concern.deadline": _l("set the deadline"),
    "concern.unit": _l("named the responsible unit"),
    "concern.escalate": _l("escalated it"),
    "concern.called": _l("called a department (呼叫)"),
    "concern.dept_reported": _l("recorded that the department reported (报到)"),
}
INBOX = {
    "concern.changed": _l("The concern you raised or support has moved on."),
    "concern.commented": _l("There is a new comment on a concern you raised or support."),
    "concern.assigned": _l("A concern has been assigned to you."),
    "concern.overdue": _l("A concern you own is past its deadline."),
}
register_verbs(TIMELINE)
register_detail_labels(["concern.escalate"], {level.value: label for level, label in LEVEL_LABELS.items()})
inbox.register(INBOX, "concern", lambda concern_id: url_for("concerns.show", concern_id=concern_id))

REFUSALS = {
    Step.ACCEPT: _l("Only a newly reported concern can be accepted."),
    Step.DECLINE: _l("Only a newly reported concern can be declined."),
    Step.START: _l("Accept the concern before starting work on it."),
    Step.RESOLVE: _l("Only an accepted concern can be marked resolved."),
    Step.FOLLOW_UP_HAPPY: _l("A follow-up visit is recorded once the concern is resolved."),
    Step.FOLLOW_UP_UNHAPPY: _l("A follow-up visit is recorded once the concern is resolved."),
    Step.CLOSE: _l("A concern is closed after its follow-up visit."),
    Step.MERGE: _l("Only an open concern can be merged."),
    Step.ASSIGN: _l("Accept the concern before assigning it."),
    Step.ESCALATE: _l("Only an open concern can be escalated."),
}


# ---- loading and permissions ----------------------------------------------------------------------

def get_concern_or_404(concern_id: int) -> Concern:
    concern = db.session.get(Concern, concern_id, options=[
        joinedload(Concern.place), joinedload(Concern.holder), joinedload(Concern.reporter),
        joinedload(Concern.owner)])
    if concern is None:
        abort(404)
    return concern


def may_view(standing: Standing, concern: Concern) -> bool:
    """Members of the building (or estate) it is about, and staff above it."""
    return allowed(standing, Action.PLACE_VIEW, concern.place.lineage_ids)


def may_handle(standing: Standing, concern: Concern) -> bool:
    """Staff of the level that holds it; at estate level also the building leader of its building."""
    if allowed(standing, Action.CONCERN_HANDLE, concern.holder.lineage_ids):
        return True
    return concern.level is Level.ESTATE and allowed(standing, Action.CONCERN_HANDLE, concern.place.lineage_ids)


def may_follow_up(standing: Standing, user: User | None, concern: Concern) -> bool:
    return (user is not None and concern.reporter_id == user.id) or may_handle(standing, concern)


def reporter_label(concern: Concern, staff: bool) -> str:
    """The reporter as a reader may see them: staff always see the name, residents only if shown."""
    name = concern.reporter.display_name if concern.reporter else (concern.reporter_name or "")
    if staff or concern.show_name:
        return name or str(_l("A resident"))
    return str(_l("A resident"))


def visible_clause(standing: Standing, estate: Place):
    """What of an estate's concerns a reader may list: all for its staff, their own places for members."""
    if allowed(standing, Action.CONCERN_HANDLE, estate.lineage_ids):
        return sa.true()
    # Members see their building and estate; a building leader also sees the building they lead.
    places = standing.member_places | {place_id for _role, place_id in standing.roles}
    return Concern.place_id.in_(sorted(places) or [-1])


# ---- reporting, support and comments --------------------------------------------------------------

def _estate_of(place: Place) -> Place:
    if place.kind is PlaceKind.ESTATE:
        return place
    if place.kind is PlaceKind.BUILDING:
        return place.parent
    raise Refused(_l("Concerns are raised about a building or an estate."))


def report(place: Place, by: User, title: str, description: str, category: Category, show_name: bool = True,
           *, channel: Channel = Channel.ONLINE, reporter: User | None = None,
           reporter_name: str | None = None) -> Concern:
    """Raise a concern; staff recording for someone else give the channel and who it was."""
    estate = _estate_of(place)
    on_behalf = channel is not Channel.ONLINE or reporter is not None or bool(reporter_name)
    concern = Concern(
        place_id=place.id, estate_id=estate.id, holder_id=estate.id, level=Level.ESTATE,
        title=title.strip(), description=(description or "").strip(), category=category,
        status=ConcernStatus.REPORTED, show_name=show_name, channel=channel,
        reporter_id=(reporter.id if reporter else None) if on_behalf else by.id,
        reporter_name=(reporter_name or "").strip() or None if on_behalf else None,
        recorded_by_id=by.id if on_behalf else None, created_at=utcnow())
    db.session.add(concern)
    db.session.flush()
    record(by, "concern.reported", place, "concern", concern.id)
    return concern


def similar_open(place: Place, title: str, limit: int = 5) -> list[Concern]:
    """Open concerns of the same place with a similar title, to offer "me too" instead of a duplicate."""
    candidates = db.session.execute(
        sa.select(Concern.id, Concern.title)
        .where(Concern.place_id == place.id, Concern.status.in_(OPEN))
        .order_by(Concern.id.desc()).limit(300)).all()
    ids = similar_titles(title, [(cid, t) for cid, t in candidates], limit)
    if not ids:
        return []
    found = {c.id: c for c in db.session.scalars(sa.select(Concern).where(Concern.id.in_(ids)))}
    return [found[i] for i in ids]


def has_supported(concern: Concern, user: User) -> bool:
    return db.session.scalar(sa.select(Support.id).where(
        Support.concern_id == concern.id, Support.user_id == user.id)) is not None


def support(concern: Concern, user: User) -> None:
    """Add a "me too", once per person; the reporter already counts."""
    if concern.status in FINISHED:
        raise Refused(_l("This concern is no longer open."))
    if concern.reporter_id == user.id or has_supported(concern, user):
        raise Refused(_l("You already support this concern."))
    db.session.add(Support(concern_id=concern.id, user_id=user.id))
    db.session.flush()
    db.session.execute(versions.placed(sa.update(Concern).where(Concern.id == concern.id)
                                       .values(support_count=Concern.support_count + 1), concern.place_id))
    db.session.refresh(concern, ["support_count"])


def followers(concern: Concern) -> list[int]:
    """The reporter and every supporter: who hears when the concern moves."""
    ids = list(db.session.scalars(sa.select(Support.user_id).where(Support.concern_id == concern.id)))
    return [concern.reporter_id, *ids] if concern.reporter_id else ids


def add_comment(concern: Concern, by: User, body: str) -> Comment:
    body = (body or "").strip()
    if not body:
        raise Refused(_l("Please write something."), "body")
    comment = Comment(concern_id=concern.id, author_id=by.id, body=body[:4000])
    db.session.add(comment)
    db.session.execute(versions.placed(sa.update(Concern).where(Concern.id == concern.id)
                                       .values(comment_count=Concern.comment_count + 1), concern.place_id))
    db.session.flush()
    inbox.notify(followers(concern), "concern.commented", "concern", concern.id, concern.title, by.id)
    return comment


def comments_of(concern: Concern, limit: int = 200) -> list[Comment]:
    return list(db.session.scalars(sa.select(Comment).where(Comment.concern_id == concern.id)
                                   .options(joinedload(Comment.author)).order_by(Comment.id).limit(limit)))


# ---- handling -------------------------------------------------------------------------------------

def _step(concern: Concern, step: Step, by: User, detail: str | None = None, note: str | None = None,
          notify: bool = True) -> None:
    """Move the concern by `step` (refused unless the table allows it) and record it."""
    try:
        concern.status = next_status(concern.status, step)
    except NotAllowed:
        raise Refused(REFUSALS[step]) from None
    record(by, f"concern.{step.value}", concern.place_id, "concern", concern.id, detail=detail, note=note)
    if notify:
        inbox.notify(followers(concern), "concern.changed", "concern", concern.id, concern.title, by.id)


def _set_owner(concern: Concern, by: User, owner: User | None, unit: str | None, deadline: date | None) -> None:
    """定人、定责、定时限: record each of person, unit and deadline that changes."""
    if owner is not None and owner.id != concern.owner_id:
        concern.owner_id = owner.id
        record(by, "concern.assign", concern.place_id, "concern", concern.id, target=owner)
        inbox.notify([owner.id], "concern.assigned", "concern", concern.id, concern.title, by.id)
    unit = (unit or "").strip() or None
    if unit is not None and unit != concern.responsible_unit:
        concern.responsible_unit = unit
        record(by, "concern.unit", concern.place_id, "concern", concern.id, detail=unit)
    if deadline is not None and deadline != concern.deadline:
        concern.deadline = deadline
        concern.overdue_notified_on = None
        record(by, "concern.deadline", concern.place_id, "concern", concern.id, detail=deadline.isoformat())


def accept(concern: Concern, by: User, owner: User | None = None, unit: str | None = None,
           deadline: date | None = None) -> None:
    _step(concern, Step.ACCEPT, by)
    concern.accepted_at = utcnow()
    _set_owner(concern, by, owner, unit, deadline)


def decline(concern: Concern, by: User, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise Refused(_l("Please give the resident a reason."), "reason")
    _step(concern, Step.DECLINE, by, note=reason)
    concern.decline_reason = reason[:500]


def assign(concern: Concern, by: User, owner: User | None, unit: str | None, deadline: date | None) -> None:
    if Step.ASSIGN not in allowed_steps(concern.status):
        raise Refused(REFUSALS[Step.ASSIGN])
    _set_owner(concern, by, owner, unit, deadline)


def start(concern: Concern, by: User) -> None:
    _step(concern, Step.START, by)


def resolve(concern: Concern, by: User, note: str | None = None) -> None:
    _step(concern, Step.RESOLVE, by, note=(note or "").strip() or None)
    concern.resolved_at, concern.resolved_level = utcnow(), concern.level


def follow_up(concern: Concern, by: User, rating: int, comment: str | None = None) -> None:
    """The follow-up visit (回访): a rating of 1-2 reopens the concern, 3-5 completes it."""
    step = follow_up_step(rating)
    _step(concern, step, by, detail=str(rating), note=(comment or "").strip() or None)
    concern.rating, concern.rating_comment = rating, (comment or "").strip()[:500] or None
    if step is Step.FOLLOW_UP_HAPPY:
        concern.followed_up_at = utcnow()
    else:
        concern.resolved_at = concern.resolved_level = None


def close(concern: Concern, by: User) -> None:
    _step(concern, Step.CLOSE, by)
    concern.closed_at = utcnow()


def _levels_above(estate: Place) -> dict[Level, int]:
    """The estate and the places above it that can hold a concern, by level."""
    kinds = dict(db.session.execute(sa.select(Place.kind, Place.id).where(Place.id.in_(estate.lineage_ids))).all())
    by_kind = {PlaceKind.ESTATE: Level.ESTATE, PlaceKind.GRID: Level.GRID, PlaceKind.COMMUNITY: Level.COMMUNITY,
               PlaceKind.STREET: Level.STREET}
    return {by_kind[kind]: place_id for kind, place_id in kinds.items() if kind in by_kind}


def escalate(concern: Concern, by: User, reason: str) -> None:
    """Hand the concern up one level (estate → grid → community → street), with a reason."""
    reason = (reason or "").strip()
    if not reason:
        raise Refused(_l("Please say why it goes up a level."), "reason")
    target = escalation_target(concern.level, _levels_above(concern.estate))
    if target is None:
        raise Refused(_l("The street is the highest level."))
    _step(concern, Step.ESCALATE, by, detail=target[0].value, note=reason)
    concern.level, concern.holder_id = target


def merge(duplicate: Concern, into: Concern, by: User) -> None:
    """Fold a duplicate into another open concern of the same estate; its supporters come along."""
    if duplicate.id == into.id or duplicate.estate_id != into.estate_id:
        raise Refused(_l("Choose another open concern of the same estate."), "into")
    if into.status not in OPEN:
        raise Refused(_l("Choose another open concern of the same estate."), "into")
    _step(duplicate, Step.MERGE, by, detail=str(into.id))
    duplicate.merged_into_id = into.id
    already = set(followers(into))
    for user_id in followers(duplicate):
        if user_id not in already:
            db.session.add(Support(concern_id=into.id, user_id=user_id))
            already.add(user_id)
    db.session.flush()
    count = db.session.scalar(sa.select(sa.func.count(Support.id)).where(Support.concern_id == into.id))
    into.support_count = count + (1 if into.reporter_id or into.reporter_name else 0)
    record(by, "concern.merged_in", into.place_id, "concern", into.id, detail=str(duplicate.id))


def call_department(concern: Concern, by: User, department: str) -> DepartmentCall:
    """呼叫: at street level the street office calls the department responsible."""
    department = (department or "").strip()
    if concern.level is not Level.STREET:
        raise Refused(_l("Departments are called once the concern is at street level."))
    if concern.status not in OPEN:
        raise Refused(_l("A department is called only for an open concern."))
    if not department:
        raise Refused(_l("Please name the department."), "department")
    call = DepartmentCall(concern_id=concern.id, department=department[:100], called_by_id=by.id)
    db.session.add(call)
    db.session.flush()
    record(by, "concern.called", concern.place_id, "concern", concern.id, detail=department[:100])
    return call


def confirm_reported(call: DepartmentCall, concern: Concern, by: User, note: str | None) -> None:
    """报到: the department has come to the estate; recorded once."""
    if call.reported_at is not None:
        raise Refused(_l("This department has already reported."))
    call.reported_at, call.reported_by_id = utcnow(), by.id
    call.report_note = (note or "").strip()[:500] or None
    record(by, "concern.dept_reported", concern.place_id, "concern", concern.id, detail=call.department,
           note=call.report_note)


def calls_of(concern: Concern) -> list[DepartmentCall]:
    return list(db.session.scalars(sa.select(DepartmentCall).where(DepartmentCall.concern_id == concern.id)
                                   .order_by(DepartmentCall.id)))


def remind_overdue(today: date) -> int:
    """Tell each owner, once a day, about their concerns past deadline; returns how many were told."""
    rows = db.session.scalars(sa.select(Concern).where(
        Concern.status.in_(OPEN), Concern.deadline < today, Concern.owner_id.is_not(None),
        sa.or_(Concern.overdue_notified_on.is_(None), Concern.overdue_notified_on < today))).all()
    for concern in rows:
        inbox.notify([concern.owner_id], "concern.overdue", "concern", concern.id, concern.title)
        concern.overdue_notified_on = today
    return len(rows)
