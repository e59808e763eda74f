"""A vote in the open: the turnout drive while it runs (who has not voted yet, door visits, turnout by
building: participation only), and after the close the preliminary result, objections answered in public,
the final result and the filing tables (明细表 / 汇总表) for the street office."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from council.accounts.models import User
from council.activity.services import record, register_verbs
from council.ballots import rules
from council.ballots.choices import options_of
from council.ballots.models import Objection, Poll, PollState, RollLine
from council.ballots.services import lines_for, stored_result
from council.exceptions import Refused
from council.extensions import db
from council.owners.services import live_owners
from council.sqltypes import utcnow
from council.territory.models import Place

register_verbs({
    "vote.objection": _l("lodged an objection to the preliminary result"),
    "vote.objection_answered": _l("answered an objection to the preliminary result"),
})
OBJECTION_LIMIT = 2000


# ---- turnout drive --------------------------------------------------------------------------------

def turnout_by_building(poll: Poll) -> list[tuple[str, int, int]]:
    """(building, on the roll, taken part) per building, for the organisers: counts only. One query."""
    rows = db.session.execute(
        sa.select(Place.name, sa.func.count(RollLine.id), sa.func.count(RollLine.status))
        .join(Place, Place.id == RollLine.building_id).where(RollLine.poll_id == poll.id)
        .group_by(Place.id, Place.name, Place.sort_key).order_by(Place.sort_key, Place.id))
    return [(name, roll, voted) for name, roll, voted in rows]


def record_declined(poll: Poll, line: RollLine, by: User, now: datetime | None = None) -> None:
    """A door visit: the voter declined to vote. They may still vote until the close."""
    now = now or utcnow()
    if poll.state is not PollState.OPEN:
        raise Refused(_l("This vote is closed."))
    done = db.session.execute(sa.update(RollLine).where(RollLine.id == line.id, RollLine.status.is_(None))
                              .values(declined_at=now).execution_options(synchronize_session=False)).rowcount
    if done != 1:
        raise Refused(_l("This line has already voted."))


def doors_page(poll: Poll, page: int, per_page: int, buildings: list[int] | None = None):
    """The door-to-door list: lines that have not voted yet, in building and room order (never a choice)."""
    query = (sa.select(RollLine).options(joinedload(RollLine.proxy))
             .where(RollLine.poll_id == poll.id, RollLine.status.is_(None)))
    if buildings is not None:
        query = query.where(RollLine.building_id.in_(buildings))
    return db.paginate(query.order_by(RollLine.sort_key, RollLine.id), page=page, per_page=per_page,
                       error_out=False)


def owner_names(lines: Iterable[RollLine]) -> dict[int, str]:
    """The current owners' names of these units (for the door-to-door list), one query."""
    owners = live_owners(line.household_id for line in lines if line.household_id)
    return {hid: "、".join(o.name for o in found) for hid, found in owners.items()}


# ---- after the close --------------------------------------------------------------------------------

def unanswered(poll: Poll) -> int:
    return db.session.scalar(sa.select(sa.func.count(Objection.id)).where(
        Objection.poll_id == poll.id, Objection.answered_at.is_(None))) or 0


def standing(poll: Poll, now: datetime | None = None) -> rules.Standing:
    return rules.result_standing(poll.closed_at, poll.objection_days, now or utcnow(), unanswered(poll))


def objections(poll: Poll, page: int, per_page: int):
    query = (sa.select(Objection).options(joinedload(Objection.author), joinedload(Objection.answered_by))
             .where(Objection.poll_id == poll.id).order_by(Objection.created_at, Objection.id))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def on_roll(poll: Poll, user: User) -> bool:
    """Did this person hold a ballot of the poll (their own, their household's or their unit's)?"""
    return bool(lines_for(poll, user))


def lodge(poll: Poll, user: User, body: str, now: datetime | None = None) -> Objection:
    """A voter objects to the preliminary result, within the window; the organisers must answer."""
    now = now or utcnow()
    if not rules.objections_open(poll.closed_at, poll.objection_days, now):
        raise Refused(_l("Objections are taken only while the preliminary result is published."))
    body = (body or "").strip()
    if not body:
        raise Refused(_l("Please say what you object to."), "body")
    if not on_roll(poll, user):
        raise Refused(_l("Only voters on the roll of this vote can object to its result."))
    objection = Objection(poll_id=poll.id, author_id=user.id, body=body[:OBJECTION_LIMIT], created_at=now)
    db.session.add(objection)
    db.session.flush()
    record(user, "vote.objection", poll.place_id, poll.subject_type, poll.subject_id)
    return objection


def answer(objection: Objection, poll: Poll, by: User, text: str, now: datetime | None = None) -> None:
    """The organisers answer in public; the answer, once given, is not changed."""
    text = (text or "").strip()
    if not text:
        raise Refused(_l("Please write the answer."), "body")
    done = db.session.execute(sa.update(Objection).where(Objection.id == objection.id,
                                                         Objection.answered_at.is_(None))
                              .values(answer=text[:OBJECTION_LIMIT], answered_by_id=by.id,
                                      answered_at=now or utcnow())
                              .execution_options(synchronize_session=False)).rowcount
    if done != 1:
        raise Refused(_l("This objection has already been answered."))
    db.session.refresh(objection)
    record(by, "vote.objection_answered", poll.place_id, poll.subject_type, poll.subject_id)


def get_objection_or_none(poll: Poll, objection_id: int) -> Objection | None:
    objection = db.session.get(Objection, objection_id)
    return objection if objection is not None and objection.poll_id == poll.id else None


# ---- participation list and filing tables ---------------------------------------------------------

def participation_page(poll: Poll, page: int, per_page: int):
    """Who took part, as the public sees it: unit and floor area only, never a name or a choice."""
    query = (sa.select(RollLine).where(RollLine.poll_id == poll.id, RollLine.status.is_not(None))
             .order_by(RollLine.sort_key, RollLine.id))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def detail_rows(poll: Poll, with_choices: bool) -> Iterable[list[str]]:
    """明细表: one row per unit of the roll (unit, area, taken part, channel; the choice only for the
    organisers of a named vote). Streams the rows in batches."""
    header = ["unit", "area_m2", "kind", "took_part", "channel"]
    show = with_choices and not poll.secret
    yield header + (["choice"] if show else [])
    query = (sa.select(RollLine).where(RollLine.poll_id == poll.id).order_by(RollLine.sort_key, RollLine.id)
             .execution_options(yield_per=500))
    for line in db.session.scalars(query):
        row = [line.label, f"{line.area_dm2 // 100}.{line.area_dm2 % 100:02d}", line.kind.value,
               "y" if line.status else "", line.status.value if line.status else ""]
        yield row + ([line.choice.value if line.choice else ""] if show else [])


def summary_rows(poll: Poll) -> list[list[str]]:
    """汇总表: the count and every threshold, as filed with the street office."""
    if poll.max_choices is not None:
        return _choice_summary(poll)
    result = stored_result(poll)
    if result is None:
        return []
    rows = [["measure", "numerator", "denominator", "required", "met"]]
    for t in result.thresholds:
        rows.append([t.measure.value, str(t.numerator), str(t.denominator),
                     f"{'>' if t.bound is rules.Bound.MORE_THAN else '>='} {t.required}", "y" if t.met else "n"])
    rows.append(["for / against / abstain (heads)", str(result.heads.in_favour), str(result.heads.against),
                 str(result.heads.abstain), ""])
    if result.area_dm2 is not None:
        rows.append(["for / against / abstain (dm2)", str(result.area_dm2.in_favour), str(result.area_dm2.against),
                     str(result.area_dm2.abstain), ""])
    rows.append(["passed", "y" if result.passed else "n", "", "", ""])
    return rows


def _choice_summary(poll: Poll) -> list[list[str]]:
    """汇总表 of a choice vote: each option's votes and area as written at close, and the totals."""
    rows = [["option", "votes", "area_dm2", "carried"]]
    rows += [[f"{o.position}. {o.label}", str(o.heads or 0), "" if o.area_dm2 is None else str(o.area_dm2),
              "y" if o.carried else "n"] for o in options_of(poll)]
    rows += [["none of these", str(poll.against_heads or 0), "", ""], ["abstain", str(poll.abstain_heads or 0), "", ""],
             ["void", str(poll.void_heads or 0), "", ""], ["on the roll", str(poll.roll_heads or 0),
                                                           str(poll.roll_area_dm2 or ""), ""]]
    return rows
