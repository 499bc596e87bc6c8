"""A small class written straight into a data dir's databases and files, without a hub.

For the library-level backup tests: a region, a school, a class with a teacher and a
student (with a credential), a release, a submission with its grade and feedback in the
exchange store, a row in JupyterHub's own database, and a file in the student's home.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from jupyterhub import orm
from sqlalchemy import create_engine, inspect, text

from grading.exchange.content_store import ContentStore
from grading.exchange.models import Feedback, Release, Submission
from grading.gradebook.models import CellGrade, GradingJob
from hub.db import ServiceDatabase
from hub.org.models import Credential, Enrollment, Person, Region, School, SchoolClass
from hub.settings import Settings

NOW = datetime(2026, 12, 1, 9, 0)
STUDENT = "stu-backup"
HOME_FILE = "作业/笔记.ipynb"


def seed_class(settings: Settings) -> None:
    """Write the class into the databases and files ``settings`` name."""
    blobs = ContentStore(settings.data_dir / "exchange" / "blobs")
    notebook = blobs.put('{"cells": ["学生的答案"]}'.encode())
    html = blobs.put("<p>反馈 / feedback</p>".encode())
    database = ServiceDatabase(settings.database_url)
    with database.session() as session:
        session.add(Region(id="r-b", name="备份区"))
        session.flush()
        session.add(School(id="s-b", region_id="r-b", name="备份中学", locality="urban",
                           stage="senior"))
        session.flush()
        session.add(SchoolClass(id="c-b", school_id="s-b", name="高一（9）班",
                                school_year="2026", grade=10))
        session.flush()
        session.add(Person(username=STUDENT, display_name="李四", role="student",
                           school_id="s-b"))
        session.flush()
        session.add(Enrollment(class_id="c-b", username=STUDENT, role="student"))
        session.add(Credential(username=STUDENT, password_hash="$argon2id$x", must_change=False,
                               failed_attempts=0))
        session.add(Release(class_id="c-b", assignment_id="a1", version=1, released_by="t",
                            released_at=NOW, manifest=[], archive_sha256=notebook))
        submission = Submission(key="k" * 32, class_id="c-b", assignment_id="a1",
                                username=STUDENT, release_version=1, submitted_at=NOW,
                                idempotency_key="i1", total_bytes=10, chosen=False,
                                manifest=[{"path": "a.ipynb", "sha256": notebook, "size": 10}])
        session.add(submission)
        session.flush()
        job = GradingJob(submission_id=submission.id, class_id="c-b", assignment_id="a1",
                         state="done", reason="submit", requested_by=STUDENT, enqueued_at=NOW,
                         not_before=NOW, attempts=1)
        session.add(job)
        session.flush()
        session.add(CellGrade(submission_id=submission.id, class_id="c-b", assignment_id="a1",
                              username=STUDENT, notebook="a.ipynb", grade_id="q1", position=0,
                              kind="auto", max_score=2.0, auto_score=1.0, override_score=1.5,
                              comment="好", job_id=job.id))
        session.add(Feedback(submission_id=submission.id, released_by="t", released_at=NOW,
                             manifest=[{"path": "a.html", "sha256": html, "size": 20}]))
    database.engine.dispose()
    hub_db = orm.new_session_factory(settings.hub_database_url)()
    hub_db.add(orm.User(name=STUDENT))
    hub_db.commit()
    hub_db.close()
    hub_db.get_bind().dispose()  # no pooled connection left to hold the database
    home = settings.data_dir / "homes" / STUDENT / HOME_FILE
    home.parent.mkdir(parents=True)
    home.write_text('{"cells": []}', encoding="utf-8")


def database_rows(url: str) -> dict[str, list[tuple]]:
    """Every row of every table of a database, sorted, for comparing two copies."""
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as connection:
            tables = [name for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {t: sorted(map(tuple, connection.execute(f'SELECT * FROM "{t}"')), key=repr)
                    for t in tables}
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {t: sorted(map(tuple, connection.execute(text(f'SELECT * FROM "{t}"'))),
                              key=repr)
                    for t in inspect(engine).get_table_names()}
    finally:
        engine.dispose()


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by relative path, with its bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}
