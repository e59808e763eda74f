"""Everything the platform holds about one person, for them to download (their right to a copy).

Found by the schema itself: every row of every table with a column that points to the person (their
memberships, concerns, comments, proposals, named votes, proxies, nominations, roles, activity about them...),
so a table added later is included without anyone remembering to. Secret ballots are not there because they
cannot be: the ballot tables point to no person (DESIGN invariant 3). Password hashes and stored photos'
bytes are left out; a photo is listed with its size.
"""
from __future__ import annotations

import enum
import json
from datetime import date, datetime

import sqlalchemy as sa

from council.accounts.models import User
from council.extensions import db

LEFT_OUT = {("users", "password_hash"), ("claim_codes", "code_hash")}


def _value(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes | memoryview):
        return f"<{len(value)} bytes>"
    return value


def person_tables() -> list[tuple[sa.Table, list[sa.Column]]]:
    """Each table with the columns in it that refer to a person (users.id)."""
    found = []
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns for fk in c.foreign_keys if fk.column.table.name == "users"]
        if table.name == "users":
            columns = [table.c.id]
        if columns:
            found.append((table, columns))
    return found


def data_of(user: User) -> dict:
    """{table: [rows]} of every row that refers to this person (one query per such table)."""
    out: dict[str, list[dict]] = {}
    for table, columns in person_tables():
        rows = db.session.execute(sa.select(table).where(sa.or_(*(c == user.id for c in columns)))
                                  .order_by(*table.primary_key.columns)).mappings().all()
        if rows:
            out[table.name] = [{key: _value(value) for key, value in row.items()
                                if (table.name, key) not in LEFT_OUT} for row in rows]
    return out


def export_json(user: User) -> str:
    return json.dumps({"person": user.id, "exported_at": datetime.now().astimezone().isoformat(),
                       "note": "Secret ballots are not included: they are stored without any link to a person.",
                       "data": data_of(user)}, ensure_ascii=False, indent=1)
