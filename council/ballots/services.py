"""Poll services: open with a frozen roll, cast once, proxies, paper, close with a shuffle, count.

Casting is one transaction (DESIGN invariant 3): the poll row is read with a share lock (PostgreSQL;
SQLite serialises writers), the voter's roll line moves from NULL to a channel by a conditional update
that must touch exactly one row, and only then is a secret ballot put in the box. Closing takes the
poll row with an update, so a cast in flight either commits before the count or is refused after it.
"""
from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from council import versions
from council.accounts.models import User
from council.activity.services import record, register_verbs
from council.ballots import casting, choices, rules
from council.ballots.models import Basis, Channel, Poll, PollState, PublishedBallot, RollLine, SecretBallot
from council.ballots.rules import Ballot, Choice, RollEntry, Rule
from council.exceptions import Refused
from council.extensions import db
from council.membership.models import Membership, MembershipStatus, Relation
from council.owners import services as register
from council.owners.models import Ownership
from council.sqltypes import utcnow
from council.territory.models import Household, Place, PlaceKind, UnitKind

register_verbs({
    "vote.opened": _l("opened a vote"),
    "vote.closed": _l("closed the vote and counted it"),
    "vote.proxy": _l("recorded a written proxy"),
    "vote.proxy_cleared": _l("cancelled a written proxy"),
    "vote.paper": _l("checked a voter off the roll for a paper ballot"),
    "vote.paper_batch": _l("entered a batch of paper ballots"),
})

LONGEST_WINDOW = timedelta(days=60)
SHORTEST_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class Subject:
    """What an area tells the poll machinery about the things it puts to a vote."""

    link: Callable[[int], str]  # subject id → URL of the subject's page
    on_close: Callable[[Poll], None]  # called once, in the closing transaction, after the count
    # The subject closes its polls itself, when its own count is ready (an election: after the tellers have
    # entered the paper ballots), and counts them in `on_close`; pages and the cron job leave them alone.
    closes_itself: bool = False


_SUBJECTS: dict[str, Subject] = {}


def register_subject(subject_type: str, link: Callable[[int], str], on_close: Callable[[Poll], None],
                     closes_itself: bool = False) -> None:
    _SUBJECTS[subject_type] = Subject(link, on_close, closes_itself)


def _closes_itself(poll: Poll) -> bool:
    subject = _SUBJECTS.get(poll.subject_type)
    return subject is not None and subject.closes_itself


def shown_by_subject(poll: Poll) -> bool:
    """Polls their subject counts itself (elections) are also shown, cast and counted on its own pages."""
    return _closes_itself(poll)


def subject_link(poll: Poll) -> str | None:
    subject = _SUBJECTS.get(poll.subject_type)
    return subject.link(poll.subject_id) if subject else None


# ---- loading -------------------------------------------------------------------------------------

def get_poll_or_404(poll_id: int) -> Poll:
    poll = db.session.get(Poll, poll_id, options=[joinedload(Poll.place)])
    if poll is None:
        abort(404)
    return poll


def poll_for(subject_type: str, subject_id: int) -> Poll | None:
    return db.session.scalar(sa.select(Poll).where(Poll.subject_type == subject_type, Poll.subject_id == subject_id))


def get_line_or_404(poll: Poll, line_id: int) -> RollLine:
    line = db.session.get(RollLine, line_id)
    if line is None or line.poll_id != poll.id:
        abort(404)
    return line


# ---- the roll ------------------------------------------------------------------------------------

def _households_in(building_ids: Iterable[int]) -> list[tuple[Household, Place]]:
    return list(db.session.execute(
        sa.select(Household, Place).join(Place, Place.id == Household.building_id)
        .where(Household.building_id.in_(sorted(set(building_ids))))
        .order_by(Place.sort_key, Place.id, Household.sort_key, Household.id)))


def roll_lines(basis: Basis, building_ids: Iterable[int]) -> list[dict]:
    """The roll of the buildings given, as rows to freeze.

    HOUSEHOLDS: every household with its floor area, even those nobody has joined online (they still
    count, and may vote on paper). OWNERS: every dwelling and shop (parking spaces are left out of
    Art. 278); when the units are on the owner register, each line carries its owner's key, so an owner of
    several units is one head, and every unit must have an owner. MEMBERS: every adult approved member,
    once each however many households they belong to.
    """
    building_ids = sorted(set(building_ids))
    if basis is not Basis.MEMBERS:
        units = _households_in(building_ids)
        if basis is Basis.OWNERS:
            units = [(h, b) for h, b in units if h.kind is not UnitKind.PARKING]
        owners = register.live_owners(h.id for h, _b in units) if basis is Basis.OWNERS else {}
        if any(owners.values()):
            missing = [f"{b.name} {h.label}" for h, b in units if not owners[h.id]]
            if missing:
                raise Refused(_l("%(n)s units have no owner on the register (%(units)s). Record their owners "
                                 "first.", n=len(missing), units="、".join(missing[:5])))
        return [dict(household_id=h.id, building_id=b.id, label=f"{b.name} {h.label}", kind=h.kind,
                     sort_key=f"{b.sort_key}/{h.sort_key}", area_dm2=h.floor_area_dm2,
                     voter_key=register.owner_key(owners.get(h.id, [])))
                for h, b in units]
    rows = db.session.execute(
        sa.select(User.id, User.display_name, Household, Place.name, Place.sort_key, Place.id)
        .select_from(Membership).join(User, User.id == Membership.user_id)
        .join(Household, Household.id == Membership.household_id).join(Place, Place.id == Household.building_id)
        .where(Household.building_id.in_(building_ids), Membership.status == MembershipStatus.APPROVED,
               Membership.is_adult.is_(True))
        .order_by(Place.sort_key, Household.sort_key, User.id)).all()
    lines: dict[int, dict] = {}
    for user_id, name, household, building, key, building_id in rows:
        lines.setdefault(user_id, dict(user_id=user_id, building_id=building_id,
                                       label=f"{name} ({building} {household.label})",
                                       sort_key=f"{key}/{household.sort_key}/{user_id:010d}", area_dm2=0))
    return list(lines.values())


def buildings_of(place: Place) -> list[int]:
    """A building itself, or every building of an estate."""
    if place.kind is PlaceKind.BUILDING:
        return [place.id]
    return list(db.session.scalars(sa.select(Place.id).where(
        Place.parent_id == place.id, Place.kind == PlaceKind.BUILDING)))


def open_poll(place: Place, subject_type: str, subject_id: int, title: str, rule: Rule, basis: Basis,
              secret: bool, closes_at: datetime, by: User, lines: list[dict], now: datetime | None = None,
              objection_days: int = 0, options: list[str] | None = None, max_choices: int = 1,
              opens_at: datetime | None = None) -> Poll:
    """Open a poll and freeze its roll. Nothing about it can be changed afterwards. Ballots are taken from
    `opens_at` (default: now; an election's roll is frozen when it is published, before voting starts)."""
    now = now or utcnow()
    opens_at = max(opens_at or now, now)
    if rule.by_area and basis is not Basis.OWNERS:
        raise Refused(_l("Civil Code Art. 278 votes are taken among the owners, one vote per unit."), "basis")
    if secret and not rules.secret_allowed(rule):
        raise Refused(_l("Owners' votes weighted by floor area are named by law; they cannot be secret."),
                      "secret")
    if closes_at < opens_at + SHORTEST_WINDOW:
        raise Refused(_l("The vote must stay open for at least an hour."), "closes_on")
    if closes_at > opens_at + LONGEST_WINDOW:
        raise Refused(_l("A vote can stay open for at most 60 days."), "closes_on")
    if not 0 <= objection_days <= 30:
        raise Refused(_l("The objection period is between 0 and 30 days."), "objection_days")
    if not lines:
        raise Refused(_l("Nobody is on the roll: there are no households or adult members in this scope."))
    if rule.by_area and not any(line["area_dm2"] for line in lines):
        raise Refused(_l("The floor areas of these households are missing."))
    if poll_for(subject_type, subject_id) is not None:
        raise Refused(_l("A vote has already been opened on this."))
    poll = Poll(place_id=place.id, subject_type=subject_type, subject_id=subject_id, title=title[:200],
                rule=rule, basis=basis, secret=secret, state=PollState.OPEN, opened_at=opens_at, closes_at=closes_at,
                opened_by_id=by.id, by_register=any(line.get("voter_key") for line in lines),
                objection_days=objection_days)
    db.session.add(poll)
    db.session.flush()
    if options:
        choices.add_options(poll, options, max_choices)
    db.session.execute(sa.insert(RollLine), [{**line, "poll_id": poll.id} for line in lines])
    record(by, "vote.opened", place, subject_type, subject_id, detail=f"{len(lines)}", at=now)
    return poll


# ---- who may cast --------------------------------------------------------------------------------

def _household_casters(poll: Poll, user: User):
    """Households this person may vote for (council.ballots.casting.households_of); with the owner register, the
    unit's current caster votes (after a sale, the new owner)."""
    if poll.by_register:
        return sa.select(Ownership.household_id).where(register.may_cast_for(user))
    return casting.households_of(poll, user.id)


def casters(poll: Poll) -> list[int]:
    """Everyone who may cast a ballot of the poll (to tell them it has opened). One query."""
    if poll.basis is Basis.MEMBERS:
        return list(db.session.scalars(sa.select(RollLine.user_id).where(RollLine.poll_id == poll.id)))
    roll = sa.select(RollLine.household_id).where(RollLine.poll_id == poll.id)
    if poll.by_register:
        return list(db.session.scalars(sa.select(User.id).join(Ownership, sa.or_(
            Ownership.user_id == User.id, sa.and_(User.mobile.is_not(None), Ownership.mobile == User.mobile))).where(
            Ownership.household_id.in_(roll), Ownership.ended_at.is_(None), Ownership.is_caster.is_(True))
            .distinct()))
    query = sa.select(Membership.user_id).where(
        Membership.household_id.in_(sa.select(RollLine.household_id).where(RollLine.poll_id == poll.id)),
        Membership.status == MembershipStatus.APPROVED, Membership.is_adult.is_(True),
        Membership.decided_at <= poll.opened_at)
    if poll.basis is Basis.OWNERS:
        query = query.where(Membership.relation == Relation.OWNER)
    return list(db.session.scalars(query.distinct()))


def lines_for(poll: Poll, user: User) -> list[RollLine]:
    """The roll lines this person may vote on: their own (or their household's) and any they hold a proxy
    for. One query."""
    if poll.basis is Basis.MEMBERS:
        mine = RollLine.user_id == user.id
    else:
        mine = RollLine.household_id.in_(_household_casters(poll, user).scalar_subquery())
    return list(db.session.scalars(
        sa.select(RollLine).options(joinedload(RollLine.proxy))
        .where(RollLine.poll_id == poll.id, sa.or_(mine, RollLine.proxy_id == user.id))
        .order_by(RollLine.sort_key, RollLine.id)))


def _may_cast(poll: Poll, line: RollLine, user: User) -> Channel | None:
    """The channel this person casts `line` through (their own, or a proxy), or None."""
    if line.proxy_id == user.id:
        return Channel.PROXY
    if poll.basis is Basis.MEMBERS:
        return Channel.ONLINE if line.user_id == user.id else None
    households = db.session.scalars(_household_casters(poll, user)).all()
    return Channel.ONLINE if line.household_id in households else None


# ---- casting -------------------------------------------------------------------------------------

def _lock(poll: Poll, share: bool):
    """Hold the poll row for the rest of the transaction (PostgreSQL); SQLite serialises writers anyway."""
    return db.session.execute(sa.select(Poll.state, Poll.opened_at, Poll.closes_at, Poll.paper_entered)
                              .where(Poll.id == poll.id).with_for_update(read=share)).one()


def hold(poll: Poll) -> None:
    """Take the poll for writing until the transaction ends, so that one writer at a time reads and moves its
    counters: a no-op update locks the row on PostgreSQL and takes SQLite's write lock (a SELECT ... FOR
    UPDATE would lock nothing on SQLite)."""
    db.session.execute(sa.update(Poll).where(Poll.id == poll.id).values(paper_entered=Poll.paper_entered)
                       .execution_options(synchronize_session=False))


def _check_open(poll: Poll, now: datetime, share: bool = True) -> None:
    state, opened_at, closes_at, _ = _lock(poll, share)
    if state is not PollState.OPEN or not rules.window_open(now, opened_at, closes_at):
        raise Refused(_l("This vote is closed."))


def _mark(poll: Poll, line: RollLine, channel: Channel, now: datetime, **named) -> None:
    """The conditional update that makes a vote count once: NULL → channel, exactly one row.

    On the owner register, the unit's line takes its current owners' key (a unit sold during the vote is
    cast by its new owner) and the owner's other units, still unvoted, take the same ballot: one head.
    """
    key = {}
    if poll.by_register:
        key = dict(voter_key=register.owner_key(register.live_owners([line.household_id])[line.household_id]))
        # Lock the owner's lines in one order first (PostgreSQL), so two of their units cast at once
        # cannot deadlock: the second waits, then finds them voted.
        db.session.execute(sa.select(RollLine.id).where(
            RollLine.poll_id == poll.id, sa.or_(RollLine.id == line.id, RollLine.voter_key == key["voter_key"]))
            .order_by(RollLine.id).with_for_update())
    done = db.session.execute(versions.placed(
        sa.update(RollLine).where(RollLine.id == line.id, RollLine.poll_id == poll.id, RollLine.status.is_(None),
                                  casting.still_open(poll.id, now))
        .values(status=channel, **named, **key).execution_options(synchronize_session=False), poll.place_id)).rowcount
    if done != 1:
        raise Refused(_l("A ballot has already been cast for this line of the roll."))
    if key.get("voter_key"):
        db.session.execute(versions.placed(
            sa.update(RollLine).where(RollLine.poll_id == poll.id, RollLine.voter_key == key["voter_key"],
                                      RollLine.status.is_(None))
            .values(status=channel, **named).execution_options(synchronize_session=False), poll.place_id))


def cast(poll: Poll, line: RollLine, choice: Choice, by: User, now: datetime | None = None,
         picks: frozenset[int] = frozenset(), marks: str | None = None) -> str | None:
    """Cast `line`'s ballot online (or by proxy). Returns the tracker of a secret ballot, shown once.
    In a choice vote, FOR with `picks` picks options, AGAINST is "none of these", ABSTAIN abstains.
    An election ballot is FOR with `marks`, checked by the elections area before it comes here.
    Polls not on the owner register are cast by council.ballots.casting (a head read now, no kept one)."""
    now = now or utcnow()
    if not poll.by_register:
        return casting.cast(casting.head_of(poll), line.id, choice, by.id, now, picks, marks).tracker
    channel = _may_cast(poll, line, by)
    if channel is None:
        raise Refused(_l("You are not on the roll for this line."))
    if marks is not None and not poll.secret:
        raise Refused(_l("This vote is not secret."))
    stored = choices.check_marks(poll, choice, picks)
    _check_open(poll, now)
    if poll.secret:
        _mark(poll, line, channel, now)
        tracker = casting.new_tracker()
        db.session.add(SecretBallot(id=secrets.token_urlsafe(16), poll_id=poll.id, tracker=tracker, choice=choice,
                                    picks=stored, marks=marks))
        db.session.flush()
        return tracker
    _mark(poll, line, channel, now, choice=choice, picks=stored, cast_by_id=by.id, cast_at=now)
    return None


# ---- proxies and paper ---------------------------------------------------------------------------

def estate_adult(user_id: int, estate_id: int) -> bool:
    """Is this person an approved adult member of a household of the estate? (one query)"""
    return db.session.scalar(
        sa.select(Membership.id).join(Household, Household.id == Membership.household_id)
        .join(Place, Place.id == Household.building_id)
        .where(Membership.user_id == user_id, Membership.status == MembershipStatus.APPROVED,
               Membership.is_adult.is_(True), Place.parent_id == estate_id).limit(1)) is not None


def _check_not_over(poll: Poll, now: datetime) -> None:
    """Written proxies are recorded in advance too (an election's roll is out before voting starts)."""
    state, _opened_at, closes_at, _ = _lock(poll, share=False)
    if state is not PollState.OPEN or now >= closes_at:
        raise Refused(_l("This vote is closed."))


def record_proxy(poll: Poll, line: RollLine, holder: User, by: User, now: datetime | None = None) -> None:
    """Record a written proxy: `holder` votes for `line`. At most three per holder, before the line votes."""
    now = now or utcnow()
    _check_not_over(poll, now)
    if line.status is not None:
        raise Refused(_l("This line has already voted."))
    if holder.id == line.user_id:
        raise Refused(_l("Nobody holds a proxy for themselves."), "holder")
    if not estate_adult(holder.id, poll.place_id):
        raise Refused(_l("The proxy holder must be an adult resident of this estate with an account."), "holder")
    held = db.session.scalar(sa.select(sa.func.count(RollLine.id)).where(
        RollLine.poll_id == poll.id, RollLine.proxy_id == holder.id, RollLine.id != line.id)) or 0
    if not rules.proxy_allowed(held):
        raise Refused(_l("This person already holds three proxies in this vote, the most allowed."), "holder")
    done = db.session.execute(versions.placed(
        sa.update(RollLine).where(RollLine.id == line.id, RollLine.status.is_(None))
        .values(proxy_id=holder.id).execution_options(synchronize_session=False), poll.place_id)).rowcount
    if done != 1:
        raise Refused(_l("This line has already voted."))
    db.session.refresh(line)
    record(by, "vote.proxy", poll.place_id, poll.subject_type, poll.subject_id, target=holder, detail=line.label,
           at=now)


def clear_proxy(poll: Poll, line: RollLine, by: User, now: datetime | None = None) -> None:
    _check_not_over(poll, now or utcnow())
    if line.proxy_id is None or line.status is not None:
        raise Refused(_l("There is no proxy to cancel on this line, or it has already voted."))
    holder = line.proxy
    line.proxy_id = None
    db.session.flush()
    record(by, "vote.proxy_cleared", poll.place_id, poll.subject_type, poll.subject_id, target=holder,
           detail=line.label, at=now)


def check_off(poll: Poll, line: RollLine, by: User, choice: Choice | None = None, now: datetime | None = None,
              picks: frozenset[int] = frozenset()) -> None:
    """A teller checks a voter off the roll for a paper ballot: nobody can vote this line online afterwards.

    A named poll's paper ballot is signed, so its choice is entered with the check-off; a secret poll's
    paper ballots go in the box later, in batches, unmarked.
    """
    now = now or utcnow()
    if poll.secret and choice is not None:
        raise Refused(_l("Secret paper ballots are entered in batches, not against a name."))
    if not poll.secret and choice is None:
        raise Refused(_l("Enter the choice written on the signed ballot."), "choice")
    stored = None if poll.secret else choices.check_marks(poll, choice, picks, paper=True)
    _check_open(poll, now)
    named = {} if poll.secret else dict(choice=choice, picks=stored, cast_by_id=by.id, cast_at=now)
    _mark(poll, line, Channel.PAPER, now, **named)
    record(by, "vote.paper", poll.place_id, poll.subject_type, poll.subject_id, detail=line.label, at=now)


def paper_issued(poll: Poll) -> int:
    return db.session.scalar(sa.select(sa.func.count(RollLine.id)).where(
        RollLine.poll_id == poll.id, RollLine.status == Channel.PAPER)) or 0


def enter_paper(poll: Poll, counts: dict[Choice, int], by: User, now: datetime | None = None) -> int:
    """Put a batch of secret paper ballots in the box; the batch is refused if it would exceed the papers
    issued (the check and the counter move in one conditional update)."""
    if any(n < 0 for n in counts.values()):
        raise Refused(_l("Counts cannot be negative."))
    if poll.max_choices is not None:
        raise Refused(_l("In a choice vote, enter the paper ballots one by one."))
    return _enter(poll, [(choice, None) for choice, n in counts.items() for _ in range(n)], by, now)


def enter_paper_ballot(poll: Poll, choice: Choice, picks: frozenset[int], by: User,
                       now: datetime | None = None) -> int:
    """Put one secret paper ballot of a choice vote in the box (one naming too many options is void)."""
    return _enter(poll, [(choice, choices.check_marks(poll, choice, picks, paper=True))], by, now)


def _enter(poll: Poll, ballots: list[tuple[Choice, str | None]], by: User, now: datetime | None) -> int:
    now = now or utcnow()
    if not poll.secret:
        raise Refused(_l("In a named vote each paper ballot is entered with its voter."))
    _check_open(poll, now, share=False)
    return put_paper(poll, [dict(choice=choice, picks=picks) for choice, picks in ballots], by)


def put_paper(poll: Poll, ballots: list[dict], by: User) -> int:
    """Put secret paper ballots (their columns: choice, picks, marks) in the box, never more than the papers
    issued: the check and the counter move in one conditional update. The caller checks the poll's state
    (an election's tellers enter them after voting has closed, before the count)."""
    batch = len(ballots)
    issued = paper_issued(poll)
    if not rules.paper_fits(poll.paper_entered, batch, issued):
        raise Refused(_l("This batch would make more paper ballots than papers issued (%(issued)s).",
                         issued=issued))
    issued_now = sa.select(sa.func.count(RollLine.id)).where(
        RollLine.poll_id == poll.id, RollLine.status == Channel.PAPER).scalar_subquery()
    done = db.session.execute(
        sa.update(Poll).where(Poll.id == poll.id, Poll.paper_entered + batch <= issued_now)
        .values(paper_entered=Poll.paper_entered + batch).execution_options(synchronize_session=False)).rowcount
    if done != 1:
        raise Refused(_l("This batch would make more paper ballots than papers issued (%(issued)s).",
                         issued=issued))
    db.session.add_all(SecretBallot(id=secrets.token_urlsafe(16), poll_id=poll.id, tracker=None, **ballot)
                       for ballot in ballots)
    db.session.flush()
    db.session.refresh(poll)
    record(by, "vote.paper_batch", poll.place_id, poll.subject_type, poll.subject_id, detail=str(batch))
    return batch


# ---- turnout, closing and the count ---------------------------------------------------------------

@dataclass(frozen=True)
class Turnout:
    """Who has taken part so far, by channel: never what anyone chose."""

    roll: int
    online: int
    proxy: int
    paper: int

    @property
    def voted(self) -> int:
        return self.online + self.proxy + self.paper


def turnout(poll: Poll) -> Turnout:
    return turnout_of(poll.id)


def turnout_of(poll_id: int) -> Turnout:
    rows = dict(db.session.execute(sa.select(RollLine.status, sa.func.count(RollLine.id))
                                   .where(RollLine.poll_id == poll_id).group_by(RollLine.status)).all())
    return Turnout(sum(rows.values()), rows.get(Channel.ONLINE, 0), rows.get(Channel.PROXY, 0),
                   rows.get(Channel.PAPER, 0))


def _roll(poll: Poll) -> list[RollEntry]:
    """The frozen roll for the pure tally: one entry per unit, keyed by its owner on the register."""
    return [RollEntry(voter=key or line_id, area_dm2=area, kind=rules.UnitKind(kind.value))
            for line_id, key, area, kind in db.session.execute(
                sa.select(RollLine.id, RollLine.voter_key, RollLine.area_dm2, RollLine.kind)
                .where(RollLine.poll_id == poll.id))]


def _ballot_rows(poll: Poll) -> list[tuple]:
    """(voter key or None, choice, picks) of every ballot: the box or the published list (secret), or the
    named roll lines, one per head (an owner's several units are one ballot)."""
    if poll.secret:
        table = PublishedBallot if poll.state is PollState.CLOSED else SecretBallot
        return [(None, choice, picks) for choice, picks in db.session.execute(
            sa.select(table.choice, table.picks).where(table.poll_id == poll.id))]
    rows, seen = [], set()
    for line_id, key, choice, picks in db.session.execute(
            sa.select(RollLine.id, RollLine.voter_key, RollLine.choice, RollLine.picks)
            .where(RollLine.poll_id == poll.id, RollLine.choice.is_not(None)).order_by(RollLine.cast_at, RollLine.id)):
        if (key or line_id) not in seen:
            seen.add(key or line_id)
            rows.append((key or line_id, choice, picks))
    return rows


def count(poll: Poll) -> rules.Result:
    """Recount a for / against / abstain vote from the stored roll and ballots (two queries)."""
    return rules.tally(poll.rule, _roll(poll), [Ballot(c, voter=v) for v, c, _p in _ballot_rows(poll)])


def count_choices(poll: Poll) -> rules.ChoiceResult:
    """Recount a choice vote: every option by headcount (and area, for owners' votes); three queries."""
    ballots = [choices.as_option_ballot(c, p, v) for v, c, p in _ballot_rows(poll)]
    positions = [o.position for o in choices.options_of(poll)]
    return rules.tally_options(poll.rule, _roll(poll), ballots, positions, poll.max_choices or 1)


def _shuffle_box(poll: Poll) -> None:
    """Rewrite the box into the published table in a cryptographically shuffled order, then empty it."""
    # Core statements on the session's connection (in its transaction): an election's box holds up to 100,000
    # ballots, which the ORM's row handling would take seconds to move.
    connection, box_table = db.session.connection(), SecretBallot.__table__
    box = list(connection.execute(sa.select(box_table.c.tracker, box_table.c.choice, box_table.c.picks,
                                            box_table.c.marks).where(box_table.c.poll_id == poll.id)))
    # One read of the system's CSPRNG for all: a random 128-bit sort key (the shuffle: an unbiased random order,
    # ties being out of reach) and a random 128-bit id per ballot. os.urandom per swap, as SystemRandom.shuffle
    # does, takes seconds over 100,000 ballots.
    noise = secrets.token_bytes(32 * len(box))
    order = sorted(range(len(box)), key=lambda i: noise[32 * i:32 * i + 16])
    if box:
        connection.execute(PublishedBallot.__table__.insert(), [
            dict(id=base64.urlsafe_b64encode(noise[32 * i + 16:32 * i + 32]).rstrip(b"=").decode(), poll_id=poll.id,
                 position=position, tracker=box[i][0], choice=box[i][1], picks=box[i][2], marks=box[i][3])
            for position, i in enumerate(order, start=1)])
    connection.execute(box_table.delete().where(box_table.c.poll_id == poll.id))


def close(poll: Poll, by: User | None = None, now: datetime | None = None) -> bool:
    """Close a poll whose window has ended, count it and tell its subject. Returns False if it was not due
    or someone else closed it first (several app processes may try at once: only one update wins)."""
    now = now or utcnow()
    casting.hold_for_closing(poll.id)  # the casts in flight end first (council.ballots.casting)
    done = db.session.execute(versions.placed(
        sa.update(Poll).where(Poll.id == poll.id, Poll.state == PollState.OPEN, Poll.closes_at <= now)
        .values(state=PollState.CLOSED, closed_at=now).execution_options(synchronize_session=False),
        poll.place_id)).rowcount
    if done != 1:
        return False
    db.session.refresh(poll)
    if poll.secret:
        _shuffle_box(poll)
    if _closes_itself(poll):  # the subject counts it (an election) when it is told of the close
        return _closed(poll, by)
    if poll.max_choices is not None:
        choices.store_count(poll, count_choices(poll))
        return _closed(poll, by)
    result = count(poll)
    poll.roll_heads, poll.roll_area_dm2 = result.roll_heads, result.roll_area_dm2
    poll.for_heads, poll.against_heads, poll.abstain_heads = (
        result.heads.in_favour, result.heads.against, result.heads.abstain)
    if result.area_dm2 is not None:
        poll.for_area_dm2, poll.against_area_dm2, poll.abstain_area_dm2 = (
            result.area_dm2.in_favour, result.area_dm2.against, result.area_dm2.abstain)
    poll.passed = result.passed
    return _closed(poll, by)


def _closed(poll: Poll, by: User | None) -> bool:
    """Record the close and tell the poll's subject (a proposal moves to passed or rejected)."""
    db.session.flush()
    record(by, "vote.closed", poll.place_id, poll.subject_type, poll.subject_id,
           detail="" if _closes_itself(poll) else "passed" if poll.passed else "not passed")
    subject = _SUBJECTS.get(poll.subject_type)
    if subject is not None:
        subject.on_close(poll)
    return True


def close_if_due(poll: Poll, now: datetime | None = None) -> bool:
    """Pages close a poll whose window has ended when someone looks at it (the cron job does the rest)."""
    now = now or utcnow()
    if poll.state is PollState.OPEN and poll.closes_at <= now and not _closes_itself(poll):
        return close(poll, None, now)
    return False


def close_due(now: datetime | None = None) -> int:
    """Close every poll whose window has ended (for `flask council close-votes`); commits each one."""
    now = now or utcnow()
    waiting = [name for name, subject in _SUBJECTS.items() if subject.closes_itself]
    ids = list(db.session.scalars(sa.select(Poll.id).where(Poll.state == PollState.OPEN, Poll.closes_at <= now,
                                                           Poll.subject_type.not_in(waiting))
                                  .order_by(Poll.closes_at)))
    closed = 0
    for poll_id in ids:
        if close(db.session.get(Poll, poll_id), None, now):
            closed += 1
        db.session.commit()
    return closed


def stored_result(poll: Poll) -> rules.Result | None:
    """The result written at close, rebuilt as the pure rules' Result (thresholds included); no query.
    (A choice vote's options are shown from `choices.options_of` and `count_choices` instead.)"""
    if poll.state is not PollState.CLOSED or poll.max_choices is not None:
        return None
    heads = rules.Counts(poll.for_heads or 0, poll.against_heads or 0, poll.abstain_heads or 0)
    area = (rules.Counts(poll.for_area_dm2 or 0, poll.against_area_dm2 or 0, poll.abstain_area_dm2 or 0)
            if poll.rule.by_area else None)
    return rules.result_from_counts(poll.rule, poll.roll_heads or 0, poll.roll_area_dm2, heads, area)
