"""Server time of the region report and of a 40 × 20 gradebook, on a generated region.

A region of 20,000 students (500 classes of 40, 20 assignments each, activity through
the term) is generated into a SQLite service database, and the gradebook's class gets
five graded questions per submission (so its page builds the per-assignment score
distributions and question difficulty); each page is then built the way its handler
builds it and timed: the region page renders the report snapshot that
the service recomputes in the background (that recomputation, the grouped queries, is
timed too), the gradebook runs its per-class queries, both then the Jinja2 template.
The baseline, in the same run, computes the same figures the naive way: ORM queries
per class (report) and per student and assignment (gradebook).
Targets: under 500 ms server time for each page.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import func, select

from benchmarks import argument_parser
from grading.exchange.content_store import ContentStore
from grading.exchange.models import Release, Submission
from grading.exchange.store import ExchangeStore
from grading.gradebook.models import CellGrade, GradingJob
from hub.db import ServiceDatabase
from hub.org.models import Enrollment, Person, Role, School, SchoolClass
from hub.reports.class_gradebook import class_gradebook
from hub.reports.columns import FIGURE_COLUMNS, formatted
from hub.reports.figures import Figures, ReportPolicy
from hub.reports.snapshot import refresh_region, stored_region
from hub.reports.tables import ActivityDay
from hub.service.pages.base import page_environment
from hub.service.pages.gradebook_pages import cell_time
from hub.service.pages.reports_pages import comparison_rows, report_charts, week_series
from hub.service.pages.teacher import score_heatmap
from hub.service.pages.texts import TEXTS
from hub.service.pages.timefmt import localtime
from tests.pages.generated_region import TERM_START, generate_region

STUDENTS = 20_000
ASSIGNMENTS = 20
TODAY = date(2026, 11, 20)
TARGET_MS = 500
POLICY = ReportPolicy(term_start=TERM_START, gpu_hours_per_school=100.0)
TEXT = TEXTS["zh_CN"]


def best_of(runs: int, work: Callable[[], object]) -> float:
    """The median of ``runs`` timings, in milliseconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def render(template: str, **context: object) -> str:
    environment = page_environment()
    environment.filters["localtime"] = localtime
    return environment.get_template(template).render(
        t=TEXT, lang="zh_CN", prefix="/services/classroom/", person=None, xsrf="x",
        path="/", **context)


def refresh(database: ServiceDatabase) -> None:
    """The background recomputation of the snapshot (the service runs it on a timer)."""
    with database.session() as session:
        refresh_region(session, "生成区", POLICY, TODAY)


def region_page(database: ServiceDatabase) -> str:
    """What the region page does: read the snapshot, render it."""
    with database.session() as session:
        report, computed_at = stored_region(session, POLICY)
    comparison = comparison_rows(report, TEXT)
    return render("report.html", columns=FIGURE_COLUMNS, policy=POLICY,
                  fmt=lambda c, f: formatted(c, f, POLICY), printable=False,
                  title="生成区", rows=[("", s.school) for s in report.schools],
                  total=report.region, rows_title="", rows_heading="",
                  comparison=comparison, weeks=week_series(report),
                  row_charts=report_charts([(s.school.name, s.school) for s in report.schools],
                                           POLICY),
                  comparison_charts=report_charts(comparison, POLICY),
                  export_url="", computed_at=computed_at)


def naive_region(database: ServiceDatabase) -> list[Figures]:
    """The same per-school figures, queried class by class through the ORM."""
    start = datetime.combine(TERM_START, datetime.min.time())
    rows = []
    with database.session() as session:
        for school in session.scalars(select(School)):
            figures = Figures(school.id, school.name)
            for school_class in session.scalars(select(SchoolClass).where(
                    SchoolClass.school_id == school.id)):
                students = [e.username for e in school_class.enrollments
                            if e.role == Role.STUDENT]
                figures.students += len(students)
                minutes = session.scalar(select(func.sum(ActivityDay.active_minutes)).where(
                    ActivityDay.username.in_(students), ActivityDay.day >= TERM_START))
                figures.active_minutes += int(minutes or 0)
                releases = list(session.scalars(select(Release).where(
                    Release.class_id == school_class.id, Release.released_at >= start)))
                figures.assignments += len(releases)
                for release in releases:
                    figures.submitted += session.scalar(select(func.count(func.distinct(
                        Submission.username))).where(
                        Submission.class_id == school_class.id,
                        Submission.assignment_id == release.assignment_id))
            rows.append(figures)
    return rows


def grade_class(database: ServiceDatabase, class_id: str, questions: int = 5) -> int:
    """Every submission of the class graded: ``questions`` autograded cells of 2 points."""
    cells = 0
    with database.session() as session:
        for number, submission in enumerate(session.scalars(
                select(Submission).where(Submission.class_id == class_id))):
            job = GradingJob(submission_id=submission.id, class_id=class_id,
                             assignment_id=submission.assignment_id, state="done",
                             reason="submit", requested_by="bench",
                             enqueued_at=submission.submitted_at,
                             not_before=submission.submitted_at)
            session.add(job)
            session.flush()
            for position in range(questions):
                session.add(CellGrade(
                    submission_id=submission.id, class_id=class_id,
                    assignment_id=submission.assignment_id, username=submission.username,
                    notebook="main.ipynb", grade_id=f"q{position + 1}", position=position,
                    kind="auto", max_score=2, auto_score=(number + position) % 3,
                    job_id=job.id))
                cells += 1
    return cells


def gradebook_page(database: ServiceDatabase, content: ContentStore, class_id: str) -> str:
    with database.session() as session:
        book = class_gradebook(session, ExchangeStore(session, content), class_id,
                               cell_time)
    return render("gradebook.html", school_class={"id": class_id, "name": class_id},
                  book=book)


def class_page(database: ServiceDatabase, content: ContentStore, class_id: str) -> str:
    """The class page's heatmap: the gradebook's queries, then its cells coloured."""
    with database.session() as session:
        store = ExchangeStore(session, content)
        heatmap = score_heatmap(class_gradebook(session, store, class_id, cell_time))
        releases = store.current_releases([class_id])
    return render("class.html", school_class={"id": class_id, "name": class_id},
                  students=[], releases=releases, can_teach=True, heatmap=heatmap, ready=0)


def naive_gradebook(database: ServiceDatabase, content: ContentStore, class_id: str) -> int:
    """The same cells, one ``counted`` and one ``due_for`` call per student and assignment."""
    cells = 0
    with database.session() as session:
        store = ExchangeStore(session, content)
        students = session.scalars(select(Person.username).join(
            Enrollment, Enrollment.username == Person.username).where(
            Enrollment.class_id == class_id, Enrollment.role == Role.STUDENT))
        assignments = [r.assignment_id for r in store.current_releases([class_id])]
        for student in students:
            for assignment_id in assignments:
                submission = store.counted(class_id, assignment_id, student)
                if submission is not None:
                    store.due_for(class_id, assignment_id, student)
                cells += 1
    return cells


def main(argv: Sequence[str] | None = None) -> None:
    argument_parser(__name__, __doc__).parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="aiclass-bench-pages-") as workdir:
        database = ServiceDatabase(f"sqlite:///{Path(workdir) / 'bench.sqlite'}")
        content = ContentStore(Path(workdir) / "blobs")
        started = time.perf_counter()
        with database.session() as session:
            region = generate_region(session, students=STUDENTS, assignments=ASSIGNMENTS,
                                     today=TODAY)
        with database.session() as session:
            submissions = session.scalar(select(func.count()).select_from(Submission))
            activity = session.scalar(select(func.count()).select_from(ActivityDay))
        print(f"generated {STUDENTS} students, {len(region.classes)} classes, "
              f"{submissions} submissions, {activity} activity days "
              f"in {time.perf_counter() - started:.1f} s")
        class_id = next(iter(region.classes))
        graded = grade_class(database, class_id)
        computed = best_of(1, lambda: refresh(database))
        html = region_page(database)
        assert "生成学校0" in html
        ours = best_of(5, lambda: region_page(database))
        naive = best_of(1, lambda: naive_region(database))
        print(f"region report page (from the snapshot): {ours:.0f} ms (target < {TARGET_MS} ms)"
              f"; naive per-class ORM figures alone: {naive:.0f} ms; ratio {naive / ours:.1f}x")
        print(f"snapshot recomputation (background, every [reports] refresh_minutes): "
              f"{computed:.0f} ms; ratio naive / grouped queries {naive / computed:.1f}x")
        html = gradebook_page(database, content, class_id)
        assert 'id="distribution-chart"' in html and 'id="questions-chart"' in html
        ours = best_of(20, lambda: gradebook_page(database, content, class_id))
        naive = best_of(3, lambda: naive_gradebook(database, content, class_id))
        print(f"gradebook page, 40 students x {ASSIGNMENTS} assignments ({graded} graded "
              f"cells, charts per assignment): {ours:.1f} ms "
              f"(target < {TARGET_MS} ms); naive per-cell queries alone: {naive:.0f} ms; "
              f"ratio {naive / ours:.1f}x")
        html = class_page(database, content, class_id)
        assert 'id="heatmap"' in html and 'class="heat-' in html
        heatmap = best_of(20, lambda: class_page(database, content, class_id))
        print(f"class page with the score heatmap, 40 students x {ASSIGNMENTS} assignments: "
              f"{heatmap:.1f} ms (target < {TARGET_MS} ms); naive per-cell queries alone: "
              f"{naive:.0f} ms; ratio {naive / heatmap:.1f}x")
