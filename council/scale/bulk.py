"""Bulk writing for the scale seeder: rows buffered per table with ids given here, written in chunks.

Ids are handed out by the seeder (after each table's current largest id, read once at the start), so a child
row names its parent without a round trip. `flush` hands every buffered table over in foreign-key order. On
PostgreSQL a writer thread streams them by COPY (psycopg 3's copy protocol, several times faster than
executemany here) on the session's own connection and transaction, while the seeder generates the next
estates: the database works while Python does, so the run takes about the longer of the two, not their sum.
Elsewhere (SQLite) `flush` writes at once by chunked executemany of the table's INSERT. Both paths receive the same,
complete rows: scalar column defaults are filled in here and a missing NOT NULL value is an error, so SQLite
and PostgreSQL get identical data.

Activity records go through `Recorder`, which also appends privileged verbs to the audit log's hash chain,
exactly as `council.activity.services.record` does one at a time (council.audit.rules seals each entry).
"""
from __future__ import annotations

import queue
import threading
from collections import Counter, defaultdict
from datetime import UTC, datetime
from operator import itemgetter

import sqlalchemy as sa

from council.activity.models import Activity
from council.activity.services import VERBS
from council.audit import rules as audit_rules
from council.audit.models import AuditEntry, AuditHead
from council.audit.services import HEAD_ID, privileged, read_head
from council.extensions import db
from council.sqltypes import UTCDateTime

CHUNK = 5000  # rows per executemany (SQLite); COPY streams a table's buffer in one go
_MISSING = object()


def _has_serial_id(table: sa.Table) -> bool:
    column = table.c.get("id")
    return (column is not None and column.primary_key and isinstance(column.type, sa.Integer)
            and column.autoincrement is not False)


class Bulk:
    """Buffered rows per table; `add` gives the row its id, `flush` writes everything buffered, `finish` waits
    until all of it is in the database (call it before using the session again)."""

    def __init__(self, session, models) -> None:
        """`models`: every model the seeder gives ids to (their largest ids are read here, once)."""
        self.session = session
        self.postgres = session.get_bind().dialect.name == "postgresql"
        self.pending: dict[sa.Table, list[dict]] = defaultdict(list)
        self.written: Counter[str] = Counter()
        self.buffered = 0
        self._order = {table: i for i, table in enumerate(db.metadata.sorted_tables)}
        self._serial = {table: _has_serial_id(table) for table in self._order}
        # Read now, so that generating rows never needs the connection the writer thread is using.
        self._next = {model.__table__.name: (session.execute(sa.select(sa.func.max(model.id))).scalar() or 0) + 1
                      for model in models}
        self._quote = session.get_bind().dialect.identifier_preparer.quote
        self._batches: queue.Queue | None = None
        self._failure: BaseException | None = None
        if self.postgres:
            self._raw = session.connection().connection.driver_connection
            self._batches = queue.Queue(maxsize=2)  # at most two batches wait: memory stays bounded
            self._writer = threading.Thread(target=self._drain, name="scale-copy", daemon=True)
            self._writer.start()

    def new_id(self, table: sa.Table) -> int:
        value = self._next[table.name]
        self._next[table.name] = value + 1
        return value

    def add(self, model, row: dict) -> int | None:
        """Buffer one row of `model` (a mapped class or a Table); returns its id."""
        table = model if isinstance(model, sa.Table) else model.__table__
        if "id" not in row and self._serial[table]:
            row["id"] = self.new_id(table)
        self.pending[table].append(row)
        self.buffered += 1
        return row.get("id")

    def flush(self) -> None:
        """Hand over every buffered row, parents before children (the metadata's dependency order)."""
        batch = [(table, self.pending[table]) for table in sorted(self.pending, key=self._order.__getitem__)
                 if self.pending[table]]
        self.pending = defaultdict(list)
        self.buffered = 0
        for table, rows in batch:
            self.written[table.name] += len(rows)
        if self._batches is None:
            for table, rows in batch:
                self._write(table, rows)
            return
        while True:  # hand it to the writer, unless the writer has failed
            self._raise_failure()
            try:
                self._batches.put(batch, timeout=0.5)
                return
            except queue.Full:
                continue

    def finish(self) -> None:
        """Flush, and wait until the writer has written everything (re-raising what made it fail)."""
        self.flush()
        if self._batches is not None:
            self._batches.put(None)
            self._writer.join()
            self._batches = None
            self._raise_failure()

    def close(self) -> None:
        """Stop the writer without writing what is still buffered (after a failure: nothing is committed)."""
        if self._batches is not None:
            self._failure = self._failure or RuntimeError("abandoned")
            self._batches.put(None)
            self._writer.join()
            self._batches = None

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise RuntimeError("writing the generated rows failed") from self._failure

    def _drain(self) -> None:
        """The writer thread: COPY each batch, in order, until told to stop or a batch fails."""
        while (batch := self._batches.get()) is not None:
            if self._failure is not None:
                continue  # keep taking batches so the seeder is never blocked; it raises on its next flush
            try:
                for table, rows in batch:
                    self._write(table, rows)
            except BaseException as failure:  # noqa: BLE001 - handed to the main thread, which re-raises it
                self._failure = failure

    def _plan(self, table: sa.Table, rows: list[dict]) -> list[tuple[str, object]]:
        """The columns to write, each with the value a row that lacks it gets (its scalar default or NULL)."""
        keys = set().union(*(row.keys() for row in rows))
        unknown = keys - set(table.c.keys())
        if unknown:
            raise ValueError(f"{table.name}: no column {sorted(unknown)}")
        plan = []
        for column in table.columns:
            default = column.default
            if default is not None and default.is_scalar:
                plan.append((column.name, default.arg))
            elif column.name in keys:
                plan.append((column.name, None if column.nullable else _MISSING))
            elif default is not None or (not column.nullable and column.server_default is None):
                # Computed defaults (the time of writing, mostly) are given explicitly: the seed decides them.
                raise ValueError(f"{table.name}.{column.name} is required and was not given")
        return plan

    def _write(self, table: sa.Table, rows: list[dict]) -> None:
        plan = self._plan(table, rows)
        for name, fallback in plan:
            if fallback is _MISSING and any(name not in row for row in rows):
                raise ValueError(f"{table.name}.{name} is required and missing from some rows")
        if self.postgres:
            self._copy(table, plan, rows)
            return
        # executemany with each value converted by its column type's own bind processor (what a Core insert
        # does, without its per-row bookkeeping: about twice as fast on SQLite).
        dialect = self.session.get_bind().dialect
        names = [name for name, _ in plan]
        processors = [(i, p) for i, name in enumerate(names)
                      if (p := table.c[name].type.bind_processor(dialect)) is not None]
        statement = sa.insert(table).compile(dialect=dialect, column_keys=names)
        order = statement.positiontup or names  # the statement's parameter order (qmark paramstyle)
        where = [names.index(key) for key in order]
        connection = self.session.connection()
        for start in range(0, len(rows), CHUNK):
            chunk = []
            for row in rows[start:start + CHUNK]:
                values = [row.get(name, fallback) for name, fallback in plan]
                for i, process in processors:
                    values[i] = process(values[i])
                chunk.append(tuple(values[i] for i in where))
            connection.exec_driver_sql(str(statement), chunk)

    def _copy(self, table: sa.Table, plan: list[tuple[str, object]], rows: list[dict]) -> None:
        """COPY FROM STDIN in the session's own transaction; UTC datetimes are stored naive, as UTCDateTime does."""
        quote = self._quote
        names = [name for name, _ in plan]
        stamps = [i for i, name in enumerate(names) if isinstance(table.c[name].type, UTCDateTime)]
        complete = itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
        raw = self._raw
        statement = f"COPY {quote(table.name)} ({', '.join(quote(n) for n in names)}) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                # A row with every column (the common case) is read in one C call.
                values = list(complete(row)) if len(row) == len(names) else [
                    row.get(name, fallback) for name, fallback in plan]
                for i in stamps:
                    stamp = values[i]
                    if stamp is not None:
                        values[i] = (stamp if stamp.tzinfo is UTC else stamp.astimezone(UTC)).replace(tzinfo=None)
                copy.write_row(values)

    def reset_sequences(self) -> None:
        """PostgreSQL: move each id sequence past the ids given here, so the app's own inserts follow on."""
        if not self.postgres:
            return
        for table in self._order:
            if table.name in self.written and _has_serial_id(table):
                self.session.execute(sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT max(id) FROM {table.name}))"))


class Chain:
    """Appends to the audit log's hash chain in bulk: each entry sealed after the previous one."""

    def __init__(self, bulk: Bulk) -> None:
        self.bulk = bulk
        head = read_head()
        self.existed = head is not None
        self.count, self.last_hash = (head.count, head.last_hash) if head else (0, audit_rules.GENESIS)

    def append(self, actor_id, action, place_id, subject_type, subject_id, target_id, detail, at) -> None:
        self.count += 1
        fields = audit_rules.Fields(seq=self.count, at=at, actor_id=actor_id, action=action, place_id=place_id,
                                    subject_type=subject_type, subject_id=subject_id, target_user_id=target_id,
                                    detail=detail or None)
        sealed = audit_rules.seal(self.last_hash, fields)
        row = fields._asdict()
        row["id"] = row.pop("seq")
        self.bulk.add(AuditEntry, {**row, "prev_hash": sealed.prev_hash, "hash": sealed.hash})
        self.last_hash = sealed.hash

    def write_head(self) -> None:
        """The head moves with the entries (call after the entries are flushed)."""
        table = AuditHead.__table__
        if self.existed:
            self.bulk.session.execute(sa.update(table).where(table.c.id == HEAD_ID)
                                      .values(count=self.count, last_hash=self.last_hash))
        elif self.count:
            self.bulk.session.execute(sa.insert(table).values(id=HEAD_ID, count=self.count,
                                                              last_hash=self.last_hash))
            self.existed = True


class Recorder:
    """Activity records as `council.activity.services.record` writes them, privileged verbs audited too."""

    def __init__(self, bulk: Bulk) -> None:
        self.bulk = bulk
        self.chain = Chain(bulk)

    def __call__(self, actor_id: int | None, verb: str, place_id: int, subject_type: str, subject_id: int,
                 at: datetime, target_id: int | None = None, detail: str | None = None,
                 note: str | None = None) -> None:
        if verb not in VERBS:
            raise ValueError(f"unknown activity verb {verb!r}")
        detail = (detail or None) and detail[:500]
        self.bulk.add(Activity, {"actor_id": actor_id, "place_id": place_id, "verb": verb,
                                 "subject_type": subject_type, "subject_id": subject_id,
                                 "target_user_id": target_id, "detail": detail,
                                 "note": (note or None) and note[:500], "created_at": at})
        if privileged(verb):
            self.chain.append(actor_id, verb, place_id, subject_type, subject_id, target_id, detail, at)
