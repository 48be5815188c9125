"""The HTML a merchant may put in a 支払方法's description (M9), cleaned with nh3.

The description is shown on every customer's payment page, so it is an allow-list, not a
filter: formatting, lists, links and images only. Scripts, event handlers, ``style``,
``javascript:`` URLs, forms and frames are removed; links get ``rel="noopener noreferrer"``.
Cleaned when saved (the admin sees what customers will see) and again when shown (rows
written before, or by other code, are never trusted).
"""
from __future__ import annotations

import nh3

ALLOWED_TAGS = frozenset({"a", "b", "br", "div", "em", "i", "img", "li", "ol", "p", "small",
                          "span", "strong", "u", "ul"})
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height"}}
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})


def clean_description(html: str | None) -> str:
    """``html`` reduced to the allow-list above."""
    if not html:
        return ""
    attributes = {tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()}
    return nh3.clean(html, tags=set(ALLOWED_TAGS), attributes=attributes,
                     url_schemes=set(ALLOWED_URL_SCHEMES), link_rel="noopener noreferrer",
                     strip_comments=True)
