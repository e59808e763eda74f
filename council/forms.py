"""Forms shared by every area: the base form (errors in the page's language) and a CSRF-only form."""
from functools import lru_cache

from babel.support import Translations
from flask_wtf import FlaskForm
from wtforms.i18n import messages_path

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


class EmptyForm(CouncilForm):
    """CSRF for one-button POST forms (approve, revoke, withdraw...)."""


def show_refusal(form: CouncilForm, refusal, default: str) -> None:
    """Show a service's refusal under the field it names, or under `default` if the form has no such field."""
    field = form._fields.get(refusal.field or "") or form._fields[default]
    field.errors = [*field.errors, refusal.message]
