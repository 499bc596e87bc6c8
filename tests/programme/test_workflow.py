"""The application workflow's rules against a real SQLite service database: who may take
each step, what bad input says, that every step is audited, and the evaluation figures."""

from __future__ import annotations

from datetime import date
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from hub.audit.models import AuditEvent
from hub.db import ServiceDatabase
from hub.org.models import District, Person, Region, School
from hub.programme.indicators import evaluate, roll_up
from hub.programme.models import Application
from hub.programme.scope import OutOfScope
from hub.programme.workbooks import recommendation_workbook
from hub.programme.workflow import ApplicationForm, FormProblem, decide, recommend, submit
from hub.reports.figures import Figures, ReportPolicy
from hub.reports.region import SchoolReport
from hub.service.pages.programme_texts import PROGRAMME_TEXTS

FORM = ApplicationForm("junior", "rural", "创客社团", "no", "2", "三年计划")
POLICY = ReportPolicy(term_start=date(2026, 9, 1))


@pytest.fixture
def database(tmp_path: Path) -> ServiceDatabase:
    database = ServiceDatabase(f"sqlite:///{tmp_path / 'aiclass.sqlite'}")
    with database.session() as session:
        session.add(Region(id="r", name="省"))
        session.flush()
        session.add_all([District(id="d1", region_id="r", name="甲区"),
                         District(id="d2", region_id="r", name="乙县")])
        session.flush()
        session.add_all([School(id="s1", region_id="r", name="一中", district_id="d1"),
                         School(id="s2", region_id="r", name="二中", district_id="d2")])
        session.flush()
        session.add_all([
            Person(username="sadm-1", display_name="甲", role="school_admin", school_id="s1"),
            Person(username="sadm-2", display_name="乙", role="school_admin", school_id="s2"),
            Person(username="dadm-1", display_name="丙", role="district_admin",
                   district_id="d1"),
            Person(username="dadm-2", display_name="丁", role="district_admin",
                   district_id="d2"),
            Person(username="adm", display_name="戊", role="region_admin"),
            Person(username="tch-1", display_name="己", role="teacher", school_id="s1")])
    yield database
    database.engine.dispose()


def person(database: ServiceDatabase, username: str) -> Person:
    with database.session() as session:
        found = session.get(Person, username)
        session.expunge(found)
        return found


def test_each_step_is_taken_only_by_its_own_admin_and_audited(database: ServiceDatabase) -> None:
    with database.session() as session:
        for intruder in ("sadm-2", "dadm-1", "adm", "tch-1"):
            with pytest.raises(OutOfScope):
                submit(session, person(database, intruder), "s1", FORM)
        submit(session, person(database, "sadm-1"), "s1", FORM)
        submit(session, person(database, "sadm-2"), "s2", FORM)
    with database.session() as session:
        with pytest.raises(OutOfScope):
            recommend(session, person(database, "dadm-2"), "d1", [("s1", "")])
        with pytest.raises(OutOfScope):
            recommend(session, person(database, "dadm-2"), "d2", [("s1", "")])
        with pytest.raises(OutOfScope):
            recommend(session, person(database, "sadm-1"), "d1", [("s1", "")])
        with pytest.raises(OutOfScope):
            decide(session, person(database, "dadm-1"), "s1", approve=True,
                   standing="experimental_school", phase="1", year="2026")
        with pytest.raises(FormProblem, match="没有区县推荐"):
            decide(session, person(database, "adm"), "s1", approve=True,
                   standing="experimental_school", phase="1", year="2026")
        recommend(session, person(database, "dadm-1"), "d1", [("s1", "好")])
    with database.session() as session:
        with pytest.raises(FormProblem) as bad:
            decide(session, person(database, "adm"), "s1", approve=True,
                   standing="experimental_school", phase="4", year="2026")
        assert bad.value.field == "phase" and "批次" in bad.value.zh
        decide(session, person(database, "adm"), "s1", approve=True,
               standing="district_member", phase="3", year="2027")
    with database.session() as session:
        s1 = session.scalar(select(Application).where(Application.school_id == "s1"))
        s2 = session.scalar(select(Application).where(Application.school_id == "s2"))
        assert (s1.status, s1.standing, s1.phase, s1.year, s1.rank) == (
            "approved", "district_member", 3, 2027, 1)
        assert (s2.status, s2.rank) == ("applied", None)
        actions = [(e.action, e.school) for e in session.scalars(
            select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == [("programme.applied", "s1"), ("programme.applied", "s2"),
                       ("programme.recommended", "s1"), ("programme.decided", "s1")]


@pytest.mark.parametrize(("field", "value", "message"), [
    ("ai_teachers", "-1", "人工智能教师人数"), ("plan", "  ", "实施方案"),
    ("stage", "college", "学段"), ("foundation", "x" * 4001, "过长")])
def test_a_bad_application_field_is_named_and_nothing_is_stored(
        database: ServiceDatabase, field: str, value: str, message: str) -> None:
    form = ApplicationForm(**{**FORM.__dict__, field: value})
    with database.session() as session, pytest.raises(FormProblem) as bad:
        submit(session, person(database, "sadm-1"), "s1", form)
    assert bad.value.field == field and message in bad.value.zh
    with database.session() as session:
        assert session.scalars(select(Application)).all() == []
        assert session.scalars(select(AuditEvent)).all() == []


def test_the_summary_table_is_ranked_and_formula_safe(database: ServiceDatabase) -> None:
    formula = ApplicationForm("junior", "rural", "=cmd|' /C calc'!A0", "yes", "1", "+计划")
    with database.session() as session:
        submit(session, person(database, "sadm-1"), "s1", formula)
        recommend(session, person(database, "dadm-1"), "d1", [("s1", "@首选")])
        rows = [("一中", a) for a in session.scalars(select(Application))]
        sheet = load_workbook(BytesIO(recommendation_workbook("甲区", rows))).active
    assert [sheet.cell(2, c).value for c in (1, 2, 3)] == [1, "s1", "一中"]
    assert sheet.cell(2, 8).value == "'=cmd|' /C calc'!A0"
    assert sheet.cell(2, 9).value == "'+计划" and sheet.cell(2, 10).value == "'@首选"


def test_indicators_are_computed_from_the_report_and_rolled_up(
        database: ServiceDatabase) -> None:
    one = SchoolReport(Figures("s1", "一中", students=10, active_students=8,
                               active_minutes=10 * 4 * 45, expected=20, submitted=15,
                               gpu_minutes=90), "urban", "junior",
                       [Figures("c1", "c1", assignments=2), Figures("c2", "c2")], "d1")
    two = SchoolReport(Figures("s2", "二中", students=30, active_students=3), "rural",
                       "junior", [Figures("c3", "c3", assignments=1)], "d2")
    with database.session() as session:
        evaluations = evaluate(session, [one, two], POLICY)
        total = roll_up("r", "省", evaluations, {"s1": one, "s2": two}, POLICY)
    first = evaluations[0]
    assert first.values["courses_opened"] == 0.5
    assert first.values["periods"] == 1.0          # 4 class-hours each, 4 planned a term
    assert first.values["students_active"] == 0.8 and first.met("students_active")
    assert first.values["assignments_completed"] == 0.75
    assert not first.met("assignments_completed")
    assert first.values["gpu_hours"] == 1.5 and first.met("gpu_hours") is None
    assert first.values["lab_equipment"] is None and first.met("lab_equipment") is None
    assert total.values["students_active"] == 11 / 40
    assert total.values["courses_opened"] == 2 / 3


def test_the_programme_texts_have_the_same_keys_in_both_languages() -> None:
    assert set(PROGRAMME_TEXTS["zh_CN"]) == set(PROGRAMME_TEXTS["en"])
