"""The audit log and its one-row head. Rows are only ever added (services.append); never a ballot choice."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from council.extensions import db
from council.sqltypes import UTCDateTime


class AuditEntry(db.Model):
    """One privileged action. `hash` covers `prev_hash` and every other column (council.audit.rules)."""

    __tablename__ = "audit_log"

    # The sequence number 1, 2, 3... given by the head, not by the database: a gap means a deleted entry.
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # The verb: an activity verb ("role.granted") or an audit-only one ("export.ledger_print").
    action: Mapped[str] = mapped_column(sa.String(64))
    place_id: Mapped[int | None] = mapped_column(sa.ForeignKey("places.id"), index=True)
    subject_type: Mapped[str | None] = mapped_column(sa.String(32))
    subject_id: Mapped[int | None] = mapped_column()
    target_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # For votes and elections: at most a count or a roll line's label, never a choice, a mark or a tracker.
    detail: Mapped[str | None] = mapped_column(sa.Text)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))


class AuditHead(db.Model):
    """How many entries the log should hold and the newest one's hash: moved in the same transaction as each
    append, so deleting the newest entries (which leaves a valid shorter chain) is detected too. Its row
    lock (PostgreSQL) or SQLite's write lock makes appends from several processes take turns."""

    __tablename__ = "audit_head"
    __table_args__ = (sa.CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column()
    last_hash: Mapped[str] = mapped_column(sa.String(64))


@sa.event.listens_for(AuditEntry, "before_update")
@sa.event.listens_for(AuditEntry, "before_delete")
def _append_only(_mapper, _connection, entry: AuditEntry) -> None:
    """The application only ever adds entries; an edit or a delete through the ORM is a bug."""
    raise RuntimeError(f"audit entry {entry.id} is append-only")
