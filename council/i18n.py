"""Language choice and locale-aware formatting (times shown in Asia/Shanghai by default)."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale
from flask import current_app, g, has_app_context, has_request_context, request, session
from flask_babel import format_date, format_datetime, format_decimal, format_time, get_timezone, get_translations
from flask_babel import get_locale as babel_locale
from flask_login import current_user

from council.versions import good_until

LANGUAGE_NAMES = {"zh_Hans": "简体中文", "zh_Hant": "繁體中文", "en": "English"}

_TRADITIONAL_REGIONS = {"tw", "hk", "mo", "hant"}


def negotiate(accepted: Iterable[str], default: str = "zh_Hans") -> str:
    """Map browser language tags, best first, to one of our three languages."""
    for tag in accepted:
        parts = tag.replace("_", "-").lower().split("-")
        if parts[0] == "en":
            return "en"
        if parts[0] == "zh":
            return "zh_Hant" if _TRADITIONAL_REGIONS & set(parts[1:]) else "zh_Hans"
    return default


def get_locale() -> str:
    """The account's language, else the one chosen this session, else the browser's, else zh_Hans."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # commands and background work speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    return negotiate(request.accept_languages.values(), current_app.config["BABEL_DEFAULT_LOCALE"])


@lru_cache(maxsize=16)
def _locale(code: str) -> Locale:
    return Locale.parse(code)


def select_locale() -> Locale:
    """Flask-Babel's locale selector: `get_locale()` as a Locale made once per language (Flask-Babel parses
    what the selector returns on every request, unless it is a Locale already)."""
    return _locale(get_locale())


@lru_cache(maxsize=20_000)
def _formatted(_language: str, _zone: str, value, style: str) -> str:
    """A time or date formatted once per (language, zone, value, style): Babel takes about 70 µs a time and a
    list page shows dozens. The language and zone are only the key: Flask-Babel reads the same ones from the
    request when the string is first made."""
    if style == "minutes":
        return f"{format_date(value, 'medium')} {format_time(value, 'short')}"
    if style.startswith("date:"):
        return format_date(value, style.removeprefix("date:"))
    return format_datetime(value, style)


def fmt_datetime(value, style: str = "minutes") -> str:
    """A time in the viewer's zone and language; "minutes" (default) is date, hour and minute."""
    return "" if value is None else _formatted(str(babel_locale()), str(get_timezone()), value, style)


def fmt_area_dm2(value: int | None) -> str:
    """A floor area stored in dm², shown in m² with two decimals in the locale's format."""
    if value is None:
        return ""
    return format_decimal(Decimal(value) / 100, format="#,##0.00")


def fmt_date(value, style: str = "medium") -> str:
    """A date (or a time's date, in the viewer's zone) in the viewer's language, kept like fmt_datetime's."""
    return "" if value is None else _formatted(str(babel_locale()), str(get_timezone()), value, "date:" + style)


def local_today() -> date:
    """Today's date where the estates are (the default time zone, Asia/Shanghai): deadlines are days there.
    A page kept for members that asks (an overdue mark) is good until midnight there."""
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai") if current_app
                    else "Asia/Shanghai")
    today = datetime.now(zone).date()
    good_until(datetime.combine(today + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC))
    return today


def at_local(day: date, moment: time) -> datetime:
    """A date and time as the estates read them (Asia/Shanghai by default), in UTC for storage."""
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai"))
    return datetime.combine(day, moment, tzinfo=zone).astimezone(UTC)


def current_locale_code() -> str:
    """zh_Hans, zh_Hant or en: the language this page is shown in."""
    locale = babel_locale()
    return str(locale) if locale else "zh_Hans"


def current_locale_tag() -> str:
    """The BCP 47 tag for <html lang>: zh-Hans, zh-Hant or en."""
    return current_locale_code().replace("_", "-")


def sentence_gap() -> str:
    """What goes between two sentences shown one after the other: a space in English, nothing in Chinese
    (a space after "。" reads as a typo)."""
    return "" if current_locale_code().startswith("zh") else " "


def labelled(label: str, value: object) -> str:
    """"Label: value" as the language writes it: a full-width colon in Chinese, a colon and a space in English."""
    return f"{label}：{value}" if current_locale_code().startswith("zh") else f"{label}: {value}"


def counted(label: str, count: int) -> str:
    """"Label (n)": full-width brackets in Chinese."""
    return f"{label}（{count}）" if current_locale_code().startswith("zh") else f"{label} ({count})"


def _catalogue():
    """This request's catalogue, looked up once. (Flask-Babel's own template callables look it up again for
    every string: a list page shows hundreds, and that was a tenth of its time.) The locale is chosen once per
    request by Flask-Babel too, so the two agree."""
    if not has_app_context():
        return get_translations()
    found = g.get("_council_catalogue")
    if found is None:
        found = g._council_catalogue = get_translations()
    return found


def init_app(app) -> None:
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _catalogue().ugettext(s),
        ngettext=lambda s, p, n: _catalogue().ungettext(s, p, n),
        pgettext=lambda c, s: _catalogue().upgettext(c, s),
        npgettext=lambda c, s, p, n: _catalogue().unpgettext(c, s, p, n),
        newstyle=True)
    app.jinja_env.filters["datetime"] = fmt_datetime
    app.jinja_env.filters["area"] = fmt_area_dm2
    app.jinja_env.filters["date"] = fmt_date
    app.jinja_env.globals["today"] = local_today
    app.jinja_env.globals.update(LANGUAGE_NAMES=LANGUAGE_NAMES, current_locale_code=current_locale_code,
                                 current_locale_tag=current_locale_tag, sentence_gap=sentence_gap)
