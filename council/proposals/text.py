"""Proposal bodies: Markdown rendered to HTML, then cleaned to a small allow-list so no script can run."""
from __future__ import annotations

import markdown
import nh3
from markupsafe import Markup

TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "blockquote", "code", "pre", "h3", "h4", "a", "hr",
        "table", "thead", "tbody", "tr", "th", "td"}
ATTRIBUTES = {"a": {"href", "title"}}
# Only links to the web and mail; no javascript:, data: or vbscript: (nh3 drops anything else).
URL_SCHEMES = {"http", "https", "mailto"}


def render(body: str) -> Markup:
    """The body as safe HTML: raw HTML in the Markdown is dropped or cleaned, links get rel=noopener."""
    html = markdown.markdown(body or "", extensions=["tables", "sane_lists"], output_format="html")
    return Markup(nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, url_schemes=URL_SCHEMES,
                            link_rel="noopener noreferrer nofollow"))
