"""Sign up, sign in, sign out and the account page."""
from flask import Response, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from council.accounts import bp, export, services
from council.accounts.forms import ChangePasswordForm, LoginForm, SignUpForm
from council.exceptions import Refused
from council.extensions import db, limiter, login_manager
from council.forms import saving, show_refusal
from council.i18n import get_locale
from council.main.views import safe_next

login_manager.user_loader(services.load_user)


def _failed(response) -> bool:
    """Only failed attempts count against the sign-in limits (success redirects)."""
    return response.status_code != 302


def _account_key() -> str:
    return "signin:" + services.normalise_username(request.form.get("login", ""))[:64]


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGNUP_LIMIT"], methods=["POST"])
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = SignUpForm()
    if form.validate_on_submit():
        with saving(form, "mobile") as saved:
            user = services.sign_up(
                form.display_name.data, form.password.data,
                mobile=services.normalise_mobile(form.mobile.data) if form.mobile.data else None,
                username=services.normalise_username(form.username.data) or None,
                locale=str(get_locale()), claim_code=form.claim_code.data or None)
        if saved.ok:
            session.clear()
            login_user(user)
            flash(_("Welcome, %(name)s. Your account is ready.", name=user.display_name), "success")
            return redirect(url_for("membership.join") if not form.claim_code.data else url_for("main.home"))
    return render_template("accounts/signup.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGNIN_LIMIT_PER_ADDRESS"], methods=["POST"], deduct_when=_failed)
@limiter.limit(lambda: current_app.config["SIGNIN_LIMIT_PER_ACCOUNT"], key_func=_account_key,
               methods=["POST"], deduct_when=_failed)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.login.data, form.password.data)
        if user is None:
            form.password.errors.append(_("The mobile number, username or password is not right."))
        else:
            lang = session.get("lang")
            session.clear()  # a fresh session at sign-in: nothing carried over from before
            if lang and not user.locale:
                user.locale = lang
                db.session.commit()
            login_user(user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next"), url_for("main.home")))
    return render_template("accounts/login.html", form=form)


@bp.post("/logout")
def logout():
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("main.home"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current.data, form.new.data)
        except Refused as refusal:
            db.session.rollback()
            show_refusal(form, refusal, "current")
        else:
            db.session.commit()
            login_user(current_user._get_current_object())  # this device stays signed in (new version)
            flash(_("Your password is changed. Other devices have been signed out."), "success")
            return redirect(url_for("accounts.account"))
    return render_template("accounts/account.html", form=form)


@bp.get("/account/my-data.json")
@login_required
def my_data():
    """Everything the platform holds about the signed-in person, as one JSON file (never their secret
    ballots, which point to nobody)."""
    response = Response(export.export_json(current_user), mimetype="application/json")
    response.headers["Content-Disposition"] = "attachment; filename=council-my-data.json"
    response.headers["Cache-Control"] = "no-store"
    return response
