"""Three languages: every string in a catalog, the language chosen and remembered, locale formats."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from council.i18n import negotiate
from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ("zh_Hans", "zh_Hant", "en")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The messages in the code and templates right now (not a committed, possibly stale, .pot)."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
                    "-k", "_l", "-k", "lazy_gettext", "--ignore-dirs", ".* __pycache__", "--no-location",
                    "-o", str(pot), "council", "templates"],
                   cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as handle:
        return {m.id for m in read_po(handle) if m.id}


@pytest.mark.parametrize("locale", LOCALES)
def test_every_string_is_in_the_catalog(extracted, locale):
    with (ROOT / "council" / "translations" / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    missing = [m for m in extracted if m not in catalog]
    assert not missing, f"{len(missing)} strings missing from {locale}: {sorted(map(str, missing))[:10]}"
    if locale == "en":
        return  # English msgids are the English text
    untranslated = [str(m.id) for m in catalog if m.id in extracted and (not m.string or m.fuzzy
                    or (isinstance(m.string, tuple) and not all(m.string)))]
    assert not untranslated, f"{len(untranslated)} untranslated in {locale}: {untranslated[:10]}"


@pytest.mark.parametrize("locale", ("zh_Hans", "zh_Hant"))
def test_placeholders_survive_translation(locale):
    import re

    with (ROOT / "council" / "translations" / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    pattern = re.compile(r"%\(\w+\)[sd]")
    for message in catalog:
        if message.id and message.string and not isinstance(message.id, tuple):
            assert sorted(pattern.findall(message.id)) == sorted(pattern.findall(message.string)), message.id


@pytest.mark.parametrize("tags, expected", [
    (["zh-CN", "en"], "zh_Hans"), (["zh-TW"], "zh_Hant"), (["zh-HK", "zh"], "zh_Hant"),
    (["zh-Hant-TW"], "zh_Hant"), (["en-US", "zh-CN"], "en"), (["fr-FR", "de"], "zh_Hans"), ([], "zh_Hans"),
    (["zh"], "zh_Hans"), (["fr", "zh-MO"], "zh_Hant"),
])
def test_browser_language_negotiation(tags, expected):
    assert negotiate(tags) == expected


def test_language_from_browser_then_switcher(client):
    assert '<html lang="zh-Hant"' in client.get("/", headers={"Accept-Language": "zh-TW"}).text
    assert '<html lang="en"' in client.get("/", headers={"Accept-Language": "en-GB"}).text
    response = client.post("/language", data={"lang": "en", "next": "/login"})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    page = client.get("/login", headers={"Accept-Language": "zh-CN"}).text
    assert '<html lang="en"' in page and "Sign in" in page
    # Unknown languages and foreign redirect targets are ignored.
    response = client.post("/language", data={"lang": "xx", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"


def test_language_is_stored_on_the_account(app, world, login):
    client = login("resident")
    client.post("/language", data={"lang": "zh_Hant"})
    other_device = app.test_client()
    other_device.post("/login", data={"login": "resident", "password": PASSWORD})
    assert '<html lang="zh-Hant"' in other_device.get("/", headers={"Accept-Language": "en"}).text


def test_chinese_pages_are_in_chinese(world, login):
    client = login("resident")
    page = client.get("/", headers={"Accept-Language": "zh-CN"}).text
    assert "退出登录" in page and "我的住址" in page
    client.post("/language", data={"lang": "zh_Hant"})
    assert "登出" in client.get("/").text
    client.post("/language", data={"lang": "en"})
    assert "Sign out" in client.get("/").text


def test_form_errors_in_the_users_language(world, client):
    page = client.post("/signup", data={"display_name": "", "mobile": "123"},
                       headers={"Accept-Language": "zh-CN"}).text
    assert "请" in page and "Please" not in page
    page = client.post("/signup", data={"display_name": "", "mobile": "123"},
                       headers={"Accept-Language": "zh-TW"}).text
    assert "請" in page


def test_times_shown_in_shanghai(app):
    from datetime import UTC, datetime

    from council.i18n import fmt_datetime

    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert "8:30" in fmt_datetime(datetime(2026, 11, 22, 0, 30, tzinfo=UTC), "short")


def test_kept_formatted_times_follow_the_language_and_the_zone(app):
    """Formatted times are kept per (language, zone, time, style): the same time never crosses over."""
    from datetime import UTC, date, datetime

    from council.i18n import fmt_date, fmt_datetime

    moment = datetime(2026, 11, 22, 17, 30, tzinfo=UTC)  # already the 23rd in Shanghai
    with app.test_request_context(headers={"Accept-Language": "en"}):
        english, english_day = fmt_datetime(moment), fmt_date(moment)
        assert fmt_datetime(moment) == english and "Nov 23, 2026" in english and english_day == "Nov 23, 2026"
        assert fmt_date(date(2026, 11, 22)) == "Nov 22, 2026"
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert fmt_datetime(moment) != english and "2026年11月23日" in fmt_datetime(moment)
        assert fmt_date(moment) == "2026年11月23日"
    babel = app.extensions["babel"]  # Flask-Babel reads its zone from here, set from the config at start
    babel.default_timezone = "UTC"
    try:
        with app.test_request_context(headers={"Accept-Language": "en"}):
            assert fmt_date(moment) == "Nov 22, 2026" and "5:30" in fmt_datetime(moment)
    finally:
        babel.default_timezone = "Asia/Shanghai"


def test_builtin_form_messages_follow_the_script(world, login):
    """WTForms' own messages come in Simplified or Traditional characters as the page does."""
    client = login("newcomer")
    url = f"/join/households/{world.h12}"
    assert "不是有效的选择" in client.post(url, data={"relation": "x"}, headers={"Accept-Language": "zh-CN"}).text
    assert "不是有效的選擇" in client.post(url, data={"relation": "x"}, headers={"Accept-Language": "zh-TW"}).text
