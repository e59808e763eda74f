"""Proposals, the buildings they concern, co-signatures (联署), followers and each estate's settings."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from council.accounts.models import User
from council.extensions import db
from council.proposals.rules import Category, ProposalState
from council.sqltypes import UTCDateTime, str_enum, utcnow
from council.territory.models import Place

# The buildings a proposal concerns (a lift concerns one building); none means the whole estate.
proposal_buildings = sa.Table(
    "proposal_buildings", db.metadata,
    sa.Column("proposal_id", sa.ForeignKey("proposals.id"), primary_key=True),
    sa.Column("building_id", sa.ForeignKey("places.id"), primary_key=True, index=True),
)


class Proposal(db.Model):
    """A resident's proposal for their estate or some of its buildings, from draft to done."""

    __tablename__ = "proposals"
    __table_args__ = (
        sa.Index("ix_proposals_estate_state", "estate_id", "state"),
        sa.CheckConstraint("cost_yuan IS NULL OR cost_yuan >= 0", name="cost_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(sa.ForeignKey("places.id"))
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(120))
    # Markdown as written; shown only through proposals.text.render (sanitised).
    body: Mapped[str] = mapped_column(sa.Text, default="")
    category: Mapped[Category] = mapped_column(str_enum(Category, 24))
    state: Mapped[ProposalState] = mapped_column(str_enum(ProposalState, 16), default=ProposalState.DRAFT)
    # Estimated cost and who would pay it ("a bit from each"), whole yuan; the shares add up to the cost.
    cost_yuan: Mapped[int | None] = mapped_column(sa.BigInteger)
    share_government: Mapped[int | None] = mapped_column(sa.BigInteger)
    share_outside: Mapped[int | None] = mapped_column(sa.BigInteger)
    share_residents: Mapped[int | None] = mapped_column(sa.BigInteger)
    # Distinct households of the co-signers in scope, kept on the row so lists sort without counting.
    household_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the co-signing households first reached the estate's threshold: eligible for the agenda.
    eligible_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Comments and replies, kept on the row so the list sorts by "most discussed" without counting.
    comment_count: Mapped[int] = mapped_column(default=0, server_default=sa.text("0"))

    estate: Mapped[Place] = relationship(foreign_keys=[estate_id])
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    buildings: Mapped[list[Place]] = relationship(secondary=proposal_buildings, order_by=Place.sort_key)


class Cosign(db.Model):
    """A co-signature (联署), once per person and proposal."""

    __tablename__ = "proposal_cosigns"
    __table_args__ = (sa.UniqueConstraint("proposal_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Follow(db.Model):
    """Someone who hears in their inbox when the proposal moves (the author follows from the start)."""

    __tablename__ = "proposal_follows"
    __table_args__ = (sa.UniqueConstraint("proposal_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


DEFAULT_COSIGN_THRESHOLD = 5


class ProposalSettings(db.Model):
    """Per estate: how many distinct households must co-sign before a proposal may go on the agenda."""

    __tablename__ = "proposal_settings"
    __table_args__ = (sa.CheckConstraint("cosign_threshold >= 1", name="threshold_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(sa.ForeignKey("places.id"), unique=True)
    cosign_threshold: Mapped[int] = mapped_column(default=DEFAULT_COSIGN_THRESHOLD)


class ProposalComment(db.Model):
    """A comment on a proposal, a reply to one (one level only), or the secretary's official answer.

    The body is plain text (autoescaped, shown with white-space: pre-wrap), never Markdown.
    """

    __tablename__ = "proposal_comments"
    __table_args__ = (sa.Index("ix_proposal_comments_proposal_parent", "proposal_id", "parent_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"))
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # A reply points to a top-level comment; a reply to a reply is attached to that top-level parent.
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("proposal_comments.id"), index=True)
    # The comment being quoted: a short excerpt of it is shown above the body.
    quoted_id: Mapped[int | None] = mapped_column(sa.ForeignKey("proposal_comments.id"))
    body: Mapped[str] = mapped_column(sa.Text)
    is_official: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Hidden by a moderator, with a reason; the author and moderators still see the text.
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    hidden_reason: Mapped[str | None] = mapped_column(sa.String(200))

    author: Mapped[User] = relationship(foreign_keys=[author_id])
    quoted: Mapped[ProposalComment | None] = relationship(foreign_keys=[quoted_id], remote_side=[id])


class CommentReport(db.Model):
    """Someone reported a comment to the moderators, once per person and comment."""

    __tablename__ = "proposal_comment_reports"
    __table_args__ = (sa.UniqueConstraint("comment_id", "reporter_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(sa.ForeignKey("proposal_comments.id"))
    reporter_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
