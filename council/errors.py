"""Friendly error pages in the user's language."""
from flask import render_template
from flask_babel import lazy_gettext as _l

from council.extensions import db

MESSAGES = {
    400: (_l("Something was wrong with that request"),
          _l("The form may have expired. Go back, reload the page and try again.")),
    403: (_l("You cannot open this page"),
          _l("This page belongs to another estate or needs a role you do not hold.")),
    404: (_l("Page not found"), _l("The page may have moved, or the address is mistyped.")),
    405: (_l("That did not work"), _l("This page cannot be used that way.")),
    413: (_l("Too much was sent"), _l("What you sent is larger than we accept. Send something smaller.")),
    429: (_l("Too many tries"), _l("Please wait a few minutes, then try again.")),
    500: (_l("Something went wrong on our side"),
          _l("Nothing you did caused this. Please try again in a moment.")),
}


def render_error(code: int):
    title, text = MESSAGES[code]
    return render_template("errors/error.html", code=code, title=title, text=text), code


def init_app(app) -> None:
    for code in MESSAGES:
        if code == 500:
            continue
        app.register_error_handler(code, lambda e, code=code: render_error(code))

    @app.errorhandler(500)
    def internal_error(_e):
        db.session.rollback()
        return render_error(500)
