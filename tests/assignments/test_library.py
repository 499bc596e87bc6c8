"""The catalogue: ``hub.library`` validation and ``aiclass assignments list``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import aiclass_explainers
import pytest

from hub.cli import main
from hub.library import DEFAULT_ROOT, LibraryError, load_library, parse_assignment

GOOD = """\
id = "demo-lesson"
title_zh = "示例课"
title_en = "Demo lesson"
grade_band = "junior"
grades = [8, 9]
module_zh = "人工智能与智慧社会"
module_en = "AI and smart society"
periods = 2
objectives = ["目标一"]
datasets = ["自制数据（CC0）"]
explainers = ["knn"]
gpu = false
time_budget_s = 120
"""


def make_lesson(root: Path, text: str = GOOD, band: str = "junior",
                lesson_id: str = "demo-lesson") -> Path:
    folder = root / band / lesson_id
    folder.mkdir(parents=True)
    (folder / "lesson.ipynb").write_text("{}", encoding="utf-8")
    path = folder / "assignment.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_library_meets_the_issue_counts():
    lessons = load_library(DEFAULT_ROOT,
                           known_explainers=[e.id for e in aiclass_explainers.catalog()])
    by_band = {band: [a for a in lessons if a.grade_band == band]
               for band in ("primary", "junior", "senior", "teacher")}
    assert len(by_band["primary"]) >= 3
    assert len(by_band["junior"]) >= 6
    assert len(by_band["teacher"]) >= 6, "both training tracks: at least 6 courses"
    assert all(a.hours > 0 for a in by_band["teacher"]), "training hours are credited from these"
    assert all(a.hours == 0 for a in lessons if a.grade_band != "teacher")
    assert all(a.explainers for a in by_band["primary"]), "primary lessons are explainer-driven"
    assert all(a.module_zh == "人工智能与智慧社会" for a in by_band["junior"])
    assert len({a.id for a in lessons}) == len(lessons)


def test_a_good_file_becomes_a_typed_record(tmp_path):
    lesson = parse_assignment(make_lesson(tmp_path), known_explainers=["knn"])
    assert lesson.id == "demo-lesson" and lesson.grades == (8, 9) and lesson.periods == 2
    assert lesson.explainers == ("knn",) and lesson.gpu is False
    assert lesson.band_zh == "初中"
    assert lesson.as_dict()["notebooks"] == ["lesson.ipynb"]


@pytest.mark.parametrize(("old", "new", "key"), [
    ('periods = 2', 'periods = 3', "periods"),
    ('grades = [8, 9]', 'grades = [8, 11]', "grades"),
    ('grade_band = "junior"', 'grade_band = "college"', "grade_band"),
    ('gpu = false', 'gpu = "no"', "gpu"),
    ('time_budget_s = 120', 'time_budget_s = 600', "time_budget_s"),
    ('title_zh = "示例课"\n', '', "title_zh"),
    ('objectives = ["目标一"]', 'objectives = []', "objectives"),
    ('explainers = ["knn"]', 'explainers = ["no_such_explainer"]', "explainers"),
    ('id = "demo-lesson"', 'id = "other-lesson"', "id"),
    ('id = "demo-lesson"', 'id = "Demo_Lesson"', "id"),
])
def test_a_bad_key_is_named_with_its_file(tmp_path, old, new, key):
    path = make_lesson(tmp_path, GOOD.replace(old, new))
    with pytest.raises(LibraryError) as caught:
        parse_assignment(path, known_explainers=["knn"])
    assert str(path) in str(caught.value) and f"key {key}" in str(caught.value)


TEACHER_COURSE = (GOOD.replace('grade_band = "junior"', 'grade_band = "teacher"')
                  .replace("grades = [8, 9]", "grades = []") + "hours = 2.5\n")


def test_a_teacher_course_declares_its_training_hours(tmp_path):
    """Are hours required of a teacher-track course, checked, and refused on a pupil's lesson?"""
    course = parse_assignment(make_lesson(tmp_path, TEACHER_COURSE, band="teacher"))
    assert course.hours == 2.5 and course.as_dict()["hours"] == 2.5
    for index, text in enumerate((TEACHER_COURSE.replace("hours = 2.5\n", ""),
                                  TEACHER_COURSE.replace("2.5", "0"),
                                  TEACHER_COURSE.replace("2.5", "1.3"),
                                  TEACHER_COURSE.replace("2.5", '"2"'))):
        path = make_lesson(tmp_path / str(index), text, band="teacher")
        with pytest.raises(LibraryError, match="key hours"):
            parse_assignment(path)
    pupil = make_lesson(tmp_path / "pupil", GOOD + "hours = 2\n")
    with pytest.raises(LibraryError, match="key hours"):
        parse_assignment(pupil)


def test_ethics_lessons_are_marked_and_a_bad_topic_is_refused(tmp_path):
    """Are exactly the pupils' ethics lessons marked (the teachers' ethics course is
    training, not a school lesson), and is a misspelt or odd topic refused by key?"""
    marked = {a.id for a in load_library(DEFAULT_ROOT) if "ethics" in a.topics}
    assert marked == {"ai-safety-ethics", "bias-fairness"}
    assert parse_assignment(make_lesson(tmp_path, GOOD)).topics == ()
    for index, topics in enumerate(('["ethic"]', '"ethics"', "[1]")):
        path = make_lesson(tmp_path / str(index), GOOD + f"topics = {topics}\n")
        with pytest.raises(LibraryError, match="key topics"):
            parse_assignment(path)


def test_a_band_folder_mismatch_is_refused(tmp_path):
    path = make_lesson(tmp_path, band="senior")
    with pytest.raises(LibraryError, match="grade_band"):
        parse_assignment(path)


def test_broken_toml_names_the_file(tmp_path):
    path = make_lesson(tmp_path, GOOD.replace("periods = 2", "periods = "))
    with pytest.raises(LibraryError, match="TOML") as caught:
        load_library(tmp_path)
    assert str(path) in str(caught.value)


def test_list_prints_the_catalogue_in_chinese(capsys):
    assert main(["assignments", "list"]) == 0
    out = capsys.readouterr().out
    assert "学段" in out and "课时" in out and "初中" in out and "教师研修" in out
    for lesson in load_library():
        assert lesson.id in out and lesson.title_zh in out


def test_list_filters_by_band_as_json(capsys):
    assert main(["assignments", "list", "--band", "primary", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and {row["grade_band"] for row in rows} == {"primary"}
    assert all(row["notebooks"] and row["title_en"] for row in rows)


def test_list_reports_a_bad_library_and_fails(tmp_path, capsys):
    shutil.copytree(DEFAULT_ROOT / "junior" / "search-bfs-astar",
                    tmp_path / "junior" / "search-bfs-astar")
    toml = tmp_path / "junior" / "search-bfs-astar" / "assignment.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("periods = 2", "periods = 9"),
                    encoding="utf-8")
    assert main(["assignments", "list", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert str(toml) in err and "periods" in err
