"""The AI ethics lessons (人工智能伦理课) each school taught, counted from the exchange.

The indicator used to be typed in by the school; the platform knows it: a library lesson
marked ``topics = ["ethics"]`` (:mod:`hub.library`) released to one of the school's current
classes is taught there, for the lesson's ``periods``. A class's release counts once,
however many versions the teacher released, and the teacher-track ethics course is not
marked (it trains teachers, it is not a school lesson). A release is recognised by its
assignment id, which is the library lesson's folder name when released from the library.

One grouped query for any number of schools (the region page asks for 500 at once).
"""

from __future__ import annotations

from collections.abc import Collection
from functools import cache

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from grading.exchange.models import Release
from hub.library import DEFAULT_ROOT, load_library
from hub.org.models import SchoolClass


@cache
def ethics_periods() -> dict[str, int]:
    """Each ethics lesson of the library by id, with its periods (read once per process:
    the library is part of the installed code)."""
    return {lesson.id: lesson.periods for lesson in load_library(DEFAULT_ROOT)
            if "ethics" in lesson.topics}


def ethics_lessons(session: Session, school_ids: Collection[str], school_year: str
                   ) -> dict[str, int]:
    """Each of ``school_ids`` with the ethics periods released to its classes of
    ``school_year`` (zeros included)."""
    periods = ethics_periods()
    taught = dict.fromkeys(school_ids, 0)
    for school_id, lesson, classes in session.execute(
            select(SchoolClass.school_id, Release.assignment_id,
                   func.count(distinct(Release.class_id)))
            .join(SchoolClass, SchoolClass.id == Release.class_id)
            .where(SchoolClass.school_id.in_(list(school_ids)),
                   SchoolClass.school_year == school_year,
                   Release.assignment_id.in_(list(periods)))
            .group_by(SchoolClass.school_id, Release.assignment_id)):
        taught[school_id] += periods[lesson] * classes
    return taught
