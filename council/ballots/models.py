"""Polls, their frozen rolls and their ballot boxes (DESIGN invariant 3).

Who took part is kept apart from what was chosen. A `RollLine` says that a voter (a person or a
household) was on the roll and how they took part (online, by proxy, on paper); a `SecretBallot` holds a
random id, a random tracker and the choice, and nothing that points to a person: no user, no time, no
integer id. Named polls (Civil Code Art. 278 votes are always named, invariant 4) keep the choice on the
roll line instead, with who cast it.
"""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from council.accounts.models import User
from council.ballots.rules import Choice, Rule
from council.extensions import db
from council.sqltypes import UTCDateTime, str_enum, utcnow
from council.territory.models import Place, UnitKind


class Basis(enum.StrEnum):
    """Who is on the roll: each adult member, each household, or each household's owners (Art. 278)."""

    MEMBERS = "members"
    HOUSEHOLDS = "households"
    OWNERS = "owners"


class PollState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Channel(enum.StrEnum):
    """How a voter took part; every channel counts towards turnout."""

    ONLINE = "online"
    PROXY = "proxy"  # cast online by the holder of a written proxy
    PAPER = "paper"  # checked off the roll by a teller and given a paper ballot


class Poll(db.Model):
    """A vote on a subject (a proposal today, an election later), frozen when it opens.

    The rule, secrecy and window are set once, when the poll opens, and no service changes them after:
    results stay hidden until it closes and secrecy cannot be switched off.
    """

    __tablename__ = "polls"
    __table_args__ = (
        sa.UniqueConstraint("subject_type", "subject_id"),
        sa.CheckConstraint("closes_at > opened_at", name="window_not_empty"),
        sa.CheckConstraint("paper_entered >= 0", name="paper_entered_not_negative"),
        sa.Index("ix_polls_state_closes_at", "state", "closes_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(sa.ForeignKey("places.id"), index=True)
    # What is voted on, e.g. ("proposal", 12); the area that opened the poll links to it and hears of its close.
    subject_type: Mapped[str] = mapped_column(sa.String(32))
    subject_id: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(sa.String(200))
    rule: Mapped[Rule] = mapped_column(str_enum(Rule, 32))
    basis: Mapped[Basis] = mapped_column(str_enum(Basis, 16))
    secret: Mapped[bool] = mapped_column(default=False)
    state: Mapped[PollState] = mapped_column(str_enum(PollState, 8), default=PollState.OPEN)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Owners' votes taken from the owner register: each unit's current caster votes, and all the units of
    # one owner (the same voter_key) are one head and one ballot. Otherwise each household's owner members.
    by_register: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # After the close the result is preliminary for this many days, in which owners may object; the
    # organisers answer every objection in public before the result is final (0: final at once).
    objection_days: Mapped[int] = mapped_column(default=0, server_default=sa.text("0"))
    # A choice vote (plan A / plan B...): each voter picks up to this many of the poll's options, or "none of
    # these", or abstains. None: a for / against / abstain vote.
    max_choices: Mapped[int | None] = mapped_column()
    void_heads: Mapped[int | None] = mapped_column()  # choice votes: paper ballots picking too many options
    # Paper ballots of a secret poll entered so far; never more than voters checked off for paper.
    paper_entered: Mapped[int] = mapped_column(default=0)
    # The count, written once at close (units: ballots; areas in dm²). None while the poll is open.
    roll_heads: Mapped[int | None] = mapped_column()
    roll_area_dm2: Mapped[int | None] = mapped_column(sa.BigInteger)
    for_heads: Mapped[int | None] = mapped_column()
    against_heads: Mapped[int | None] = mapped_column()
    abstain_heads: Mapped[int | None] = mapped_column()
    for_area_dm2: Mapped[int | None] = mapped_column(sa.BigInteger)
    against_area_dm2: Mapped[int | None] = mapped_column(sa.BigInteger)
    abstain_area_dm2: Mapped[int | None] = mapped_column(sa.BigInteger)
    passed: Mapped[bool | None] = mapped_column()

    place: Mapped[Place] = relationship()
    opened_by: Mapped[User | None] = relationship()

    @property
    def is_open(self) -> bool:
        return self.state is PollState.OPEN


class RollLine(db.Model):
    """One voter on a frozen roll: a person (basis MEMBERS) or a household (HOUSEHOLDS, OWNERS).

    `status` is who voted, never what; a conditional update from NULL is what makes a vote count once.
    Named polls also keep the choice, who cast it and when here; secret polls never do.
    """

    __tablename__ = "poll_roll"
    __table_args__ = (
        sa.UniqueConstraint("poll_id", "user_id"),
        sa.UniqueConstraint("poll_id", "household_id"),
        sa.CheckConstraint("(user_id IS NULL) <> (household_id IS NULL)", name="one_voter"),
        sa.Index("ix_poll_roll_poll_status", "poll_id", "status"),
        sa.Index("ix_poll_roll_poll_building", "poll_id", "building_id"),
        sa.Index("ix_poll_roll_poll_voter_key", "poll_id", "voter_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(sa.ForeignKey("polls.id"))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(sa.ForeignKey("households.id"), index=True)
    # The voter's building when the poll opened: building leaders serve as tellers for their own building.
    building_id: Mapped[int | None] = mapped_column(sa.ForeignKey("places.id"))
    # Frozen when the poll opens: how the line is printed, and the private floor area (Art. 278).
    label: Mapped[str] = mapped_column(sa.String(120))
    sort_key: Mapped[str] = mapped_column(sa.String(255), default="")
    area_dm2: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    kind: Mapped[UnitKind] = mapped_column(str_enum(UnitKind, 16), default=UnitKind.DWELLING,
                                           server_default=UnitKind.DWELLING.value)
    # Owner register polls: the head this unit counts for (an owner of several units is one head); set
    # when the poll opens and moved to the new owner if the unit is sold and they cast it.
    voter_key: Mapped[str | None] = mapped_column(sa.String(200))
    status: Mapped[Channel | None] = mapped_column(str_enum(Channel, 8))
    # A written proxy recorded by staff: this person votes for the line (at most 3 lines per holder).
    proxy_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # Turnout drive: a teller knocked and the voter declined to vote (they still may, until the close).
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Named polls only: the choice, who cast it (the voter, a proxy holder or a teller) and when.
    choice: Mapped[Choice | None] = mapped_column(str_enum(Choice, 8))
    picks: Mapped[str | None] = mapped_column(sa.String(64))  # choice votes: the options picked, e.g. "1,3"
    cast_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    cast_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    proxy: Mapped[User | None] = relationship(foreign_keys=[proxy_id])
    cast_by: Mapped[User | None] = relationship(foreign_keys=[cast_by_id])


class SecretBallot(db.Model):
    """A secret ballot in the box while the poll is open: random id, random tracker, choice; nothing else.

    No rowid on SQLite (its order would be the order of voting); at close the box is shuffled into
    `PublishedBallot` and emptied.
    """

    __tablename__ = "poll_box"
    __table_args__ = ({"sqlite_with_rowid": False},)

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    poll_id: Mapped[int] = mapped_column(sa.ForeignKey("polls.id"), index=True)
    # Online ballots carry a tracker shown once to the voter; paper ballots have none.
    tracker: Mapped[str | None] = mapped_column(sa.String(16), unique=True)
    choice: Mapped[Choice] = mapped_column(str_enum(Choice, 8))
    picks: Mapped[str | None] = mapped_column(sa.String(64))  # choice votes: the options picked, e.g. "1,3"
    marks: Mapped[str | None] = mapped_column(sa.Text)  # elections: e.g. "12+ 15- w44" (elections.rules.encode)


class PublishedBallot(db.Model):
    """A secret ballot after the close, in a cryptographically shuffled order: anyone may recount them."""

    __tablename__ = "poll_ballots"
    __table_args__ = (sa.UniqueConstraint("poll_id", "position"), {"sqlite_with_rowid": False})

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    poll_id: Mapped[int] = mapped_column(sa.ForeignKey("polls.id"))
    position: Mapped[int] = mapped_column()
    tracker: Mapped[str | None] = mapped_column(sa.String(16), unique=True)
    choice: Mapped[Choice] = mapped_column(str_enum(Choice, 8))
    picks: Mapped[str | None] = mapped_column(sa.String(64))  # choice votes: the options picked, e.g. "1,3"
    marks: Mapped[str | None] = mapped_column(sa.Text)  # elections: e.g. "12+ 15- w44" (elections.rules.encode)


class PollOption(db.Model):
    """One option of a choice vote, numbered from 1 as printed on the ballot; its count is written at close."""

    __tablename__ = "poll_options"
    __table_args__ = (sa.UniqueConstraint("poll_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(sa.ForeignKey("polls.id"))
    position: Mapped[int] = mapped_column()
    label: Mapped[str] = mapped_column(sa.String(120))
    heads: Mapped[int | None] = mapped_column()
    area_dm2: Mapped[int | None] = mapped_column(sa.BigInteger)
    carried: Mapped[bool | None] = mapped_column()


class Objection(db.Model):
    """An objection to a preliminary result, lodged by a voter and answered by the organisers in public."""

    __tablename__ = "poll_objections"

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(sa.ForeignKey("polls.id"), index=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answer: Mapped[str | None] = mapped_column(sa.Text)
    answered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    author: Mapped[User] = relationship(foreign_keys=[author_id])
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])
