"""Every key page works with JavaScript turned off: it loads with its heading, and its forms still submit (the
language form on anonymous pages, signing out when signed in, signing in on the sign-in page). The pages carry
no script at all."""
from __future__ import annotations

import pytest

from tests.e2e.browser import HTML_LANG, KEY_PAGES, click_through, sign_in


@pytest.mark.parametrize("name", list(KEY_PAGES))
@pytest.mark.parametrize("language", ("zh_Hans", "en"))
def test_works_without_javascript(name, language, live_server, open_page):
    page = open_page(name, language, javascript=False)
    url = page.url
    heading = page.locator("main h1").first
    assert heading.is_visible() and heading.inner_text().strip()
    assert page.locator("script").count() == 0
    login = KEY_PAGES[name][0]
    if login is None:
        # The language form (a signed-in person's choice would be saved on the shared demo account).
        other = "en" if language == "zh_Hans" else "zh_Hans"
        click_through(page, page.locator(f"footer form.languages button[value={other}]"))
        assert page.url == url
        assert page.locator("html").get_attribute("lang") == HTML_LANG[other]
        assert page.locator(f"footer button[value={other}][aria-current]").count() == 1
        if name == "sign-in":  # and the sign-in form itself (as `newcomer`: the chosen language is kept on the
            sign_in(page, live_server, "newcomer")  # account, and no other test signs in as them)
            assert page.url == live_server.url("/")
    else:
        click_through(page, page.locator("header form button[type=submit]"))  # sign out
        assert page.url == live_server.url("/")
        assert page.locator("header a[href='/login']").count() == 1
