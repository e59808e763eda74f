"""Council (邻里议事厅): the application factory."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, abort, request
from flask_babel import lazy_gettext as _l
from werkzeug.routing import IntegerConverter

from council import errors, i18n, security
from council.config import DEFAULT_SECRET, Config
from council.extensions import babel, cache, csrf, db, limiter, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent


class IdConverter(IntegerConverter):
    """`<int:...>` in URLs: a database id (INTEGER), so nothing above 2³¹-1: a 404, not a crash."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002  (werkzeug's signature)
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def refuse_nul_characters() -> None:
    """No person types a NUL character, and PostgreSQL cannot store one in text (the request would end in a
    500 wherever it reached the database): a request carrying one in its address, query or form fields is
    refused (400) before any view reads it."""
    query = request.query_string  # parsed only when it may hold one (a page read has no form to parse)
    sources = ((request.args,) if b"%00" in query or b"\x00" in query else ()) + (
        (request.form,) if request.method not in ("GET", "HEAD", "OPTIONS") else ())
    fields = (item for source in sources for key, values in source.lists() for item in (key, *values))
    if "\x00" in request.path or any("\x00" in item for item in fields):
        abort(400)


def create_app(config: type | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints, error pages and commands."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_object(config or Config)
    app.url_map.converters["int"] = IdConverter
    os.makedirs(app.instance_path, exist_ok=True)
    if os.environ.get("COUNCIL_ENV") == "production" and app.config["SECRET_KEY"] == DEFAULT_SECRET:
        raise RuntimeError("Set SECRET_KEY: production refuses to start with the default key.")

    db.init_app(app)
    import council.models  # noqa: F401  (register every table before Alembic looks)

    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    babel.init_app(app, locale_selector=i18n.select_locale, default_translation_directories="translations")
    csrf.init_app(app)
    limiter.init_app(app)
    cache.init_app(app)
    i18n.init_app(app)
    errors.init_app(app)
    app.before_request(refuse_nul_characters)
    security.init_app(app)

    from council.accounts.views import bp as accounts_bp
    from council.activity.views import bp as activity_bp
    from council.ballots.views import bp as ballots_bp
    from council.concerns.views import bp as concerns_bp
    from council.elections.views import bp as elections_bp
    from council.main.views import bp as main_bp
    from council.meetings.views import bp as meetings_bp
    from council.membership.views import bp as membership_bp
    from council.notifications.views import bp as notifications_bp
    from council.owners.views import bp as owners_bp
    from council.proposals.views import bp as proposals_bp
    from council.roles.views import bp as roles_bp
    from council.territory.views import bp as territory_bp

    for blueprint in (main_bp, accounts_bp, territory_bp, membership_bp, roles_bp, activity_bp, concerns_bp,
                      notifications_bp, proposals_bp, ballots_bp, owners_bp, meetings_bp, elections_bp):
        app.register_blueprint(blueprint)

    from council.permissions import Action, can, current_standing

    app.jinja_env.globals.update(can=can, Action=Action, current_standing=current_standing)

    from council import versions  # noqa: F401  (its listeners move the versions kept members' pages are under)
    from council.pagecache import ACCOUNT_MARK, MENU_MARK, live_part

    app.jinja_env.globals.update(ACCOUNT_MARK=ACCOUNT_MARK, MENU_MARK=MENU_MARK, live_part=live_part)

    from council.cli import council_cli

    app.cli.add_command(council_cli)
    return app
