"""Layout checks run inside a page, shared by the print tests and the zoom tests: does anything stick out past a
width, and does any box with its overflow hidden cut its own content off?"""
from __future__ import annotations

# Every rendered element of the body: its right edge past `limit` CSS px, or, with overflow hidden or clipped, a
# content larger than its box (text cut off). Form fields scroll their own text and are left out; so are elements
# that are not rendered (display: none, or inside a closed <details>) and those moved off the page's left on purpose
# (the skip link, a stacked table's header kept for screen readers).
OVERFLOWS = """(limit) => {
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + [...el.classList].map(c => '.' + c)
    .join('') + ` "${(el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 40)}"`;
  const found = [];
  const root = document.documentElement;
  if (root.scrollWidth > limit) found.push(`the page is ${root.scrollWidth}px wide; ${limit}px fit`);
  for (const el of document.body.querySelectorAll('*')) {
    if (!el.checkVisibility({visibilityProperty: true})) continue;
    const box = el.getBoundingClientRect();
    if (!box.width && !box.height) continue;
    if (box.right > limit + 0.5) found.push(`${name(el)} reaches ${box.right.toFixed(1)}px`);
    if (el.matches('input, textarea, select') || el instanceof SVGElement) continue;
    const style = getComputedStyle(el);
    const clipsX = ['hidden', 'clip'].includes(style.overflowX), clipsY = ['hidden', 'clip'].includes(style.overflowY);
    if (clipsX && el.scrollWidth > el.clientWidth + 1)
      found.push(`${name(el)} cuts off its content: ${el.scrollWidth}px in ${el.clientWidth}px`);
    if (clipsY && el.scrollHeight > el.clientHeight + 1)
      found.push(`${name(el)} cuts off its content: ${el.scrollHeight}px high in ${el.clientHeight}px`);
    if (style.textOverflow === 'ellipsis' && el.scrollWidth > el.clientWidth)
      found.push(`${name(el)} ends in an ellipsis`);
  }
  return found.slice(0, 15);
}"""


def overflows(page, limit: float) -> list[str]:
    """What sticks out past `limit` CSS px, or is cut off, as the page is laid out now."""
    return page.evaluate(OVERFLOWS, limit)
