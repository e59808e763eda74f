"""The co-building list (共建清单): tasks a joint meeting offers to outside units, claimed by a unit's
representative and tracked to done; the yearly list per unit."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from council.accounts.models import User
from council.activity.services import record, register_verbs
from council.exceptions import Refused
from council.extensions import db
from council.meetings.models import CoBuildingTask, Meeting
from council.meetings.rules import MeetingKind
from council.sqltypes import utcnow
from council.territory.models import Place

register_verbs({
    "cobuilding.offered": _l("offered a co-building task"),
    "cobuilding.claimed": _l("claimed a co-building task for a unit"),
    "cobuilding.done": _l("marked a co-building task done"),
})


def offer(meeting: Meeting, by: User, title: str) -> CoBuildingTask:
    """A joint meeting offers a task to the outside units."""
    if meeting.kind is not MeetingKind.JOINT:
        raise Refused(_l("Co-building tasks are offered at a joint meeting with outside units."))
    title = (title or "").strip()
    if not title:
        raise Refused(_l("Say what the task is."), "title")
    task = CoBuildingTask(place_id=meeting.place_id, meeting_id=meeting.id, year=meeting.starts_at.year,
                          title=title[:200])
    db.session.add(task)
    db.session.flush()
    record(by, "cobuilding.offered", meeting.place_id, "meeting", meeting.id, detail=task.title)
    return task


def claim(task: CoBuildingTask, by: User, unit: str, now: datetime | None = None) -> None:
    """A unit's representative claims an open task for their unit; a task is claimed once."""
    unit = (unit or "").strip()
    if not unit:
        raise Refused(_l("Name the unit that takes the task on."), "unit")
    done = db.session.execute(sa.update(CoBuildingTask).where(CoBuildingTask.id == task.id,
                                                              CoBuildingTask.unit.is_(None))
                              .values(unit=unit[:100], claimed_by_id=by.id, claimed_at=now or utcnow())
                              .execution_options(synchronize_session=False)).rowcount
    if done != 1:
        raise Refused(_l("Another unit has already claimed this task."))
    db.session.refresh(task)
    record(by, "cobuilding.claimed", task.place_id, "meeting", task.meeting_id, detail=f"{task.title} · {unit}")


def finish(task: CoBuildingTask, by: User, note: str = "", now: datetime | None = None) -> None:
    if task.unit is None:
        raise Refused(_l("A task is claimed before it is done."))
    if task.done_at is not None:
        raise Refused(_l("This task is already done."))
    task.done_at, task.done_note = now or utcnow(), (note or "").strip()[:500]
    record(by, "cobuilding.done", task.place_id, "meeting", task.meeting_id, detail=task.title)


@dataclass(frozen=True)
class UnitTally:
    unit: str
    claimed: int
    done: int


def year_page(place: Place, year: int, page: int, per_page: int):
    """One page of the year's tasks, each with its meeting (whose title the list shows) in the same query."""
    query = (sa.select(CoBuildingTask).options(joinedload(CoBuildingTask.meeting))
             .where(CoBuildingTask.place_id == place.id, CoBuildingTask.year == year)
             .order_by(CoBuildingTask.offered_at, CoBuildingTask.id))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def year_summary(place: Place, year: int) -> tuple[int, int, int, list[UnitTally]]:
    """(offered, claimed, done, per unit): two queries."""
    offered, claimed, done = db.session.execute(
        sa.select(sa.func.count(CoBuildingTask.id), sa.func.count(CoBuildingTask.unit),
                  sa.func.count(CoBuildingTask.done_at))
        .where(CoBuildingTask.place_id == place.id, CoBuildingTask.year == year)).one()
    units = [UnitTally(unit, n, d) for unit, n, d in db.session.execute(
        sa.select(CoBuildingTask.unit, sa.func.count(CoBuildingTask.id), sa.func.count(CoBuildingTask.done_at))
        .where(CoBuildingTask.place_id == place.id, CoBuildingTask.year == year, CoBuildingTask.unit.is_not(None))
        .group_by(CoBuildingTask.unit).order_by(sa.func.count(CoBuildingTask.id).desc(), CoBuildingTask.unit))]
    return offered, claimed, done, units


def get_task_or_none(task_id: int) -> CoBuildingTask | None:
    return db.session.get(CoBuildingTask, task_id)
