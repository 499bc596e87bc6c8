"""Uploads cannot exhaust the service, and student content cannot act in a teacher's browser.

Against the real hub and classroom service (default upload limits, two submissions a
minute), as a student with a token and the pages' cookies would try:

- a zip bomb (400 MiB of zeros in a ~400 KB upload) posted to the teacher's release
  API, the library upload page and the roster page is refused for *who* sent it, before
  the body is unpacked; posted by the teacher it is refused as a zip bomb;
- a submission refused (a zip bomb, or over the flood limit) leaves no file behind;
- a submission whose markdown carries ``<img src="/hub/logout">``, opened by the
  teacher in Chromium, makes no request to the hub and leaves the teacher signed in.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from playwright.sync_api import sync_playwright

from hub.service.pages.texts import TEXTS
from tests.hub.hubprocess import RunningHub, running_hub
from tests.pages.pagesession import PAGES, PagePerson, sign_in
from tests.pages.test_teacher_flow import CHROMIUM_ARGS, browser_page

pytestmark = [pytest.mark.integration, pytest.mark.browser]

ZH = TEXTS["zh_CN"]
API = "/services/classroom/api/v1"
LIBRARY = "primary/pixels-are-numbers"
ASSIGNMENT = "pixels-are-numbers"
MIB = 1024 * 1024
ATTACK = '# 我的答案\n\n<img src="/hub/logout">\n\n<img src="https://127.0.0.1:9/track.png">'


def notebook(markdown: str) -> bytes:
    return json.dumps({"cells": [{"cell_type": "markdown", "id": "answer", "metadata": {},
                                  "source": markdown}],
                       "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


def archive(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zipped:
        for name, data in files.items():
            zipped.writestr(name, data)
    return buffer.getvalue()


ZIP_BOMB = archive({f"{ASSIGNMENT}.ipynb": notebook("答案"), "data/zeros.npy": bytes(400 * MIB)})


@dataclass
class Room:
    hub: RunningHub
    class_id: str
    teacher: PagePerson
    student: PagePerson
    teacher_token: str
    student_token: str

    @property
    def blobs(self) -> Path:
        return self.hub.data_dir / "exchange" / "blobs"

    def blob_names(self) -> set[str]:
        return {path.name for path in self.blobs.glob("??/*")}

    def api(self, token: str, method: str, path: str, **kwargs: object) -> requests.Response:
        return requests.request(method, f"{self.hub.url}{API}{path}",
                                headers={"Authorization": f"token {token}",
                                         **kwargs.pop("headers", {})}, timeout=300, **kwargs)

    def submit(self, body: bytes, key: str) -> requests.Response:
        return self.api(self.student_token, "POST",
                        f"/classes/{self.class_id}/assignments/{ASSIGNMENT}/submissions",
                        data=body, headers={"Idempotency-Key": key})


@pytest.fixture(scope="module")
def room() -> Iterator[Room]:
    with running_hub("aiclass-exhaustion-", "[demo]\nstudents = 6\n[service]\n"
                    "submissions_per_minute = 2\n") as hub:
        teacher_account = next(a for a in hub.accounts if a["role"] == "teacher")
        class_id = teacher_account["class"].split(";")[0]
        student_account = next(a for a in hub.accounts if a["class"] == class_id)
        teacher, student = sign_in(hub, teacher_account), sign_in(hub, student_account)
        room = Room(hub, class_id, teacher, student, teacher.token(), student.token())
        released = room.api(room.teacher_token, "POST", f"/assignments/{ASSIGNMENT}/releases",
                            params={"class": class_id, "library": LIBRARY})
        assert released.status_code == 201, released.text
        yield room


def page_xsrf(person: PagePerson) -> str:
    """The pages' XSRF token as any signed-in person holds it: the ``_xsrf`` cookie."""
    assert person.get("").status_code == 200
    return next(c.value for c in person.browser.session.cookies
                if c.name == "_xsrf" and c.path.startswith(PAGES.rstrip("/")))


def test_a_student_posting_a_zip_bomb_to_teachers_endpoints_is_refused_unread(
        room: Room) -> None:
    """Is the student refused as a student (not as a zip bomb: never unpacked), everywhere?"""
    before = room.blob_names()
    api = room.api(room.student_token, "POST", f"/assignments/{ASSIGNMENT}/releases",
                   params={"class": room.class_id}, data=ZIP_BOMB)
    assert api.status_code == 403 and api.json()["error"] == "forbidden", api.text
    xsrf = page_xsrf(room.student)
    upload = room.student.post("library/upload", {"_xsrf": xsrf, "assignment": "bomb",
                                                  "class": room.class_id},
                               params={"_xsrf": xsrf},
                               files={"source": ("bomb.zip", ZIP_BOMB)})
    assert upload.status_code == 403 and ZH["teachers_only"] in upload.text, upload.text[-500:]
    roster = room.student.post("roster", {"_xsrf": xsrf, "action": "dry_run"},
                               params={"_xsrf": xsrf}, files={"roster": ("r.xlsx", ZIP_BOMB)})
    assert roster.status_code == 403 and ZH["admins_only"] in roster.text, roster.text[-500:]
    assert room.blob_names() == before


def test_a_teacher_posting_a_zip_bomb_is_refused_as_one(room: Room) -> None:
    """Does the teacher's own zip bomb get a clear refusal naming it, and store nothing?"""
    before = room.blob_names()
    api = room.api(room.teacher_token, "POST", "/assignments/bomb/releases",
                   params={"class": room.class_id}, data=ZIP_BOMB)
    assert api.status_code == 413 and api.json()["error"] == "zip_bomb", api.text
    assert "压缩炸弹" in api.json()["message"]
    xsrf = room.teacher.form_xsrf("library")
    upload = room.teacher.post("library/upload", {"_xsrf": xsrf, "assignment": "bomb",
                                                  "class": room.class_id},
                               params={"_xsrf": xsrf}, files={"source": ("bomb.zip", ZIP_BOMB)})
    assert upload.status_code == 400 and "压缩炸弹" in upload.text, upload.text[-500:]
    assert room.blob_names() == before


def test_refused_submissions_leave_nothing_on_disk(room: Room) -> None:
    """Does a zip bomb, or a submission over the flood limit, leave no file behind?"""
    before = room.blob_names()
    bomb = room.submit(ZIP_BOMB, "bomb-submission-1")
    assert bomb.status_code == 413 and bomb.json()["error"] == "zip_bomb", bomb.text
    assert room.blob_names() == before
    accepted = [room.submit(archive({f"{ASSIGNMENT}.ipynb": notebook(f"{ATTACK}\n\n第 {n} 次")}),
                            f"flood-submission-{n}") for n in range(2)]
    assert [r.status_code for r in accepted] == [201, 201], [r.text for r in accepted]
    flooded_notebook = notebook("第三次，超过每分钟的上限")
    flooded = room.submit(archive({f"{ASSIGNMENT}.ipynb": flooded_notebook}), "flood-submission-2")
    assert flooded.status_code == 429 and flooded.json()["error"] == "too_many_requests"
    assert hashlib.sha256(flooded_notebook).hexdigest() not in room.blob_names()


def test_an_image_pointing_at_logout_does_not_sign_the_teacher_out(room: Room) -> None:
    """Opened by the teacher in Chromium, does the submission make any request to a URL
    it names, and is the teacher still signed in afterwards?"""
    submissions = room.api(room.teacher_token, "GET",
                           f"/classes/{room.class_id}/assignments/{ASSIGNMENT}/submissions")
    key = next(s["id"] for s in submissions.json()["submissions"])
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                              args=CHROMIUM_ARGS)
        try:
            context, page = browser_page(chromium, room.teacher)
            requested: list[str] = []
            page.on("request", lambda request: requested.append(request.url))
            response = page.goto(f"{room.hub.url}{PAGES}submissions/{key}")
            assert response.status == 200
            assert "img-src data:" in response.headers["content-security-policy"]
            assert "我的答案" in page.content()
            page.wait_for_load_state("networkidle")
            assert not [url for url in requested if "logout" in url or ":9/" in url], requested
            assert page.locator("img[src*='logout']").count() == 0
            home = page.goto(f"{room.hub.url}/hub/home")
            assert home.status == 200 and "/hub/login" not in page.url, page.url
            context.close()
        finally:
            chromium.close()


def test_the_progress_page_works_off_the_event_loop_and_still_checks_access(
        room: Room) -> None:
    """Does the progress page (computed on a worker thread) show the class to its teacher
    and refuse a student, with the refusal raised on that thread reaching them?"""
    path = f"classes/{room.class_id}/assignments/{ASSIGNMENT}"
    page = room.teacher.get(path)
    assert page.status_code == 200 and room.student.username in page.text
    refused = room.student.get(path)
    assert refused.status_code == 403 and ZH["not_your_class"] in refused.text
