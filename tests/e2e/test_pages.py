"""Checks on the key pages (browser.KEY_PAGES) in Chinese and English on a phone (360×740): axe-core finds no
serious or critical accessibility problem; no request leaves 127.0.0.1; HTML, CSS and images together weigh
under 100 KB; the text is at least 18px and every control in the page's content is at least 44px tall.
Without JavaScript: test_no_javascript.py."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.e2e.browser import KEY_PAGES

LANGUAGES = ("zh_Hans", "en")
WEIGHT_LIMIT = 100_000  # bytes, uncompressed: HTML + CSS + images

every_page = pytest.mark.parametrize("name", list(KEY_PAGES))
both_languages = pytest.mark.parametrize("language", LANGUAGES)

# Every control a person taps in the page's content, with the box they tap: a radio or a checkbox inside its
# label is tapped through the label.
SMALL_TARGETS = """(minimum) => {
  const small = [];
  for (const el of document.querySelectorAll(
      'main a[href], main button, main input:not([type=hidden]), main select, main textarea, main summary')) {
    const own = el.getBoundingClientRect();
    if (!own.width || !own.height || getComputedStyle(el).visibility === 'hidden') continue;
    const wrapped = (el.type === 'radio' || el.type === 'checkbox') && el.closest('label');
    const box = (wrapped || el).getBoundingClientRect();
    if (box.height < minimum) small.push(`${el.tagName.toLowerCase()} "${(el.textContent || el.name || '').trim()
      .slice(0, 40)}": ${box.height.toFixed(1)}px`);
  }
  return small;
}"""
# What the page itself loaded, uncompressed (Resource Timing): the HTML, then each stylesheet and image.
WEIGHTS = """() => [['document', performance.getEntriesByType('navigation')[0].decodedBodySize],
  ...performance.getEntriesByType('resource').map(e => [e.name, e.decodedBodySize])]"""


def accessibility_problems(page) -> list[str]:
    """axe-core's serious and critical violations (WCAG A and AA and its best practices)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page).response
    assert results["testEngine"]["name"] == "axe-core"
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:5]}"
            for v in results["violations"] if v["impact"] in ("serious", "critical")]


def requests_elsewhere(requests: list[str]) -> list[str]:
    return [url for url in requests if urlsplit(url).scheme not in ("data", "blob")
            and urlsplit(url).hostname != "127.0.0.1"]


def weight_problems(page) -> list[str]:
    weights = page.evaluate(WEIGHTS)
    if len(weights) < 2 or not all(size > 0 for _, size in weights):
        return [f"the stylesheet is missing or came from a cache, so the page cannot be weighed: {weights}"]
    total = sum(size for _, size in weights)
    return [] if total < WEIGHT_LIMIT else [f"{total} bytes (limit {WEIGHT_LIMIT}): {weights}"]


def size_problems(page) -> list[str]:
    font = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    found = [] if font >= 18 else [f"body text is {font}px"]
    return found + page.evaluate(SMALL_TARGETS, 44)


@every_page
@both_languages
def test_key_page(name, language, open_page, pages):
    """One load of the page and every check on it; the report names each check that failed and why."""
    page = open_page(name, language)
    page.wait_for_load_state("load")
    checks = {
        "serious or critical accessibility violations (axe-core)": accessibility_problems(page),
        "requests that left 127.0.0.1": requests_elsewhere(pages.requests),
        "page weight (HTML + CSS + images, uncompressed)": weight_problems(page),
        "text under 18px or tap targets under 44px": size_problems(page),
    }
    failed = {check: found for check, found in checks.items() if found}
    assert not failed, "\n".join(f"{check}:\n  " + "\n  ".join(found) for check, found in failed.items())
