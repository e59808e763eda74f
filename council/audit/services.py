"""Append privileged actions to the audit log, and read it back for checking.

`council.activity.services.record` calls `append` for every verb in PRIVILEGED. A few actions call `append`
themselves with an audit-only verb (not shown in the activity feed): the downloads that had no activity record
("export.ledger_print", "export.filing_detail_csv", "export.filing_summary_csv", "export.filing_print"; the
owner register and concerns ledger CSVs are audited through their activity verbs) and the minute-taker's
decision on a suggested correction ("minutes.correction_accepted" / "_declined"). Like `record`, `append` never
commits: the entry, the head and the change it describes commit together in the caller's transaction, or not at
all. Never pass a ballot choice, a mark or a tracker: for votes and elections the detail is at most a count
or a roll line's label.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from council.accounts.models import User
from council.audit import rules
from council.audit.models import AuditEntry, AuditHead
from council.extensions import db
from council.sqltypes import utcnow
from council.territory.models import Place

# The activity verbs that are privileged actions, and so audited as well: an exact verb, or a prefix ending
# in "." for every verb of that family. One list, so what is audited is read in one place.
PRIVILEGED: tuple[str, ...] = (
    # Membership decisions by staff (not a resident's own request or withdrawal).
    "membership.approved", "membership.refused", "membership.ended", "membership.representative",
    "membership.registered", "membership.claim_code",
    "party.",  # the branch secretary's register of party members
    "role.",  # roles granted and revoked
    "place.", "household.",  # territory changes (places, households, their CSV import): admins only
    "owners.",  # owner register changes and imports (one entry per unit), and its CSV export
    # Concerns: escalations, department calls (呼叫/报到), the ledger CSV export.
    "concern.escalate", "concern.called", "concern.dept_reported", "concern.exported",
    # Proposal steering by the service team (passing and rejecting follow the audited vote.closed).
    "proposal.put_on_agenda", "proposal.open_vote", "proposal.start", "proposal.finish",
    "proposal.comment_hidden",  # moderation
    # Votes: opened, closed (passed or not), written proxies, paper check-offs and batches (counts only),
    # answers to objections. Casting a ballot is never recorded anywhere.
    "vote.opened", "vote.closed", "vote.proxy", "vote.proxy_cleared", "vote.paper", "vote.paper_batch",
    "vote.objection_answered",
    # Meetings: agenda published, meeting cancelled or moved; minutes approved and published.
    "meeting.published", "meeting.cancelled", "meeting.moved",
    "minutes.approved", "minutes.published",
    "election.",  # every phase: calling, officials, roll rulings, nominations, slate, batches, count, rounds, finish
)
_EXACT = frozenset(verb for verb in PRIVILEGED if not verb.endswith("."))
_PREFIXES = tuple(verb for verb in PRIVILEGED if verb.endswith("."))

HEAD_ID = 1
CHUNK = 1000  # entries read at a time when checking the log


class AuditBroken(RuntimeError):
    """The log cannot be appended to: its head row is gone while entries remain (run audit-verify)."""


def privileged(verb: str) -> bool:
    return verb in _EXACT or verb.startswith(_PREFIXES)


def _id(thing: User | Place | int | None) -> int | None:
    return thing if thing is None or isinstance(thing, int) else thing.id


_HEAD = AuditHead.__table__
# Built once (Core statements on the tables, values bound at execution): an import appends thousands of entries.
_BUMP = (sa.update(_HEAD).where(_HEAD.c.id == HEAD_ID).values(count=_HEAD.c.count + 1)
         .returning(_HEAD.c.count, _HEAD.c.last_hash))
_INSERT = sa.insert(AuditEntry.__table__)
_SET_LAST = sa.update(_HEAD).where(_HEAD.c.id == HEAD_ID).values(last_hash=sa.bindparam("new_hash"))


def _take_head() -> rules.Head:
    """Move the head on by one and return it as it now stands, holding it until the transaction ends.

    An UPDATE comes first, never a plain read: on PostgreSQL it locks the row (like SELECT ... FOR UPDATE,
    so a concurrent append waits, then sees the committed count); on SQLite it takes the database's write lock
    before anything is read (a SELECT ... FOR UPDATE locks nothing there)."""
    row = db.session.execute(_BUMP).one_or_none()
    if row is None:
        _create_head()
        row = db.session.execute(_BUMP).one()
    return rules.Head(row.count, row.last_hash)


def _create_head() -> None:
    """The first append of an empty log writes the head. Several processes at once: the primary key keeps one
    (the others wait for its commit, then find it); a head written over a log that has entries is refused."""
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (insert(_HEAD).values(id=HEAD_ID, count=0, last_hash=rules.GENESIS).on_conflict_do_nothing()
                 .returning(_HEAD.c.id))  # a row back: this transaction wrote it (rowcount is -1 on psycopg)
    written = db.session.execute(statement).first() is not None
    if written and db.session.scalar(sa.select(AuditEntry.id).limit(1)) is not None:
        raise AuditBroken("the audit log has entries but no head row; run `flask council audit-verify`")


def append(actor: User | int | None, action: str, place: Place | int | None, subject_type: str | None = None,
           subject_id: int | None = None, target: User | int | None = None, detail: str | None = None,
           at: datetime | None = None) -> rules.Stored:
    """Add one entry after the newest (in the caller's transaction, which commits it with its head)."""
    head = _take_head()
    fields = rules.Fields(seq=head.count, at=at or utcnow(), actor_id=_id(actor), action=action,
                          place_id=_id(place), subject_type=subject_type, subject_id=subject_id,
                          target_user_id=_id(target), detail=detail or None)
    entry = rules.seal(head.last_hash, fields)
    row = fields._asdict()
    row["id"] = row.pop("seq")
    db.session.execute(_INSERT, {**row, "prev_hash": entry.prev_hash, "hash": entry.hash})
    db.session.execute(_SET_LAST, {"new_hash": entry.hash})
    return entry


def read_head() -> rules.Head | None:
    row = db.session.execute(sa.select(AuditHead.count, AuditHead.last_hash).where(AuditHead.id == HEAD_ID)).first()
    return rules.Head(row.count, row.last_hash) if row else None


_COLUMNS = (AuditEntry.id, AuditEntry.at, AuditEntry.actor_id, AuditEntry.action, AuditEntry.place_id,
            AuditEntry.subject_type, AuditEntry.subject_id, AuditEntry.target_user_id, AuditEntry.detail,
            AuditEntry.prev_hash, AuditEntry.hash)


def stored_entries(up_to: int | None = None, chunk: int | None = None) -> Iterator[rules.Stored]:
    """Every entry (up to sequence number `up_to`) in sequence order, read `chunk` rows at a time by key, so
    memory stays constant however long the log is."""
    chunk = chunk or CHUNK
    after = None
    while True:
        query = sa.select(*_COLUMNS).order_by(AuditEntry.id).limit(chunk)
        if after is not None:
            query = query.where(AuditEntry.id > after)
        if up_to is not None:
            query = query.where(AuditEntry.id <= up_to)
        rows = db.session.execute(query).all()
        for row in rows:
            yield rules.Stored(rules.Fields(*row[:9]), row.prev_hash, row.hash)
        if len(rows) < chunk:
            return
        after = rows[-1].id


def newest_id() -> int | None:
    return db.session.scalar(sa.select(sa.func.max(AuditEntry.id)))
