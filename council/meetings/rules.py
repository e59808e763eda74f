"""Pure rules of meetings: the dates of a weekly series, the agenda's order, who may see a meeting.

No Flask, no database: plain values in, plain values out, property-tested at their edges.
"""
from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import date, timedelta

FRIDAY = 4


class MeetingKind(enum.StrEnum):
    FRIDAY = "friday"  # 相约星期五: the weekly meeting on the list of public concerns
    FORUM = "forum"  # 恳谈会: community, property manager and residents
    JOINT = "joint"  # 联席会议: joint party-building meeting with outside units
    PARTY = "party"  # 党员大会: party members only
    BUILDING = "building"  # 一楼见: a building's residents at their door


class MeetingState(enum.StrEnum):
    DRAFT = "draft"  # the agenda is being built: only the organisers see it
    PUBLISHED = "published"  # the agenda is out: members are told and may say whether they will come
    CANCELLED = "cancelled"  # a skipped date of a series, or a meeting called off


class ItemKind(enum.StrEnum):
    CONCERN = "concern"
    PROPOSAL = "proposal"
    FREE = "free"
    FOLLOW_UP = "follow_up"  # follow-up on the last meeting's action items, added by itself


class AttendeeKind(enum.StrEnum):
    RESIDENT = "resident"
    CADRE = "cadre"  # street or community cadre, party-branch secretary, service team
    UNIT = "unit"  # representative of an outside unit (property company, police, utilities...)


class ActionStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"


class MinutesState(enum.StrEnum):
    DRAFT = "draft"  # the minute-taker writes; attendees may suggest corrections
    APPROVED = "approved"  # the chair approved it
    PUBLISHED = "published"  # public and never changed: a correction is a new revision


class CorrectionState(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


def is_overdue(status: ActionStatus, due: date, today: date) -> bool:
    """An open action item is overdue the day after its deadline (the deadline day itself is still on time)."""
    return status is ActionStatus.OPEN and today > due


def series_dates(weekday: int, start: date, until: date) -> list[date]:
    """Every date from `start` to `until` (both included) that falls on `weekday` (Monday 0 ... Sunday 6)."""
    if not 0 <= weekday <= 6:
        raise ValueError("weekday is 0 (Monday) to 6 (Sunday)")
    first = start + timedelta(days=(weekday - start.weekday()) % 7)
    dates = []
    day = first
    while day <= until:
        dates.append(day)
        day += timedelta(days=7)
    return dates


def moved(order: Sequence[int], item: int, step: int) -> list[int]:
    """The agenda's item ids after moving `item` `step` places (negative: earlier), clamped to the ends.
    Applied to the order as stored now, so two devices moving items one after the other stay consistent."""
    order = list(order)
    if item not in order:
        raise ValueError("the item is not on this agenda")
    i = order.index(item)
    j = max(0, min(len(order) - 1, i + step))
    order.insert(j, order.pop(i))
    return order


def may_see(kind: MeetingKind, state: MeetingState, organiser: bool, member: bool, party_member: bool) -> bool:
    """Organisers see every meeting of their place; others see published ones of a place they belong to,
    and a party members' meeting only if they are party members of the estate."""
    if organiser:
        return True
    if state is MeetingState.DRAFT:
        return False
    if kind is MeetingKind.PARTY:
        return party_member
    return member
