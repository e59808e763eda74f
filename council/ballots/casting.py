"""Casting a ballot online, once (DESIGN invariant 3), in as few round trips as the database allows.

A cast is one conditional UPDATE of the voter's roll line, NULL → channel, that must touch exactly one row. The
statement itself names everything that makes the cast allowed: the line is of this poll and not voted yet; it is
the person's own (their line, or their household's as an adult member approved before the poll opened, an owner
in an owners' vote) or one they hold a written proxy for; and the poll is open and within its window. It returns
the line's label for the receipt. A secret ballot then goes in the box with a random id and tracker, nothing else
(on PostgreSQL by the same statement: `_marking_and_boxing`). The statements are built once per kind of poll, on
the tables (building them cost more than running them). When the update touches nothing, `_why_not` reads why, to
say so (or 404 for a line of another poll). Kept pages show a cast only through the vote's turnout, a live part
(council.pagecache.live): a cast moves no version, so everyone's pages of the place being voted in stay kept
through the vote.

A close must never count while a cast is half done (its line marked, its ballot not yet in the box). On
PostgreSQL each cast first holds the poll's advisory lock shared, and a close holds it alone (`hold_for_closing`)
before it marks the poll closed: the close waits for the casts in flight, and a cast that comes after it reads
the poll closed (its update starts after the lock is granted). Unlike a share lock on the poll row, which every
cast would write into the row, an advisory lock writes nothing. SQLite serialises writers anyway.

What a cast needs of its poll and that no service changes once the poll is open (`council.ballots.services.
open_poll`: its place, secrecy, basis, options, window) is its `PollHead`, which each process keeps for
HEAD_SECONDS (`kept_head`); what may change (open or closed) is decided by the statement, never by the head.
Polls on the owner register (one head per owner, across units and sales) take the general path in services.
"""
from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from functools import cache

import sqlalchemy as sa
from cachetools import TTLCache
from flask import abort
from flask_babel import lazy_gettext as _l

from council import pagecache, versions
from council.ballots import choices, rules
from council.ballots.models import Basis, Channel, Poll, PollOption, PollState, RollLine, SecretBallot
from council.ballots.rules import Choice
from council.exceptions import Refused
from council.extensions import db
from council.membership.models import Membership, MembershipStatus, Relation
from council.territory.models import Place

HEAD_SECONDS = 30
# Where a receipt kept for every voter (council.pagecache.briefly_kept) has the voter's own tracker.
TRACKER_MARK = "@@council-tracker@@"
LABEL_MARK = "@@council-roll-line@@"  # and the label of the line cast


@dataclass(frozen=True)
class PollHead:
    """What a cast needs of a poll that stays as it was when the poll opened, and where the poll is."""
    id: int
    place_id: int
    lineage_ids: tuple[int, ...]
    subject_type: str
    subject_id: int
    title: str
    secret: bool
    basis: Basis
    by_register: bool
    max_choices: int | None
    option_positions: frozenset[int]
    opened_at: datetime
    closes_at: datetime
    closed: bool  # when read: a closed poll never opens again

    def may_take(self, now: datetime) -> bool:
        """Not closed when read and within its window: worth sending the cast (the statement decides)."""
        return not self.closed and rules.window_open(now, self.opened_at, self.closes_at)


@dataclass(frozen=True)
class Cast:
    tracker: str | None  # a secret ballot's, shown once
    label: str  # the roll line's, for the receipt


def head_of(poll: Poll, path: str | None = None) -> PollHead:
    """A loaded poll's head; its place's `path` is read unless given, its options when it is a choice vote."""
    if path is None:
        path = db.session.scalar(sa.select(Place.path).where(Place.id == poll.place_id)) or ""
    positions = frozenset(db.session.scalars(sa.select(PollOption.position).where(PollOption.poll_id == poll.id))
                          ) if poll.max_choices is not None else frozenset()
    lineage = tuple(int(p) for p in path.strip("/").split("/") if p) or (poll.place_id,)
    return PollHead(poll.id, poll.place_id, lineage, poll.subject_type, poll.subject_id, poll.title, poll.secret,
                    poll.basis, poll.by_register, poll.max_choices, positions, poll.opened_at, poll.closes_at,
                    poll.state is PollState.CLOSED)


_heads: TTLCache = TTLCache(maxsize=5_000, ttl=HEAD_SECONDS)
_lock = threading.Lock()


def kept_head(poll_id: int, now: datetime) -> PollHead | None:
    """The poll's head from this process's memory (read at most HEAD_SECONDS ago), else read now, and kept if
    the poll takes ballots now (so a refusal for a poll not open yet always comes from what was just read)."""
    with _lock:
        found = _heads.get(poll_id)
    if found is None:
        row = db.session.execute(sa.select(Poll, Place.path).join(Place, Place.id == Poll.place_id)
                                 .where(Poll.id == poll_id)).first()
        if row is None:
            return None
        found = head_of(*row)
        if found.may_take(now):
            with _lock:
                _heads[poll_id] = found
    return found


@pagecache.forgets
def forget() -> None:
    with _lock:
        _heads.clear()


def new_tracker() -> str:
    """A tracker for the voter to keep: 12 characters, unambiguous when read aloud or copied by hand."""
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    return "".join(secrets.choice(alphabet) for _ in range(12))


def spaced(tracker: str) -> str:
    """A tracker as shown on the receipt, in groups of four: ABCD EFGH JKLM."""
    return f"{tracker[:4]} {tracker[4:8]} {tracker[8:]}"


def households_of(poll: PollHead | Poll, user_id: int) -> sa.Select:
    """The households this person may vote for in a poll not on the owner register: an adult member approved
    before the poll opened (an owner, for owners' votes). One ballot per household; the first cast counts."""
    return _households(poll.basis, user_id, poll.opened_at)


def _households(basis: Basis, user_id, opened_at) -> sa.Select:
    """`households_of`, with the person and the opening as values or as bound parameters."""
    member = Membership.__table__.c  # the table's columns: an update built on them stays Core (`_marking`)
    query = sa.select(member.household_id).where(
        member.user_id == user_id, member.status == MembershipStatus.APPROVED, member.is_adult.is_(True),
        member.decided_at <= opened_at)
    if basis is Basis.OWNERS:
        query = query.where(member.relation == Relation.OWNER)
    return query


POLL_LOCKS = 0x706F6C6C  # "poll": the space of the polls' advisory locks (PostgreSQL), keyed by poll id
_LOCKS = {name: sa.select(getattr(sa.func, name)(POLL_LOCKS, sa.bindparam("poll_id", type_=sa.Integer)))
          for name in ("pg_advisory_xact_lock_shared", "pg_advisory_xact_lock")}


def _postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _advisory(name: str, poll_id: int) -> None:
    if _postgresql():
        db.session.execute(_LOCKS[name], {"poll_id": poll_id})


def hold_for_casting(poll_id: int) -> None:
    """Until the transaction ends, no close of this poll counts (PostgreSQL; casts share it)."""
    _advisory("pg_advisory_xact_lock_shared", poll_id)


def hold_for_closing(poll_id: int) -> None:
    """Wait for the casts of this poll in flight, and hold off new ones until the transaction ends."""
    _advisory("pg_advisory_xact_lock", poll_id)


def still_open(poll_id, now):
    """SQL condition: the poll is open and within its window, checked inside the update itself."""
    poll = Poll.__table__.c
    return sa.exists().where(poll.id == poll_id, poll.state == PollState.OPEN, poll.opened_at <= now,
                             poll.closes_at > now)


def _param(name: str, column: sa.Column) -> sa.BindParameter:
    return sa.bindparam(name, type_=column.type)


@cache
def _marking(basis: Basis, secret: bool) -> sa.Update:
    """The roll line's conditional update for polls of this basis, built once (building it costs more than
    running it): its parameters are b_line, b_poll, b_user, b_now, b_opened, and for a named vote b_choice and
    b_picks."""
    roll, polls = RollLine.__table__.c, Poll.__table__.c  # Core: the ORM's bulk update path costs more
    line, poll, user, now = (_param("b_line", roll.id), _param("b_poll", polls.id), _param("b_user", roll.user_id),
                             _param("b_now", polls.opened_at))
    own = roll.user_id == user if basis is Basis.MEMBERS else roll.household_id.in_(
        _households(basis, user, _param("b_opened", polls.opened_at)).scalar_subquery())
    channel = sa.case((roll.proxy_id == user, Channel.PROXY.value), else_=Channel.ONLINE.value)
    named = {} if secret else dict(choice=_param("b_choice", roll.choice), picks=_param("b_picks", roll.picks),
                                   cast_by_id=user, cast_at=now)
    return versions.shown_live(
        sa.update(RollLine.__table__)
        .where(roll.id == line, roll.poll_id == poll, roll.status.is_(None), sa.or_(own, roll.proxy_id == user),
               still_open(poll, now))
        .values(status=channel, **named).returning(roll.label))


BOXING = versions.shown_live(sa.insert(SecretBallot.__table__))


@cache
def _marking_and_boxing(basis: Basis) -> sa.Select:
    """PostgreSQL, a secret vote: the roll line's update and the ballot's insert in one statement, which returns
    the line's label. The insert takes its one row from the update's: no ballot goes in the box unless this
    statement marked the line. Parameters: `_marking`'s and b_id, b_tracker, b_choice, b_picks, b_marks."""
    box = SecretBallot.__table__
    marked = _marking(basis, True).cte("marked")
    ballot = sa.select(*(_param(f"b_{name}", box.c[name]) for name in ("id", "tracker", "choice", "picks", "marks")),
                       _param("b_poll", box.c.poll_id)).select_from(marked)
    boxed = sa.insert(box).from_select(["id", "tracker", "choice", "picks", "marks", "poll_id"], ballot).cte("boxed")
    return versions.shown_live(sa.select(marked.c.label).add_cte(boxed))


def cast(head: PollHead, line_id: int, choice: Choice, user_id: int, now: datetime,
         picks: frozenset[int] = frozenset(), marks: str | None = None) -> Cast:
    """Cast line `line_id` of the poll online, as `user_id` (their own line, or by written proxy): the roll
    line's conditional update, then the ballot in the box (secret polls); on PostgreSQL, the poll's advisory lock
    first, then both in one statement."""
    if head.by_register:
        raise ValueError("polls on the owner register are cast through council.ballots.services.cast")
    if marks is not None and not head.secret:
        raise Refused(_l("This vote is not secret."))
    stored = choices.check_picks(head.max_choices, head.option_positions, choice, picks)
    if not head.may_take(now):
        raise Refused(_l("This vote is closed."))
    hold_for_casting(head.id)
    marking = dict(b_line=line_id, b_poll=head.id, b_user=user_id, b_now=now, b_opened=head.opened_at)
    boxed = head.secret and _postgresql()  # the ballot in the box by the line's own statement, after the lock
    if boxed:
        tracker = new_tracker()
        label = db.session.scalar(_marking_and_boxing(head.basis), dict(
            marking, b_id=secrets.token_urlsafe(16), b_tracker=tracker, b_choice=choice, b_picks=stored, b_marks=marks))
    else:
        named = {} if head.secret else dict(b_choice=choice, b_picks=stored)
        label = db.session.scalar(_marking(head.basis, head.secret), dict(marking, **named))
    if label is None:
        _why_not(head, line_id, user_id, now)
    if not head.secret:
        return Cast(None, label)
    if not boxed:
        tracker = new_tracker()
        db.session.execute(BOXING, dict(id=secrets.token_urlsafe(16), poll_id=head.id, tracker=tracker,
                                        choice=choice, picks=stored, marks=marks))
    return Cast(tracker, label)


def _why_not(head: PollHead, line_id: int, user_id: int, now: datetime):
    """The cast touched no line: 404 for a line of another poll, else the refusal that says why."""
    line = db.session.get(RollLine, line_id, populate_existing=True)  # as it is now, not as this session saw it
    if line is None or line.poll_id != head.id:
        abort(404)
    poll = db.session.get(Poll, head.id, populate_existing=True)
    if poll.state is not PollState.OPEN or not rules.window_open(now, poll.opened_at, poll.closes_at):
        raise Refused(_l("This vote is closed."))
    mine = line.proxy_id == user_id or (line.user_id == user_id if head.basis is Basis.MEMBERS else
                                        line.household_id in db.session.scalars(households_of(head, user_id)).all())
    if not mine:
        raise Refused(_l("You are not on the roll for this line."))
    raise Refused(_l("A ballot has already been cast for this line of the roll."))
