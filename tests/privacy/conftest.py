"""A local-mode classroom's data dir holding two pupils' work in every store, without a hub.

Everything a request for one pupil's data must find is put where the classroom puts it:
the roster (real names), credentials, the class's release, submissions with a unique
string in a notebook, grades with a teacher's comment naming the pupil, the reasons
points were lost quoting their output, feedback, an extension, a day of activity, the
audit trail's sign-ins, a home directory, a line of the hub's log, and JupyterHub's own
database with the account and a group.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from jupyterhub import orm
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

from grading.exchange.content_store import BLOBS_IN_DATA_DIR, ContentStore
from grading.exchange.models import Extension, Submission
from grading.exchange.store import utcnow
from grading.gradebook.feedback import release_feedback
from grading.gradebook.manual import find_cell, set_comment
from grading.gradebook.models import LostPoints
from hub.audit.trail import record
from hub.db import ServiceDatabase
from hub.org.credentials import set_initial_password
from hub.org.models import Enrollment, Person, Region, Role, School, SchoolClass
from hub.reports.tables import ActivityDay
from hub.settings import Settings, load_settings
from tests.gradebook.conftest import CLASS, CORRECT, TEACHER, Service
from tests.gradebook.conftest import ps1_release as ps1_release  # noqa: F401 (a fixture)
from tests.gradebook.test_gradebook import graded

SCHOOL = "sch-1"


@dataclass(frozen=True)
class Pupil:
    """One pupil and what only their data holds."""

    username: str
    real_name: str
    unique: str


ERASED = Pupil("stu-erase1", "欧阳明月", "UNIQUE-7f3a9c-homework")
OTHER = Pupil("stu-keep22", "司马青云", "UNIQUE-55e1d0-otherwork")


@dataclass
class Classroom:
    """The data dir, its settings and the gradebook's helpers on its service database."""

    settings: Settings
    database: ServiceDatabase
    service: Service
    submissions: dict[str, list[int]]

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    def session(self) -> Session:
        return self.service.session()


def _roster(session: Session) -> None:
    session.add(Region(id="region", name="本区域"))
    session.flush()
    session.add(School(id=SCHOOL, region_id="region", name="第一中学"))
    session.flush()
    session.add(SchoolClass(id=CLASS, school_id=SCHOOL, name="高一（7）班",
                            school_year="2026-2027", grade=10))
    session.flush()
    session.add(Person(username=TEACHER, display_name="诸葛老师", role=Role.TEACHER,
                       school_id=SCHOOL))
    session.flush()
    session.add(Enrollment(class_id=CLASS, username=TEACHER, role=Role.TEACHER))
    for pupil in (ERASED, OTHER):
        session.add(Person(username=pupil.username, display_name=pupil.real_name,
                           role=Role.STUDENT, school_id=SCHOOL))
        session.flush()
        session.add(Enrollment(class_id=CLASS, username=pupil.username, role=Role.STUDENT))
        set_initial_password(session, pupil.username)


def _pupil_work(room: Classroom, pupil: Pupil) -> None:
    """Two submissions, graded, one with feedback, comment and lost points naming them."""
    service = room.service
    edits = {**CORRECT, "growth_answer": f"{pupil.unique} 我的答案"}
    first = service.submit(pupil.username, edits, key=f"key-a-{pupil.username}")
    submission = graded(service, pupil.username,
                        {"correct_squares": 2.0, "growth_answer": None},
                        {**edits, "mean_score": f"# {pupil.unique} second try"})
    room.submissions[pupil.username] = [first, submission.id]
    with service.store() as (session, store):
        cell = find_cell(session, submission.id, "problem1", "growth_answer")
        set_comment(session, cell, f"{pupil.real_name}，写得好", TEACHER)
        session.add(LostPoints(submission_id=submission.id, notebook="problem1",
                               grade_id="correct_squares", job_id=cell.job_id,
                               reason={"error": f"NameError: {pupil.unique}"}))
        release_feedback(session, store, session.get(Submission, submission.id), TEACHER)
        session.add(Extension(class_id=CLASS, assignment_id="ps1", username=pupil.username,
                              due_at=utcnow() + timedelta(days=2), granted_by=TEACHER,
                              granted_at=utcnow()))
        session.add(ActivityDay(username=pupil.username, day=utcnow().date(),
                                active_minutes=40))
        record(session, actor=pupil.username, action="sign_in.ok", subject=pupil.username,
               school=SCHOOL, source="10.0.0.7")
    home = room.data_dir / "homes" / pupil.username
    home.mkdir(parents=True)
    (home / "scratch.ipynb").write_text(f'{{"source": "{pupil.unique}"}}', encoding="utf-8")


def _hub_database(settings: Settings) -> None:
    """JupyterHub's database as the hub leaves it: the accounts, the class's group."""
    engine = create_engine(settings.hub_database_url)
    orm.Base.metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        group = orm.Group(name=f"class-{CLASS}")
        session.add(group)
        for username in (ERASED.username, OTHER.username, TEACHER):
            user = orm.User(name=username)
            user.groups.append(group)
            session.add(user)
    engine.dispose()


@pytest.fixture
def classroom(tmp_path: Path, ps1_release: dict[str, bytes]) -> Classroom:  # noqa: F811
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    return build_classroom(data_dir, ps1_release)


def build_classroom(data_dir: Path, ps1_release: dict[str, bytes]) -> Classroom:  # noqa: F811
    """The two pupils' classroom in ``data_dir``, on the databases its settings name."""
    settings = load_settings(data_dir)
    database = ServiceDatabase(settings.database_url)
    maker = sessionmaker(database.engine, expire_on_commit=False)
    content = ContentStore(data_dir / BLOBS_IN_DATA_DIR)
    room = Classroom(settings, database, Service(settings.database_url, content, maker,
                                                 ps1_release), {})
    with room.session() as session:
        _roster(session)
    room.service.release()
    for pupil in (ERASED, OTHER):
        _pupil_work(room, pupil)
    _hub_database(settings)
    (data_dir / "jupyterhub.log").write_text(
        f"[I 2026-10-01 08:00:00 JupyterHub log:191] 200 GET /hub/api/users/{ERASED.username} "
        f"(@127.0.0.1)\n[I 2026-10-01 08:00:01 JupyterHub log:191] 302 GET /user/"
        f"{OTHER.username}/lab\n", encoding="utf-8")
    return room

