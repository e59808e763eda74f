"""Fixtures: one app per test session (SQLite file, or PostgreSQL when COUNCIL_TEST_DB=postgresql),
tables emptied after every test, a client, and a `login` helper."""
from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url

from council import create_app, pagecache
from council.config import TestConfig
from council.extensions import cache, db
from council.permissions import forget_standings
from tests import factories
from tests.helpers import KEEP_PAGES


def _postgres_url(worker: str) -> str:
    """A database of its own for each xdist worker, created on the server named by TEST_DATABASE_URL."""
    base = make_url(os.environ["TEST_DATABASE_URL"])
    name = f"{base.database}_council_{worker}"
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def database_url(tmp_path_factory, worker: str) -> str:
    if os.environ.get("COUNCIL_TEST_DB") == "postgresql":
        return _postgres_url(worker)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'council.db'}"


@pytest.fixture(scope="session")
def database_uri(tmp_path_factory, worker_id):
    return database_url(tmp_path_factory, worker_id)


class EnglishClient(FlaskClient):
    """A browser that asks for English, so assertions read the English text; tests of the Chinese
    pages send their own Accept-Language (or drop it to get the zh_Hans default)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


# COUNCIL_TEST_KEEP_PAGES=1 runs the suite with members' pages kept (council/pagecache.py) in memory, as a
# server with Redis keeps them: every test that reads a page after a change then also checks that the change
# moved the versions the kept page was under (make test runs the page tests so too).


@pytest.fixture(scope="session")
def app(database_uri):
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_uri
        if KEEP_PAGES:
            CACHE_TYPE = "SimpleCache"
            CACHE_THRESHOLD = 100_000
            CACHE_SIGNED_IN_PAGES = True

    application = create_app(Config)
    application.test_client_class = EnglishClient
    with application.app_context():
        db.drop_all()
        db.create_all()
    yield application
    with application.app_context():
        db.engine.dispose()


def empty_tables(application) -> None:
    with application.app_context():
        db.session.remove()
        tables = list(reversed(db.metadata.sorted_tables))
        # DELETE, not TRUNCATE: on a few small tables it is several times faster on PostgreSQL.
        with db.engine.begin() as conn:
            for table in tables:
                conn.execute(table.delete())


@pytest.fixture(autouse=True)
def _fresh_tables(request):
    """Every test starts with empty tables (only for tests that use the app)."""
    yield
    if "app" in request.fixturenames:
        empty_tables(request.getfixturevalue("app"))
        forget_standings()  # ids start again from 1: a kept standing must not outlive its person
        pagecache.forget_local()
        if KEEP_PAGES:
            with request.getfixturevalue("app").app_context():
                cache.clear()  # nor a kept page or version its place


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def world(app):
    """The standard territory with people in every role (ids only; see factories.World)."""
    with app.app_context():
        return factories.build_world()


@pytest.fixture
def login(client):
    """Sign the test client in as a username from the world (password factories.PASSWORD)."""
    def sign_in(username: str):
        client.post("/logout")
        response = client.post("/login", data={"login": username, "password": factories.PASSWORD})
        assert response.status_code == 302, f"could not sign in as {username}"
        return client
    return sign_in
