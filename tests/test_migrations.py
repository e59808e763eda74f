"""`flask db upgrade` on an empty database builds exactly the models' schema, and downgrades cleanly."""
from __future__ import annotations

import os

import flask_migrate
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import make_url

from council import create_app
from council.config import TestConfig
from council.extensions import db


def _empty_database(tmp_path, worker_id) -> str:
    if os.environ.get("COUNCIL_TEST_DB") != "postgresql":
        return f"sqlite:///{tmp_path / 'migrated.db'}"
    base = make_url(os.environ["TEST_DATABASE_URL"])
    name = f"{base.database}_migrations_{worker_id}"
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def test_upgrade_builds_exactly_the_models(tmp_path, worker_id):
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = _empty_database(tmp_path, worker_id)

    app = create_app(Config)
    with app.app_context():
        flask_migrate.upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
            differences = compare_metadata(context, db.metadata)
        assert differences == []

        flask_migrate.downgrade(revision="base")
        with db.engine.connect() as conn:
            left = set(sa.inspect(conn).get_table_names()) - {"alembic_version"}
        assert left == set()
        db.engine.dispose()
