"""After each write scenario: does the database agree with what the voters were told? Then undo the writes.

Secret ballots (an election round, a secret proposal vote): the ballots that entered the box must number
exactly the voters told "counted", the roll lines newly marked must number the same, every marked line must be
one the harness sent, and no tracker may repeat. Named proposal ballots: the lines newly marked carry a choice,
each cast by a different person. Comments: the comments added number the answers that said "posted", each by
a different author, and the proposal's comment counter moved by as many.

When some requests got no answer at all (a socket error or a timeout), the server may or may not have acted on
them: the count must then lie between "counted" and "counted + unanswered". scenario.lua stops sending before
wrk stops, so normally every request is answered and the comparison is exact.

Then the writes are undone (the roll lines used go back to "not voted", the ballots the run added leave the box,
the comments and the follows and inbox messages they caused are deleted), so the seeded database stays as
seeded and the next run finds the same voters. The box holds no link to a voter, so what the run added is
told apart from what was there by a snapshot of the box's random ids taken before the scenario.

`snapshot`, `facts` and `undo` take a SQLAlchemy session bound to the benchmark database; `problems` is pure.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from council.ballots.models import RollLine, SecretBallot
from council.notifications.models import Notification
from council.proposals.models import Follow, Proposal, ProposalComment

COMMENT_MARK = "【基准测试】"  # every comment the benchmark posts starts with this, to find (and delete) them


@dataclass
class Snapshot:
    """What a write scenario's target looked like before it ran."""

    kind: str  # "secret" | "named" | "comment"
    target_id: int  # poll id, or proposal id for comments
    box: set[str] = field(default_factory=set)
    voted: set[int] = field(default_factory=set)
    last_comment_id: int = 0
    comment_count: int = 0
    followers: set[int] = field(default_factory=set)
    last_notification_id: int = 0


@dataclass
class Facts:
    """What the scenario left in the database."""

    added: int  # ballots added to the box / named lines marked / comments posted
    lines_marked: int = 0
    outside: int = 0  # lines marked (or comments posted) that the harness never sent
    duplicates: int = 0  # repeated trackers, or one person casting / posting twice
    removed: int = 0  # rows that were there before and are gone (must be 0)
    counter_moved: int | None = None  # comments: the proposal's comment_count, after minus before

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def snapshot(session, kind: str, target_id: int) -> Snapshot:
    if kind == "comment":
        return Snapshot(
            kind, target_id,
            last_comment_id=session.scalar(sa.select(sa.func.coalesce(sa.func.max(ProposalComment.id), 0))),
            comment_count=session.scalar(sa.select(Proposal.comment_count).where(Proposal.id == target_id)),
            followers=set(session.scalars(sa.select(Follow.user_id).where(Follow.proposal_id == target_id))),
            last_notification_id=session.scalar(sa.select(sa.func.coalesce(sa.func.max(Notification.id), 0))))
    return Snapshot(kind, target_id,
                    box=set(session.scalars(sa.select(SecretBallot.id).where(SecretBallot.poll_id == target_id))),
                    voted=_voted(session, target_id))


def footprint(session, before: Snapshot) -> tuple[int, ...]:
    """How much the scenario's target holds now (marked lines and ballots, or comments): read until it stops
    moving before the check, since a request wrk saw no answer to may still be running on the server (a check
    reading the lines, then the box, while it commits would see its ballot without its line)."""
    if before.kind == "comment":
        return (session.scalar(sa.select(sa.func.count(ProposalComment.id)).where(
            ProposalComment.proposal_id == before.target_id, ProposalComment.id > before.last_comment_id)),)
    return (session.scalar(sa.select(sa.func.count(RollLine.id)).where(
        RollLine.poll_id == before.target_id, RollLine.status.is_not(None))),
        session.scalar(sa.select(sa.func.count()).select_from(SecretBallot).where(
            SecretBallot.poll_id == before.target_id)))


def _voted(session, poll_id: int) -> set[int]:
    return set(session.scalars(sa.select(RollLine.id).where(RollLine.poll_id == poll_id,
                                                            RollLine.status.is_not(None))))


def _new_comments(session, before: Snapshot):
    return session.execute(sa.select(ProposalComment.id, ProposalComment.author_id).where(
        ProposalComment.proposal_id == before.target_id, ProposalComment.id > before.last_comment_id,
        ProposalComment.body.startswith(COMMENT_MARK))).all()


def facts(session, before: Snapshot, sent: set[int]) -> Facts:
    """What the scenario added. `sent`: the roll line ids (ballots) or user ids (comments) the harness used."""
    if before.kind == "comment":
        rows = _new_comments(session, before)
        authors = [author for _id, author in rows]
        count = session.scalar(sa.select(Proposal.comment_count).where(Proposal.id == before.target_id))
        return Facts(added=len(rows), outside=len(set(authors) - sent), duplicates=len(authors) - len(set(authors)),
                     counter_moved=count - before.comment_count)
    voted = _voted(session, before.target_id)
    marked = voted - before.voted
    removed = len(before.voted - voted)
    if before.kind == "named":
        rows = session.execute(sa.select(RollLine.cast_by_id, RollLine.choice).where(
            RollLine.id.in_(marked))).all() if marked else []
        casters = [by for by, _choice in rows]
        return Facts(added=sum(1 for _by, choice in rows if choice is not None), lines_marked=len(marked),
                     outside=len(marked - sent), duplicates=len(casters) - len(set(casters)), removed=removed)
    box = session.execute(sa.select(SecretBallot.id, SecretBallot.tracker).where(
        SecretBallot.poll_id == before.target_id)).all()
    new = [(ballot_id, tracker) for ballot_id, tracker in box if ballot_id not in before.box]
    trackers = [tracker for _id, tracker in new]
    removed += len(before.box - {ballot_id for ballot_id, _t in box})
    return Facts(added=len(new), lines_marked=len(marked), outside=len(marked - sent),
                 duplicates=len(trackers) - len(set(trackers)), removed=removed)


def problems(kind: str, counted: int, unanswered: int, found: Facts) -> list[str]:
    """Everything wrong with `found`, given that `counted` answers said counted (or posted) and `unanswered`
    requests got no answer. An empty list: the database agrees with what the voters were told."""
    wrong = []
    what = "comments posted" if kind == "comment" else "ballots"
    if unanswered == 0 and found.added != counted:
        wrong.append(f"{found.added} {what} in the database, but {counted} told counted")
    elif not counted <= found.added <= counted + unanswered:
        wrong.append(f"{found.added} {what} in the database, outside {counted}..{counted + unanswered} "
                     f"({counted} told counted, {unanswered} unanswered)")
    if kind in ("secret", "named") and found.lines_marked != found.added:
        wrong.append(f"{found.lines_marked} roll lines marked as voted for {found.added} {what}")
    if found.outside:
        wrong.append(f"{found.outside} {'authors' if kind == 'comment' else 'roll lines'} the benchmark never sent")
    if found.duplicates:
        twice = "the same author twice" if kind == "comment" else "a tracker or a caster twice"
        wrong.append(f"{found.duplicates} duplicates ({twice})")
    if found.removed:
        wrong.append(f"{found.removed} rows that were there before are gone")
    if kind == "comment" and found.counter_moved is not None and found.counter_moved != found.added:
        wrong.append(f"the comment counter moved by {found.counter_moved} for {found.added} comments")
    return wrong


def undo(session, before: Snapshot, sent: set[int]) -> int:
    """Take back what the scenario wrote; returns how many rows (ballots, lines or comments) it took back."""
    if before.kind == "comment":
        rows = _new_comments(session, before)
        ids = [comment_id for comment_id, _a in rows]
        session.execute(sa.delete(Notification).where(
            Notification.id > before.last_notification_id, Notification.subject_type == "proposal",
            Notification.subject_id == before.target_id, Notification.verb == "proposal.commented"))
        new_followers = set(session.scalars(sa.select(Follow.user_id).where(
            Follow.proposal_id == before.target_id))) - before.followers
        if new_followers:
            session.execute(sa.delete(Follow).where(Follow.proposal_id == before.target_id,
                                                    Follow.user_id.in_(new_followers)))
        for start in range(0, len(ids), 5000):
            session.execute(sa.delete(ProposalComment).where(ProposalComment.id.in_(ids[start:start + 5000])))
        session.execute(sa.update(Proposal).where(Proposal.id == before.target_id)
                        .values(comment_count=before.comment_count))
        session.commit()
        return len(ids)
    marked = sorted((_voted(session, before.target_id) - before.voted) & sent)
    for start in range(0, len(marked), 5000):
        session.execute(sa.update(RollLine).where(RollLine.id.in_(marked[start:start + 5000])).values(
            status=None, choice=None, picks=None, cast_by_id=None, cast_at=None))
    added = [ballot_id for ballot_id in session.scalars(sa.select(SecretBallot.id).where(
        SecretBallot.poll_id == before.target_id)) if ballot_id not in before.box]
    for start in range(0, len(added), 5000):
        session.execute(sa.delete(SecretBallot).where(SecretBallot.id.in_(added[start:start + 5000])))
    session.commit()
    return len(marked)
