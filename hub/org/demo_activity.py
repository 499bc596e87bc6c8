"""A few weeks of made-up teaching in the demo region, so that every page shows something.

A visitor who opens the demo should see what the platform looks like after a month of
use, not empty tables. So beside the schools of :mod:`hub.org.demo` this adds a primary
school, a school admin per school, and for each class three library lessons released a
week apart in the past weeks. A few submissions per class go through the real path:
stored in the exchange, queued, graded by the real grader in its sandbox (that is what
takes the time, so it is only two per class); the rest of the class's work is written as
the gradebook rows the grader would have written, with a plausible spread of scores,
some late, some handed in twice. Feedback is released for the lessons whose due date has
passed, and each student has some days of server activity for the reports.

Everything is deterministic for the seed, made once, with the demo region (the caller
decides when: :func:`hub.commands.up.seed_demo`).
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import nbformat
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from grading.autograde.assignment import NotebookSpec, PreparedAssignment
from grading.exchange.archive import ArchiveLimits
from grading.exchange.content_store import BLOBS_IN_DATA_DIR, ContentStore
from grading.exchange.models import Feedback, Submission
from grading.exchange.store import ExchangeStore, NewSubmission, SubmissionLimits
from grading.gradebook.feedback import release_feedback
from grading.gradebook.manual import HAND_GRADED
from grading.gradebook.models import CellGrade, GradingJob, NotebookGrade
from grading.gradebook.queue import enqueue, store_sources
from hub.audit.events import class_event
from hub.db import ServiceDatabase
from hub.library import DEFAULT_ROOT
from hub.org.demo import DEMO_REGION_ID, SCHOOL_YEAR, DemoAccount, DemoPeople
from hub.org.models import Enrollment, Person, Role, School, SchoolClass
from hub.reports.tables import ActivityDay

PRIMARY_SCHOOL = ("demo-s3", "示范区中心小学", "rural", "primary")
PRIMARY_CLASS = ("demo-s3-g5c1", "五年级（1）班", 5)
#: Each class's lessons (library names), oldest first: released three and two weeks ago and
#: this week (that one still open).
LESSONS: dict[str, tuple[str, ...]] = {
    "demo-s1-g10c1": ("senior/kmeans-clustering", "senior/gradient-descent-regression",
                      "senior/bias-fairness"),
    "demo-s1-g10c2": ("senior/kmeans-clustering", "senior/gradient-descent-regression",
                      "senior/bias-fairness"),
    "demo-s2-g8c1": ("junior/rules-vs-learning", "junior/knn-decision-tree",
                     "junior/search-bfs-astar"),
    "demo-s3-g5c1": ("primary/pixels-are-numbers", "primary/sorting-with-neighbours",
                     "primary/teach-the-computer"),
}
#: The lesson of each class whose first submissions the real grader grades (its oldest).
REAL_LESSON_INDEX = 0
REAL_PER_CLASS = 2
WEEKS_AGO = (3, 2, 0)
DUE_DAYS = 9
SEED = 20261001
#: How much of an assignment a student hands in: all answers, most, about half, none.
SOLVED_SHARES = (1.0, 0.75, 0.5, 0.0)
COMMENTS = ("思路清楚，继续保持。", "注意检查边界情况。", "代码可以再简洁一些。",
            "解释写得很好。", "请补充你的理由。")
DEMO_LIMITS = SubmissionLimits(ArchiveLimits(10 * 2**20, 5 * 2**20, 50, 100), 1000, 1000)


@dataclass
class LessonRelease:
    """One lesson as released: its id, classes, student files, graded cells, dates."""

    assignment_id: str
    source: Path
    class_ids: list[str]
    release_files: dict[str, bytes]
    specs: dict[str, NotebookSpec]
    released_at: datetime
    due_at: datetime
    variants: dict[float, dict[str, bytes]] = field(default_factory=dict)


@dataclass
class DemoActivity:
    """What was seeded: the new accounts and how many of each thing, for the printout."""

    accounts: list[DemoAccount]
    #: One account a visitor may sign in as per role: a student with feedback to read,
    #: that student's teacher, their school's admin and the region admin.
    showcase: list[DemoAccount] = field(default_factory=list)
    releases: int = 0
    queued_for_grading: int = 0
    generated: int = 0
    late: int = 0
    resubmitted: int = 0
    feedback: int = 0


def answered(source: nbformat.NotebookNode, release: nbformat.NotebookNode,
             solved: float, rng: random.Random) -> nbformat.NotebookNode:
    """The student version with a share ``solved`` of its answer cells filled in.

    An answer is the instructor's solution without its markers; tests and hidden tests
    are never copied (the student never saw them).
    """
    solutions = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    notebook = nbformat.from_dict(release)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solutions and rng.random() < solved:
            cell.source = "\n".join(line for line in solutions[grade_id].split("\n")
                                    if "BEGIN SOLUTION" not in line
                                    and "END SOLUTION" not in line)
    return notebook


def _variant(lesson: LessonRelease, solved: float) -> dict[str, bytes]:
    """The files a student hands in having answered a share ``solved`` (made once each)."""
    if solved not in lesson.variants:
        rng = random.Random(f"{lesson.assignment_id}-{solved}")
        files = dict(lesson.release_files)
        for name in lesson.specs:
            path = f"{name}.ipynb"
            source = nbformat.read(lesson.source / path, as_version=4)
            release = nbformat.reads(lesson.release_files[path].decode(), as_version=4)
            files[path] = nbformat.writes(answered(source, release, solved, rng)).encode()
        lesson.variants[solved] = files
    return lesson.variants[solved]


def _monday(now: datetime, weeks_ago: int) -> datetime:
    """00:30 UTC (08:30 in China, the first lesson) on Monday ``weeks_ago`` weeks back."""
    monday = now.date() - timedelta(days=now.weekday() + 7 * weeks_ago)
    return datetime.combine(monday, datetime.min.time()) + timedelta(minutes=30)


def add_primary_and_admins(session: Session, students: int) -> list[DemoAccount]:
    """The primary school, its class, teacher and pupils, and one admin per demo school."""
    school_id, name, locality, stage = PRIMARY_SCHOOL
    class_id, class_name, grade = PRIMARY_CLASS
    session.add(School(id=school_id, region_id=DEMO_REGION_ID, name=name, locality=locality,
                       stage=stage))
    session.add(SchoolClass(id=class_id, school_id=school_id, name=class_name,
                            school_year=SCHOOL_YEAR, grade=grade))
    session.flush()
    people = DemoPeople(session, random.Random(SEED),
                        set(session.scalars(select(Person.username))))
    for school in session.scalars(select(School.id).where(School.region_id == DEMO_REGION_ID)
                                  .order_by(School.id)).all():
        people.add("sch-", Role.SCHOOL_ADMIN, school, [])
    people.add("tch-", Role.TEACHER, school_id, [class_id])
    for _index in range(max(4, students // 3)):
        people.add("stu-", Role.STUDENT, school_id, [class_id])
    return people.accounts


def _enrolled(session: Session, class_id: str, role: Role) -> list[str]:
    return list(session.scalars(select(Enrollment.username).where(
        Enrollment.class_id == class_id, Enrollment.role == role).order_by(Enrollment.id)))


def seed_demo_activity(database: ServiceDatabase, data_dir: Path,
                       region_accounts: list[DemoAccount], now: datetime) -> DemoActivity:
    """Seed the primary school, the releases, the graded work and the feedback.

    The really graded submissions are left queued: the classroom service's grading
    workers grade them once the hub is up (a minute or two on a small machine), so the
    demo starts in seconds rather than waiting for eight sandboxed kernels. nbgrader
    generates the lessons first; everything else is one transaction, so a failure
    leaves the region as it was, without half a term.
    """
    content = ContentStore(data_dir / BLOBS_IN_DATA_DIR)
    with tempfile.TemporaryDirectory(prefix="aiclass-demo-") as workdir:
        lessons = _prepare_lessons(Path(workdir), now)
    with database.session() as session:
        students = sum(account.role == Role.STUDENT for account in region_accounts)
        activity = DemoActivity(add_primary_and_admins(session, students))
        _release(session, content, lessons, activity)
        activity.queued_for_grading = _submit_for_real(session, content, lessons)
        _generate_work(session, content, lessons, activity, now)
        _release_feedback(session, content, lessons, activity, now)
        _server_activity(session, now.date())
        activity.showcase = _showcase(session, region_accounts + activity.accounts)
    return activity


def _showcase(session: Session, accounts: list[DemoAccount]) -> list[DemoAccount]:
    """A student of the first class with feedback released, their teacher, their school's
    admin and the region admin."""
    class_id = next(iter(LESSONS))
    with_feedback = set(session.scalars(select(Submission.username).join(
        Feedback, Feedback.submission_id == Submission.id).where(
            Submission.class_id == class_id)))
    student = next(a for a in accounts if a.role == Role.STUDENT and a.username in with_feedback)
    picks = [student,
             next(a for a in accounts if a.role == Role.TEACHER
                  and class_id in a.class_id.split(";")),
             next(a for a in accounts if a.role == Role.SCHOOL_ADMIN
                  and a.school == student.school),
             next(a for a in accounts if a.role == Role.REGION_ADMIN)]
    return picks


def _prepare_lessons(workdir: Path, now: datetime) -> list[LessonRelease]:
    """Generate each distinct lesson once (nbgrader), with the classes it goes to."""
    by_lesson: dict[str, tuple[int, list[str]]] = {}
    for class_id, names in LESSONS.items():
        for index, name in enumerate(names):
            by_lesson.setdefault(name, (index, []))[1].append(class_id)
    lessons = []
    for name, (index, class_ids) in by_lesson.items():
        source = DEFAULT_ROOT / name
        prepared = PreparedAssignment(source, workdir / name.replace("/", "-"))
        files = {p.relative_to(prepared.release_dir).as_posix(): p.read_bytes()
                 for p in sorted(prepared.release_dir.rglob("*")) if p.is_file()}
        released = _monday(now, WEEKS_AGO[index])
        lessons.append(LessonRelease(source.name, source, class_ids, files, prepared.notebooks,
                                     released, released + timedelta(days=DUE_DAYS)))
    return lessons


def _teacher_of(session: Session, class_id: str) -> str:
    return _enrolled(session, class_id, Role.TEACHER)[0]


def _release(session: Session, content: ContentStore, lessons: list[LessonRelease],
             activity: DemoActivity) -> None:
    """Release each lesson to its classes as their teachers would, dated in the past."""
    store = ExchangeStore(session, content)
    for lesson in lessons:
        for class_id in lesson.class_ids:
            teacher = _teacher_of(session, class_id)
            releases = store.release([class_id], lesson.assignment_id, lesson.release_files,
                                     teacher, lesson.due_at)
            store_sources(session, releases, _instructor_files(lesson.source), content.put)
            for release in releases:
                release.released_at = lesson.released_at
                class_event(session, "assignment.released", teacher, "demo", class_id,
                            {"assignment": lesson.assignment_id, "version": release.version})
            activity.releases += 1
    session.flush()


def _instructor_files(source: Path) -> dict[str, bytes]:
    return {p.relative_to(source).as_posix(): p.read_bytes()
            for p in sorted(source.rglob("*")) if p.is_file()
            and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts}


def _real_lessons(lessons: list[LessonRelease]) -> Iterator[tuple[LessonRelease, str]]:
    for lesson in lessons:
        for class_id in lesson.class_ids:
            if LESSONS[class_id][REAL_LESSON_INDEX].endswith("/" + lesson.assignment_id):
                yield lesson, class_id


def _submit_for_real(session: Session, content: ContentStore, lessons: list[LessonRelease]
                     ) -> int:
    """The first students of each class hand in the oldest lesson, queued for grading.

    One full answer and one half answer per class, through the exchange and the grading
    queue as a student's submission goes: the gradebook then shows the real grader's
    full marks and its lost points side by side. Returns how many were queued.
    """
    store = ExchangeStore(session, content)
    queued = 0
    for lesson, class_id in _real_lessons(lessons):
        for position, username in enumerate(
                _enrolled(session, class_id, Role.STUDENT)[:REAL_PER_CLASS]):
            files = _variant(lesson, SOLVED_SHARES[2 * position % len(SOLVED_SHARES)])
            manifest = [{"path": path, "sha256": content.put(data), "size": len(data)}
                        for path, data in sorted(files.items())]
            [(submission, _new)] = store.add_submissions([NewSubmission(
                class_id, lesson.assignment_id, username, 1, manifest,
                f"demo-{username}-{lesson.assignment_id}")], DEMO_LIMITS)
            submission.submitted_at = lesson.released_at + timedelta(days=2, hours=position)
            queued += enqueue(session, submission, "submit", username) is not None
    session.flush()
    return queued

def _hand_score(max_score: float, ability: float, rng: random.Random) -> float:
    """A teacher's mark in half points, near the student's ability."""
    share = min(1.0, max(0.0, rng.gauss(ability, 0.2)))
    return round(share * max_score * 2) / 2


def _generate_work(session: Session, content: ContentStore, lessons: list[LessonRelease],
                   activity: DemoActivity, now: datetime) -> None:
    """The rest of every class's work, written as the grader would have written it."""
    rng = random.Random(SEED + 1)
    done = set(session.execute(select(Submission.class_id, Submission.assignment_id,
                                      Submission.username)).all())
    for lesson in lessons:
        for class_id in lesson.class_ids:
            teacher = _teacher_of(session, class_id)
            for username in _enrolled(session, class_id, Role.STUDENT):
                if (class_id, lesson.assignment_id, username) in done:
                    continue
                ability = random.Random(username).uniform(0.35, 1.0)
                if rng.random() > 0.5 + ability / 2:
                    continue  # not handed in (yet)
                late = rng.random() < 0.12
                offset = timedelta(days=DUE_DAYS + rng.uniform(0.2, 3) if late
                                   else rng.uniform(0.5, DUE_DAYS - 0.2))
                submitted = max(min(lesson.released_at + offset, now - timedelta(hours=1)),
                                lesson.released_at + timedelta(minutes=10))
                if rng.random() < 0.15:
                    first = lesson.released_at + offset * 0.5
                    _graded_row(session, content, lesson, class_id, username, first,
                                ability * 0.6, teacher, rng)
                    activity.resubmitted += 1
                _graded_row(session, content, lesson, class_id, username, submitted,
                            ability, teacher, rng)
                activity.generated += 1
                activity.late += submitted > lesson.due_at
    session.flush()


def _graded_row(session: Session, content: ContentStore, lesson: LessonRelease,
                class_id: str, username: str, submitted: datetime, ability: float,
                teacher: str, rng: random.Random) -> None:
    """One submission, its finished grading job and its graded cells."""
    solved = min(SOLVED_SHARES, key=lambda share: abs(share - ability))
    files = _variant(lesson, solved)
    manifest = [{"path": path, "sha256": content.put(data), "size": len(data)}
                for path, data in sorted(files.items())]
    submission_id = session.execute(insert(Submission).returning(Submission.id), [{
        "key": f"{rng.getrandbits(128):032x}", "class_id": class_id,
        "assignment_id": lesson.assignment_id, "username": username, "release_version": 1,
        "submitted_at": submitted, "idempotency_key": f"demo-{rng.getrandbits(64):016x}",
        "manifest": manifest, "total_bytes": sum(e["size"] for e in manifest),
        "chosen": False}]).scalar_one()
    graded_at = submitted + timedelta(minutes=1)
    job = GradingJob(submission_id=submission_id, class_id=class_id,
                     assignment_id=lesson.assignment_id, state="done", reason="submit",
                     requested_by=username, enqueued_at=submitted, not_before=submitted,
                     attempts=1, finished_at=graded_at)
    session.add(job)
    session.flush()
    for name, spec in lesson.specs.items():
        session.add(NotebookGrade(submission_id=submission_id, notebook=name, job_id=job.id,
                                  flags=[], executed_sha256=None, graded_at=graded_at))
        for position, cell in enumerate(spec.grade_cells):
            hand = cell.kind in HAND_GRADED
            score = (_hand_score(cell.max_score, ability, rng) if hand
                     else cell.max_score if rng.random() < ability else 0.0)
            session.add(CellGrade(
                submission_id=submission_id, class_id=class_id,
                assignment_id=lesson.assignment_id, username=username, notebook=name,
                grade_id=cell.grade_id, position=position, kind=cell.kind,
                max_score=cell.max_score, auto_score=None if hand else score,
                manual_score=score if hand else None,
                comment=rng.choice(COMMENTS) if hand and rng.random() < 0.3 else "",
                job_id=job.id))


def _release_feedback(session: Session, content: ContentStore, lessons: list[LessonRelease],
                      activity: DemoActivity, now: datetime) -> None:
    """Feedback for the counted submission of each student, for lessons already due;
    the really graded ones wait for their grading and their teacher."""
    store = ExchangeStore(session, content)
    graded = set(session.scalars(select(NotebookGrade.submission_id)))
    for lesson in lessons:
        if lesson.due_at > now:
            continue
        for class_id in lesson.class_ids:
            teacher = _teacher_of(session, class_id)
            for username in _enrolled(session, class_id, Role.STUDENT):
                submission = store.counted(class_id, lesson.assignment_id, username)
                if submission is None or submission.id not in graded:
                    continue
                feedback = release_feedback(session, store, submission, teacher)
                feedback.released_at = lesson.due_at + timedelta(days=1)
                activity.feedback += 1
    session.flush()


def _server_activity(session: Session, today: date) -> None:
    """Lessons and homework: a few days a week of server use per student, in past weeks."""
    rng = random.Random(SEED + 2)
    students = session.scalars(select(Person.username).where(
        Person.role == Role.STUDENT, Person.username.like("stu-%"))).all()
    first = today - timedelta(days=7 * max(WEEKS_AGO) + today.weekday())
    rows = []
    for username in students:
        days = sorted(rng.sample(range((today - first).days), k=min(8, (today - first).days)))
        rows += [{"username": username, "day": first + timedelta(days=d),
                  "active_minutes": rng.choice((20, 35, 40, 45, 60)), "gpu_minutes": 0}
                 for d in days]
    if rows:
        session.execute(insert(ActivityDay), rows)

