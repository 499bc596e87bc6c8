"""The programme against the real hub and service: 申报 → 推荐 → 批准 shows the school as
experimental; the evaluation, its figures and evidence; and who may do none of it.

The attacks are those of a curious admin with a browser: a district admin editing the
URL or the form to reach another district's school, a school admin opening another
school's application or evaluation, a teacher or student opening any programme page.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
import requests
from openpyxl import load_workbook

from hub.programme.participation import programme_year
from hub.reports.figures import ReportPolicy
from hub.service.pages.programme_pages import EVIDENCE_DIR, FORM_MARGIN, MIB
from hub.settings import ReportsSettings
from tests.hub.hubprocess import RunningHub, running_hub
from tests.org.orghub import aiclass, mirror_api, new_password
from tests.pages.pagesession import PAGES, PagePerson, sign_in

pytestmark = pytest.mark.integration

HEADER = ("school,school_name,locality,stage,class,class_name,school_year,grade,username,"
          "display_name,role,district,district_name\n")
ADMINS = ("demo-s1,,,,,,,,sadm-one,周建国,学校管理员,dist-a,甲区\n"
          "demo-s2,,,,,,,,sadm-two,李明,学校管理员,dist-b,乙县\n"
          ",,,,,,,,dadm-aaa,钱区长,区县管理员,dist-a,\n"
          ",,,,,,,,dadm-bbb,孙县长,区县管理员,dist-b,\n")
EVIDENCE_MB = 2
"""``[programme] max_evidence_mb`` of this module's hub (the default is 20)."""
SETTINGS = ("[demo]\nstudents = 6\n[programme]\nmax_evidence_mb = 2\n"
            "[org]\nmirror_interval_minutes = 1440\n")
"""The mirror's periodic run is a day away: a role in the hub right after a sign-in came
with the sign-in."""
YEAR = programme_year(ReportPolicy.from_settings(ReportsSettings()))
"""The year the evaluation counts training and competitions of (the term's)."""
GOOD_APPLICATION = {"stage": "senior", "locality": "urban", "has_ai_lab": "yes",
                    "ai_teachers": "3", "foundation": "创客空间两间，信息技术课全覆盖",
                    "plan": "=HYPERLINK(\"http://x\") 三年建设人工智能课程"}


@dataclass
class Programme:
    hub: RunningHub
    school_admin: PagePerson
    other_school_admin: PagePerson
    district_admin: PagePerson
    other_district_admin: PagePerson
    region_admin: PagePerson
    teacher: PagePerson
    student: PagePerson

    def rows(self, query: str) -> list[tuple]:
        database = self.hub.data_dir / "aiclass.sqlite"
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            return connection.execute(query).fetchall()


@pytest.fixture(scope="module")
def programme() -> Iterator[Programme]:
    with running_hub("aiclass-i18-programme-", SETTINGS) as hub:
        base = hub.data_dir.parent
        roster = base / "districts.csv"
        roster.write_text(HEADER + ADMINS, encoding="utf-8")
        created = aiclass(hub, "roster", "import", roster)
        assert created.returncode == 0, created.stderr

        def person(username: str) -> PagePerson:
            return sign_in(hub, {"username": username,
                                 "password": new_password(hub, username)})

        teacher = next(a for a in hub.accounts if a["role"] == "teacher")
        student = next(a for a in hub.accounts if a["role"] == "student")
        yield Programme(hub, person("sadm-one"), person("sadm-two"), person("dadm-aaa"),
                        person("dadm-bbb"), sign_in(hub, hub.account("region_admin")),
                        sign_in(hub, teacher), sign_in(hub, student))


def post_form(person: PagePerson, form_page: str, path: str, data: dict) -> requests.Response:
    return person.post(path, {"_xsrf": person.form_xsrf(form_page), **data})


def test_the_hub_holds_the_district_groups_and_scoped_roles(programme: Programme) -> None:
    api = mirror_api(programme.hub)
    district = api.wait_for_group("district-dist-a")
    assert district and district == api.groups()["school-demo-s1"]
    assert not set(district) & set(api.groups()["school-demo-s2"])
    scopes = api.roles()["aiclass-district-admin-dadm-aaa"]["scopes"]
    assert scopes and all(s.endswith("!group=district-dist-a") for s in scopes)


def test_apply_recommend_approve_and_the_school_is_experimental(programme: Programme) -> None:
    school, district, region = (programme.school_admin, programme.district_admin,
                                programme.region_admin)
    assert 'data-status="none"' in school.get("programme/apply").text
    bad = post_form(school, "programme/apply", "programme/apply",
                    {**GOOD_APPLICATION, "ai_teachers": "很多"})
    assert bad.status_code == 422 and "人工智能教师人数必须是" in bad.text
    assert 'data-status="none"' in school.get("programme/apply").text
    applied = post_form(school, "programme/apply", "programme/apply", GOOD_APPLICATION)
    assert applied.status_code == 303, applied.text[-1000:]
    assert 'data-status="applied"' in school.get("programme/apply").text
    assert 'data-status="none"' in programme.other_school_admin.get("programme/apply").text

    page = district.get("programme/districts/dist-a")
    assert page.status_code == 200 and 'data-key="demo-s1" data-status="applied"' in page.text
    assert "demo-s2" not in page.text
    recommended = post_form(district, "programme/districts/dist-a", "programme/districts/dist-a",
                            {"rank_demo-s1": "1", "note_demo-s1": "基础扎实"})
    assert recommended.status_code == 303, recommended.text[-1000:]
    assert 'data-status="recommended"' in school.get("programme/apply").text
    summary = district.get("programme/districts/dist-a/recommendations.xlsx")
    sheet = load_workbook(BytesIO(summary.content)).active
    assert [sheet.cell(2, c).value for c in (1, 2, 10)] == [1, "demo-s1", "基础扎实"]
    assert sheet.cell(2, 9).value.startswith("'="), "a plan typed as a formula stays text"
    again = post_form(school, "programme/schools/demo-s1/evaluation", "programme/apply",
                      GOOD_APPLICATION)
    assert again.status_code == 422 and "区县已推荐" in again.text

    refused = post_form(district, "programme/districts/dist-a",
                        "programme/schools/demo-s1/decision",
                        {"decision": "approve", "standing": "experimental_school",
                         "phase": "1", "year": "2026"})
    assert refused.status_code == 403
    assert 'data-key="demo-s1"' in region.get("programme/region").text
    approved = post_form(region, "programme/region", "programme/schools/demo-s1/decision",
                         {"decision": "approve", "standing": "experimental_school",
                          "phase": "2", "year": "2026"})
    assert approved.status_code == 303, approved.text[-1000:]
    overview = region.get("programme/region").text
    assert 'data-key="demo-s1" data-standing="experimental_school"' in overview
    status = school.get("programme/apply").text
    assert 'data-status="approved"' in status and 'data-standing="experimental_school"' in status
    export = load_workbook(BytesIO(region.get("programme/region/evaluation.xlsx").content)).active
    standings = {export.cell(r, 1).value: export.cell(r, 3).value
                 for r in range(2, export.max_row + 1)}
    assert standings["demo-s1"].startswith("实验校") and standings["demo-s2"] in ("", None)
    actions = [a for (a,) in programme.rows(
        "SELECT action FROM audit_events WHERE school = 'demo-s1' ORDER BY id")]
    assert ["programme.applied", "programme.recommended", "programme.decided"] == [
        a for a in actions if a in ("programme.applied", "programme.recommended",
                                    "programme.decided")]


def test_a_district_admin_cannot_reach_another_district_by_url_or_form(
        programme: Programme) -> None:
    other = programme.other_district_admin
    for path in ("programme/districts/dist-a", "programme/districts/dist-a/recommendations.xlsx",
                 "programme/districts/dist-a/evaluation.xlsx", "programme/districts/no-such",
                 "programme/schools/demo-s1/evaluation",
                 "programme/schools/demo-s1/evaluation.xlsx", "programme/region",
                 "schools/demo-s1"):
        assert other.get(path).status_code == 403, path
    for path in ("programme/districts/dist-b", "programme/districts/dist-a"):
        forged = post_form(other, "programme/districts/dist-b", path, {"rank_demo-s1": "1"})
        assert forged.status_code == 403, path
    assert other.get("programme/schools/demo-s2/evaluation").status_code == 200
    assert other.get("schools/demo-s2").status_code == 200
    home = programme.district_admin.get("").text
    assert "demo-s1-g10c1" in home and "demo-s2-g8c1" not in home
    assert programme.district_admin.get("classes/demo-s1-g10c1").status_code == 200
    assert programme.district_admin.get("classes/demo-s2-g8c1").status_code == 403


def test_teachers_and_students_get_403_everywhere(programme: Programme) -> None:
    for person in (programme.teacher, programme.student):
        for path in ("programme/apply", "programme/region", "programme/districts/dist-a",
                     "programme/schools/demo-s1/evaluation",
                     "programme/schools/demo-s1/evaluation.xlsx",
                     "programme/region/evaluation.xlsx",
                     "programme/districts/dist-a/recommendations.xlsx"):
            assert person.get(path).status_code == 403, (person.username, path)
    xsrf = programme.teacher.form_xsrf("library")
    for path in ("programme/apply", "programme/schools/demo-s1/decision",
                 "programme/schools/demo-s1/evaluation"):
        assert programme.teacher.post(path, {"_xsrf": xsrf, "lab_equipment": "9"}
                                      ).status_code == 403, path


def test_figures_and_evidence_are_the_schools_own(programme: Programme) -> None:
    school, other = programme.school_admin, programme.other_school_admin
    page = "programme/schools/demo-s1/evaluation"
    bad = post_form(school, page, page, {"lab_equipment": "-3"})
    assert bad.status_code == 422 and "实验室设备" in bad.text
    saved = post_form(school, page, page, {"lab_equipment": "25", "funding": "12.5"})
    assert saved.status_code == 303
    shown = school.get(page).text
    assert 'value="25"' in shown and 'value="12.5"' in shown
    assert other.get(page).status_code == 403
    assert post_form(other, "programme/schools/demo-s2/evaluation", page,
                     {"lab_equipment": "0"}).status_code == 403
    assert 'value="25"' in school.get(page).text
    assert programme.district_admin.get(page).status_code == 200

    def upload(person: PagePerson, form_page: str, name: str, body: bytes
               ) -> requests.Response:
        xsrf = person.form_xsrf(form_page)
        return person.post("programme/schools/demo-s1/evidence",
                           {"_xsrf": xsrf, "indicator": "lab_equipment"},
                           params={"_xsrf": xsrf}, files={"evidence": (name, body)})

    certificate = b"%PDF-1.4 equipment list"
    assert upload(school, page, "设备清单.pdf", certificate).status_code == 303
    assert upload(school, page, "page.html", b"<script>").status_code == 400
    assert upload(other, "programme/schools/demo-s2/evaluation", "planted.pdf",
                  b"%PDF-1.4 other").status_code == 403
    evidence = programme.rows("SELECT id, school_id, filename FROM programme_evidence")
    assert [(school_id, name) for _id, school_id, name in evidence] == [("demo-s1", "设备清单.pdf")]
    evidence_id = evidence[0][0]
    assert programme.district_admin.get(f"programme/evidence/{evidence_id}").content == certificate
    assert other.get(f"programme/evidence/{evidence_id}").status_code == 403
    assert programme.other_district_admin.get(
        f"programme/evidence/{evidence_id}").status_code == 403
    assert other.get("programme/evidence/999999").status_code == 403


def test_the_region_report_compares_districts(programme: Programme) -> None:
    page = programme.region_admin.get("region").text
    assert "甲区" in page and "乙县" in page
    district_page = programme.region_admin.get("programme/region").text
    assert 'data-key="dist-a"' in district_page and 'data-chart="bars"' in district_page


def test_evidence_is_deleted_by_its_school_only_and_an_oversize_file_is_refused(
        programme: Programme) -> None:
    """Can another school (or the district) delete a school's evidence, and does a file
    over the limit leave anything behind?"""
    school, other = programme.school_admin, programme.other_school_admin
    page = "programme/schools/demo-s1/evaluation"
    evidence_dir = programme.hub.data_dir / EVIDENCE_DIR
    xsrf = school.form_xsrf(page)
    kept = school.post("programme/schools/demo-s1/evidence",
                       {"_xsrf": xsrf, "indicator": "funding"}, params={"_xsrf": xsrf},
                       files={"evidence": ("经费.pdf", b"%PDF-1.4 funding")})
    assert kept.status_code == 303
    (evidence_id, digest), = programme.rows(
        "SELECT id, sha256 FROM programme_evidence WHERE indicator = 'funding'")
    assert (evidence_dir / digest).exists()
    delete = f"programme/evidence/{evidence_id}/delete"
    for attacker, form_page in ((other, "programme/schools/demo-s2/evaluation"),
                                (programme.district_admin, page),
                                (programme.region_admin, page)):
        assert post_form(attacker, form_page, delete, {}).status_code == 403
    assert programme.rows(f"SELECT id FROM programme_evidence WHERE id = {evidence_id}")
    assert (evidence_dir / digest).exists()
    assert f'data-evidence="{evidence_id}"' in school.get(page).text
    assert post_form(school, page, delete, {}).status_code == 303
    assert not programme.rows(f"SELECT id FROM programme_evidence WHERE id = {evidence_id}")
    assert not (evidence_dir / digest).exists()
    audited = programme.rows(
        "SELECT p.username, e.school FROM audit_events e JOIN audit_people p "
        "ON p.ref = e.actor_ref WHERE e.action = 'programme.evidence_deleted'")
    assert audited == [("sadm-one", "demo-s1")]
    assert post_form(school, page, delete, {}).status_code == 403, "already gone"

    before_rows = programme.rows("SELECT COUNT(*) FROM programme_evidence")
    before_files = sorted(path.name for path in evidence_dir.iterdir())
    for size in (EVIDENCE_MB * MIB + 1, EVIDENCE_MB * MIB + 2 * FORM_MARGIN):
        xsrf = school.form_xsrf(page)
        refused = school.post("programme/schools/demo-s1/evidence",
                              {"_xsrf": xsrf, "indicator": "lab_equipment"},
                              params={"_xsrf": xsrf},
                              files={"evidence": ("big.pdf", b"%PDF" + bytes(size - 4))})
        assert refused.status_code == 413, (size, refused.text[-500:])
        assert "不能超过 2 MB" in refused.text and "at most 2 MB" in refused.text, \
            "the page names the configured limit"
    assert programme.rows("SELECT COUNT(*) FROM programme_evidence") == before_rows
    assert sorted(path.name for path in evidence_dir.iterdir()) == before_files
    assert school.get(page).status_code == 200, "the connection still serves"


def indicator_values(page: str) -> dict[str, tuple[str, str]]:
    """(source, value) of each indicator row of an evaluation page."""
    return {key: (source, value) for key, source, value in re.findall(
        r'data-key="([a-z_]+)" data-source="([a-z]+)" data-value="([^"]*)"', page)}


def rolled_up(page: str) -> dict[str, dict[str, str]]:
    """Each row of a district or region page's indicator table: its values by indicator."""
    rows = re.findall(r'<tr data-key="([^"]+)">(.*?)</tr>', page, re.S)
    return {key: dict(re.findall(r'data-indicator="([a-z_]+)" data-value="([^"]*)"', cells))
            for key, cells in rows}


def workbook_values(body: bytes) -> dict[str, dict[str, object]]:
    """Each school row of an evaluation XLSX, by school id and the heading's English."""
    rows = list(load_workbook(BytesIO(body)).active.iter_rows(values_only=True))
    return {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:] if row[0]}


def test_training_and_competitions_are_computed_and_a_forged_figure_changes_nothing(
        programme: Programme) -> None:
    """Do the teachers trained, their hours and the competitions entered come from the
    training and competition records (of the evaluated year only), for the school whose
    teachers and students they are and no other, and does a school admin posting a figure
    for a computed indicator change nothing?"""
    hub, region = programme.hub, programme.region_admin
    teachers = {a["school"]: a["username"] for a in hub.accounts if a["role"] == "teacher"}

    def cohort(year: int, attended: list[str], enrolled: list[str]) -> None:
        made = post_form(region, "training", "training",
                         {"name": f"{year} 年人工智能教师研修班", "track": "general",
                          "year": str(year), "course": ["read-gradebook"]})
        assert made.status_code == 303, made.text[-1500:]
        page = made.headers["Location"].split(PAGES, 1)[1]
        assert post_form(region, page, f"{page}/trainees",
                         {"usernames": "\n".join(enrolled)}).status_code == 303
        recorded = post_form(region, page, f"{page}/sessions",
                             {"title": "专题讲座", "held_on": f"{year}-10-10", "hours": "3",
                              "attended": attended})
        assert recorded.status_code == 303, recorded.text[-1500:]

    cohort(YEAR, [teachers["demo-s1"], "sadm-one"],
           [teachers["demo-s1"], "sadm-one", teachers["demo-s2"]])
    cohort(YEAR - 1, [teachers["demo-s1"], teachers["demo-s2"]],
           [teachers["demo-s1"], teachers["demo-s2"]])

    token = region.token()
    student = sign_in(hub, next(a for a in hub.accounts if a["role"] == "student"
                                and a["school"] == "demo-s1"
                                and a["username"] != programme.student.username))
    student_token = student.token()

    def competitions(method: str, path: str, body: dict, token: str) -> requests.Response:
        return requests.request(method, f"{hub.url}{PAGES}api/v1/competitions{path}",
                                json=body, timeout=300,
                                headers={"Authorization": f"token {token}"})

    for contest, year in (("digits-i18b-this", YEAR), ("digits-i18b-next", YEAR + 1)):
        made = competitions("POST", "", {
            "id": contest, "title": "手写数字识别", "sample": "digits",
            "deadline": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
            "daily_limit": 3, "winners": 1}, token)
        assert made.status_code == 201, made.text
        (key,) = programme.rows(f"SELECT answer_key FROM competitions WHERE id = '{contest}'")
        predictions = "id,label\n" + "".join(f"{i},0\n" for i in json.loads(key[0])["ids"])
        entered = competitions("POST", f"/{contest}/entries", {"predictions": predictions},
                               student_token)
        assert entered.status_code == 201, entered.text
        moved = competitions("PATCH", f"/{contest}", {"deadline": f"{year}-06-30T12:00:00+00:00"},
                             token)
        assert moved.status_code == 200, moved.text

    page = "programme/schools/demo-s1/evaluation"
    shown = indicator_values(programme.school_admin.get(page).text)
    assert shown["teachers_trained"] == ("computed", "2"), "enrolled but absent is not trained"
    assert shown["training_hours"] == ("computed", "3"), "last year's session is not this year's"
    assert shown["competitions"] == ("computed", "1"), "next year's competition is not this year's"
    assert shown["lab_equipment"][0] == "entered"
    other = indicator_values(programme.other_school_admin.get(
        "programme/schools/demo-s2/evaluation").text)
    assert other["teachers_trained"] == ("computed", "0")
    assert other["training_hours"] == ("computed", "") and other["competitions"][1] == "0"

    forged = post_form(programme.school_admin, page, page,
                       {"teachers_trained": "99", "competitions": "9", "lab_equipment": "30"})
    assert forged.status_code == 422 and "由平台根据实际记录计算" in forged.text
    assert "is computed by the platform" in forged.text
    assert indicator_values(programme.school_admin.get(page).text)["teachers_trained"] \
        == ("computed", "2")
    assert programme.rows("SELECT indicator FROM programme_indicator_entries "
                          "WHERE indicator IN ('teachers_trained', 'competitions', "
                          "'training_hours')") == []
    xsrf = programme.school_admin.form_xsrf(page)
    evidence = programme.school_admin.post(
        "programme/schools/demo-s1/evidence", {"_xsrf": xsrf, "indicator": "teachers_trained"},
        params={"_xsrf": xsrf}, files={"evidence": ("结业证书.pdf", b"%PDF-1.4 certificates")})
    assert evidence.status_code == 303, "evidence may still back a computed figure"

    heading = "参训教师（人） teachers trained"
    own = workbook_values(programme.school_admin.get(f"{page}.xlsx").content)
    assert own["demo-s1"][heading] == 2
    assert own["demo-s1"]["教师培训学时（人均） training hours per teacher"] == 3
    assert own["demo-s1"]["参加竞赛（项） competitions entered"] == 1
    theirs = workbook_values(programme.other_school_admin.get(
        "programme/schools/demo-s2/evaluation.xlsx").content)
    assert theirs["demo-s2"][heading] == 0
    everyone = workbook_values(region.get("programme/region/evaluation.xlsx").content)
    assert (everyone["demo-s1"][heading], everyone["demo-s2"][heading]) == (2, 0)
    districts = rolled_up(region.get("programme/region").text)
    assert districts["dist-a"]["teachers_trained"] == "2", "per school: 2 of demo-s1's"
    assert districts["dist-a"]["training_hours"] == "3"
    assert (districts["dist-b"]["teachers_trained"], districts["dist-b"]["competitions"]) \
        == ("0", "0")
    (schools,), = programme.rows("SELECT count(*) FROM schools")
    assert float(districts["region"]["teachers_trained"]) == pytest.approx(2 / schools), \
        "a group's trained teachers are per school, as the benchmark is"
    assert districts["region"]["training_hours"] == "3", "per trained teacher"
    own_district = rolled_up(programme.district_admin.get("programme/districts/dist-a").text)
    assert own_district["demo-s1"]["competitions"] == "1"

    ethics_lessons_are_counted_from_releases(programme)


def ethics_lessons_are_counted_from_releases(programme: Programme) -> None:
    """Are the ethics lessons taught the periods of the library's ethics lessons released
    to the school's classes (a class's re-release once, other lessons not at all), for that
    school only, and is a figure posted for them refused?"""
    teacher = programme.teacher
    account = next(a for a in programme.hub.accounts if a["username"] == teacher.username)
    assert account["school"] == "demo-s1", "the module's teacher teaches at demo-s1"
    class_id = account["class"].split(";")[0]
    later = f"{YEAR + 1}-01-09T17:00"
    for lesson, due in (("senior/bias-fairness", ""), ("senior/bias-fairness", later),
                        ("junior/ai-safety-ethics", ""), ("junior/knn-decision-tree", "")):
        released = post_form(teacher, "library", "library/release",
                             {"library": lesson, "class": class_id, "due": due})
        assert released.status_code == 302, released.text[-1500:]
    assert programme.rows("SELECT count(*) FROM exchange_releases WHERE class_id = "
                          f"'{class_id}' AND assignment_id = 'bias-fairness'") == [(2,)], \
        "a new due date is a second version"
    page = "programme/schools/demo-s1/evaluation"
    assert indicator_values(programme.school_admin.get(page).text)["ethics_lessons"] \
        == ("computed", "4"), "2 periods of each ethics lesson, a re-release counted once"
    other = indicator_values(programme.other_school_admin.get(
        "programme/schools/demo-s2/evaluation").text)
    assert other["ethics_lessons"] == ("computed", "0")
    heading = "人工智能伦理课（节） AI ethics lessons taught"
    assert workbook_values(programme.school_admin.get(f"{page}.xlsx").content
                           )["demo-s1"][heading] == 4
    everyone = workbook_values(programme.region_admin.get(
        "programme/region/evaluation.xlsx").content)
    assert (everyone["demo-s1"][heading], everyone["demo-s2"][heading]) == (4, 0)
    districts = rolled_up(programme.region_admin.get("programme/region").text)
    assert (districts["dist-a"]["ethics_lessons"], districts["dist-b"]["ethics_lessons"]) \
        == ("4", "0")
    forged = post_form(programme.school_admin, page, page, {"ethics_lessons": "30"})
    assert forged.status_code == 422 and "由平台根据实际记录计算" in forged.text
    assert programme.rows("SELECT indicator FROM programme_indicator_entries "
                          "WHERE indicator = 'ethics_lessons'") == []
    assert indicator_values(programme.school_admin.get(page).text)["ethics_lessons"] \
        == ("computed", "4")


def test_a_district_admin_from_the_roster_holds_the_hub_role_at_first_sign_in(
        programme: Programme) -> None:
    """Is a district admin put on the roster without a mirror run given their JupyterHub
    role by their first sign-in, scoped to their district's group?"""
    hub = programme.hub
    roster = hub.data_dir.parent / "new-district-admin.csv"
    roster.write_text(HEADER + ",,,,,,,,dadm-ccc,周局长,区县管理员,dist-b,\n", encoding="utf-8")
    imported = aiclass(hub, "roster", "import", roster, "--no-mirror")
    assert imported.returncode == 0, imported.stderr
    role = "aiclass-district-admin-dadm-ccc"
    api = mirror_api(hub)
    assert role not in api.roles(), "not mirrored yet"
    person = sign_in(hub, {"username": "dadm-ccc", "password": new_password(hub, "dadm-ccc")})
    me = person.browser.session.get(f"{hub.url}/hub/api/user", timeout=60).json()
    assert role in me["roles"]
    scopes = api.roles()[role]["scopes"]
    assert scopes and all(s.endswith("!group=district-dist-b") for s in scopes)
    assert me["groups"] == []


def test_the_region_export_rolls_up_districts_and_a_district_exports_only_its_own(
        programme: Programme) -> None:
    """Does the district sheet add up, and can a district admin export another district?"""
    region = load_workbook(BytesIO(programme.region_admin.get("region.xlsx").content))
    assert region.sheetnames[0] == "区县 Districts" and "每周 Weekly" in region.sheetnames
    districts = {row[0]: row for row in region["区县 Districts"].iter_rows(min_row=2,
                                                                          values_only=True)}
    schools = {row[0]: row for row in region["学校 Schools"].iter_rows(min_row=2,
                                                                      values_only=True)}
    assert set(districts) == {"dist-a", "dist-b"}
    assert districts["dist-a"][1:4] == ("甲区", 1, 1), "demo-s1, approved as experimental"
    assert districts["dist-b"][1:4] == ("乙县", 1, 0)
    assert districts["dist-a"][4] == schools["demo-s1"][4], "students: its school's"
    assert districts["dist-b"][4] == schools["demo-s2"][4]
    assert districts["dist-a"][9] == 2 and districts["dist-b"][9] == 0, \
        "teachers trained: computed (test_training_and_competitions_are_computed...)"

    district = programme.district_admin
    assert 'id="report-xlsx"' in district.get("programme/districts/dist-a").text
    own = load_workbook(BytesIO(district.get("districts/dist-a.xlsx").content))
    assert "每周 Weekly" not in own.sheetnames
    assert [row[0] for row in own["区县 Districts"].iter_rows(min_row=2, values_only=True)] \
        == ["dist-a"]
    assert {row[0] for row in own["学校 Schools"].iter_rows(min_row=2, values_only=True)} \
        == {"demo-s1"}
    assert {row[2] for row in own["班级 Classes"].iter_rows(min_row=2, values_only=True)} \
        == {"demo-s1"}
    total = list(own["对比 Comparison"].iter_rows(values_only=True))[-1]
    assert total[0] == "合计 甲区" and total[1] == schools["demo-s1"][4]
    for path in ("districts/dist-b.xlsx", "districts/no-such.xlsx", "region.xlsx"):
        assert district.get(path).status_code == 403, path
    for person in (programme.school_admin, programme.teacher, programme.student):
        assert person.get("districts/dist-a.xlsx").status_code == 403, person.username
