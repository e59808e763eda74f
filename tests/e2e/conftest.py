"""Browser fixtures: the demo street served live on 127.0.0.1, Debian's Chromium driven by Playwright, pages
that leave a screenshot and their HTML under test-output/e2e/<test>/ when the test fails.

The browser tests run once, on the SQLite pass. Without Playwright or Chromium they skip with one line,
except in CI (the CI variable set), where they fail: CI must not go green by skipping them.
"""
from __future__ import annotations

import fcntl
import os
import re
from pathlib import Path

import pytest

from tests.e2e import browser as harness
from tests.helpers import in_ci

REPORTS = pytest.StashKey[dict]()


@pytest.fixture(scope="session", autouse=True)
def _browser_tests_run_here():
    """Skip (or, in CI, fail) every browser test with one line when they cannot run."""
    if os.environ.get("COUNCIL_TEST_DB") == "postgresql":
        pytest.skip("browser tests run once, on the SQLite pass")
    reason = harness.unavailable()
    if reason and in_ci():
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    if reason:
        pytest.skip(reason)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test, so the page fixtures know at teardown whether it failed."""
    report = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    return report


def _failed(request) -> bool:
    reports = request.node.stash.get(REPORTS, {})
    return any(r.failed for r in reports.values())


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory, worker_id) -> Path:
    """The demo database, built once for the whole run (the first xdist worker to need it builds it, under a
    lock, for all); every server runs on a copy of it."""
    shared = tmp_path_factory.getbasetemp()
    shared = shared if worker_id == "master" else shared.parent
    path = shared / "e2e-demo-template.db"
    with open(shared / "e2e-demo-template.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            building = shared / "e2e-demo-building.db"
            harness.build_demo(building)
            building.rename(path)
    return path


@pytest.fixture(scope="session")
def live_server(demo_template, tmp_path_factory):
    """The shared live server (one per xdist worker): tests on it change only what they create (their own
    accounts), so they can share it."""
    server = harness.serve_copy(demo_template, tmp_path_factory.mktemp("e2e") / "shared.db")
    yield server
    server.stop()


@pytest.fixture
def private_server(demo_template, tmp_path):
    """A live server on a fresh copy of the demo, for a test that changes what others look at (counting the
    open election ends it): copying the built demo takes a moment, building it takes seconds."""
    server = harness.serve_copy(demo_template, tmp_path / "private.db")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def demo(live_server) -> harness.DemoPages:
    return harness.demo_pages(live_server)


@pytest.fixture(scope="session")
def chromium():
    with harness.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=harness.CHROMIUM, headless=True,
                                             args=harness.CHROMIUM_ARGS)
        yield browser
        browser.close()


class Pages:
    """Opens browser contexts for one test (a phone or a desktop, in a language, with or without JavaScript),
    records every request and every server error, and closes them all at the end."""

    def __init__(self, chromium):
        self.chromium = chromium
        self.contexts = []
        self.pages = []
        self.requests: list[str] = []
        self.server_errors: list[str] = []

    def open(self, language: str, device: str, javascript: bool = True, storage_state: dict | None = None):
        context = self.chromium.new_context(**harness.context_options(language, device, javascript),
                                            storage_state=storage_state)
        context.set_default_timeout(15_000)
        context.on("request", lambda r: self.requests.append(r.url))
        context.on("response", lambda r: self.server_errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)
        self.contexts.append(context)
        page = context.new_page()
        self.pages.append(page)
        return page

    def save(self, folder: Path) -> None:
        """A screenshot and the HTML of every page still open, for the CI artifacts."""
        folder.mkdir(parents=True, exist_ok=True)
        for i, page in enumerate(self.pages, start=1):
            if page.is_closed():
                continue
            try:
                page.screenshot(path=str(folder / f"page{i}.png"), full_page=True)
                (folder / f"page{i}.html").write_text(page.content(), encoding="utf-8")
                (folder / f"page{i}.url").write_text(page.url + "\n", encoding="utf-8")
            except harness.PlaywrightError as error:  # a crashed page: say so and keep going
                (folder / f"page{i}.error").write_text(str(error), encoding="utf-8")

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(chromium, request):
    """Browser pages for this test; on failure each leaves page<N>.png and page<N>.html under
    test-output/e2e/<test name>/."""
    opened = Pages(chromium)
    yield opened
    try:
        if _failed(request):
            name = re.sub(r"[^\w.-]+", "-", request.node.name).strip("-")
            opened.save(request.config.rootpath / "test-output" / "e2e" / name)
    finally:
        opened.close()
    assert not opened.server_errors, f"the server answered with errors: {opened.server_errors}"


@pytest.fixture(scope="session")
def signed_in(chromium, live_server):
    """The browser state (cookies) of a signed-in demo person, by login: pages open at once, without signing in
    again. Signing out elsewhere does not end these sessions (they live in the cookie)."""
    states = {}

    def state(login: str | None) -> dict | None:
        if login is None:
            return None
        if login not in states:
            context = chromium.new_context()
            harness.sign_in(context.new_page(), live_server, login)
            states[login] = context.storage_state()
            context.close()
        return states[login]

    return state


@pytest.fixture
def open_page(live_server, demo, pages, signed_in):
    """Open one of the key pages on a phone, in a language, as the person who looks at it."""
    def open_(name: str, language: str, javascript: bool = True):
        login, address, content = harness.KEY_PAGES[name]
        page = pages.open(language, "phone", javascript=javascript, storage_state=signed_in(login))
        url = live_server.url(address(demo))
        response = page.goto(url)
        assert response.status == 200 and page.url == url, (response.status, page.url)
        assert page.locator("html").get_attribute("lang") == harness.HTML_LANG[language]
        assert page.locator(content).count() >= 1, f"{name}: nothing matches {content}"
        return page
    return open_
