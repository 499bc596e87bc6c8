"""The shared library against the real hub and service: a teacher publishes, a curator
approves, a teacher of another school releases it to a class and a student fetches it.

The attacks are a curious teacher's and student's with a browser and a token: opening a
pending or rejected item by its URL, a student publishing, a forged rating for an item
never used, releasing to someone else's class, a curator approving their own item, and
packages that climb out of their folder or inflate without end. Each fails if it works.
"""

from __future__ import annotations

import io
import json
import re
import sqlite3
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.hub.hubprocess import RunningHub, running_hub
from tests.org.orghub import aiclass, new_password
from tests.pages.pagesession import PAGES, PagePerson, sign_in

pytestmark = pytest.mark.integration

LESSON = Path(__file__).resolve().parents[2] / "assignments" / "junior" / "rules-vs-learning"
FORM = {"title": "规则与学习：垃圾短信", "shelf": "region", "stage": "junior", "grades": "7,8",
        "topic": "机器学习", "periods": "2", "standard": "义务教育信息科技 7-9",
        "summary": "对比手写规则与从数据中学习<script>alert('x')</script>"}
ROSTER = ("school,school_name,locality,stage,class,class_name,school_year,grade,username,"
          "display_name,role\n"
          "demo-s1,,,,,,,,sadm-lib,周建国,学校管理员\n")


@dataclass
class Library:
    hub: RunningHub
    author: PagePerson
    other_teacher: PagePerson
    other_class: str
    region_admin: PagePerson
    school_admin: PagePerson
    student: PagePerson

    def rows(self, query: str) -> list[tuple]:
        database = self.hub.data_dir / "aiclass.sqlite"
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            return connection.execute(query).fetchall()


@pytest.fixture(scope="module")
def library() -> Iterator[Library]:
    with running_hub("aiclass-i19b-library-", "[demo]\nstudents = 3\n") as hub:
        base = hub.data_dir.parent
        roster = base / "admins.csv"
        roster.write_text(ROSTER, encoding="utf-8")
        created = aiclass(hub, "roster", "import", roster)
        assert created.returncode == 0, created.stderr
        teachers = [a for a in hub.accounts if a["role"] == "teacher"]
        author = next(a for a in teachers if a["school"] == "demo-s1")
        other = next(a for a in teachers if a["school"] == "demo-s2")
        student = next(a for a in hub.accounts
                       if a["role"] == "student" and a["class"] == "demo-s2-g8c1")
        yield Library(hub, sign_in(hub, author), sign_in(hub, other), "demo-s2-g8c1",
                      sign_in(hub, hub.account("region_admin")),
                      sign_in(hub, {"username": "sadm-lib",
                                    "password": new_password(hub, "sadm-lib")}),
                      sign_in(hub, student))


def xsrf(person: PagePerson) -> str:
    """The pages' ``_xsrf`` cookie, as every form carries it (and a pupil with a browser's
    developer tools has it too)."""
    person.get("")
    values = [c.value for c in person.browser.session.cookies
              if c.name == "_xsrf" and not c.path.startswith("/hub")]
    assert values, "no _xsrf cookie from the pages"
    return values[-1]


def post(person: PagePerson, path: str, data: dict) -> requests.Response:
    return person.post(path, {"_xsrf": xsrf(person), **data})


def upload(person: PagePerson, path: str, data: dict, files: list) -> requests.Response:
    token = xsrf(person)
    return person.post(f"{path}?_xsrf={token}", {"_xsrf": token, **data}, files=files)


def lesson_files() -> list:
    return [("files", (path.name, path.read_bytes())) for path in sorted(LESSON.iterdir())
            if path.name != "assignment.toml"]


def item_id_of(response: requests.Response) -> str:
    assert response.status_code == 303, response.text[-1500:]
    return re.search(r"shared/([0-9]+)$", response.headers["Location"]).group(1)


def test_publish_review_use_fetch_rate_and_the_attacks(library: Library) -> None:
    author, other, admin = library.author, library.other_teacher, library.region_admin
    items_before = library.rows("SELECT count(*) FROM shared_items")[0][0]
    form = author.get("shared/publish")
    assert form.status_code == 200 and 'id="publish-form"' in form.text
    assert library.student.get("shared/publish").status_code == 403
    bad = upload(author, "shared/publish", {**FORM, "grades": "13"}, lesson_files())
    assert bad.status_code == 422 and "年级必须是" in bad.text and "grades must" in bad.text
    refused = upload(library.student, "shared/publish", FORM, lesson_files())
    assert refused.status_code == 403
    assert library.rows("SELECT count(*) FROM shared_items")[0][0] == items_before

    item = item_id_of(upload(author, "shared/publish", FORM, lesson_files()))
    assert 'data-review="pending"' in author.get(f"shared/{item}").text
    # pending: invisible to a teacher of another school, in the search and by its URL
    assert other.get(f"shared/{item}").status_code == 403
    assert other.get(f"shared/{item}/package.zip").status_code == 403
    assert f'data-item="{item}"' not in other.get("shared").text
    assert library.student.get(f"shared/{item}").status_code == 403
    # the author may not review their own item, nor may a curator of another shelf
    assert post(author, f"shared/{item}/review", {"version": "1", "verdict": "approve"}) \
        .status_code == 403
    assert post(library.school_admin, f"shared/{item}/review",
                {"version": "1", "verdict": "approve"}).status_code == 403

    rejected = post(admin, f"shared/{item}/review", {"version": "1", "verdict": "reject",
                                                      "reason": "缺少评分说明"})
    assert rejected.status_code == 303
    assert "缺少评分说明" in author.get(f"shared/{item}").text
    assert other.get(f"shared/{item}").status_code == 403, "a rejected item stays private"

    folder = [("folder", (f"mylesson/{name}", data)) for _field, (name, data) in lesson_files()]
    climbing = upload(author, "shared/publish", {**FORM, "item": item},
                      [*folder, ("folder", ("mylesson/../../x.py", b"print(1)"))])
    assert climbing.status_code == 422 and "离开" in climbing.text
    second = upload(author, "shared/publish", {**FORM, "item": item},
                    [*folder, ("folder", ("mylesson/data/readme.txt", "说明".encode()))])
    assert item_id_of(second) == item
    assert post(admin, f"shared/{item}/review", {"version": "2", "verdict": "approve"}) \
        .status_code == 303
    found = other.get("shared", params={"stage": "junior", "grade": "8", "topic": "机器学习"})
    assert f'data-item="{item}"' in found.text
    assert f'data-item="{item}"' not in other.get("shared", params={"grade": "10"}).text
    page = other.get(f"shared/{item}")
    assert page.status_code == 200 and 'data-version="2"' in page.text
    assert "<script>alert" not in page.text and "&lt;script&gt;alert" in page.text
    assert "data/readme.txt" in page.text, "a folder upload keeps its paths inside the folder"
    assert 'data-version="1"' not in page.text, "others see only approved versions"

    forged = post(other, f"shared/{item}/rating", {"stars": "5"})
    assert forged.status_code == 422 and "使用过" in forged.text
    stolen = post(other, f"shared/{item}/release",
                  {"class": "demo-s1-g10c1", "assignment": "shared-rules"})
    assert stolen.status_code == 403
    released = post(other, f"shared/{item}/release",
                    {"class": library.other_class, "assignment": "shared-rules"})
    assert released.status_code == 303, released.text[-1500:]
    assert library.rows("SELECT version, class_id FROM shared_uses") == [
        (2, library.other_class)]

    token = library.student.token()
    fetched = requests.get(
        f"{library.hub.url}{PAGES}api/v1/classes/{library.other_class}/assignments/"
        "shared-rules/release", headers={"Authorization": f"token {token}"}, timeout=60)
    assert fetched.status_code == 200, fetched.text
    names = zipfile.ZipFile(io.BytesIO(fetched.content)).namelist()
    assert "rules_vs_learning.ipynb" in names and "messages.csv" in names

    assert post(other, f"shared/{item}/rating", {"stars": "4"}).status_code == 303
    assert post(other, f"shared/{item}/rating", {"stars": "3"}).status_code == 303
    page = other.get(f"shared/{item}").text
    assert 'data-ratings="1">3.0' in page and '<dd id="use-classes">1</dd>' in page

    # a third version waits; the class keeps the version it got
    upload(author, "shared/publish", {**FORM, "item": item}, lesson_files())
    assert 'data-version="3"' not in other.get(f"shared/{item}").text
    reviewed = zipfile.ZipFile(io.BytesIO(admin.get(f"shared/{item}/package.zip").content))
    assert json.loads(reviewed.read("manifest.json"))["version"] == 3, \
        "a curator reads the version waiting for them"
    assert library.rows("SELECT version FROM shared_uses") == [(2,)]

    copy_zip = zipfile.ZipFile(io.BytesIO(other.get(f"shared/{item}/files.zip").content))
    assert "data/readme.txt" in copy_zip.namelist(), "the copy to adapt holds every file"
    package = other.get(f"shared/{item}/package.zip")
    assert package.status_code == 200
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(package.content)).read("manifest.json"))
    assert manifest["version"] == 2 and manifest["item"]["title"] == FORM["title"]
    imported = upload(admin, "shared/import", {},
                      [("package", ("pkg.zip", package.content))])
    copy = item_id_of(imported)
    assert copy != item and other.get(f"shared/{copy}").status_code == 403
    assert post(admin, f"shared/{copy}/review", {"version": "1", "verdict": "approve"}) \
        .status_code == 403, "the importer may not approve their own import"
    assert upload(other, "shared/import", {}, [("package", ("pkg.zip", package.content))]) \
        .status_code == 403


def test_packages_that_climb_out_or_inflate_are_refused(library: Library) -> None:
    admin = library.region_admin
    before = library.rows("SELECT count(*) FROM shared_items")[0][0]
    climbing = io.BytesIO()
    with zipfile.ZipFile(climbing, "w") as archive:
        archive.writestr("manifest.json", "{}")
        archive.writestr("files/../../../etc/evil", "x")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", "{}")
        archive.writestr("files/zeros.csv", b"0" * 300_000_000)
    for body, words in ((climbing.getvalue(), "离开"), (bomb.getvalue(), "压缩炸弹")):
        refused = upload(admin, "shared/import", {}, [("package", ("p.zip", body))])
        assert refused.status_code == 422, refused.status_code
        assert words in refused.text, refused.text[-800:]
    assert library.rows("SELECT count(*) FROM shared_items")[0][0] == before
    assert not (library.hub.data_dir / "etc").exists()
