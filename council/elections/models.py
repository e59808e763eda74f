"""Elections of an estate's service team: the calendar, officials, roll objections, nominations, the
rounds (each one secret poll of `council.ballots`) and the two tellers' entry of paper ballots.

The ballots themselves live in the poll's box (`poll_box`, then `poll_ballots`): random id, tracker and
marks, nothing that points to a person. `PaperEntry` rows hold what a teller typed from a paper ballot,
with a slot (first or second teller) and no person or time; who the tellers were is on the batch.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from council.accounts.models import User
from council.ballots.models import Basis, Poll
from council.elections.rules import Office, RollObjectionKind, RoundKind, Ruling
from council.extensions import db
from council.sqltypes import UTCDateTime, str_enum, utcnow
from council.territory.models import Place


class Election(db.Model):
    """An election of an estate's comprehensive service team (综合治理服务队), 7 to 12 seats."""

    __tablename__ = "elections"
    __table_args__ = (
        sa.CheckConstraint("seats BETWEEN 7 AND 12", name="seats_7_to_12"),
        sa.CheckConstraint("nominations_until >= roll_until", name="nominations_after_roll"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(sa.ForeignKey("places.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    seats: Mapped[int] = mapped_column()
    basis: Mapped[Basis] = mapped_column(str_enum(Basis, 16))  # MEMBERS (adults) or HOUSEHOLDS (representatives)
    with_marks: Mapped[bool] = mapped_column(default=True)  # for / against / abstain against each candidate
    self_nomination: Mapped[bool] = mapped_column(default=True)
    nominators_needed: Mapped[int] = mapped_column(default=3)  # members needed for a joint nomination
    second_round_factor: Mapped[int] = mapped_column(default=2)  # second-round candidates per unfilled seat
    notice_days: Mapped[int] = mapped_column(default=7)  # 公示: days members may object to the result
    roll_until: Mapped[datetime] = mapped_column(UTCDateTime)
    nominations_until: Mapped[datetime] = mapped_column(UTCDateTime)
    slate_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    estate: Mapped[Place] = relationship()


class ElectionOfficial(db.Model):
    """A member of the election committee, a teller or a scrutineer of one election."""

    __tablename__ = "election_officials"
    __table_args__ = (sa.UniqueConstraint("election_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(sa.ForeignKey("elections.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    office: Mapped[Office] = mapped_column(str_enum(Office, 16))
    appointed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    appointed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class ElectionRound(db.Model):
    """One vote of the election: the first round, a second round (另行选举) or a re-vote of a tie.

    Its poll is `council.ballots` Poll ("election", round id); the count is written here at close."""

    __tablename__ = "election_rounds"
    __table_args__ = (sa.UniqueConstraint("election_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(sa.ForeignKey("elections.id"), index=True)
    number: Mapped[int] = mapped_column()
    kind: Mapped[RoundKind] = mapped_column(str_enum(RoundKind, 8))
    seats: Mapped[int] = mapped_column()
    write_ins: Mapped[bool] = mapped_column(default=True)
    # Written once, at the count.
    returned: Mapped[int | None] = mapped_column()
    valid: Mapped[int | None] = mapped_column()
    void: Mapped[int | None] = mapped_column()
    status: Mapped[str | None] = mapped_column(sa.String(24))  # ballots.rules.ElectionStatus
    counted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    election: Mapped[Election] = relationship()
    # The round's poll comes with it (one join, not a query of its own each time a page or a cast needs it).
    # Read it through services.poll_of, which also finds a poll made after the round was loaded.
    poll: Mapped[Poll | None] = relationship(
        primaryjoin=lambda: sa.and_(Poll.subject_type == "election", foreign(Poll.subject_id) == ElectionRound.id),
        viewonly=True, lazy="joined", uselist=False)


class RoundCandidate(db.Model):
    """A name in a round: a printed candidate (with a position on the ballot) or a write-in with votes."""

    __tablename__ = "election_round_candidates"
    __table_args__ = (sa.UniqueConstraint("round_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("election_rounds.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    position: Mapped[int | None] = mapped_column()  # None: written in
    votes: Mapped[int | None] = mapped_column()
    against: Mapped[int | None] = mapped_column()
    elected: Mapped[bool] = mapped_column(default=False)
    runoff: Mapped[bool] = mapped_column(default=False)  # tied at the last seat
    next_round: Mapped[bool] = mapped_column(default=False)  # goes on to the second round

    user: Mapped[User] = relationship()


class Nomination(db.Model):
    """A member put forward, by themselves or jointly by members; a candidate once accepted."""

    __tablename__ = "election_nominations"
    __table_args__ = (sa.UniqueConstraint("election_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(sa.ForeignKey("elections.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    self_nominated: Mapped[bool] = mapped_column(default=False)
    proposed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    statement: Mapped[str] = mapped_column(sa.Text, default="")
    contact: Mapped[str] = mapped_column(sa.String(100), default="")  # how residents reach them once elected
    photo: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    has_photo: Mapped[bool] = mapped_column(default=False)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    proposed_by: Mapped[User] = relationship(foreign_keys=[proposed_by_id])


class NominationSupport(db.Model):
    """A member joining a nomination (联名推荐)."""

    __tablename__ = "election_nomination_supports"
    __table_args__ = (sa.UniqueConstraint("nomination_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    nomination_id: Mapped[int] = mapped_column(sa.ForeignKey("election_nominations.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RollObjection(db.Model):
    """An objection to the published roll, and the committee's recorded ruling."""

    __tablename__ = "election_roll_objections"

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(sa.ForeignKey("elections.id"), index=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    kind: Mapped[RollObjectionKind] = mapped_column(str_enum(RollObjectionKind, 16))
    # MOVED: the roll line objected to (kept as text: an upheld objection strikes the line).
    line_id: Mapped[int | None] = mapped_column()
    line_label: Mapped[str] = mapped_column(sa.String(120), default="")
    body: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ruling: Mapped[Ruling | None] = mapped_column(str_enum(Ruling, 16))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    ruled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    ruled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    author: Mapped[User] = relationship(foreign_keys=[author_id])
    ruled_by: Mapped[User | None] = relationship(foreign_keys=[ruled_by_id])


class PaperBatch(db.Model):
    """A stack of paper ballots that two tellers each enter; accepted into the box only if they agree."""

    __tablename__ = "election_paper_batches"
    __table_args__ = (sa.UniqueConstraint("round_id", "number"),
                      sa.CheckConstraint("size > 0", name="batch_not_empty"))

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("election_rounds.id"), index=True)
    number: Mapped[int] = mapped_column()
    size: Mapped[int] = mapped_column()
    first_teller_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    second_teller_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    first_teller: Mapped[User] = relationship(foreign_keys=[first_teller_id])
    second_teller: Mapped[User | None] = relationship(foreign_keys=[second_teller_id])


class PaperEntry(db.Model):
    """One paper ballot as one teller typed it: slot 1 or 2 of its batch, the marks; nothing else."""

    __tablename__ = "election_paper_entries"
    __table_args__ = ({"sqlite_with_rowid": False},)

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("election_paper_batches.id"), index=True)
    slot: Mapped[int] = mapped_column()
    marks: Mapped[str] = mapped_column(sa.Text)
