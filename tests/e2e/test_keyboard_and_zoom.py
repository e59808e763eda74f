"""The key pages (browser.KEY_PAGES) in Chinese and English, with a keyboard and zoomed:

- Keyboard only: the skip link is the first stop and leads into <main>; Tab then reaches every control in <main>,
  one by one in the order they stand in the page (one stop per radio group), and each shows a focus ring at least
  2px thick with 3:1 contrast against what is behind it. Signing in takes the keyboard alone (the login, Tab, the
  password, Enter), and a form submits from the keyboard with Enter in a field and with Space on its button.
- Zoom: a desktop window (1280×900) at 200% zoom lays the page out 640 CSS px wide; nothing may scroll sideways
  and no box may cut its text off. Text-only zoom (the root font size doubled, as a browser's "text size" does)
  must make the text itself twice as large, which it does only where the stylesheet sizes text in rem, em or %,
  and must not make anything scroll sideways or be cut off either.
"""
from __future__ import annotations

import re

import pytest

from tests.e2e.browser import KEY_PAGES, PASSWORD
from tests.e2e.layout import overflows

LANGUAGES = ("zh_Hans", "en")
DESKTOP = {"width": 1280, "height": 900}
ZOOMED = {"width": 640, "height": 450}  # 1280×900 at 200%
every_page = pytest.mark.parametrize("name", list(KEY_PAGES))
both_languages = pytest.mark.parametrize("language", LANGUAGES)

# The controls of <main> that Tab must reach, in the page's order, each tagged data-tab-stop="<n>": rendered,
# enabled, not taken out of the order (tabindex -1), and of a radio group only the one Tab lands on (the checked
# one, or the first when none is). Returns how each reads (for the failure message) and its outline and shadow
# while it is not focused: the focus must change them.
MARK_STOPS = """() => {
  const main = document.querySelector('main');
  const groups = new Set(), stops = [];
  const focusable = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]';
  for (const el of main.querySelectorAll(focusable)) {
    if (el.disabled || el.tabIndex < 0 || !el.checkVisibility({visibilityProperty: true})) continue;
    if (el.tagName === 'SUMMARY' && el.parentElement.querySelector(':scope > summary') !== el) continue;
    let stop = el;
    if (el.type === 'radio') {
      const group = (el.form ? el.form.id || [...document.forms].indexOf(el.form) : '') + '/' + el.name;
      if (groups.has(group)) continue;
      groups.add(group);
      const scope = el.form || document;
      const members = [...scope.querySelectorAll('input[type=radio]')].filter(r => r.name === el.name);
      stop = members.find(r => r.checked) || el;
    }
    stop.dataset.tabStop = stops.length;
    const style = getComputedStyle(stop), label = (stop.textContent || stop.name || stop.id).trim().slice(0, 40);
    stops.push({name: `${stop.tagName.toLowerCase()} "${label}"`,
                unfocused: [style.outlineStyle, style.outlineWidth, style.outlineColor, style.boxShadow].join(' ')});
  }
  return stops;
}"""

# Where the focus is, and what shows it: the outline and box-shadow of the focused element, and the colour behind
# it (the nearest ancestor with a background; the ring is drawn outside the element, on its surroundings).
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  let behind = 'rgb(255, 255, 255)';
  for (let up = el.parentElement; up; up = up.parentElement) {
    const bg = getComputedStyle(up).backgroundColor;
    if (bg && bg !== 'transparent' && !/rgba\\(.*, 0\\)$/.test(bg)) { behind = bg; break; }
  }
  const box = el.getBoundingClientRect();
  const label = (el.textContent || el.name || '').trim().slice(0, 40);
  return {stop: el.dataset.tabStop ?? null, inMain: !!el.closest('main'), inFooter: !!el.closest('footer'),
          name: `${el.tagName.toLowerCase()}${el.className ? '.' + el.className : ''} "${label}"`,
          outline: [style.outlineStyle, parseFloat(style.outlineWidth), style.outlineColor,
                    parseFloat(style.outlineOffset)],
          look: [style.outlineStyle, style.outlineWidth, style.outlineColor, style.boxShadow].join(' '),
          shadow: style.boxShadow, behind, onScreen: box.right > 0 && box.bottom > 0 && box.left < innerWidth};
}"""

# Text-bearing elements of the page and their font size in px, for the text-only zoom.
FONT_SIZES = """() => [...document.body.querySelectorAll('*')]
  .filter(el => [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()) && el.checkVisibility())
  .map(el => [el.tagName.toLowerCase() + [...el.classList].map(c => '.' + c).join(''),
              parseFloat(getComputedStyle(el).fontSize)])"""


def _rgb(colour: str) -> tuple[float, ...]:
    return tuple(float(v) for v in re.findall(r"[\d.]+", colour)[:3])


def contrast(one: str, two: str) -> float:
    """WCAG contrast ratio of two CSS rgb() colours."""
    def luminance(colour):
        r, g, b = (c / 255 for c in _rgb(colour))
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    high, low = sorted((luminance(one), luminance(two)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def ring_problem(focus: dict) -> str | None:
    """None if the focused element shows a ring at least 2px thick with 3:1 contrast against what is behind it:
    its outline, or the part of a box-shadow ring that the outline leaves uncovered."""
    style, width, colour, offset = focus["outline"]
    outline = width if style not in ("none", "hidden") else 0
    if outline >= 2 and contrast(colour, focus["behind"]) >= 3:
        return None
    for shadow in re.split(r",\s*(?=rgb)", focus["shadow"] if focus["shadow"] != "none" else ""):
        colour_part = re.match(r"rgba?\([^)]*\)", shadow)
        lengths = [float(v) for v in re.findall(r"(-?[\d.]+)px", shadow)]
        if not colour_part or len(lengths) < 4 or "inset" in shadow:
            continue
        spread = lengths[3]
        covered = max(0.0, min(spread, offset + outline) - max(0.0, offset)) if outline else 0.0
        if spread - covered >= 2 and contrast(colour_part[0], focus["behind"]) >= 3:
            return None
    return (f"{focus['name']}: no focus ring of 2px at 3:1 (outline {focus['outline']}, shadow {focus['shadow']}, "
            f"on {focus['behind']})")


def open_key_page(name, language, live_server, demo, pages, signed_in):
    """A key page on a desktop, as the person who looks at it."""
    login, address, content = KEY_PAGES[name]
    page = pages.open(language, "desktop", storage_state=signed_in(login))
    url = live_server.url(address(demo))
    response = page.goto(url)
    assert response.status == 200 and page.url == url, (response.status, page.url)
    assert page.locator(content).count() >= 1, f"{name}: nothing matches {content}"
    return page


def tab(page) -> dict | None:
    """Press Tab once; where the focus went and how it shows (None: back on the page itself)."""
    page.keyboard.press("Tab")
    return page.evaluate(FOCUSED)


@every_page
@pytest.mark.parametrize("language", ["zh_Hans"])  # the order of controls and their focus rings do not change
def test_the_keyboard_reaches_every_control_in_order_with_a_visible_focus(name, language, live_server, demo, pages,
                                                                          signed_in):
    """Someone who cannot use a mouse or a touch screen gets past the header in one step and then meets every
    control of the page's content, in reading order, always seeing where they are."""
    page = open_key_page(name, language, live_server, demo, pages, signed_in)
    stops = page.evaluate(MARK_STOPS)
    first = tab(page)
    assert first and "skip" in first["name"] and first["onScreen"], f"the first Tab stop is the skip link: {first}"
    assert ring_problem(first) is None, ring_problem(first)
    page.keyboard.press("Enter")  # skip the site's header: the next Tab starts in <main>

    reached, problems = [], []
    for _ in range(len(stops) + 5):
        focus = tab(page)
        if focus is None or not focus["inMain"]:
            assert focus is None or focus["inFooter"], f"after <main>, the focus goes to the footer: {focus}"
            break
        reached.append(int(focus["stop"]) if focus["stop"] is not None else focus["name"])
        problem = ring_problem(focus)
        if problem:
            problems.append(problem)
        elif focus["stop"] is not None and focus["look"] == stops[int(focus["stop"])]["unfocused"]:
            problems.append(f"{focus['name']}: looks the same focused and not ({focus['look']})")
        if not focus["onScreen"]:
            problems.append(f"{focus['name']}: focused off the screen")
    assert reached == list(range(len(stops))), \
        f"Tab reached {reached}, the page's controls in order are {list(enumerate(s['name'] for s in stops))}"
    assert not problems, "\n".join(problems)


@both_languages
def test_signing_in_takes_the_keyboard_alone(language, live_server, pages):
    """Tab to the login field, type it, Tab, the password, Enter: signed in, on the home page."""
    page = pages.open(language, "desktop")
    page.goto(live_server.url("/login"))
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "login":
            break
    else:
        pytest.fail("Tab never reached the login field")
    page.keyboard.type("resident")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == live_server.url("/"), page.url
    assert page.locator("header form button[type=submit]").count() == 1, "signed in: the header offers to sign out"


@both_languages
def test_a_form_submits_with_enter_in_a_field_and_with_space_on_its_button(language, live_server, demo, pages):
    """The minutes archive's search (anyone may use it): words typed, then Space on the Search button; then other
    words, and Enter in the field."""
    text = live_server.in_language(language)
    page = pages.open(language, "desktop")
    archive = live_server.url(f"/places/{demo.hfc_estate}/minutes")
    page.goto(archive)
    page.focus("main #q")
    page.keyboard.type("声控灯")
    for _ in range(12):  # past the date fields (each takes a Tab per part of the date) to the button
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('main form button[type=submit]')"):
            break
    else:
        pytest.fail("Tab never reached the Search button")
    with page.expect_navigation():
        page.keyboard.press("Space")
    assert "q=%E5%A3%B0%E6%8E%A7%E7%81%AF" in page.url, page.url
    assert page.locator("main ul.cards > li.card a").count() == 1, "the demo's minutes mention the lights"

    page.focus("main #q")
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("nothing-like-this")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "q=nothing-like-this" in page.url, page.url
    assert page.locator("main li.muted").inner_text() == text("No published minutes match.")


@every_page
@both_languages
def test_zoomed_to_200_percent_nothing_scrolls_sideways_or_is_cut_off(name, language, live_server, demo, pages,
                                                                      signed_in):
    """WCAG 1.4.4 and 1.4.10: at twice the size, by zoom or by text size alone, everything is still there and
    read by scrolling down only."""
    page = open_key_page(name, language, live_server, demo, pages, signed_in)

    page.set_viewport_size(ZOOMED)  # the browser's zoom: the same window, half as many CSS px
    width = page.evaluate("document.documentElement.clientWidth")
    assert width == ZOOMED["width"]
    found = overflows(page, width)
    assert not found, "at 200% zoom (640 CSS px):\n  " + "\n  ".join(found)

    page.set_viewport_size(DESKTOP)  # text-only zoom: the window as it is, the text twice as large
    before = page.evaluate(FONT_SIZES)
    page.evaluate("""() => { const root = document.documentElement;
                             root.style.fontSize = 2 * parseFloat(getComputedStyle(root).fontSize) + 'px'; }""")
    after = page.evaluate(FONT_SIZES)
    assert len(after) == len(before)
    fixed = sorted({f"{element}: {old}px → {new}px" for (element, old), (_, new) in zip(before, after, strict=True)
                    if new < 1.9 * old})
    assert not fixed, "text that does not grow with the root font size (sized in px?):\n  " + "\n  ".join(fixed)
    found = overflows(page, page.evaluate("document.documentElement.clientWidth"))
    assert not found, "with the text at 200%:\n  " + "\n  ".join(found)
