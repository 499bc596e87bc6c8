"""Who is in a cohort's class, as the service's access check asks it, on a real service
database (no hub): the edge cases the end-to-end test does not reach."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from hub.db import ServiceDatabase
from hub.org.models import District, Person, Region, Role, School
from hub.service import access
from hub.training.class_ids import cohort_class_id, cohort_of_class
from hub.training.models import Cohort, Trainee

NOW = datetime(2026, 5, 1, 9, 0)


@pytest.fixture
def database(tmp_path: Path) -> ServiceDatabase:
    """Cohort 1 of district a, with a teacher and district a's head as trainees; cohort 2
    of district b, with none; a pupil of district a's school."""
    database = ServiceDatabase(f"sqlite:///{tmp_path / 'aiclass.sqlite'}")
    with database.session() as session:
        session.add(Region(id="r", name="区"))
        session.flush()
        session.add_all([District(id="a", region_id="r", name="甲区"),
                         District(id="b", region_id="r", name="乙县")])
        session.flush()
        session.add(School(id="s", region_id="r", name="一中", district_id="a"))
        session.flush()
        session.add_all([
            Person(username="tea", display_name="老师", role=Role.TEACHER, school_id="s"),
            Person(username="heada", display_name="甲局长", role=Role.DISTRICT_ADMIN,
                   district_id="a"),
            Person(username="headb", display_name="乙局长", role=Role.DISTRICT_ADMIN,
                   district_id="b"),
            Person(username="boss", display_name="省", role=Role.REGION_ADMIN),
            Person(username="kid", display_name="学生", role=Role.STUDENT, school_id="s")])
        for cohort_id, district in ((1, "a"), (2, "b")):
            session.add(Cohort(id=cohort_id, name=f"班{cohort_id}", track="general",
                               year=2026, district_id=district, created_by="boss",
                               created_at=NOW))
        session.flush()
        session.add_all(Trainee(cohort_id=1, username=name, enrolled_by="heada",
                                enrolled_at=NOW) for name in ("tea", "heada"))
    return database


def test_the_class_id_has_one_spelling() -> None:
    """Is only the id :func:`cohort_class_id` writes read back as a cohort?"""
    assert cohort_of_class(cohort_class_id(12)) == 12
    for alias in ("training-012", "training-0", "training-12x", "Training-12", "training-",
                  "demo-s1-g10c1", "training-1234567890"):
        assert cohort_of_class(alias) is None, alias


def test_roles_in_a_cohort_class(database: ServiceDatabase) -> None:
    """Trainees are students, its admins teachers (also one who trains in it), nobody
    else anything, and a cohort that does not exist has no one."""
    first, second = cohort_class_id(1), cohort_class_id(2)
    with database.session() as session:
        def role(class_id: str, username: str) -> str | None:
            return access.role_in(session, class_id, username)

        assert role(first, "tea") == Role.STUDENT
        assert role(first, "heada") == Role.TEACHER, "runs it: its teacher, not a student"
        assert role(first, "boss") == Role.TEACHER
        assert role(first, "headb") is None and role(second, "headb") == Role.TEACHER
        assert role(first, "kid") is None and role(second, "tea") is None
        assert role(cohort_class_id(99), "boss") is None
        assert role(cohort_class_id(1), "nobody") is None
        assert access.students_of(session, first) == ["tea"]
        assert access.students_of(session, cohort_class_id(99)) == []
        assert access.classes_as(session, "tea", Role.STUDENT) == [first]
        assert access.classes_as(session, "tea", Role.TEACHER) == []
        assert access.classes_as(session, "heada", Role.STUDENT) == []
        assert access.classes_as(session, "heada", Role.TEACHER) == [first]
        assert access.classes_as(session, "boss", Role.TEACHER) == [first, second]
        assert access.classes_as(session, "kid", Role.STUDENT) == []
