"""Who may open which page, against the real hub and service: by role, class and XSRF."""

from __future__ import annotations

import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO

import pytest
import requests
from openpyxl import load_workbook

from hub.service.pages.texts import TEXTS
from tests.hub.hubprocess import RunningHub, running_hub
from tests.pages.pagesession import PagePerson, sign_in

pytestmark = pytest.mark.integration

ZH = TEXTS["zh_CN"]


@dataclass
class People:
    hub: RunningHub
    teacher: PagePerson
    own_class: str
    other_teacher: PagePerson
    other_class: str
    student: PagePerson
    admin: PagePerson


@pytest.fixture(scope="module")
def people() -> Iterator[People]:
    with running_hub("aiclass-pages-access-", "[demo]\nstudents = 6\n") as hub:
        teachers = [a for a in hub.accounts if a["role"] == "teacher"]
        own_class = teachers[0]["class"].split(";")[0]
        other_class = teachers[1]["class"].split(";")[0]
        student = next(a for a in hub.accounts if a["class"] == own_class)
        yield People(hub, sign_in(hub, teachers[0]), own_class, sign_in(hub, teachers[1]),
                     other_class, sign_in(hub, student),
                     sign_in(hub, hub.account("region_admin")))


def test_teacher_opens_own_class_but_not_another_by_editing_the_url(people: People) -> None:
    own = people.teacher.get(f"classes/{people.own_class}")
    assert own.status_code == 200, own.text
    assert f"classes/{people.own_class}/gradebook" in own.text
    for path in (f"classes/{people.other_class}", f"classes/{people.other_class}/gradebook",
                 f"classes/{people.other_class}/gradebook.csv",
                 f"classes/{people.other_class}/servers", "classes/no-such-class"):
        response = people.teacher.get(path)
        assert response.status_code == 403, path
        assert ZH["not_your_class"] in response.text, path
    xsrf = people.teacher.form_xsrf(f"classes/{people.own_class}")
    refused = people.teacher.post(f"classes/{people.other_class}/prepare", {"_xsrf": xsrf})
    assert refused.status_code == 403


def test_teacher_token_cannot_read_another_class_through_the_api(people: People) -> None:
    token = people.teacher.token()
    response = requests.get(
        f"{people.hub.url}/services/classroom/api/v1/classes/{people.other_class}/assignments/"
        "x/collection", headers={"Authorization": f"token {token}"}, timeout=60)
    assert response.status_code in (403, 404)
    assert response.json()["error"] in ("forbidden", "not_released")


def test_student_cannot_open_any_teacher_page(people: People) -> None:
    home = people.student.get("")
    assert home.status_code == 200 and 'id="student-home"' in home.text
    for path in ("library", f"classes/{people.own_class}",
                 f"classes/{people.own_class}/gradebook",
                 f"classes/{people.own_class}/gradebook.xlsx", "region", "region.xlsx",
                 "roster", "schools/demo-s1"):
        assert people.student.get(path).status_code == 403, path


def test_posts_without_the_form_xsrf_value_are_refused(people: People) -> None:
    path = f"classes/{people.own_class}/prepare"
    assert people.teacher.post(path).status_code == 403
    assert people.teacher.post(path, {"_xsrf": "forged"}).status_code == 403
    assert people.admin.post("roster", {"action": "apply", "upload": "x"}).status_code == 403
    xsrf = people.teacher.form_xsrf(f"classes/{people.own_class}")
    accepted = people.teacher.post(path, {"_xsrf": xsrf})
    assert accepted.status_code == 302


def test_reports_only_for_admins(people: People) -> None:
    assert people.teacher.get("region").status_code == 403
    assert people.teacher.get("schools/demo-s1").status_code == 403
    page = people.admin.get("region")
    assert page.status_code == 200
    assert "示范区第一中学" in page.text and "示范区实验学校" in page.text
    english = people.admin.get("region?lang=en")
    assert "Region report" in english.text and "submission rate" in english.text
    assert "区域报告" in people.admin.get("region?lang=zh_CN").text
    workbook = load_workbook(BytesIO(people.admin.get("region.xlsx").content))
    schools = list(workbook["学校 Schools"].iter_rows(values_only=True))
    assert [row[0] for row in schools[1:]] == ["demo-s1", "demo-s2"]
    assert schools[1][4] == 4  # 6 demo students: 4 in the first school's two classes


def test_roster_dry_run_shows_rows_then_applies(people: People) -> None:
    """The file waits owner-only between a clean dry run and its confirmation, no longer."""
    uploads = people.admin.hub.data_dir / "roster-uploads"
    header = "学校代码,学校名称,城乡,学段,班级代码,班级名称,学年,年级,用户名,姓名,角色\n"
    good = header + ("demo-s1,示范区第一中学,城市,高中,demo-s1-g11c9,高二（9）班,2026-2027,11,"
                     "stu-newone,新同学,学生\n")
    bad = header + ("demo-s1,示范区第一中学,城市,高中,demo-s1-g11c9,高二（9）班,2026-2027,19,"
                    "stu-newtwo,新同学,学生\n")

    def upload(text: str) -> requests.Response:
        """As the form does: ``_xsrf`` in the action URL too (the page streams its body)."""
        xsrf = people.admin.form_xsrf("roster")
        return people.admin.post("roster", {"_xsrf": xsrf, "action": "dry_run"},
                                 params={"_xsrf": xsrf},
                                 files={"roster": ("roster.csv", text.encode("utf-8"))})

    refused = upload(bad)
    assert refused.status_code == 422
    assert 'id="problem-rows"' in refused.text and "<td>2</td>" in refused.text
    assert not list(uploads.iterdir())
    checked = upload(good)
    assert checked.status_code == 200, checked.text[-2000:]
    assert 'id="roster-rows"' in checked.text and "stu-newone" in checked.text
    (kept,) = uploads.iterdir()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(uploads.stat().st_mode) == 0o700
    assert people.admin.get("classes/demo-s1-g11c9").status_code == 403  # not created yet
    token = re.search(r'name="upload" value="([^"]+)"', checked.text).group(1)
    xsrf = people.admin.form_xsrf("roster")
    applied = people.admin.post("roster", {"_xsrf": xsrf, "action": "apply", "upload": token},
                                params={"_xsrf": xsrf})
    assert applied.status_code == 200 and 'id="roster-summary"' in applied.text
    assert not list(uploads.iterdir())
    page = people.admin.get("classes/demo-s1-g11c9")
    assert page.status_code == 200 and "stu-newone" in page.text
    assert people.teacher.get("classes/demo-s1-g11c9").status_code == 403
