"""The reference values (基准) the supervision indicators compare each school against.

Where they come from: the provincial programme's supervision plan (督导评估, issue 18)
names the indicators but, as handed to this project, not their figures; the values
below are this project's working reference values, chosen so that a school meets them by
doing what the programme asks of every experimental school (every class with AI
assignments, the planned periods taught, most students active and completing their
work, some training, a competition and ethics lessons a year). They live here, once:
the indicator table, the evaluation page, the district and region charts and the XLSX
export all read them from this module, so a guidance center that publishes its own
figures changes them in one place. The plan's periods per year are a setting
(``[reports] periods_per_year``); the periods indicator is the share of that plan.
"""

from __future__ import annotations

COURSES_OPENED = 1.0
"""Share of current classes with at least one assignment released: every class."""

PERIODS_OF_PLAN = 1.0
"""Class-hours per student against ``[reports] periods_per_year`` for the term: the
whole plan. The district and region charts draw it as their benchmark line."""

STUDENTS_ACTIVE = 0.8
"""Share of enrolled students whose server was in use this term."""

ASSIGNMENTS_COMPLETED = 0.8
"""Share of (student, released assignment) pairs with a counted submission."""

TEACHERS_TRAINED = 2
"""Teachers of the school trained in the programme this year (people)."""

TRAINING_HOURS = 24
"""Training hours per trained teacher this year (学时)."""

COMPETITIONS = 1
"""Competitions or activities the school entered this year."""

ETHICS_LESSONS = 2
"""AI ethics lessons taught this year (class periods)."""

LAB_EQUIPMENT = 20
"""Sets of equipment in the school's AI lab (a class's worth of workstations)."""
