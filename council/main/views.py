"""Home page and language choice."""
from urllib.parse import urlsplit

from flask import current_app, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from council.extensions import db
from council.main import bp
from council.main.services import overview_for
from council.territory.services import children_page


@bp.get("/")
def home():
    if not current_user.is_authenticated:
        return render_template("main/welcome.html")
    return render_template("main/home.html", overview=overview_for(current_user))


@bp.get("/places")
@login_required
def places():
    """The places the signed-in person serves (and, for site administrators, every street)."""
    streets = children_page(None, request.args.get("page", 1, type=int), current_app.config["PER_PAGE"]) \
        if current_user.is_site_admin else None
    return render_template("main/places.html", overview=overview_for(current_user), streets=streets)


def safe_next(target: str | None, fallback: str) -> str:
    """Only follow a local path, never another site (no open redirect)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return fallback


@bp.post("/language")
def set_language():
    """Remember the chosen language in the session and, when signed in, on the account."""
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        if current_user.is_authenticated:
            current_user.locale = lang
            db.session.commit()
    return redirect(safe_next(request.form.get("next"), url_for("main.home")))
