"""Small helpers shared by several test modules."""
from __future__ import annotations

from contextlib import contextmanager

import sqlalchemy as sa

from council.extensions import db


@contextmanager
def counting(app):
    """Collect every SQL statement sent while the block runs (for fixed-query-count guards)."""
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
