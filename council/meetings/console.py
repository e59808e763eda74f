"""The live meeting (the secretary's console) and its action items: check people in, write each item's
notes, decision and show of hands as the meeting goes (each save is kept at once), set action items with a
person or unit and a deadline (定人、定责、定时限), and track them to done."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from council.accounts.models import User
from council.activity.services import record, register_verbs
from council.concerns import services as concerns
from council.concerns.models import Concern
from council.concerns.rules import ConcernStatus
from council.exceptions import Refused
from council.extensions import db
from council.meetings.models import ActionItem, AgendaItem, Attendance, Meeting
from council.meetings.rules import ActionStatus, AttendeeKind, MeetingState
from council.notifications import services as inbox
from council.proposals import stages
from council.proposals.models import Proposal
from council.proposals.rules import ProposalState
from council.sqltypes import utcnow
from council.territory.models import Place

register_verbs({
    "meeting.action_done": _l("closed an action item of a meeting"),
})
inbox.register({
    "meeting.action": _l("A meeting gave you an action item."),
    "meeting.action_overdue": _l("An action item of yours is past its deadline."),
}, "action", lambda action_id: _action_link(action_id))
NOTES_LIMIT = 20000


def _action_link(action_id: int) -> str:
    action = db.session.get(ActionItem, action_id)
    return url_for("meetings.actions", place_id=action.place_id) if action else "/"


def _live(meeting: Meeting) -> None:
    if meeting.state is MeetingState.CANCELLED:
        raise Refused(_l("This meeting is cancelled."))


# ---- attendance --------------------------------------------------------------------------------------

def check_in(meeting: Meeting, by: User, user: User | None = None, name: str = "",
             kind: AttendeeKind = AttendeeKind.RESIDENT, unit: str = "", now: datetime | None = None) -> bool:
    """Check someone in (an account, or a walk-in by name). Returns False if they were already in."""
    _live(meeting)
    name = (user.display_name if user else (name or "").strip())[:64]
    if not name:
        raise Refused(_l("Give the person's name, or their mobile number or username."), "name")
    try:
        with db.session.begin_nested():  # twice, or from two devices: the unique index keeps one
            db.session.add(Attendance(meeting_id=meeting.id, user_id=user.id if user else None, name=name,
                                      kind=kind, unit=(unit or "").strip()[:100], checked_in_at=now or utcnow(),
                                      checked_in_by_id=by.id))
    except IntegrityError:
        return False
    return True


def attendance(meeting: Meeting) -> list[Attendance]:
    return list(db.session.scalars(sa.select(Attendance).where(Attendance.meeting_id == meeting.id)
                                   .order_by(Attendance.checked_in_at, Attendance.id)))


# ---- the items, as the meeting goes ------------------------------------------------------------------

def save_item(meeting: Meeting, item: AgendaItem, notes: str, decision: str, hands: tuple | None = None) -> None:
    """Save one item's notes, decision and (optional) show of hands, entered by the chair."""
    _live(meeting)
    if hands is not None and any(h is not None and h < 0 for h in hands):
        raise Refused(_l("Counts cannot be negative."), "hands_for")
    item.notes = (notes or "")[:NOTES_LIMIT]
    item.decision = (decision or "")[:NOTES_LIMIT]
    if hands is not None:
        item.hands_for, item.hands_against, item.hands_abstain = hands
    db.session.flush()


# ---- action items ---------------------------------------------------------------------------------------

def add_action(meeting: Meeting, by: User, what: str, due: date, owner: User | None = None, unit: str = "",
               item: AgendaItem | None = None) -> ActionItem:
    """An action item: what, who (a person or a unit), by when. A concern's or proposal's item carries it."""
    _live(meeting)
    what = (what or "").strip()
    if not what:
        raise Refused(_l("Say what is to be done."), "what")
    unit = (unit or "").strip()
    if owner is None and not unit:
        raise Refused(_l("Name who does it: a person, or a unit."), "owner")
    if due is None:
        raise Refused(_l("Give a deadline."), "due")
    action = ActionItem(meeting_id=meeting.id, place_id=meeting.place_id, agenda_item_id=item.id if item else None,
                        what=what[:200], owner_id=owner.id if owner else None, owner_unit=unit[:100], due=due,
                        concern_id=item.concern_id if item else None, proposal_id=item.proposal_id if item else None)
    db.session.add(action)
    db.session.flush()
    if owner is not None:
        inbox.notify([owner.id], "meeting.action", "action", action.id, action.what, by.id)
    return action


def actions_of(meeting: Meeting) -> list[ActionItem]:
    return list(db.session.scalars(sa.select(ActionItem).options(joinedload(ActionItem.owner))
                                   .where(ActionItem.meeting_id == meeting.id).order_by(ActionItem.id)))


def open_actions_page(place: Place, page: int, per_page: int, done: bool = False):
    """A place's action items: the open ones, earliest deadline first (or the done ones, latest first)."""
    query = sa.select(ActionItem).options(joinedload(ActionItem.owner), joinedload(ActionItem.meeting)).where(
        ActionItem.place_id == place.id)
    if done:
        query = query.where(ActionItem.status == ActionStatus.DONE).order_by(ActionItem.done_at.desc())
    else:
        query = query.where(ActionItem.status == ActionStatus.OPEN).order_by(ActionItem.due, ActionItem.id)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def get_action_or_none(action_id: int) -> ActionItem | None:
    return db.session.get(ActionItem, action_id)


def _move_on(action: ActionItem, by: User) -> None:
    """Closing an action item from a concern resolves it; from a proposal, starts or finishes carrying it out.
    Each move is recorded in the concern's or proposal's own timeline by its own service."""
    if action.concern_id:
        concern = db.session.get(Concern, action.concern_id)
        if concern.status is ConcernStatus.REPORTED:
            concerns.accept(concern, by)
        if concern.status in (ConcernStatus.ACCEPTED, ConcernStatus.IN_PROGRESS):
            concerns.resolve(concern, by, note=action.what)
    if action.proposal_id:
        proposal = db.session.get(Proposal, action.proposal_id)
        if proposal.state is ProposalState.PASSED:
            stages.start(proposal, by)
        elif proposal.state is ProposalState.IN_PROGRESS:
            stages.finish(proposal, by)


def close_action(action: ActionItem, by: User, note: str = "", now: datetime | None = None) -> None:
    """Mark done (the owner or the organisers), once; the concern or proposal it came from moves on."""
    done = db.session.execute(sa.update(ActionItem).where(ActionItem.id == action.id,
                                                          ActionItem.status == ActionStatus.OPEN)
                              .values(status=ActionStatus.DONE, done_at=now or utcnow(), done_by_id=by.id,
                                      note=(note or "").strip()[:500])
                              .execution_options(synchronize_session=False)).rowcount
    if done != 1:
        raise Refused(_l("This action item is already done."))
    db.session.refresh(action)
    record(by, "meeting.action_done", action.place_id, "meeting", action.meeting_id, detail=action.what)
    _move_on(action, by)


def remind_overdue_actions(today: date) -> int:
    """Tell each owner of an overdue action item (daily, from cron with the concerns' reminder)."""
    overdue = list(db.session.scalars(sa.select(ActionItem).where(
        ActionItem.status == ActionStatus.OPEN, ActionItem.due < today, ActionItem.owner_id.is_not(None))))
    for action in overdue:
        inbox.notify([action.owner_id], "meeting.action_overdue", "action", action.id, action.what)
    return len(overdue)


def overdue_count(place: Place, today: date) -> int:
    return db.session.scalar(sa.select(sa.func.count(ActionItem.id)).where(
        ActionItem.place_id == place.id, ActionItem.status == ActionStatus.OPEN, ActionItem.due < today)) or 0

