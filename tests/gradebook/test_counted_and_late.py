"""Do the exchange, the gradebook page, the reports and the late penalty agree on which
submission counts and whether it is late?

Each of them once had its own copy of both rules; only the penalty knew the grace
period, and the region report took the latest submission even when the teacher had
chosen another. Here one student submits within the grace period and another had an
early submission chosen before submitting again late: every reader must call the
first on time, and count the chosen submission of the second.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from grading.exchange.content_store import ContentStore
from grading.exchange.deadlines import GRACE
from grading.exchange.models import Release, Submission
from grading.exchange.store import ExchangeStore
from grading.gradebook.late_policy import LatePolicy, submission_total
from grading.gradebook.models import CellGrade, GradingJob
from hub.db import ServiceDatabase
from hub.org.models import Enrollment, Person, Region, Role, School, SchoolClass
from hub.reports.class_gradebook import class_gradebook
from hub.reports.figures import ReportPolicy
from hub.reports.region import class_figures
from hub.reports.scores import counted_fractions
from hub.service.exchange_api import submission_json

DUE = datetime(2026, 9, 10, 12)
POLICY = ReportPolicy(term_start=date(2026, 9, 1))


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    database = ServiceDatabase(f"sqlite:///{tmp_path / 'service.sqlite'}")
    with database.session() as session:
        yield session


@pytest.fixture
def store(session: Session, tmp_path: Path) -> ExchangeStore:
    """Class c1 with assignment p1 due at ``DUE`` and three students who submitted:
    ``grace`` five minutes after the due date, ``chose`` on time and then late (the
    teacher chose the first), ``late`` an hour after; every submission graded."""
    session.add(Region(id="r", name="区"))
    session.add(School(id="s", region_id="r", name="学校", locality="urban", stage="senior"))
    session.flush()
    session.add(SchoolClass(id="c1", school_id="s", name="高一1班", school_year="2026-2027",
                            grade=10))
    session.flush()
    for name in ("grace", "chose", "late"):
        session.add(Person(username=name, display_name=name, role=Role.STUDENT, school_id="s"))
        session.flush()
        session.add(Enrollment(class_id="c1", username=name, role=Role.STUDENT))
    session.add(Release(class_id="c1", assignment_id="p1", version=1, released_by="t",
                        released_at=datetime(2026, 9, 3), due_at=DUE, manifest=[],
                        archive_sha256="0" * 64))
    for index, (name, moment, chosen, points) in enumerate((
            ("grace", DUE + timedelta(minutes=5), False, 4),
            ("chose", DUE - timedelta(hours=1), True, 4),
            ("chose", DUE + timedelta(hours=2), False, 1),
            ("late", DUE + timedelta(hours=1), False, 2))):
        submission = Submission(key=f"{index:032x}", class_id="c1", assignment_id="p1",
                                username=name, release_version=1, submitted_at=moment,
                                idempotency_key=f"k{index:08d}", manifest=[], total_bytes=1,
                                chosen=chosen)
        session.add(submission)
        session.flush()
        job = GradingJob(submission_id=submission.id, class_id="c1", assignment_id="p1",
                         state="done", reason="submit", requested_by="t", enqueued_at=moment,
                         not_before=moment)
        session.add(job)
        session.flush()
        session.add(CellGrade(submission_id=submission.id, class_id="c1", assignment_id="p1",
                              username=name, notebook="nb", grade_id="q1", position=0,
                              kind="auto", max_score=4, auto_score=points, job_id=job.id))
    session.flush()
    return ExchangeStore(session, ContentStore(tmp_path / "blobs"))


def test_the_grace_period_is_assumed_to_cover_five_minutes() -> None:
    assert GRACE > timedelta(minutes=5)


def test_exchange_listing_counts_the_chosen_and_grace_submissions_on_time(
        store: ExchangeStore) -> None:
    listing = {name: submission_json(submission, store)
               for name, submission, _due in store.collect("c1", "p1",
                                                           ["grace", "chose", "late"])}
    assert (listing["grace"]["late"], listing["grace"]["late_seconds"]) == (False, 0.0)
    assert (listing["chose"]["id"], listing["chose"]["late"]) == (f"{1:032x}", False)
    assert (listing["late"]["late"], listing["late"]["late_seconds"]) == (True, 3600.0)


def test_gradebook_page_shows_the_same_cells(session: Session, store: ExchangeStore) -> None:
    book = class_gradebook(session, store, "c1", str)
    cells = {row.username: row.cells[0] for row in book.rows}
    assert {name: cell.status for name, cell in cells.items()} == {
        "grace": "on_time", "chose": "on_time", "late": "late"}
    assert cells["chose"].key == f"{1:032x}"
    assert cells["chose"].shown == "4/4"


@pytest.mark.usefixtures("store")
def test_report_figures_count_the_same_submissions_on_time(session: Session) -> None:
    figures = class_figures(session, {"c1": "高一1班"}, POLICY, {})["c1"]
    assert (figures.submitted, figures.on_time) == (3, 2)
    assert counted_fractions(session, ["c1"]) == {("c1", "p1", "grace"): 1.0,
                                                  ("c1", "p1", "chose"): 1.0,
                                                  ("c1", "p1", "late"): 0.5}


def test_late_policy_penalises_only_what_the_pages_call_late(
        session: Session, store: ExchangeStore) -> None:
    policy = LatePolicy(percent_per_day=10)
    penalties = {name: submission_total(session, store, submission, policy).penalty_percent
                 for name, submission, _due in store.collect("c1", "p1",
                                                             ["grace", "chose", "late"])}
    assert penalties == {"grace": 0.0, "chose": 0.0, "late": 10.0}
