"""Shared by every area: the base form (errors in the page's language), a CSRF-only form, and the
helpers that show a service's refusal or commit its change."""
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from babel.support import Translations
from flask import flash, request
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import DateField as WTFormsDateField
from wtforms.i18n import messages_path

from council.exceptions import Refused
from council.extensions import db
from council.i18n import current_locale_code

# WTForms ships its own messages as zh (simplified) and zh_TW (traditional).
_WTFORMS_LOCALES = {"zh_Hans": "zh", "zh_Hant": "zh_TW", "en": "en"}


@lru_cache(maxsize=8)
def _wtforms_translations(locale: str) -> Translations:
    return Translations.load(messages_path(), [locale], domain="wtforms")


class CouncilForm(FlaskForm):
    """Every form of the app: WTForms' built-in messages follow the page's language."""

    class Meta:
        def get_translations(self, form):
            return _wtforms_translations(_WTFORMS_LOCALES.get(current_locale_code(), "zh"))


class DateField(WTFormsDateField):
    """A date people mean, 1900 to 2199. Year 1 or 9999 parse as dates but overflow once turned into UTC or
    given one more day (a 500): they are refused like any other date that is not valid."""

    EARLIEST, LATEST = date(1900, 1, 1), date(2199, 12, 31)
    INVALID = "Not a valid date value."  # WTForms' own message, translated by its catalogs (CouncilForm.Meta)

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not self.EARLIEST <= self.data <= self.LATEST:
            self.data = None
            raise ValueError(self.gettext(self.INVALID))


MAX_ID = 2**31 - 1  # ids are INTEGER columns; the URL converter stops there too


def posted_id(name: str) -> int | None:
    """An id sent in a form's hidden field: None unless it is a whole number an id column can hold (a forged
    99999999999999999999 would overflow the database driver: a 500 instead of "not found")."""
    value = request.form.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID else None


class EmptyForm(CouncilForm):
    """CSRF for one-button POST forms (approve, revoke, withdraw...)."""


def show_refusal(form: CouncilForm, refusal, default: str) -> None:
    """Show a service's refusal under the field it names, or under `default` if the form has no such field."""
    field = form._fields.get(refusal.field or "") or form._fields[default]
    field.errors = [*field.errors, refusal.message]


def commit_or_flash(change, success: str) -> bool:
    """Run one service call: commit and flash `success`, or roll back and flash the refusal."""
    try:
        change()
    except Refused as refusal:
        db.session.rollback()
        flash(refusal.message, "error")
        return False
    db.session.commit()
    flash(success, "success")
    return True


def button_action(change, success: str) -> bool:
    """A one-button POST (publish, approve, follow...): check its CSRF token, then run one service call,
    committing it and flashing `success`, or flashing why it was refused."""
    if not EmptyForm().validate_on_submit():
        flash(_("The form has expired. Please try again."), "error")
        return False
    return commit_or_flash(change, success)


@dataclass
class Outcome:
    ok: bool = False


@contextmanager
def saving(form: CouncilForm, default: str) -> Iterator[Outcome]:
    """Run a validated form's service call: commit if it went through, or roll back and show the refusal
    under its field (`default` if the form has no such field). Usage::

        with saving(form, "name") as saved:
            place = services.create_place(...)
        if saved.ok:
            return redirect(...)
    """
    outcome = Outcome()
    try:
        yield outcome
    except Refused as refusal:
        db.session.rollback()
        show_refusal(form, refusal, default)
        return
    db.session.commit()
    outcome.ok = True
