"""A generated region (schools, classes, people, releases, submissions, activity) for reports.

Deterministic for a seed, inserted with bulk ``INSERT``s so that the 20,000-student
region of the page benchmark is built in seconds. Shared by the reports tests and
``benchmarks/bench_pages.py``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.orm import Session

from grading.exchange.models import Release, Submission
from hub.org.models import Enrollment, Person, Region, Role, School, SchoolClass
from hub.reports.tables import ActivityDay

TERM_START = date(2026, 9, 1)
SCHOOL_YEAR = "2026-2027"


@dataclass
class GeneratedRegion:
    """What was generated, for assertions and for picking a gradebook to render."""

    schools: list[str] = field(default_factory=list)
    classes: dict[str, list[str]] = field(default_factory=dict)
    teachers: dict[str, str] = field(default_factory=dict)
    assignments: dict[str, list[str]] = field(default_factory=dict)
    scores: dict[tuple[str, str, str], float] = field(default_factory=dict)


def generate_region(session: Session, *, students: int, class_size: int = 40,
                    classes_per_school: int = 10, assignments: int = 8,
                    activity_days: int = 10, today: date = date(2026, 11, 20),
                    seed: int = 7) -> GeneratedRegion:
    """Insert a region of about ``students`` students; return its ids and scores."""
    rng = random.Random(seed)
    out = GeneratedRegion()
    session.add(Region(id="gen", name="生成区"))
    class_count = max(1, students // class_size)
    school_count = max(1, class_count // classes_per_school)
    schools, classes, people, enrollments = [], [], [], []
    releases, submissions, activity = [], [], []
    term_days = (today - TERM_START).days
    for s in range(school_count):
        school_id = f"gen-s{s:03d}"
        out.schools.append(school_id)
        schools.append({"id": school_id, "region_id": "gen", "name": f"生成学校{s}",
                        "locality": "rural" if s % 3 == 0 else "urban",
                        "stage": ("primary", "junior", "senior")[s % 3]})
    for c in range(class_count):
        school_id = out.schools[c % school_count]
        class_id = f"{school_id}-c{c:04d}"
        grade = 4 + c % 9
        classes.append({"id": class_id, "school_id": school_id, "name": f"{grade}年级{c}班",
                        "school_year": SCHOOL_YEAR, "grade": grade})
        teacher = f"t{c:05d}"
        out.teachers[class_id] = teacher
        people.append({"username": teacher, "display_name": f"老师{c}", "role": Role.TEACHER,
                       "school_id": school_id})
        enrollments.append({"class_id": class_id, "username": teacher, "role": Role.TEACHER})
        names = [f"s{c:04d}x{i:02d}" for i in range(class_size)]
        out.classes[class_id] = names
        for name in names:
            people.append({"username": name, "display_name": f"学生{name}",
                           "role": Role.STUDENT, "school_id": school_id})
            enrollments.append({"class_id": class_id, "username": name, "role": Role.STUDENT})
            for day in rng.sample(range(term_days), min(activity_days, term_days)):
                minutes = rng.choice((20, 40, 45, 60))
                activity.append({"username": name, "day": TERM_START + timedelta(days=day),
                                 "active_minutes": minutes,
                                 "gpu_minutes": minutes if grade >= 10 and day % 4 == 0 else 0})
        ids = [f"a{a:02d}" for a in range(assignments)]
        out.assignments[class_id] = ids
        for a, assignment_id in enumerate(ids):
            released = datetime.combine(TERM_START, datetime.min.time()) + timedelta(days=7 * a)
            due = released + timedelta(days=6)
            releases.append({"class_id": class_id, "assignment_id": assignment_id, "version": 1,
                             "released_by": teacher, "released_at": released, "due_at": due,
                             "manifest": [], "archive_sha256": "0" * 64})
            for name in names:
                if rng.random() > 0.85:
                    continue
                moment = due + timedelta(hours=rng.uniform(-120, 24))
                submissions.append({"key": f"{len(submissions):032x}", "class_id": class_id,
                                    "assignment_id": assignment_id, "username": name,
                                    "release_version": 1, "submitted_at": moment,
                                    "idempotency_key": f"gen-{class_id}-{assignment_id}",
                                    "manifest": [], "total_bytes": 1000, "chosen": False})
                out.scores[(class_id, assignment_id, name)] = rng.choice(
                    (0.3, 0.5, 0.7, 0.8, 0.9, 1.0))
    for table, rows in ((School, schools), (SchoolClass, classes), (Person, people),
                        (Enrollment, enrollments), (Release, releases),
                        (Submission, submissions), (ActivityDay, activity)):
        for start in range(0, len(rows), 20000):
            session.execute(insert(table), rows[start:start + 20000])
    session.flush()
    return out
