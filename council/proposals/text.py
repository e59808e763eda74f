"""Proposal bodies: Markdown rendered to HTML, then cleaned to a small allow-list so no script can run."""
from __future__ import annotations

import threading

import markdown
import nh3
from markupsafe import Markup

TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "blockquote", "code", "pre", "h3", "h4", "a", "hr",
        "table", "thead", "tbody", "tr", "th", "td"}
ATTRIBUTES = {"a": {"href", "title"}}
# Only links to the web and mail; no javascript:, data: or vbscript: (nh3 drops anything else).
URL_SCHEMES = {"http", "https", "mailto"}


_local = threading.local()


def _converter() -> markdown.Markdown:
    """This thread's Markdown converter, made once: making one looks up its extensions among the installed
    packages' entry points, which took twice as long as converting a body."""
    converter = getattr(_local, "converter", None)
    if converter is None:
        converter = _local.converter = markdown.Markdown(extensions=["tables", "sane_lists"], output_format="html")
    return converter


def render(body: str) -> Markup:
    """The body as safe HTML: raw HTML in the Markdown is dropped or cleaned, links get rel=noopener."""
    html = _converter().reset().convert(body or "")
    return Markup(nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, url_schemes=URL_SCHEMES,
                            link_rel="noopener noreferrer nofollow"))
