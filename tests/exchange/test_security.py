"""Who cannot do what, and uploads that are refused with a clear error and nothing stored.

Run against the real hub and service with the class's students and teacher, a
student of another class, and the teacher of another school's class. The service
is configured with a 1 MB upload limit and three submissions a minute.
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
import zipfile
from pathlib import Path

import pytest
import requests

from tests.exchange.conftest import (
    ASSIGNMENT,
    CLASS,
    Classroom,
    Person,
    make_zip,
    read_zip,
)
from tests.exchange.openapi_check import check_response

pytestmark = pytest.mark.integration

SUBMISSIONS = f"/classes/{CLASS}/assignments/{ASSIGNMENT}/submissions"
CJK = re.compile(r"[\u4e00-\u9fff]")


def notebook(text: str = "答案") -> bytes:
    return json.dumps({"cells": [{"cell_type": "markdown", "metadata": {}, "source": text}],
                       "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


def submit(person: Person, body: bytes, key: str) -> object:
    return person.api("POST", SUBMISSIONS, data=body, headers={"Idempotency-Key": key})


def history(person: Person) -> list[dict]:
    response = person.api("GET", SUBMISSIONS)
    assert response.status_code == 200, response.text
    check_response("/classes/{class_id}/assignments/{assignment_id}/submissions", "get", 200,
                   response.json())
    return response.json()["submissions"]


def refused(response: object, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code, body
    assert CJK.search(body["message"]), body
    return body


@pytest.fixture(scope="module")
def victim(classroom: Classroom, released: dict) -> dict:
    """A submission of one student, whose files the others try to reach."""
    student = classroom.student("victim")
    response = submit(student, make_zip({"classify.ipynb": notebook("我的答案")}),
                      "victim-submission-1")
    assert response.status_code in (200, 201), response.text
    check_response("/classes/{class_id}/assignments/{assignment_id}/submissions", "post",
                   response.status_code, response.json())
    return response.json()


def test_no_token_or_a_forged_one_is_refused(classroom: Classroom) -> None:
    url = f"{classroom.hub.url}/services/classroom/api/v1/assignments"
    refused(requests.get(url, timeout=30), 401, "unauthenticated")
    refused(requests.get(url, headers={"Authorization": "token not-a-real-token"}, timeout=30),
            401, "unauthenticated")


def test_students_see_only_their_own_submissions_and_feedback(classroom: Classroom,
                                                              victim: dict) -> None:
    thief = classroom.student("thief")
    assert all(s["student"] == thief.username for s in history(thief))
    mine = thief.api("GET", "/submissions").json()["submissions"]
    assert victim["id"] not in {s["id"] for s in mine}
    refused(thief.api("GET", f"/submissions/{victim['id']}/files"), 404, "not_found")
    refused(thief.api("GET", f"/submissions/{victim['id']}/feedback"), 404, "not_found")
    refused(thief.api("GET", f"/submissions/{os.urandom(16).hex()}/files"), 404, "not_found")
    refused(classroom.outsider.api("GET", SUBMISSIONS), 404, "not_found")
    assert thief.api("PUT", f"/submissions/{victim['id']}/files").status_code == 405
    assert thief.api("DELETE", f"/submissions/{victim['id']}/files").status_code == 405


def test_a_student_cannot_overwrite_or_impersonate(classroom: Classroom, victim: dict) -> None:
    thief = classroom.student("thief")
    forged = submit(thief, make_zip({"classify.ipynb": notebook("伪造")}), "victim-submission-1")
    assert forged.status_code == 201
    assert forged.json()["student"] == thief.username
    assert forged.json()["id"] != victim["id"]
    owner = classroom.student("victim")
    files = read_zip(owner.api("GET", f"/submissions/{victim['id']}/files").content)
    assert json.loads(files["classify.ipynb"])["cells"][0]["source"] == "我的答案"


def test_students_cannot_release_collect_or_return_feedback(classroom: Classroom,
                                                            victim: dict) -> None:
    student = classroom.student("thief")
    refused(student.api("POST", f"/assignments/{ASSIGNMENT}/releases",
                        params={"class": CLASS, "library": "junior/knn-decision-tree"}),
            403, "forbidden")
    refused(student.api("GET", f"/classes/{CLASS}/assignments/{ASSIGNMENT}/collection"), 403,
            "forbidden")
    refused(student.api("PUT", f"/classes/{CLASS}/assignments/{ASSIGNMENT}/extensions/"
                        f"{student.username}", json={"due_at": "2030-01-01T00:00+08:00"}),
            403, "forbidden")
    owner = classroom.student("victim")
    refused(owner.api("PUT", f"/submissions/{victim['id']}/feedback",
                      data=make_zip({"classify.html": b"<p>A+</p>"})), 403, "forbidden")
    refused(owner.api("POST", f"/submissions/{victim['id']}/choice"), 403, "forbidden")


def test_a_teacher_of_another_class_cannot_collect_or_read(classroom: Classroom,
                                                           victim: dict) -> None:
    other = classroom.other_teacher
    refused(other.api("GET", f"/classes/{CLASS}/assignments/{ASSIGNMENT}/collection"), 403,
            "forbidden")
    refused(other.api("GET", f"/submissions/{victim['id']}/files"), 404, "not_found")
    refused(other.api("POST", f"/assignments/{ASSIGNMENT}/releases",
                      params={"class": CLASS, "library": "junior/knn-decision-tree"}),
            403, "forbidden")


@pytest.mark.parametrize("name", ["../escape.ipynb", "/etc/cron.d/x.ipynb", "a/../../b.ipynb",
                                  "C:\\evil.ipynb"])
def test_path_traversal_in_file_names_is_refused(classroom: Classroom, released: dict,
                                                 name: str) -> None:
    student = classroom.student("sender of refused uploads")
    before = len(history(student))
    body = make_zip({name: notebook(), "classify.ipynb": notebook()})
    refused(submit(student, body, f"traversal-{abs(hash(name))}"), 400, "bad_path")
    assert len(history(student)) == before


@pytest.mark.parametrize("assignment", ["%2e%2e", "..%2F..%2Fetc", "a+b", "x" * 80])
def test_path_traversal_in_assignment_names_is_refused(classroom: Classroom,
                                                       assignment: str) -> None:
    student = classroom.student("sender of refused uploads")
    response = student.api("POST", f"/classes/{CLASS}/assignments/{assignment}/submissions",
                           data=make_zip({"classify.ipynb": notebook()}),
                           headers={"Idempotency-Key": "traversal-assignment"})
    assert response.status_code in (400, 404), response.text
    assert response.json()["error"] in ("bad_name", "not_found")


def test_symlinks_are_refused(classroom: Classroom, released: dict) -> None:
    student = classroom.student("sender of refused uploads")
    before = len(history(student))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("classify.ipynb", notebook())
        link = zipfile.ZipInfo("data.csv")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    refused(submit(student, buffer.getvalue(), "symlink-upload"), 400, "symlink")
    assert len(history(student)) == before


def fetched_folder(classroom: Classroom, student: Person) -> Path:
    """The student's copy of the assignment, fetched through the panel if not yet there
    (so that these tests do not depend on the cycle's tests having run first)."""
    folder = classroom.hub.data_dir / "homes" / student.username / ASSIGNMENT
    if not folder.is_dir():
        response = student.lab("POST", "assignments/fetch",
                               json={"course_id": CLASS, "assignment_id": ASSIGNMENT})
        assert response.json()["success"], response.text
    return folder


def test_symlink_in_the_students_folder_is_refused_by_the_panel(classroom: Classroom,
                                                                released: dict) -> None:
    student = classroom.student("symlink in the lab", open_lab=True)
    folder = fetched_folder(classroom, student)
    before = len(history(student))
    link = folder / "secrets.txt"
    link.symlink_to("/etc/passwd")
    try:
        response = student.lab("POST", "assignments/submit",
                               json={"course_id": CLASS, "assignment_id": ASSIGNMENT})
    finally:
        link.unlink()
    body = response.json()
    assert body["success"] is False
    assert "符号链接" in body["value"] and "secrets.txt" in body["value"]
    assert len(history(student)) == before


def test_oversize_uploads_are_refused(classroom: Classroom, released: dict) -> None:
    student = classroom.student("sender of refused uploads")
    before = len(history(student))
    big_file = make_zip({"classify.ipynb": notebook(), "data.bin": os.urandom(1_200_000)})
    refused(submit(student, big_file, "oversize-file"), 413, "file_too_large")
    two_halves = make_zip({"classify.ipynb": notebook(), "a.bin": os.urandom(600_000),
                           "b.bin": os.urandom(600_000)})
    refused(submit(student, two_halves, "oversize-total"), 413, "too_large")
    refused(submit(student, os.urandom(2_500_000), "oversize-body"), 413, "too_large")
    assert len(history(student)) == before


@pytest.mark.parametrize("content", [b"not json at all", b'{"cells": "nope"}',
                                     b"\x89PNG\r\n\x1a\n" + bytes(64), b"[1, 2, 3]"])
def test_a_non_notebook_posing_as_ipynb_is_refused(classroom: Classroom, released: dict,
                                                   content: bytes) -> None:
    student = classroom.student("sender of refused uploads")
    before = len(history(student))
    body = refused(submit(student, make_zip({"classify.ipynb": content}),
                          f"fake-notebook-{len(content)}"), 400, "bad_notebook")
    assert "classify.ipynb" in body["message"]
    assert len(history(student)) == before


def test_a_flood_of_submissions_is_refused_and_a_retry_is_not_a_duplicate(
        classroom: Classroom, released: dict) -> None:
    student = classroom.student("flooder")
    body = make_zip({"classify.ipynb": notebook("重试")})
    first = submit(student, body, "flood-retry-0001")
    again = submit(student, body, "flood-retry-0001")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    for index in range(2):
        assert submit(student, body, f"flood-{index:04d}").status_code == 201
    refused(submit(student, body, "flood-0009"), 429, "too_many_requests")
    assert len(history(student)) == 3


def test_a_service_refusal_reaches_the_panel_in_chinese(classroom: Classroom,
                                                        released: dict) -> None:
    student = classroom.student("broken notebook in the lab", open_lab=True)
    notebook_path = fetched_folder(classroom, student) / "classify.ipynb"
    original = notebook_path.read_bytes()
    before = len(history(student))
    notebook_path.write_bytes(b"this is not a notebook")
    try:
        response = student.lab("POST", "assignments/submit",
                               json={"course_id": CLASS, "assignment_id": ASSIGNMENT})
    finally:
        notebook_path.write_bytes(original)
    body = response.json()
    assert body["success"] is False
    assert "classify.ipynb 不是有效的 Jupyter 笔记本" in body["value"]
    assert len(history(student)) == before
