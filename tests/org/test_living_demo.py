"""The living demo: a real hub started with ``aiclass up --demo`` and its weeks of activity.

A visitor signs in with the accounts ``aiclass up`` printed and every page they open
shows something: the teacher's gradebook has graded, late and handed-in-twice work, the
school and region reports have figures per school (a primary, a junior and a senior
school), the real grader grades the submissions the seeding queued, a student reads
their own feedback and nobody else's, and starting again seeds nothing twice.
"""

from __future__ import annotations

import csv
import io
import re
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from grading.autograde.assignment import GradingError
from grading.exchange.models import Feedback, Release, Submission
from grading.gradebook.models import CellGrade, GradingJob, LostPoints
from hub.commands.up import prepare_data_dir, seed_demo
from hub.db import ServiceDatabase
from hub.org.demo_activity import LESSONS, PRIMARY_SCHOOL
from hub.org.models import Enrollment, Person, Role, School
from hub.reports.tables import ActivityDay
from hub.settings import load_settings
from hub.upgrade import upgrade_databases
from tests.exchange.conftest import SERVICE
from tests.hub.hubprocess import RunningHub, running_hub
from tests.pages.pagesession import sign_in

pytestmark = pytest.mark.integration

SHOWCASE = re.compile(r"^\s+\S.*?\s+((?:stu|tch|sch|adm)-[a-z0-9]{5})\s+(\S+)$", re.MULTILINE)
GRADING_DEADLINE_S = 480


@pytest.fixture(scope="module")
def hub() -> Iterator[RunningHub]:
    with running_hub("aiclass-living-demo-i22c-", "[demo]\nstudents = 12\nactivity = true\n",
                     timeout=600) as running:
        yield running


@pytest.fixture(scope="module")
def database(hub: RunningHub) -> Iterator[ServiceDatabase]:
    database = ServiceDatabase(load_settings(hub.data_dir, {}).database_url)
    yield database
    database.engine.dispose()


def showcase(hub: RunningHub) -> dict[str, dict[str, str]]:
    """The accounts ``aiclass up`` printed for a visitor, by role (from the accounts file)."""
    printed = dict(SHOWCASE.findall(hub.log().split("demo accounts to sign in as")[1]))
    rows = {row["username"]: row for row in hub.accounts}
    assert all(rows[name]["password"] == password for name, password in printed.items())
    return {rows[name]["role"]: rows[name] for name in printed}


def row_cells(page: str, key: str) -> list[str]:
    """The figures of a report row (``data-key``), as text."""
    row = re.search(rf'<tr data-key="{key}">(.*?)</tr>', page, re.DOTALL)
    assert row, f"no row {key}"
    return re.findall(r"<td>(.*?)</td>", row.group(1))


def test_the_printed_accounts_open_pages_full_of_a_term(hub: RunningHub,
                                                        database: ServiceDatabase) -> None:
    accounts = showcase(hub)
    assert set(accounts) == {"student", "teacher", "school_admin", "region_admin"}
    teacher = sign_in(hub, accounts["teacher"])
    class_id = next(iter(LESSONS))
    book = teacher.get(f"classes/{class_id}/gradebook")
    assert book.status_code == 200
    for lesson in LESSONS[class_id]:
        assert lesson.split("/")[1] in book.text
    graded = re.findall(r'class="status-(on_time|late)"><a href="[^"]+">([0-9.]+)', book.text)
    assert len(graded) >= 6, book.text[:2000]
    statuses = Counter(status for status, _score in graded)
    assert len({score for _status, score in graded}) > 2, "every score the same"
    late_anywhere = statuses["late"] + sum(
        teacher.get(f"classes/{other}/gradebook").text.count('class="status-late"><a')
        for other in accounts["teacher"]["class"].split(";") if other != class_id)
    assert late_anywhere >= 1
    first_key = re.search(r'class="status-on_time"><a href="[^"]*submissions/([0-9a-f]{32})"',
                          book.text).group(1)
    submission_page = teacher.get(f"submissions/{first_key}")
    assert submission_page.status_code == 200 and "BEGIN HIDDEN TESTS" not in \
        submission_page.text
    class_page = teacher.get(f"classes/{class_id}")
    assert class_page.status_code == 200
    assert all(lesson.split("/")[1] in class_page.text for lesson in LESSONS[class_id])
    progress = teacher.get(f"classes/{class_id}/assignments/{LESSONS[class_id][0].split('/')[1]}")
    assert re.search(r'id="submitted-count">[1-9]', progress.text)

    school = sign_in(hub, accounts["school_admin"])
    report = school.get(f"schools/{accounts['student']['school']}")
    assert report.status_code == 200
    assert any(re.search(r"[1-9]", cell) for cell in row_cells(report.text, class_id))

    region = sign_in(hub, accounts["region_admin"]).get("region")
    assert region.status_code == 200
    assert PRIMARY_SCHOOL[1] in region.text
    for school_id in ("demo-s1", "demo-s2", PRIMARY_SCHOOL[0]):
        assert any(re.search(r"[1-9]", cell) for cell in row_cells(region.text, school_id))

    with database.session() as session:
        late = session.scalar(select(func.count()).select_from(Submission).join(
            Release, (Release.class_id == Submission.class_id)
            & (Release.assignment_id == Submission.assignment_id))
            .where(Submission.submitted_at > Release.due_at))
        twice = session.execute(select(Submission.username).group_by(
            Submission.class_id, Submission.assignment_id, Submission.username)
            .having(func.count() > 1)).all()
        feedback = session.scalar(select(func.count()).select_from(Feedback))
        stages = session.execute(select(Release.class_id).distinct()).scalars().all()
    assert late >= 1 and twice and feedback >= 10
    assert set(stages) == set(LESSONS)


def test_a_demo_student_reads_their_own_feedback_and_no_one_elses(
        hub: RunningHub, database: ServiceDatabase) -> None:
    account = showcase(hub)["student"]
    student = sign_in(hub, account)
    headers = {"Authorization": f"token {student.token()}"}
    mine = requests.get(f"{hub.url}{SERVICE}/submissions", headers=headers, timeout=60).json()
    with_feedback = [s for s in mine["submissions"] if s["feedback"]]
    assert with_feedback, mine
    own = requests.get(f"{hub.url}{SERVICE}/submissions/{with_feedback[0]['id']}/feedback",
                       headers=headers, timeout=60)
    assert own.status_code == 200
    pages = zipfile.ZipFile(io.BytesIO(own.content))
    page = pages.read(pages.namelist()[0]).decode()
    assert "总分 / total" in page and "BEGIN HIDDEN TESTS" not in page

    with database.session() as session:
        others = session.scalars(select(Submission.key).join(
            Feedback, Feedback.submission_id == Submission.id)
            .where(Submission.username != account["username"]).limit(3)).all()
    assert others
    for key in others:
        stolen = requests.get(f"{hub.url}{SERVICE}/submissions/{key}/feedback",
                              headers=headers, timeout=60)
        assert stolen.status_code in (403, 404), stolen.text
        assert "总分" not in stolen.text
    assert student.get(f"classes/{account['class']}/gradebook").status_code == 403


def real_grades(database: ServiceDatabase) -> dict[str, tuple[float, float]]:
    """Each graded real submission's autograded points and their maximum, by student."""
    with database.session() as session:
        return {username: (score, top) for username, score, top in session.execute(
            select(Submission.username, func.sum(CellGrade.auto_score),
                   func.sum(CellGrade.max_score))
            .join(CellGrade, CellGrade.submission_id == Submission.id)
            .where(Submission.idempotency_key.like("demo-stu-%"), CellGrade.kind == "auto")
            .group_by(Submission.username))}


def test_the_real_grader_grades_the_queued_work(hub: RunningHub,
                                                database: ServiceDatabase) -> None:
    """The first two students of each class handed in a full and a half answer, queued for
    the classroom service's workers: wait for a class's pair (the rest grade on meanwhile)."""
    with database.session() as session:
        pairs = [list(session.scalars(select(Enrollment.username).where(
            Enrollment.class_id == class_id, Enrollment.role == Role.STUDENT)
            .order_by(Enrollment.id).limit(2))) for class_id in LESSONS]
    deadline = time.monotonic() + GRADING_DEADLINE_S
    while not any(all(name in (graded := real_grades(database)) for name in pair)
                  for pair in pairs):
        with database.session() as session:
            states = Counter(session.scalars(select(GradingJob.state)))
            lost = session.execute(select(LostPoints.grade_id, LostPoints.reason)).all()
        assert not states["failed"], lost
        assert time.monotonic() < deadline, f"still grading after {GRADING_DEADLINE_S} s: " \
            f"{states}"
        time.sleep(3)
    for full, half in pairs:
        if full in graded and half in graded:
            assert graded[full][0] > graded[half][0], graded
            assert graded[half][0] < graded[half][1], graded
    assert any(score == top for score, top in graded.values()), graded


def test_a_restart_seeds_nothing_again(hub: RunningHub, database: ServiceDatabase) -> None:
    """What ``aiclass up --demo`` does on every start, on the seeded data dir: nothing.

    Called in-process (a second hub start costs a minute here; the guard is this call)."""
    accounts_file = (hub.data_dir / "demo-accounts.csv").read_bytes()
    counted = (Release, Submission, Feedback, ActivityDay, Person)
    with database.session() as session:
        before = [session.scalar(select(func.count()).select_from(table)) for table in counted]
    path, printed = seed_demo(load_settings(hub.data_dir, {}), database, forced=True)
    assert path == hub.data_dir / "demo-accounts.csv" and printed == []
    assert (hub.data_dir / "demo-accounts.csv").read_bytes() == accounts_file
    with database.session() as session:
        assert before == [session.scalar(select(func.count()).select_from(table))
                          for table in counted]


def test_a_failed_activity_leaves_the_region_and_its_accounts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lesson nbgrader cannot generate stops ``aiclass up`` with the error, adds nothing
    of the activity, and the region's accounts file is there to sign in with."""
    monkeypatch.setattr("hub.org.demo_activity.LESSONS",
                        {"demo-s1-g10c1": ("senior/no-such-lesson",)})
    prepare_data_dir(tmp_path)
    settings = load_settings(tmp_path, {"demo": {"students": 3}})
    upgrade_databases(settings)
    database = ServiceDatabase(settings.database_url)
    try:
        with pytest.raises(GradingError, match="no-such-lesson"):
            seed_demo(settings, database, forced=True)
        with database.session() as session:
            assert session.get(School, PRIMARY_SCHOOL[0]) is None
            assert session.scalar(select(func.count()).select_from(Release)) == 0
            people = set(session.scalars(select(Person.username)))
    finally:
        database.engine.dispose()
    with (tmp_path / "demo-accounts.csv").open(encoding="utf-8") as handle:
        assert {row["username"] for row in csv.DictReader(handle)} == people
