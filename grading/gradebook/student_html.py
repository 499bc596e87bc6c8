"""Student-made HTML made safe to show a teacher: no script, and no request to any URL.

Whatever a student writes (markdown, an HTML output, a rendered notebook) ends up in a
page the teacher opens while signed in to the hub. Removing scripts is not enough: an
``<img src="/hub/logout">`` or a ``<link href>`` makes the teacher's browser send a
request, with the teacher's cookies, to any URL the student chose, the hub's own
included; ammonia (nh3) lets relative URLs through whatever ``url_schemes`` says.
So :func:`clean_student_html` keeps only an allow-list of tags and attributes, no
``href`` at all, and an image's ``src`` only when it is an inline ``data:image/``
URI, which the browser decodes without a request. The pages that show such content
also send ``img-src data:`` in their Content-Security-Policy, a second lock.
"""

from __future__ import annotations

import nh3

#: Text, tables, images and code; no script, style, form, frame, link or media element.
ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre",
    "s", "samp", "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot",
    "th", "thead", "tr", "u", "ul",
})
#: No attribute that names a URL except ``img``'s ``src``, which :func:`_inline_only` checks.
ALLOWED_ATTRIBUTES = {
    "*": {"class", "title"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start"},
}
INLINE_IMAGE = "data:image/"


def _inline_only(tag: str, attribute: str, value: str) -> str | None:
    """Keep an image's ``src`` only as inline data; everything else allowed passes."""
    if attribute == "src" and not value.strip().lower().startswith(INLINE_IMAGE):
        return None
    return value


def clean_student_html(html: str) -> str:
    """``html`` with only harmless tags and attributes: nothing that runs or fetches."""
    return nh3.clean(html, tags=set(ALLOWED_TAGS), attributes=ALLOWED_ATTRIBUTES,
                     url_schemes={"data"}, attribute_filter=_inline_only, link_rel=None,
                     strip_comments=True)
