"""The ceiling: what two sync gunicorn workers can do on this machine with no application logic at all.

- GET /page renders, with Flask and Jinja, a page of the same byte size as the app's proposal page, listing
  as many comments (the harness measures that page and passes BENCH_CEILING_BYTES and BENCH_CEILING_ITEMS). No
  database: the comments are made once, at start-up, so each request costs routing, one template rendering
  (a loop over the comments) and the response.
- POST /insert runs one INSERT and one COMMIT on the benchmark's own database (SQLAlchemy Core, a table of its
  own, `bench_ceiling`, as wide as a secret ballot), with the same SQLite pragmas as the app.

The app's pages are compared with /page and its writes with /insert: "0.5 × ceiling" means the app keeps half
of what the bare stack manages. Served by gunicorn as `bench.ceiling:create_app()`, like the app.
"""
from __future__ import annotations

import os
import secrets

import sqlalchemy as sa
from flask import Flask, Response, render_template
from jinja2 import DictLoader
from markupsafe import Markup

import council.extensions  # noqa: F401  (its SQLite pragmas, on every engine)

metadata = sa.MetaData()
# As wide as a row of the ballot box (council.ballots.models.SecretBallot): random id, tracker, choice, marks.
TABLE = sa.Table(
    "bench_ceiling", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("tracker", sa.String(16), unique=True),
    sa.Column("choice", sa.String(8)),
    sa.Column("marks", sa.Text),
)

PAGE = """<!doctype html>
<html lang="zh-Hans"><head><meta charset="utf-8"><title>{{ title }}</title>
<link rel="stylesheet" href="/static/css/app.css"></head>
<body><main><h1>{{ title }}</h1>
<section id="discussion"><h2>讨论（{{ comments | length }}）</h2>
{% for c in comments %}<article class="comment" id="comment-{{ c.id }}">
<p class="meta"><strong>{{ c.author }}</strong> · <time>{{ c.when }}</time></p>
<div class="body">{{ c.body }}</div></article>
{% endfor %}</section>{{ padding }}</main></body></html>
"""
SENTENCE = "这个提议很好，建议物业在施工期间做好安全防护，并公布每一笔费用的明细 & 时间表。"


def _comments(count: int, repeat: int = 1) -> list[dict]:
    return [dict(id=i, author=f"居民{i:04d}", when=f"2026-11-{1 + i % 28:02d} 19:{i % 60:02d}",
                 body=SENTENCE * repeat) for i in range(count)]


def _most(fits, start: int = 1) -> int:
    """The largest n ≥ 0 with fits(n), for a fits() that is true up to some n and false after: doubling,
    then bisecting, so a page of hundreds of kilobytes takes a dozen renders, not hundreds."""
    low, high = 0, start
    while fits(high):
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low


def page_fill(target_bytes: int, items: int = 0) -> tuple[list[dict], Markup]:
    """The comments and padding that make PAGE render to exactly `target_bytes` bytes (UTF-8), or as close
    as the smallest page allows. With `items`, the page lists that many comments (as many as the app's page
    shows) and their length makes up the size; otherwise comments of one sentence fill it."""
    template = _flask().jinja_env.get_template("page.html")

    def size(comments, padding=""):
        return len(template.render(title="提议", comments=comments, padding=padding).encode())

    if items > 0 and size(_comments(items)) <= target_bytes:
        repeat = max(_most(lambda r: size(_comments(items, r)) <= target_bytes), 1)
        comments = _comments(items, repeat)
    else:
        comments = _comments(_most(lambda n: size(_comments(n)) <= target_bytes))
    missing = max(target_bytes - size(comments), 0)
    return comments, Markup("<!--" + "x" * (missing - 7) + "-->" if missing >= 7 else " " * missing)


def engine_for(url: str) -> sa.Engine:
    # council.extensions registers its SQLite settings (WAL, busy timeout, foreign keys) on every engine, so the
    # bare INSERT pays the same for a commit as the app does.
    return sa.create_engine(url, pool_pre_ping=True)


def create_table(url: str) -> None:
    """Made by the harness before the server starts (emptied each run, so it never grows)."""
    engine = engine_for(url)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(TABLE.delete())
    engine.dispose()


def _flask() -> Flask:
    app = Flask(__name__)
    app.jinja_loader = DictLoader({"page.html": PAGE})  # compiled once and cached, like the app's templates
    return app


def create_app() -> Flask:
    app = _flask()
    comments, padding = page_fill(int(os.environ.get("BENCH_CEILING_BYTES", "60000")),
                                  int(os.environ.get("BENCH_CEILING_ITEMS", "0")))
    url = os.environ.get("DATABASE_URL")
    engine = engine_for(url) if url else None

    @app.get("/static/img/icon.svg")
    def filler():  # what wrk sends while the last answers are awaited (bench/scenario.lua), as from the app
        return Response('<svg xmlns="http://www.w3.org/2000/svg"/>', mimetype="image/svg+xml")

    @app.get("/page")
    def page():
        return render_template("page.html", title="提议", comments=comments, padding=padding)

    @app.post("/insert")
    def insert():
        if engine is None:
            return Response("no DATABASE_URL", 500)
        with engine.begin() as conn:  # one INSERT, one COMMIT
            conn.execute(TABLE.insert().values(id=secrets.token_urlsafe(16), tracker=secrets.token_hex(6),
                                               choice="for", marks="12+ 15- 19+"))
        return Response("counted", 200, mimetype="text/plain")

    return app
