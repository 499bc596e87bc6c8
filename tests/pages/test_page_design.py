"""The pages' design walked in Chromium, in Chinese and in English, with axe-core in each page.

A teacher opens an empty class ("暂无数据" where a heatmap or chart would be, never bare
axes) and a graded one (the heatmap of scores, sorted and filtered from the keyboard;
prepare, release, grade and feedback within two clicks); the region admin opens the
region and school reports (bars against the benchmark, numbers on hover) and the admin
pages. A school admin, a district admin and a student walk every page of their own menus
(the skip link and the menu from the keyboard first), and try a few pages they should not
open. Every page gets axe-core's WCAG 2.1 A/AA rules and fails on a serious or critical
violation. Screenshots of every step go to ``test-artifacts/design/``.

The graded class is written straight into the service's database (scores as the
grader stores them): what is under test is how the pages show scores, not grading,
which ``test_teacher_flow`` runs for real.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import delete

from grading.exchange.models import Release, Submission
from grading.gradebook.models import CellGrade, GradingJob
from hub.db import ServiceDatabase
from hub.org.models import Enrollment, Person, Role, SchoolClass
from hub.reports.tables import ActivityDay, ReportSnapshot
from tests.hub.hubprocess import RunningHub, running_hub
from tests.org.orghub import aiclass, new_password
from tests.pages.pagesession import PAGES, PagePerson, sign_in
from tests.pages.test_teacher_flow import CHROMIUM_ARGS

pytestmark = [pytest.mark.integration, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "design"
AXE = ROOT / "tests" / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
EMPTY, GRADED = "i22b-empty", "i22b-graded"
#: (student, assignment) → (points, maximum); ``None`` points: a hand-graded answer waits.
SCORES = {("stu-i22b-1", "a1"): (9, 10), ("stu-i22b-1", "a2"): (3, 10),
          ("stu-i22b-2", "a1"): (6, 10), ("stu-i22b-2", "a2"): (None, 10),
          ("stu-i22b-3", "a2"): (10, 10), ("stu-i22b-4", "a1"): (0, 10)}
STUDENTS = {"stu-i22b-1": "李小明", "stu-i22b-2": "王芳", "stu-i22b-3": "张伟",
            "stu-i22b-4": "陈静"}
SCHOOL_ADMIN, DISTRICT_ADMIN, DISTRICT = "sadm-i22d", "dadm-i22d", "dist-i22d"
ROSTER_HEADER = ("school,school_name,locality,stage,class,class_name,school_year,grade,username,"
                 "display_name,role,district,district_name\n")


def seed_classes(hub: RunningHub, teacher: dict[str, str]) -> None:
    """An empty class and a graded one, both taught by the demo teacher, in their school."""
    database = ServiceDatabase(f"sqlite:///{hub.data_dir / 'aiclass.sqlite'}")
    school = teacher["school"]
    now = datetime(2026, 11, 2, 8)
    with database.session() as session:
        for class_id, name in ((EMPTY, "设计测试空班"), (GRADED, "设计测试评分班")):
            session.add(SchoolClass(id=class_id, school_id=school, name=name,
                                    school_year="2026-2027", grade=10))
        session.flush()
        for class_id in (EMPTY, GRADED):
            session.add(Enrollment(class_id=class_id, username=teacher["username"],
                                   role=Role.TEACHER))
        for username, name in STUDENTS.items():
            session.add(Person(username=username, display_name=name, role=Role.STUDENT,
                               school_id=school))
        session.flush()
        for username in STUDENTS:
            session.add(Enrollment(class_id=GRADED, username=username, role=Role.STUDENT))
        for offset, assignment_id in enumerate(("a1", "a2")):
            session.add(Release(class_id=GRADED, assignment_id=assignment_id, version=1,
                                released_by=teacher["username"],
                                released_at=now + timedelta(days=7 * offset),
                                due_at=now + timedelta(days=7 * offset + 3), manifest=[],
                                archive_sha256="0" * 64))
        for index, ((username, assignment_id), (points, top)) in enumerate(SCORES.items()):
            submission = Submission(key=f"{index:032x}", class_id=GRADED,
                                    assignment_id=assignment_id, username=username,
                                    release_version=1, submitted_at=now + timedelta(days=1),
                                    idempotency_key=f"i22b{index}", manifest=[], total_bytes=1)
            session.add(submission)
            session.flush()
            job = GradingJob(submission_id=submission.id, class_id=GRADED,
                             assignment_id=assignment_id, state="done", reason="submit",
                             requested_by=username, enqueued_at=now, not_before=now)
            session.add(job)
            session.flush()
            session.add(CellGrade(submission_id=submission.id, class_id=GRADED,
                                  assignment_id=assignment_id, username=username,
                                  notebook="lesson.ipynb", grade_id="answer", position=0,
                                  kind="auto" if points is not None else "manual",
                                  max_score=top, auto_score=points, job_id=job.id))
        for username in STUDENTS:  # a lesson and a half yesterday: class-hours to compare
            session.add(ActivityDay(username=username, day=date.today() - timedelta(days=1),
                                    active_minutes=70))
        # the region report is recomputed on its next visit, with these classes
        session.execute(delete(ReportSnapshot))


def add_admins(hub: RunningHub, school: str) -> None:
    """A school admin of the teacher's school and a district admin of a district holding it,
    imported as a region would (the demo region has neither)."""
    roster = hub.data_dir.parent / "i22d-admins.csv"
    roster.write_text(ROSTER_HEADER
                      + f"{school},,,,,,,,{SCHOOL_ADMIN},周校长,学校管理员,{DISTRICT},设计区\n"
                      + f",,,,,,,,{DISTRICT_ADMIN},钱局长,区县管理员,{DISTRICT},\n",
                      encoding="utf-8")
    imported = aiclass(hub, "roster", "import", roster)
    assert imported.returncode == 0, imported.stderr


@pytest.fixture(scope="module")
def hub() -> Iterator[RunningHub]:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)  # this run's screenshots only
    with running_hub("aiclass-pages-design-") as running:
        seed_classes(running, running.account("teacher"))
        add_admins(running, running.account("teacher")["school"])
        yield running


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if not Path("/usr/bin/chromium").exists():
        pytest.fail("Debian's chromium is not installed (apt-get install chromium)")
    if not AXE.exists():
        pytest.fail("axe-core is not installed: run `make axe` (npm ci in tests/a11y)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Walk:
    """One person's tab: open a page, screenshot it, run axe-core in it."""

    def __init__(self, chromium: Browser, person: PagePerson, lang: str, tag: str) -> None:
        # axe is injected as an inline script, which the pages' Content-Security-Policy
        # forbids to anything else; the browser is told to let this one in.
        self.context = chromium.new_context(
            locale="zh-CN" if lang == "zh_CN" else "en-US", bypass_csp=True,
            viewport={"width": 1280, "height": 900})
        self.context.add_cookies([{"name": c.name, "value": c.value, "domain": "127.0.0.1",
                                   "path": c.path or "/"}
                                  for c in person.browser.session.cookies])
        self.page = self.context.new_page()
        self.page.set_default_timeout(60_000)
        self.base = f"{person.hub.url}{PAGES}"
        self.lang = lang
        self.tag = tag
        self.steps = 0
        self.open("", query=f"lang={lang}")

    def open(self, path: str, query: str = "") -> Page:
        self.page.goto(f"{self.base}{path}" + (f"?{query}" if query else ""))
        self.page.wait_for_load_state("load")
        return self.page

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.steps += 1
        self.page.screenshot(path=str(ARTIFACTS / f"{self.tag}-{self.lang}-{self.steps:02d}-"
                                                  f"{name}.png"), full_page=True)

    def check(self, name: str) -> None:
        """Screenshot, breadcrumbs present, and no serious or critical axe violation."""
        self.shot(name)
        assert self.page.locator("nav.crumbs li").count() >= 1, name
        self.page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
        result = self.page.evaluate("""async () => {
            const found = await axe.run(document, {runOnly: {type: "tag",
                values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}});
            return found.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map((n) => n.html)}));
        }""")
        serious = [v for v in result if v["impact"] in ("serious", "critical")]
        assert not serious, f"{name} ({self.lang}): {json.dumps(serious, ensure_ascii=False)}"

    def close(self) -> None:
        self.context.close()


def test_teacher_pages(hub: RunningHub, chromium: Browser) -> None:
    teacher = sign_in(hub, hub.account("teacher"))
    for lang in ("zh_CN", "en"):
        zh = lang == "zh_CN"
        walk = Walk(chromium, teacher, lang, "teacher")
        page = walk.page
        assert page.inner_text("h1") == ("我的班级" if zh else "My classes")
        assert "设计测试评分班" in page.inner_text("#classes")
        walk.check("my-classes")

        walk.open(f"classes/{EMPTY}")
        assert page.inner_text("#heatmap-empty") == ("暂无数据" if zh else "No data yet")
        assert page.inner_text("#assignments-empty") == ("暂无数据" if zh else "No data yet")
        assert page.inner_text("#students + .empty-table") == ("暂无数据" if zh else "No data yet")
        walk.check("empty-class")
        walk.open(f"classes/{EMPTY}/gradebook")
        rates = page.locator(".chart.chart-empty")  # the submission-rate chart, no axes
        assert rates.inner_text() == ("暂无数据" if zh else "No data yet")
        assert page.locator(".chart canvas").count() == 0
        assert page.inner_text("#gradebook-empty") == ("暂无数据" if zh else "No data yet")
        assert "设计测试空班" in page.inner_text("nav.crumbs")  # back to the class
        walk.check("empty-gradebook")

        walk.open(f"classes/{GRADED}")
        heatmap = page.locator("#heatmap")
        assert heatmap.locator("td[class^=heat-]").count() == 5  # 6 submitted, 1 pending
        first = page.locator("tr[data-student='stu-i22b-1'] td")
        assert [first.nth(i).inner_text() for i in (2, 3)] == ["90%", "30%"]
        assert [first.nth(i).get_attribute("class") for i in (2, 3)] == ["heat-4", "heat-1"]
        assert page.inner_text("tr[data-student='stu-i22b-2'] td.status-pending") == (
            "待评分" if zh else "to grade")
        assert page.inner_text("tr[data-student='stu-i22b-3'] td.status-missing") == (
            "未提交" if zh else "Missing")
        walk.check("graded-class-heatmap")

        # keyboard: the skip link comes first, the a1 column sorts from its header button
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"
        page.locator("#heatmap thead th").nth(2).locator("button.sort").focus()
        page.keyboard.press("Enter")
        assert page.locator("#heatmap tbody tr").first.get_attribute("data-student") == \
            "stu-i22b-3"  # ascending: missing first
        page.keyboard.press("Enter")
        assert page.locator("#heatmap tbody tr").first.get_attribute("data-student") == \
            "stu-i22b-1"  # descending: 90% first
        page.fill("input[aria-controls=heatmap]", "王芳")
        visible = [r for r in heatmap.locator("tbody tr").all() if r.is_visible()]
        assert [r.get_attribute("data-student") for r in visible] == ["stu-i22b-2"]
        walk.shot("heatmap-sorted-filtered")

        # two clicks: prepare is a button here; grading and feedback are one cell away
        walk.open(f"classes/{GRADED}")
        assert page.locator("#prepare-button").is_visible()
        page.click("tr[data-student='stu-i22b-1'] td.heat-4 a")
        page.wait_for_selector("#feedback-form")
        assert page.locator("#grades form.grade-form").count() == 1
        assert page.inner_text("#feedback-button") == ("发布反馈" if zh else "Release feedback")
        walk.check("submission-one-click")
        walk.open(f"classes/{GRADED}")
        page.click("#release-link")
        page.wait_for_selector("#release-form")
        assert page.locator(f"#release-form input[name=class][value='{GRADED}']").is_checked()
        assert page.locator(f"#release-form input[name=class][value='{EMPTY}']").is_checked() \
            is False
        walk.check("library-for-class")

        walk.open(f"classes/{GRADED}/gradebook")
        page.wait_for_selector("#distribution-chart canvas")
        walk.check("graded-gradebook")
        walk.open(f"classes/{GRADED}/assignments/a1")
        assert page.inner_text("#submitted-count") == "3"
        walk.check("progress")

        if zh:  # a curious pupil's tricks, with the teacher's own tab
            other = next(a["class"] for a in hub.accounts if a["role"] == "student"
                         and a["school"] != hub.account("teacher")["school"])
            walk.open(f"classes/{other}")  # a class they do not teach: no heatmap, no names
            assert page.inner_text("#error-message") == "这不是你任教的班级，不能查看。"
            assert page.locator("#heatmap").count() == 0
            walk.open("library", query=f"class={other}&class=%3Cscript%3Ex%3C/script%3E")
            assert page.locator("#release-form input[name=class]:checked").count() == 0
            assert page.locator("#release-form script").count() == 0

        if zh:  # a phone: one column, wide tables scroll inside themselves
            page.set_viewport_size({"width": 390, "height": 844})
            walk.open(f"classes/{GRADED}")
            assert page.evaluate("document.documentElement.scrollWidth") <= 392
            walk.shot("phone-class")
        walk.close()


def tooltip_after_hover(page: Page, chart_id: str) -> str:
    """What the chart shows when the pointer is on the first bar that has a figure."""
    page.wait_for_selector(f"#{chart_id} canvas")
    return page.evaluate("""(id) => {
        const element = document.getElementById(id);
        const chart = echarts.getInstanceByDom(element);
        const rows = JSON.parse(element.dataset.series);
        const index = rows.findIndex((row) => row[1] !== null);
        chart.dispatchAction({type: "showTip", seriesIndex: 0, dataIndex: index});
        const tip = chart.getDom().querySelector("div:not(:first-child)");
        return tip ? tip.innerText : "";
    }""", chart_id)


def test_region_admin_pages(hub: RunningHub, chromium: Browser) -> None:
    admin = sign_in(hub, hub.account("region_admin"))
    school = hub.account("teacher")["school"]
    for lang in ("zh_CN", "en"):
        zh = lang == "zh_CN"
        walk = Walk(chromium, admin, lang, "region")
        page = walk.page
        walk.open("region")
        assert ("城乡与学段对比" if zh else "Urban") in page.inner_text("main")
        assert page.locator("#comparison-hours-chart canvas").count() == 1
        benchmark, axis_top = page.evaluate("""() => {
            const element = document.getElementById("comparison-hours-chart");
            const chart = echarts.getInstanceByDom(element);
            const axis = chart.getModel().getComponent("yAxis").axis;
            return [chart.getOption().series[0].markLine.data[0].yAxis,
                    axis.scale.getExtent()[1]];
        }""")
        assert benchmark > 0 and axis_top >= benchmark  # the benchmark line is in view
        tip = tooltip_after_hover(page, "comparison-rates-chart")
        assert ("提交率" if zh else "submission rate") in tip, tip
        assert "%" in tip, tip
        assert page.locator("#rows-hours-chart").count() == 1
        walk.check("region-report")

        walk.open(f"schools/{school}")
        assert "设计测试评分班" in page.inner_text("#report-rows")
        tip = tooltip_after_hover(page, "rows-rates-chart")
        assert any(ch.isdigit() for ch in tip), tip
        walk.check("school-report")
        # every other page of the menu, those added later included
        menu = page.eval_on_selector_all(
            ".topnav a:not(#lang-switch)",
            "(links) => links.map((link) => link.getAttribute('href'))")
        prefix = PAGES.rstrip("/")
        others = [href.removeprefix(PAGES) for href in menu
                  if href.startswith(PAGES) and href.removeprefix(PAGES)
                  not in ("", "region", f"schools/{school}")]
        assert {"roster", "privacy", "audit", "library", "programme/region"} <= set(others)
        for path in others:
            walk.open(path)
            assert page.locator("h1").count() == 1, path
            assert page.url.startswith(f"{hub.url}{prefix}/{path}"), page.url
            walk.check(path.replace("/", "-"))
        walk.close()


#: Each role's menu, in its order (paths under the pages' prefix; "" is the home page),
#: with a text each page shows (zh, en) that someone opening it looks for.
SCHOOL_ADMIN_MENU = {
    "": ("设计测试评分班", "设计测试评分班"),
    "library": ("资源共享", "Shared library"),
    "training": ("我的研修学时", "My training hours"),
    "competitions": ("目前没有比赛。", "No competitions at the moment."),
    "schools/{school}": ("学校报告", "School report"),
    "programme/apply": ("本校尚未申报。", "Your school has not applied yet."),
    "roster": ("预检查（不修改数据）", "Dry run (changes nothing)"),
    "privacy": ("再次输入用户名以确认", "Type the username again to confirm"),
    "audit": ("范围：本校", "Scope: your school"),
}
DISTRICT_ADMIN_MENU = {
    "": ("设计测试评分班", "设计测试评分班"),
    "library": ("资源共享", "Shared library"),
    "training": ("新建研修班", "New cohort"),
    "competitions": ("目前没有比赛。", "No competitions at the moment."),
    f"programme/districts/{DISTRICT}": ("设计区 · 实验校项目", "设计区 · Experimental schools"),
}
STUDENT_MENU = {
    "": ("“我的作业”面板", "My assignments panel"),
    "competitions": ("目前没有比赛。", "No competitions at the moment."),
}


def walk_menu(walk: Walk, expected: dict[str, tuple[str, str]]) -> None:
    """The keyboard reaches the skip link, then every menu link in order; the skip link
    lands in the page's main part; then every page of the menu, checked."""
    page = walk.page
    links = page.eval_on_selector_all(
        ".topnav a", "(links) => links.map((link) => link.getAttribute('href'))")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    for href in links:
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.getAttribute('href')") == href
    page.focus("a.skip")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('main') !== null")

    menu = list(dict.fromkeys(href.removeprefix(PAGES) for href in links
                              if href.startswith(PAGES) and "lang=" not in href))
    assert menu == list(expected), menu  # their menu exactly: no page of a higher role
    for path, (zh, en) in expected.items():
        walk.open(path)
        assert page.locator("h1").count() == 1, path
        shown = page.inner_text("main")
        assert (zh if walk.lang == "zh_CN" else en) in shown, (path, shown[:500])
        walk.check(path.replace("/", "-") or "home")


def refused(walk: Walk, path: str, secret: str) -> None:
    """``path`` answers with the error page, and shows nothing of ``secret``."""
    page = walk.open(path)
    assert page.locator("#error-message").is_visible(), path
    assert secret not in page.content(), path


def test_school_district_and_student_pages(hub: RunningHub, chromium: Browser) -> None:
    school = hub.account("teacher")["school"]
    other_school = next(a["school"] for a in hub.accounts
                        if a["role"] == "teacher" and a["school"] != school)
    people = {
        "school": (sign_in(hub, {"username": SCHOOL_ADMIN,
                                 "password": new_password(hub, SCHOOL_ADMIN)}),
                   {path.format(school=school): texts
                    for path, texts in SCHOOL_ADMIN_MENU.items()}),
        "district": (sign_in(hub, {"username": DISTRICT_ADMIN,
                                   "password": new_password(hub, DISTRICT_ADMIN)}),
                     DISTRICT_ADMIN_MENU),
        "student": (sign_in(hub, hub.account("student")), STUDENT_MENU),
    }
    for role, (person, menu) in people.items():
        for lang in ("zh_CN", "en"):
            zh = lang == "zh_CN"
            walk = Walk(chromium, person, lang, role)
            walk_menu(walk, menu)
            page = walk.page
            if role == "school":  # a class of their school, one click from their home
                walk.open("")
                page.click(f"a[href$='classes/{GRADED}']")
                page.wait_for_selector("#heatmap")
                assert "王芳" in page.inner_text("#heatmap")
                walk.check("school-class")
                if zh:  # another school's report and the region's stay closed
                    refused(walk, f"schools/{other_school}", "学生数")
                    refused(walk, "region", "城乡与学段对比")
            if role == "district" and zh:
                refused(walk, "region", "城乡与学段对比")
                refused(walk, f"schools/{other_school}", "学生数")
            if role == "student":
                walk.open("")
                assert page.get_attribute("#open-lab", "href") == "/hub/user-redirect/lab"
                assert page.inner_text("#open-lab") == ("打开我的实验室" if zh else "Open my lab")
                if zh:  # a pupil typing the staff pages' addresses
                    refused(walk, f"classes/{GRADED}", "王芳")
                    refused(walk, "roster", 'type="file"')
                    refused(walk, f"schools/{school}", "设计测试评分班")
                    refused(walk, "privacy", "再次输入用户名")
                    walk.check("student-refused")
            walk.close()
