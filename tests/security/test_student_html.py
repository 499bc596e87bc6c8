"""Student content shown to a teacher names no URL: the sanitiser, on every renderer.

A student controls their markdown, their outputs' HTML and markdown, and (through the
notebook) what nbconvert renders. Each renderer that shows such content to a teacher
(the submission page, the feedback page) is given the ways an HTML page makes a
browser fetch something, and the result is parsed: any attribute left that names a
URL other than an inline ``data:image/`` fails the test.
"""

from __future__ import annotations

from html.parser import HTMLParser

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from grading.gradebook.feedback import feedback_html
from grading.gradebook.student_html import clean_student_html
from hub.service.pages.gradebook_pages import render_notebook

PIXEL = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAA"
         "SUVORK5CYII=")
FETCHES = [
    '<img src="/hub/logout">', "<img src='https://127.0.0.1:9/x.png'>", '<img src="//x/y">',
    '<img srcset="/hub/logout 1x">', '<a href="/hub/logout">点我</a>',
    '<a href="javascript:fetch(\'/hub/logout\')">x</a>', '<link rel="stylesheet" href="/x.css">',
    '<div style="background:url(/hub/logout)">x</div>', '<svg><image href="/hub/logout"/></svg>',
    '<iframe src="/hub/logout"></iframe>', '<video poster="/hub/logout"></video>',
    '<input type="image" src="/hub/logout">', '<object data="/hub/logout"></object>',
    '<form action="/hub/logout"><button>x</button></form>', '<img src=" /hub/logout">',
    '<table background="/hub/logout"><tr><td>x</td></tr></table>',
    '<style>body{background:url(/hub/logout)}</style>', '<script src="/hub/logout"></script>',
    '![md](/hub/logout)', '[md](/hub/logout)',
]
URL_ATTRIBUTES = {"src", "href", "srcset", "poster", "data", "action", "background",
                  "formaction", "xlink:href", "style", "lowsrc", "dynsrc", "cite"}


class URLs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in URL_ATTRIBUTES and not (tag == "img" and name == "src" and value
                                               and value.startswith("data:image/")):
                self.found.append((tag, name, value or ""))

    def handle_data(self, data: str) -> None:
        if "url(" in data:
            self.found.append(("text", "css", data))


def urls(html: str) -> list[tuple[str, str, str]]:
    parser = URLs()
    parser.feed(html)
    return parser.found


def hostile_notebook() -> nbformat.NotebookNode:
    html_output = new_output("display_data", data={
        "text/html": "".join(FETCHES), "text/markdown": "\n\n".join(FETCHES),
        "text/plain": "x"})
    markdown_output = new_output("display_data", data={"text/markdown": "\n\n".join(FETCHES)})
    image = new_output("display_data", data={"image/png": PIXEL, "text/plain": "x"})
    return new_notebook(cells=[new_markdown_cell("\n\n".join(FETCHES)),
                               new_code_cell("show()", outputs=[html_output, markdown_output,
                                                                image])])


def test_the_sanitiser_keeps_inline_images_and_drops_every_url() -> None:
    """Is each way of fetching a URL removed, while an inline image stays visible?"""
    for fetch in FETCHES:
        assert urls(clean_student_html(fetch)) == [], fetch
    kept = clean_student_html(f'<img alt="图" src="data:image/png;base64,{PIXEL}">')
    assert f'src="data:image/png;base64,{PIXEL}"' in kept


def test_the_submission_page_renderer_names_no_url() -> None:
    """Does the teacher's view of a submission (nbconvert, then the sanitiser) fetch nothing?"""
    rendered = render_notebook(nbformat.writes(hostile_notebook()).encode())
    assert urls(rendered) == []
    assert "data:image/png;base64," in rendered  # the plot is still shown, inline


def test_the_feedback_page_names_no_url() -> None:
    """Does the released feedback page (which teachers open too) fetch nothing?"""
    notebook = hostile_notebook()
    page = feedback_html(notebook, notebook, [], [], "反馈")
    assert urls(page) == []
