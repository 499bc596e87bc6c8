"""Every page template renders in both languages with every text defined, and escapes input."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from jinja2 import StrictUndefined

from grading.gradebook.similarity import SimilarPair
from hub.reports.class_gradebook import BANDS, Cell, ClassGradebook, Row
from hub.reports.columns import FIGURE_COLUMNS, formatted
from hub.reports.figures import Figures, ReportPolicy
from hub.reports.scores import SubmissionScore
from hub.service.pages.base import page_environment
from hub.service.pages.gradebook_pages import render_notebook
from hub.service.pages.reports_pages import report_charts
from hub.service.pages.teacher import heat_level, score_heatmap
from hub.service.pages.texts import LOCALES, TEXTS
from hub.service.pages.timefmt import localtime, parse_local

POLICY = ReportPolicy(term_start=date(2026, 9, 1))
EVIL = "<script>alert(1)</script>"


class Person:
    username = "tch-x"
    role = "teacher"
    school_id = "s1"


def render(template: str, lang: str, **context: object) -> str:
    environment = page_environment()
    environment.undefined = StrictUndefined
    environment.filters["localtime"] = localtime
    return environment.get_template(template).render(
        t=TEXTS[lang], lang=lang, prefix="/services/classroom/", person=Person(), xsrf="tok",
        path="/services/classroom/x", **context)


def test_catalogue_has_the_same_keys_in_every_language() -> None:
    assert set(TEXTS["zh_CN"]) == set(TEXTS["en"])
    assert all(value.strip() for texts in TEXTS.values() for value in texts.values())


@pytest.mark.parametrize("lang", LOCALES)
def test_pages_render_and_escape_names(lang: str) -> None:
    book = ClassGradebook(["a1"], [Row("stu-a", EVIL, [Cell("late", "f" * 32, "09-10 20:00")],
                                       1)])
    scored = ClassGradebook([EVIL, "a2"], [Row("stu-a", EVIL, [
        Cell("on_time", "e" * 32, "3/4", SubmissionScore(3, 4, 0)), Cell("missing")], 1)],
        {EVIL: [(f"nb/{EVIL}", 0.75)]}, EVIL)
    figures = Figures("s1", EVIL, students=3)
    pages = {
        "index.html": {"classes": [{"id": "c1", "name": EVIL, "grade": 10, "students": 3,
                                    "assignments": 1}]},
        "gradebook.html": {"school_class": {"id": "c1", "name": "c"}, "book": book},
        "gradebook.html#scored": {"school_class": {"id": "c1", "name": "c"}, "book": scored},
        "progress.html": {"school_class": {"id": "c1", "name": "c"}, "assignment_id": "a1",
                          "due": datetime(2026, 9, 10), "rows": [
                              {"username": "stu-a", "display_name": EVIL, "fetched": True,
                               "submission": None, "status": "missing", "due": None}],
                          "counts": {"fetched": 1, "submitted": 0, "late": 0, "missing": 1,
                                     "graded": 0, "grading_failed": 1}, "graded_percent": 0,
                          "timeline": [["2026-09-10 20:00", 1]], "can_teach": True,
                          "similar": [SimilarPair("stu-a", EVIL, 0.93)]},
        "report.html": {"columns": FIGURE_COLUMNS, "policy": POLICY, "printable": False,
                        "fmt": lambda c, f: formatted(c, f, POLICY), "title": "r",
                        "rows": [("/x", figures)], "total": figures, "rows_title": "",
                        "rows_heading": "", "comparison": [("urban", figures)],
                        "weeks": [{"week": "2026-09-01", "hours": 1.0, "urban": 1.0,
                                   "rural": 0.0, "submissions": 1}],
                        "export_url": "/x.xlsx", "computed_at": datetime(2026, 9, 10),
                        "row_charts": report_charts([(EVIL, figures)], POLICY),
                        "comparison_charts": report_charts([(EVIL, figures)], POLICY)},
        "class.html": {"school_class": {"id": "c1", "name": EVIL}, "students": [],
                       "releases": [], "can_teach": True, "ready": 0,
                       "heatmap": score_heatmap(scored)},
        "error.html": {"status": 403, "message": TEXTS[lang]["forbidden"]},
        "privacy.html": {"done": EVIL, "mismatch": True},
    }
    for template, context in pages.items():
        html = render(template.split("#")[0], lang, **context)
        assert EVIL not in html, template
        assert 'lang="' in html and TEXTS[lang]["language"] in html


def test_score_distribution_counts_each_assignment_on_its_own() -> None:
    def graded(points: float, pending: int = 0) -> Cell:
        return Cell("on_time", "e" * 32, "", SubmissionScore(points, 10, pending))

    book = ClassGradebook(["a1", "a2", "a3"], [
        Row("stu-x", "x", [graded(10), graded(0), Cell("missing")], 2),   # 50% overall
        Row("stu-y", "y", [graded(6), graded(3, pending=1), Cell("missing")], 2),
        Row("stu-z", "z", [graded(5.99), graded(9.5), Cell("missing")], 2)])
    zero = dict.fromkeys(BANDS, 0)
    assert {a: dict(d) for a, d in book.distributions.items()} == {
        "a1": {**zero, "90–100%": 1, "60–70%": 1, "50–60%": 1},
        "a2": {**zero, "0–10%": 1, "90–100%": 1},  # stu-y's is still being graded
    }
    assert book.chart_assignments == ["a1", "a2"]


def test_rendered_submissions_lose_their_scripts() -> None:
    notebook = ('{"cells": [{"cell_type": "markdown", "id": "c1", "metadata": {}, '
                '"source": "# 标题\\n'
                '<script>steal()</script><img src=x onerror=alert(1)>"}], "metadata": {}, '
                '"nbformat": 4, "nbformat_minor": 5}')
    html = render_notebook(notebook.encode("utf-8"))
    assert "标题" in html
    assert "<script" not in html and "onerror" not in html
    assert "&lt;script" in render_notebook(b"<script>not a notebook</script>")


def test_school_time_round_trips() -> None:
    stored = parse_local("2026-09-10T20:00")
    assert stored == datetime(2026, 9, 10, 12, 0)
    assert localtime(stored) == "2026-09-10 20:00"
    assert parse_local("") is None
    with pytest.raises(ValueError):
        parse_local("明天")


def test_heatmap_cells_and_report_bars_say_what_there_is() -> None:
    """Fifths of the points colour a heatmap cell (100% in the top one); a report chart
    with nothing measured is empty, so the page says "no data yet" instead of bare axes."""
    assert [heat_level(f) for f in (0.0, 0.199, 0.2, 0.6, 0.799, 0.8, 1.0)] == [
        0, 0, 1, 3, 3, 4, 4]
    book = ClassGradebook(["a1", "a2", "a3"], [Row("stu-a", "A", [
        Cell("on_time", "e" * 32, "9/10", SubmissionScore(9, 10, 0)),
        Cell("late", "f" * 32, "09-10", SubmissionScore(2, 10, 1)), Cell("missing")], 2)])
    (row,) = score_heatmap(book)["rows"]
    assert row["cells"] == [{"state": "graded", "key": "e" * 32, "level": 4, "percent": 90},
                            {"state": "pending", "key": "f" * 32}, {"state": "missing"}]
    idle = Figures("s1", "s", students=3)
    assert report_charts([("s", idle)], POLICY) == {"hours": [], "rates": []}
    busy = Figures("s2", "t", students=2, active_minutes=90, expected=4, submitted=3,
                   on_time=2)
    charts = report_charts([("s", idle), ("t", busy)], POLICY)
    assert charts["hours"] == [["s", 0.0], ["t", round(90 / POLICY.period_minutes / 2, 1)]]
    assert charts["rates"][1][:3] == ["t", 75.0, round(2 / 3 * 100, 1)]
