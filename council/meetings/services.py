"""Meeting services: schedule single meetings and weekly series (skip or move one date), build the agenda
from this week's concerns and from proposals, publish it to the place's members, calendar files, RSVPs."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import abort, url_for
from flask_babel import lazy_gettext as _l
from icalendar import Calendar, Event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from council import versions
from council.accounts.models import User
from council.activity.services import record, register_verbs
from council.concerns.models import Concern
from council.concerns.queries import this_week
from council.concerns.rules import OPEN as OPEN_CONCERNS
from council.exceptions import Refused
from council.extensions import db
from council.i18n import at_local, local_today
from council.meetings import rules
from council.meetings.models import AgendaItem, Meeting, MeetingSeries, Rsvp
from council.meetings.rules import ItemKind, MeetingKind, MeetingState
from council.membership.models import Membership, MembershipStatus, PartyMember
from council.notifications import services as inbox
from council.permissions import Action, Standing, allowed
from council.proposals import stages
from council.proposals.models import Proposal
from council.proposals.rules import ProposalState
from council.sqltypes import utcnow
from council.territory.models import Household, Place, PlaceKind

KIND_LABELS = {
    MeetingKind.FRIDAY: _l("Friday meeting (相约星期五)"),
    MeetingKind.FORUM: _l("Consultation forum"),
    MeetingKind.JOINT: _l("Joint meeting with outside units"),
    MeetingKind.PARTY: _l("Party members' meeting"),
    MeetingKind.BUILDING: _l("Building meeting"),
}
register_verbs({
    "meeting.scheduled": _l("scheduled a meeting"),
    "meeting.series": _l("started a weekly meeting series"),
    "meeting.published": _l("published the agenda"),
    "meeting.cancelled": _l("cancelled a meeting"),
    "meeting.moved": _l("moved a meeting"),
})
inbox.register({"meeting.published": _l("A meeting's agenda has been published.")}, "meeting",
               lambda meeting_id: url_for("meetings.show", meeting_id=meeting_id))
FOLLOW_UP = _l("Follow-up on the last meeting's action items")
AHEAD_WEEKS = 4  # a series shows its next four dates


def local_start(day: date, hour: int, minute: int) -> datetime:
    """A series date at its local time (Asia/Shanghai by default), in UTC."""
    return at_local(day, time(hour, minute))


# ---- loading and permissions ----------------------------------------------------------------------

def get_meeting_or_404(meeting_id: int) -> Meeting:
    meeting = db.session.get(Meeting, meeting_id, options=[joinedload(Meeting.place), joinedload(Meeting.chair),
                                                           joinedload(Meeting.minute_taker)])
    if meeting is None:
        abort(404)
    return meeting


@dataclass(frozen=True)
class MeetingHead:
    """What the meeting page needs before a kept page is asked for: who may see it and run it, and where."""
    id: int
    kind: MeetingKind
    state: MeetingState
    chair_id: int | None
    minute_taker_id: int | None
    place: versions.PlaceHead

    @property
    def lineage_ids(self) -> tuple[int, ...]:
        return self.place.lineage_ids


def meeting_head(meeting_id: int) -> MeetingHead:
    """One query, always read afresh (not from the session's identity map), or 404."""
    row = db.session.execute(
        sa.select(Meeting.id, Meeting.kind, Meeting.state, Meeting.chair_id, Meeting.minute_taker_id,
                  Meeting.place_id, Place.kind.label("place_kind"), Place.name, Place.address, Place.path)
        .join(Place, Place.id == Meeting.place_id).where(Meeting.id == meeting_id)).one_or_none()
    if row is None:
        abort(404)
    return MeetingHead(row.id, row.kind, row.state, row.chair_id, row.minute_taker_id,
                       versions.place_head(row.place_id, row.place_kind, row.name, row.address, row.path))


def is_party_member(user: User, place: Place) -> bool:
    """A party member of the estate (or, for a community's meeting, of any estate beneath it)."""
    query = sa.select(PartyMember.id).join(Place, Place.id == PartyMember.estate_id).where(
        PartyMember.user_id == user.id, PartyMember.ended_at.is_(None))
    if place.kind is PlaceKind.ESTATE:
        query = query.where(PartyMember.estate_id == place.id)
    else:
        query = query.where(Place.path.startswith(place.path))
    return db.session.scalar(query.limit(1)) is not None


def may_run(standing: Standing, user: User, meeting: Meeting) -> bool:
    """Only the organisers (secretary, committee, administrator), the chair and the minute-taker change it."""
    return (allowed(standing, Action.MEETING_RUN, meeting.place.lineage_ids)
            or user.id in (meeting.chair_id, meeting.minute_taker_id))


def is_member(standing: Standing, place: Place) -> bool:
    """Belongs to the place: a resident of the estate, or of an estate of the community; or staff above it."""
    if allowed(standing, Action.PLACE_VIEW, place.lineage_ids):
        return True
    if place.kind is PlaceKind.ESTATE or not standing.member_places:
        return False
    estates = db.session.scalars(sa.select(Place.id).where(Place.kind == PlaceKind.ESTATE,
                                                           Place.path.startswith(place.path)))
    return any(estate in standing.member_places for estate in estates)


def may_see(standing: Standing, user: User, meeting: Meeting) -> bool:
    party = meeting.kind is MeetingKind.PARTY and is_party_member(user, meeting.place)
    return rules.may_see(meeting.kind, meeting.state, may_run(standing, user, meeting),
                         is_member(standing, meeting.place), party)


# ---- scheduling -----------------------------------------------------------------------------------

def _check_place(place: Place) -> None:
    if place.kind not in (PlaceKind.ESTATE, PlaceKind.COMMUNITY):
        raise Refused(_l("Meetings are held for an estate or a community."))


def _follow_up(meeting: Meeting) -> None:
    """Every meeting after the first of its place opens with the follow-up of the last one's action items."""
    earlier = db.session.scalar(sa.select(Meeting.id).where(
        Meeting.place_id == meeting.place_id, Meeting.id != meeting.id, Meeting.starts_at < meeting.starts_at,
        Meeting.state != MeetingState.CANCELLED).limit(1))
    if earlier is not None:
        db.session.add(AgendaItem(meeting_id=meeting.id, position=1, kind=ItemKind.FOLLOW_UP,
                                  title=str(FOLLOW_UP), minutes=10))


def schedule(place: Place, by: User, kind: MeetingKind, title: str, starts_at: datetime, location: str = "",
             chair: User | None = None, minute_taker: User | None = None, invited_units: str = "",
             now: datetime | None = None) -> Meeting:
    """A single meeting, in draft until its agenda is published."""
    _check_place(place)
    title = (title or "").strip()
    if not title:
        raise Refused(_l("Please give the meeting a title."), "title")
    if starts_at < (now or utcnow()):
        raise Refused(_l("A meeting is scheduled in the future."), "day")
    meeting = Meeting(place_id=place.id, kind=kind, title=title[:120], starts_at=starts_at,
                      location=(location or "").strip()[:120], chair_id=chair.id if chair else by.id,
                      minute_taker_id=minute_taker.id if minute_taker else None,
                      invited_units=(invited_units or "").strip()[:500], state=MeetingState.DRAFT,
                      created_by_id=by.id)
    db.session.add(meeting)
    db.session.flush()
    _follow_up(meeting)
    record(by, "meeting.scheduled", place, "meeting", meeting.id, detail=meeting.title)
    return meeting


def start_series(place: Place, by: User, title: str, weekday: int = rules.FRIDAY, hour: int = 19, minute: int = 30,
                 location: str = "", today: date | None = None) -> MeetingSeries:
    """A weekly series (相约星期五 by default: Friday 19:30); its next dates are created as drafts."""
    _check_place(place)
    title = (title or "").strip()
    if not title:
        raise Refused(_l("Please give the meeting a title."), "title")
    if not (0 <= weekday <= 6 and 0 <= hour <= 23 and 0 <= minute <= 59):
        raise Refused(_l("Choose a day of the week and a time."), "weekday")
    series = MeetingSeries(place_id=place.id, title=title[:120], weekday=weekday, hour=hour, minute=minute,
                           location=(location or "").strip()[:120], created_by_id=by.id)
    db.session.add(series)
    db.session.flush()
    record(by, "meeting.series", place, "meeting_series", series.id, detail=series.title)
    extend_series(series, by, today)
    return series


def extend_series(series: MeetingSeries, by: User | None, today: date | None = None) -> int:
    """Create the series' missing dates for the coming weeks (a skipped or moved date is never recreated).
    Safe to run from several processes at once: the unique (series, date) decides."""
    if series.ended_at is not None:
        return 0
    today = today or local_today()
    have = set(db.session.scalars(sa.select(Meeting.series_date).where(Meeting.series_id == series.id)))
    created = 0
    for day in rules.series_dates(series.weekday, today, today + timedelta(weeks=AHEAD_WEEKS)):
        if day in have:
            continue
        try:
            with db.session.begin_nested():
                meeting = Meeting(place_id=series.place_id, series_id=series.id, series_date=day,
                                  kind=MeetingKind.FRIDAY, title=series.title,
                                  starts_at=local_start(day, series.hour, series.minute), location=series.location,
                                  chair_id=series.created_by_id, state=MeetingState.DRAFT,
                                  created_by_id=by.id if by else series.created_by_id)
                db.session.add(meeting)
                db.session.flush()
                _follow_up(meeting)
                created += 1
        except IntegrityError:
            continue  # another process created this date first
    return created


def cancel(meeting: Meeting, by: User, now: datetime | None = None) -> None:
    """Call a meeting off, or skip one date of a series: the series goes on and the date is not recreated."""
    if meeting.state is MeetingState.CANCELLED:
        raise Refused(_l("This meeting is already cancelled."))
    meeting.state = MeetingState.CANCELLED
    meeting.cancelled_at = now or utcnow()
    record(by, "meeting.cancelled", meeting.place_id, "meeting", meeting.id, detail=meeting.title)


def move(meeting: Meeting, by: User, starts_at: datetime, location: str | None = None,
         now: datetime | None = None) -> None:
    """Move one meeting (a date of a series keeps its place in the series)."""
    if meeting.state is MeetingState.CANCELLED:
        raise Refused(_l("This meeting is cancelled."))
    if starts_at < (now or utcnow()):
        raise Refused(_l("A meeting is scheduled in the future."), "day")
    meeting.starts_at = starts_at
    if location is not None and location.strip():
        meeting.location = location.strip()[:120]
    record(by, "meeting.moved", meeting.place_id, "meeting", meeting.id, detail=meeting.title)


def upcoming_page(place: Place, user: User, organiser: bool, page: int, per_page: int, past: bool = False,
                  now: datetime | None = None):
    """A place's meetings this person may see, the coming ones first (or the past ones, latest first)."""
    now = now or utcnow()
    query = sa.select(Meeting).where(Meeting.place_id == place.id)
    if not organiser:
        query = query.where(Meeting.state == MeetingState.PUBLISHED)
        if not is_party_member(user, place):
            query = query.where(Meeting.kind != MeetingKind.PARTY)
    if past:
        query = query.where(Meeting.starts_at < now).order_by(Meeting.starts_at.desc(), Meeting.id.desc())
    else:
        query = query.where(Meeting.starts_at >= now).order_by(Meeting.starts_at, Meeting.id)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


# ---- the agenda ------------------------------------------------------------------------------------

def agenda(meeting: Meeting) -> list[AgendaItem]:
    return list(db.session.scalars(sa.select(AgendaItem).where(AgendaItem.meeting_id == meeting.id)
                                   .order_by(AgendaItem.position, AgendaItem.id)))


def _editable(meeting: Meeting) -> None:
    if meeting.state is MeetingState.CANCELLED:
        raise Refused(_l("This meeting is cancelled."))


def _lock(meeting: Meeting) -> None:
    """Hold the meeting row while the agenda is renumbered (PostgreSQL); SQLite serialises writers."""
    db.session.execute(sa.select(Meeting.id).where(Meeting.id == meeting.id).with_for_update())


def _append(meeting: Meeting, **fields) -> AgendaItem:
    _lock(meeting)
    last = db.session.scalar(sa.select(sa.func.max(AgendaItem.position)).where(AgendaItem.meeting_id == meeting.id))
    item = AgendaItem(meeting_id=meeting.id, position=(last or 0) + 1, **fields)
    db.session.add(item)
    db.session.flush()
    return item


def _in_place(meeting: Meeting, estate_id: int) -> bool:
    place = meeting.place
    if place.kind is PlaceKind.ESTATE:
        return estate_id == place.id
    estate = db.session.get(Place, estate_id)
    return estate is not None and estate.path.startswith(place.path)


def add_concern(meeting: Meeting, concern: Concern) -> AgendaItem:
    """One click from this week's list of public concerns (民情清单)."""
    _editable(meeting)
    if concern.status not in OPEN_CONCERNS or not _in_place(meeting, concern.estate_id):
        raise Refused(_l("Only an open concern of this meeting's place can go on its agenda."))
    if db.session.scalar(sa.select(AgendaItem.id).where(AgendaItem.meeting_id == meeting.id,
                                                        AgendaItem.concern_id == concern.id)):
        raise Refused(_l("This concern is already on the agenda."))
    return _append(meeting, kind=ItemKind.CONCERN, title=concern.title, concern_id=concern.id, minutes=10)


def add_proposal(meeting: Meeting, proposal: Proposal, by: User) -> AgendaItem:
    """A proposal that enough households co-signed; putting it on the agenda moves it to "on the agenda"."""
    _editable(meeting)
    if proposal.eligible_at is None or not _in_place(meeting, proposal.estate_id):
        raise Refused(_l("Only a proposal of this place that enough households co-signed can go on the agenda."))
    if proposal.state not in (ProposalState.OPEN, ProposalState.ON_AGENDA, ProposalState.VOTING):
        raise Refused(_l("This proposal is no longer open for the agenda."))
    if db.session.scalar(sa.select(AgendaItem.id).where(AgendaItem.meeting_id == meeting.id,
                                                        AgendaItem.proposal_id == proposal.id)):
        raise Refused(_l("This proposal is already on the agenda."))
    if proposal.state is ProposalState.OPEN:
        stages.put_on_agenda(proposal, by)
    return _append(meeting, kind=ItemKind.PROPOSAL, title=proposal.title, proposal_id=proposal.id, minutes=20)


def add_free(meeting: Meeting, title: str, presenter: str = "", minutes: int = 10) -> AgendaItem:
    _editable(meeting)
    title = (title or "").strip()
    if not title:
        raise Refused(_l("Please write the item."), "title")
    if not 1 <= minutes <= 240:
        raise Refused(_l("Between 1 and 240 minutes."), "minutes")
    return _append(meeting, kind=ItemKind.FREE, title=title[:200], presenter=(presenter or "").strip()[:64],
                   minutes=minutes)


def get_item_or_404(meeting: Meeting, item_id: int) -> AgendaItem:
    item = db.session.get(AgendaItem, item_id)
    if item is None or item.meeting_id != meeting.id:
        abort(404)
    return item


def move_item(meeting: Meeting, item: AgendaItem, step: int) -> None:
    """Move an item up or down; the whole agenda is renumbered from the order as stored now."""
    _editable(meeting)
    _lock(meeting)
    order = rules.moved([i.id for i in agenda(meeting)], item.id, step)
    for position, item_id in enumerate(order, start=1):
        db.session.execute(versions.placed(sa.update(AgendaItem).where(AgendaItem.id == item_id)
                                           .values(position=position)
                                           .execution_options(synchronize_session=False), meeting.place_id))
    db.session.expire_all()


def remove_item(meeting: Meeting, item: AgendaItem) -> None:
    _editable(meeting)
    _lock(meeting)
    db.session.delete(item)
    db.session.flush()
    for position, remaining in enumerate(agenda(meeting), start=1):
        remaining.position = position


def candidates(meeting: Meeting, standing: Standing, limit: int = 20) -> tuple[list[Concern], list[Proposal]]:
    """This week's concerns and the eligible proposals of the place that are not on the agenda yet."""
    on = set(db.session.scalars(sa.select(AgendaItem.concern_id).where(AgendaItem.meeting_id == meeting.id)))
    concerns = [c for c in this_week(meeting.place, standing, limit + len(on)) if c.id not in on][:limit]
    taken = sa.select(AgendaItem.proposal_id).where(AgendaItem.meeting_id == meeting.id,
                                                    AgendaItem.proposal_id.is_not(None))
    query = sa.select(Proposal).where(
        Proposal.eligible_at.is_not(None), Proposal.state.in_([ProposalState.OPEN, ProposalState.ON_AGENDA]),
        Proposal.id.not_in(taken))
    if meeting.place.kind is PlaceKind.ESTATE:
        query = query.where(Proposal.estate_id == meeting.place_id)
    else:
        estates = sa.select(Place.id).where(Place.kind == PlaceKind.ESTATE, Place.path.startswith(meeting.place.path))
        query = query.where(Proposal.estate_id.in_(estates.scalar_subquery()))
    return concerns, list(db.session.scalars(query.order_by(Proposal.eligible_at).limit(limit)))


# ---- publishing, calendars, who will come ---------------------------------------------------------

def _audience(meeting: Meeting) -> list[int]:
    """Who hears of a published agenda: the place's members (party members only, for a party meeting)."""
    place = meeting.place
    if meeting.kind is MeetingKind.PARTY:
        query = sa.select(PartyMember.user_id).join(Place, Place.id == PartyMember.estate_id).where(
            PartyMember.ended_at.is_(None), Place.path.startswith(place.path))
        return list(db.session.scalars(query.distinct()))
    buildings = sa.select(Place.id).where(Place.kind == PlaceKind.BUILDING, Place.path.startswith(place.path))
    return list(db.session.scalars(
        sa.select(Membership.user_id).join(Household, Household.id == Membership.household_id)
        .where(Membership.status == MembershipStatus.APPROVED, Household.building_id.in_(buildings.scalar_subquery()))
        .distinct()))


def publish(meeting: Meeting, by: User) -> int:
    """Publish the agenda: members are told (party members only, for a party meeting). Returns how many."""
    if meeting.state is not MeetingState.DRAFT:
        raise Refused(_l("Only a draft agenda can be published."))
    meeting.state = MeetingState.PUBLISHED
    meeting.published_at = utcnow()
    record(by, "meeting.published", meeting.place_id, "meeting", meeting.id, detail=meeting.title)
    return inbox.notify(_audience(meeting), "meeting.published", "meeting", meeting.id, meeting.title, by.id)


def answer(meeting: Meeting, user: User, coming: bool, now: datetime | None = None) -> None:
    """A member says whether they will come (once per person; the latest answer counts)."""
    now = now or utcnow()
    if meeting.state is not MeetingState.PUBLISHED or meeting.starts_at <= now:
        raise Refused(_l("Answers are taken for a published meeting that has not started."))
    existing = db.session.scalar(sa.select(Rsvp).where(Rsvp.meeting_id == meeting.id, Rsvp.user_id == user.id))
    if existing is not None:
        existing.coming, existing.answered_at = coming, now
        return
    try:
        with db.session.begin_nested():  # two taps at once: the unique constraint keeps one answer
            db.session.add(Rsvp(meeting_id=meeting.id, user_id=user.id, coming=coming, answered_at=now))
    except IntegrityError:
        db.session.execute(versions.placed(sa.update(Rsvp).where(Rsvp.meeting_id == meeting.id,
                                                                 Rsvp.user_id == user.id)
                                           .values(coming=coming, answered_at=now), meeting.place_id))


def answer_of(meeting_id: int, user: User) -> bool | None:
    """This person's answer to the meeting (coming or not), None if they gave none."""
    return db.session.scalar(sa.select(Rsvp.coming).where(Rsvp.meeting_id == meeting_id, Rsvp.user_id == user.id))


def answers(meeting: Meeting, user: User) -> tuple[int, int, bool | None]:
    """(coming, not coming, this person's answer or None): one query."""
    rows = db.session.execute(sa.select(Rsvp.user_id, Rsvp.coming).where(Rsvp.meeting_id == meeting.id)).all()
    mine = next((coming for uid, coming in rows if uid == user.id), None)
    return sum(1 for _u, c in rows if c), sum(1 for _u, c in rows if not c), mine


def _event(meeting: Meeting, items: list[AgendaItem]) -> Event:
    event = Event()
    event.add("uid", f"meeting-{meeting.id}@council")
    event.add("dtstamp", utcnow())
    event.add("dtstart", meeting.starts_at)
    event.add("dtend", meeting.starts_at + timedelta(minutes=max(30, sum(i.minutes for i in items) or 90)))
    event.add("summary", meeting.title)
    if meeting.location:
        event.add("location", meeting.location)
    event.add("description", "\n".join(f"{i.position}. {i.title}" for i in items))
    if meeting.state is MeetingState.CANCELLED:
        event.add("status", "CANCELLED")
    return event


def _calendar(name: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", "-//Council//邻里议事厅//ZH")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", name)
    return calendar


def ics(meeting: Meeting) -> bytes:
    calendar = _calendar(meeting.title)
    calendar.add_component(_event(meeting, agenda(meeting)))
    return calendar.to_ical()


def feed(place: Place, limit: int = 50) -> bytes:
    """The place's published meetings (not party meetings) as an iCalendar feed a phone can subscribe to."""
    meetings = list(db.session.scalars(
        sa.select(Meeting).where(Meeting.place_id == place.id, Meeting.kind != MeetingKind.PARTY,
                                 Meeting.state.in_([MeetingState.PUBLISHED, MeetingState.CANCELLED]),
                                 Meeting.published_at.is_not(None))
        .order_by(Meeting.starts_at.desc()).limit(limit)))
    items: dict[int, list[AgendaItem]] = {m.id: [] for m in meetings}
    if meetings:
        for item in db.session.scalars(sa.select(AgendaItem).where(AgendaItem.meeting_id.in_(list(items)))
                                       .order_by(AgendaItem.position, AgendaItem.id)):
            items[item.meeting_id].append(item)
    calendar = _calendar(place.name)
    for meeting in meetings:
        calendar.add_component(_event(meeting, items[meeting.id]))
    return calendar.to_ical()
