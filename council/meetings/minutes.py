"""Minutes: drafted from the console, corrected by attendees' suggestions, approved by the chair, published
for everyone and never changed afterwards (a correction is a new revision with its differences shown)."""
from __future__ import annotations

import difflib
from datetime import date, timedelta

import segno
import sqlalchemy as sa
from flask import abort
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from council import pagecache
from council.accounts.models import User
from council.activity.services import record, register_verbs
from council.audit import services as audit
from council.concerns.queries import local_midnight
from council.exceptions import Refused
from council.extensions import db
from council.i18n import counted, fmt_date, fmt_datetime, labelled
from council.meetings.console import actions_of, attendance
from council.meetings.models import Meeting, Minutes, MinutesCorrection
from council.meetings.rules import CorrectionState, MeetingKind, MinutesState
from council.meetings.services import agenda
from council.sqltypes import utcnow
from council.territory.models import Place

register_verbs({
    "minutes.drafted": _l("drafted the minutes"),
    "minutes.approved": _l("approved the minutes"),
    "minutes.published": _l("published the minutes"),
})
BODY_LIMIT = 50000


def latest(meeting: Meeting) -> Minutes | None:
    return db.session.scalar(sa.select(Minutes).where(Minutes.meeting_id == meeting.id)
                             .order_by(Minutes.revision.desc()).limit(1))


def published_of(meeting: Meeting) -> list[Minutes]:
    return list(db.session.scalars(sa.select(Minutes).where(Minutes.meeting_id == meeting.id,
                                                            Minutes.state == MinutesState.PUBLISHED)
                                   .order_by(Minutes.revision)))


def get_minutes_or_404(minutes_id: int) -> Minutes:
    minutes = db.session.get(Minutes, minutes_id, options=[joinedload(Minutes.meeting).joinedload(Meeting.place)])
    if minutes is None:
        abort(404)
    return minutes


def compose(meeting: Meeting) -> str:
    """The draft, written from the console: attendance, every item with its notes, decision, show of hands,
    and the action items (定人、定责、定时限)."""
    present = attendance(meeting)
    lines = [meeting.title, labelled(_("Date and time"), fmt_datetime(meeting.starts_at))]
    if meeting.location:
        lines.append(labelled(_("Where"), meeting.location))
    if meeting.chair:
        lines.append(labelled(_("Chair"), meeting.chair.display_name))
    if meeting.minute_taker:
        lines.append(labelled(_("Minute-taker"), meeting.minute_taker.display_name))
    lines.append(labelled(counted(_("Present"), len(present)), "、".join(
        a.name + (f"（{a.unit}）" if a.unit else "") for a in present)))
    lines.append("")
    for item in agenda(meeting):
        lines.append(f"{item.position}. {item.title}")
        if item.notes.strip():
            lines.append(item.notes.strip())
        if item.decision.strip():
            lines.append(labelled(_("Decision"), item.decision.strip()))
        if item.hands_for is not None:
            lines.append(_("Show of hands: %(a)s for, %(b)s against, %(c)s abstaining.", a=item.hands_for,
                           b=item.hands_against or 0, c=item.hands_abstain or 0))
        lines.append("")
    actions = actions_of(meeting)
    if actions:
        lines.append(_("Action items"))
        for action in actions:
            who = action.owner.display_name if action.owner else action.owner_unit
            lines.append(f"- {action.what} · {who} · {_('by %(day)s', day=fmt_date(action.due))}")
    return "\n".join(lines).strip() + "\n"


def draft(meeting: Meeting, by: User, change_note: str = "") -> Minutes:
    """Draft the minutes from the console, or a correcting revision from the published text."""
    current = latest(meeting)
    if current is not None and current.state is not MinutesState.PUBLISHED:
        raise Refused(_l("A draft of these minutes is already being written."))
    if current is not None and not (change_note or "").strip():
        raise Refused(_l("Say what the new revision corrects."), "change_note")
    minutes = Minutes(meeting_id=meeting.id, revision=(current.revision + 1) if current else 1,
                      state=MinutesState.DRAFT, body=current.body if current else compose(meeting),
                      change_note=(change_note or "").strip()[:500], created_by_id=by.id)
    db.session.add(minutes)
    db.session.flush()
    record(by, "minutes.drafted", meeting.place_id, "meeting", meeting.id, detail=f"r{minutes.revision}")
    return minutes


def _draft_only(minutes: Minutes) -> None:
    if minutes.state is not MinutesState.DRAFT:
        raise Refused(_l("Approved or published minutes cannot be changed; draft a new revision instead."))


def edit(minutes: Minutes, body: str) -> None:
    _draft_only(minutes)
    body = (body or "").strip()
    if not body:
        raise Refused(_l("The minutes cannot be empty."), "body")
    minutes.body = body[:BODY_LIMIT] + "\n"


def attended(meeting: Meeting, user: User) -> bool:
    return any(a.user_id == user.id for a in attendance(meeting))


def suggest(minutes: Minutes, user: User, body: str) -> MinutesCorrection:
    """An attendee suggests a correction to the draft."""
    _draft_only(minutes)
    if not attended(minutes.meeting, user):
        raise Refused(_l("Only those who attended may suggest corrections."))
    body = (body or "").strip()
    if not body:
        raise Refused(_l("Please write the correction."), "body")
    correction = MinutesCorrection(minutes_id=minutes.id, author_id=user.id, body=body[:2000])
    db.session.add(correction)
    db.session.flush()
    return correction


def corrections(minutes: Minutes) -> list[MinutesCorrection]:
    return list(db.session.scalars(sa.select(MinutesCorrection).options(joinedload(MinutesCorrection.author))
                                   .where(MinutesCorrection.minutes_id == minutes.id)
                                   .order_by(MinutesCorrection.id)))


def decide(correction: MinutesCorrection, minutes: Minutes, by: User, accept: bool) -> None:
    """The minute-taker accepts (and writes it into the draft) or declines a suggestion, once."""
    _draft_only(minutes)
    if correction.state is not CorrectionState.PENDING:
        raise Refused(_l("This suggestion has already been decided."))
    correction.state = CorrectionState.ACCEPTED if accept else CorrectionState.DECLINED
    correction.decided_at, correction.decided_by_id = utcnow(), by.id
    # Audited only (no activity verb yet): the decision shows on the minutes page itself.
    audit.append(by, f"minutes.correction_{correction.state.value}", minutes.meeting.place_id, "meeting",
                 minutes.meeting_id, target=correction.author_id, detail=f"r{minutes.revision}",
                 at=correction.decided_at)


def approve(minutes: Minutes, by: User) -> None:
    """The chair approves the draft; no suggestion may still be waiting."""
    _draft_only(minutes)
    if by.id != minutes.meeting.chair_id:
        raise Refused(_l("Only the chair of the meeting approves its minutes."))
    if any(c.state is CorrectionState.PENDING for c in corrections(minutes)):
        raise Refused(_l("Decide every suggested correction first."))
    minutes.state, minutes.approved_at, minutes.approved_by_id = MinutesState.APPROVED, utcnow(), by.id
    record(by, "minutes.approved", minutes.meeting.place_id, "meeting", minutes.meeting_id)


def publish(minutes: Minutes, by: User) -> None:
    """Approved minutes become public (party meetings: to party members) and never change again."""
    done = db.session.execute(sa.update(Minutes).where(Minutes.id == minutes.id,
                                                       Minutes.state == MinutesState.APPROVED)
                              .values(state=MinutesState.PUBLISHED, published_at=utcnow())
                              .execution_options(synchronize_session=False)).rowcount
    if done != 1:
        raise Refused(_l("Only approved minutes can be published."))
    db.session.refresh(minutes)
    record(by, "minutes.published", minutes.meeting.place_id, "meeting", minutes.meeting_id,
           detail=f"r{minutes.revision}")
    # The earlier revisions' pages list the revisions: the ones kept for anonymous visitors go.
    earlier = [(m.id,) for m in published_of(minutes.meeting) if m.id != minutes.id]
    pagecache.forget_after_commit("minutes", earlier)


def differences(minutes: Minutes) -> list[tuple[str, str]]:
    """What a revision changed from the previous published one: ('+', line) added, ('-', line) removed."""
    previous = db.session.scalar(sa.select(Minutes).where(
        Minutes.meeting_id == minutes.meeting_id, Minutes.revision < minutes.revision,
        Minutes.state == MinutesState.PUBLISHED).order_by(Minutes.revision.desc()).limit(1))
    if previous is None:
        return []
    return [(line[0], line[2:]) for line in difflib.ndiff(previous.body.splitlines(), minutes.body.splitlines())
            if line[:1] in "+-"]


def qr_svg(url: str) -> str:
    """A QR code to the online page, drawn on the server (no script, no outside service)."""
    return segno.make(url, error="m").svg_inline(scale=3, dark="#000")


def public(minutes: Minutes) -> bool:
    """Published minutes of any meeting but a party members' meeting may be read without signing in."""
    return minutes.state is MinutesState.PUBLISHED and minutes.meeting.kind is not MeetingKind.PARTY


def archive_page(place: Place, page: int, per_page: int, words: str = "", start: date | None = None,
                 end: date | None = None):
    """Published minutes of a place (party meetings left out), searchable by words and dates."""
    query = (sa.select(Minutes).join(Meeting, Meeting.id == Minutes.meeting_id)
             .options(joinedload(Minutes.meeting))
             .where(Meeting.place_id == place.id, Minutes.state == MinutesState.PUBLISHED,
                    Meeting.kind != MeetingKind.PARTY))
    for word in (words or "").split()[:5]:
        query = query.where(sa.or_(Minutes.body.contains(word, autoescape=True),
                                   Meeting.title.contains(word, autoescape=True)))
    if start:
        query = query.where(Meeting.starts_at >= local_midnight(start))
    if end:
        query = query.where(Meeting.starts_at < local_midnight(end + timedelta(days=1)))
    return db.paginate(query.order_by(Meeting.starts_at.desc(), Minutes.revision.desc()), page=page,
                       per_page=per_page, error_out=False)
