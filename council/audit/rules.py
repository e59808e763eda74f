"""Pure rules of the audit log's hash chain: how an entry is serialised and hashed, and how a chain is checked.

No Flask, no database: plain tuples in, a verdict out, property-tested. Each entry's hash covers the previous
entry's hash and every one of its own fields (its sequence number too), so editing, deleting, inserting or
moving an entry breaks the chain at that point. Deleting the newest entries leaves a valid but shorter chain:
the head (the count and the last hash, kept in its own row and moved in the same transaction as each append)
is what shows that. Without a secret, someone able to rewrite the whole table and the head can forge a
consistent log; writing the head hash down elsewhere (`flask council audit-verify` prints it) anchors it.
"""
from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

GENESIS = "0" * 64  # the "previous hash" of the first entry


class Fields(NamedTuple):
    """What one entry says, in the order it is hashed."""

    seq: int  # 1, 2, 3... with no gaps (the row's primary key)
    at: datetime  # timezone-aware; hashed as UTC to the microsecond
    actor_id: int | None
    action: str  # the verb, e.g. "role.granted" or "export.ledger_csv"
    place_id: int | None
    subject_type: str | None
    subject_id: int | None
    target_user_id: int | None
    detail: str | None  # never a ballot choice, a mark or a tracker


class Stored(NamedTuple):
    """An entry as read back: its fields, the hash it claims to follow and its own hash."""

    fields: Fields
    prev_hash: str
    hash: str


class Head(NamedTuple):
    """The one-row head: how many entries there should be and the newest one's hash."""

    count: int
    last_hash: str


def canonical(fields: Fields) -> bytes:
    """One byte string per distinct entry: JSON with sorted keys, no spaces, UTF-8, null kept apart from ""."""
    if fields.at.tzinfo is None:
        raise ValueError("naive datetime in an audit entry")
    data = fields._asdict()
    data["at"] = fields.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def entry_hash(prev_hash: str, fields: Fields) -> str:
    """sha256 over the previous hash and the entry's canonical form (hex, 64 characters)."""
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical(fields)).hexdigest()


def seal(prev_hash: str, fields: Fields) -> Stored:
    """The entry as it is to be stored after `prev_hash`."""
    return Stored(fields, prev_hash, entry_hash(prev_hash, fields))


def chain(fields: Iterable[Fields], prev_hash: str = GENESIS) -> list[Stored]:
    """Seal entries one after the other (tests and batch appends)."""
    sealed = []
    for each in fields:
        sealed.append(seal(prev_hash, each))
        prev_hash = sealed[-1].hash
    return sealed


class Problem(enum.StrEnum):
    EDITED = "edited"  # the entry's hash does not match its fields
    RELINKED = "relinked"  # the entry does not follow the one before it (that one rewritten with a new hash?)
    MISSING = "missing"  # entries first..last are not there
    OUT_OF_ORDER = "out_of_order"  # a sequence number repeated or going backwards
    TRUNCATED = "truncated"  # fewer entries than the head counts: the newest were deleted
    EXTRA = "extra"  # more entries than the head counts: added behind the application's back
    HEAD_MISMATCH = "head_mismatch"  # the newest entry's hash is not the head's
    NO_HEAD = "no_head"  # entries but no head row


@dataclass(frozen=True)
class Break:
    """The first problem found: its kind and the entries concerned (first..last, by sequence number)."""

    kind: Problem
    first: int
    last: int


def verify(entries: Iterable[Stored], head: Head | None) -> Break | None:
    """Check a log read in sequence order against its head; None when intact, else the first break.

    Consumes `entries` once, lazily, so a log of any length is checked in constant memory."""
    expected, prev_hash = 1, GENESIS
    for entry in entries:
        seq = entry.fields.seq
        if seq < expected:
            return Break(Problem.OUT_OF_ORDER, seq, seq)
        if seq > expected:
            return Break(Problem.MISSING, expected, seq - 1)
        if entry.prev_hash != prev_hash:
            return Break(Problem.RELINKED, seq, seq)
        if entry_hash(entry.prev_hash, entry.fields) != entry.hash:
            return Break(Problem.EDITED, seq, seq)
        prev_hash, expected = entry.hash, expected + 1
    count = expected - 1
    if head is None:
        return Break(Problem.NO_HEAD, 1, count) if count else None
    if count < head.count:
        return Break(Problem.TRUNCATED, count + 1, head.count)
    if count > head.count:
        return Break(Problem.EXTRA, head.count + 1, count)
    if head.last_hash != prev_hash:
        return Break(Problem.HEAD_MISMATCH, count, count)
    return None
