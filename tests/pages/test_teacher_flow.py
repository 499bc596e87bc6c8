"""A lesson through the pages in Chromium: release, prepare, two students submit, follow up.

The teacher works in a real browser (Playwright driving Debian's Chromium) against the
real hub and classroom service; the two students submit through nbgrader's endpoints
on their own servers, which the teacher's "prepare class" started. Screenshots of
every page go to ``test-artifacts/pages/``.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from sqlalchemy import select

from hub.db import ServiceDatabase
from hub.reports.tables import ActivityDay
from tests.hub.hubprocess import RunningHub, running_hub
from tests.pages.pagesession import PAGES, PagePerson, sign_in

pytestmark = [pytest.mark.integration, pytest.mark.browser]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "pages"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
LESSON = "primary/pixels-are-numbers"
ASSIGNMENT = "pixels-are-numbers"


@pytest.fixture(scope="module")
def hub() -> Iterator[RunningHub]:
    with running_hub("aiclass-pages-flow-", "[demo]\nstudents = 6\n[reports]\n"
                     "activity_poll_minutes = 1\n", timeout=600) as running:
        yield running


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if not Path("/usr/bin/chromium").exists():
        pytest.fail("Debian's chromium is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def browser_page(chromium: Browser, person: PagePerson) -> tuple[BrowserContext, Page]:
    """A Chromium tab carrying the person's hub sign-in."""
    context = chromium.new_context(locale="zh-CN", accept_downloads=True)
    context.add_cookies([{"name": c.name, "value": c.value, "domain": "127.0.0.1",
                          "path": c.path or "/"} for c in person.browser.session.cookies])
    page = context.new_page()
    page.set_default_timeout(120_000)
    return context, page


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def lab_call(person: PagePerson, action: str, class_id: str) -> list[dict]:
    """nbgrader's Assignments panel endpoint on the student's own server."""
    response = person.browser.lab_api(person.username, f"assignments?course_id={class_id}") \
        if action == "list" else person.browser.session.post(
        f"{person.hub.url}/user/{person.username}/assignments/{action}",
        json={"course_id": class_id, "assignment_id": ASSIGNMENT},
        headers={"X-XSRFToken": person.browser.xsrf(f"/user/{person.username}/")},
        timeout=180, allow_redirects=False)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"], body["value"]
    return body["value"]


def test_a_lesson_from_release_to_region_report(hub: RunningHub, chromium: Browser) -> None:
    teacher_account = next(a for a in hub.accounts if a["role"] == "teacher")
    class_id = teacher_account["class"].split(";")[0]
    student_accounts = [a for a in hub.accounts if a["class"] == class_id]
    assert len(student_accounts) == 2
    teacher = sign_in(hub, teacher_account)
    context, page = browser_page(chromium, teacher)
    base = f"{hub.url}{PAGES}"

    page.goto(base)
    assert page.locator("#classes").inner_text().count("班") >= 1
    shot(page, "01-my-classes")

    page.goto(f"{base}library?band=primary")
    shot(page, "02-library")
    page.check(f"input[name=library][value='{LESSON}']")
    page.check(f"#release-form input[name=class][value='{class_id}']")
    page.fill("#release-form input[name=due]", "2030-06-30T18:00")
    page.click("#release-button")
    page.wait_for_selector("#release-done", timeout=420_000)  # nbgrader generates it first
    assert ASSIGNMENT in page.inner_text("#release-done")

    page.goto(f"{base}classes/{class_id}")
    assert ASSIGNMENT in page.inner_text("#assignments")
    page.click("#prepare-button")
    deadline = time.monotonic() + 300
    while page.inner_text("#ready-count") != "2":
        assert time.monotonic() < deadline, hub.log()[-3000:]
        page.wait_for_timeout(2000)
    shot(page, "03-class-prepared")

    students = [sign_in(hub, account) for account in student_accounts]
    for student in students:
        student.browser.open_lab(student.username)
        lab_call(student, "fetch", class_id)
        submitted = lab_call(student, "submit", class_id)
        assert any(a["status"] == "submitted" for a in submitted)

    page.goto(f"{base}classes/{class_id}/assignments/{ASSIGNMENT}")
    assert page.inner_text("#submitted-count") == "2"
    assert page.inner_text("#fetched-count") == "2"
    assert page.inner_text("#late-count") == "0"
    deadline = time.monotonic() + 480  # the service's workers grade both in the sandbox
    while page.inner_text("#graded-count") != "2":
        assert time.monotonic() < deadline, hub.log()[-3000:]
        page.wait_for_timeout(5000)
        page.reload()
    shot(page, "04-progress")
    first = students[0].username
    page.fill(f"tr[data-student='{first}'] input[name=due]", "2031-01-15T12:00")
    page.click(f"tr[data-student='{first}'] button")
    page.wait_for_selector("#progress")
    assert "2031-01-15 12:00" in page.inner_text(f"tr[data-student='{first}']")

    page.goto(f"{base}classes/{class_id}/gradebook")
    shot(page, "05-gradebook")
    row = page.inner_text(f"tr[data-student='{first}']")
    assert first in row
    scored = page.inner_text(f"tr[data-student='{first}'] td.status-on_time")
    assert "/" in scored, scored  # "got/max" once graded, a time before
    page.click(f"tr[data-student='{first}'] td a")
    page.wait_for_selector("#grades")
    assert page.locator(".rendered script").count() == 0
    cell = page.locator("#grades tbody tr").first
    question = cell.get_attribute("data-cell")
    cell.locator("select[name=field]").select_option("override")
    cell.locator("input[name=value]").fill("0")
    cell.locator("input[name=reason]").fill("抄袭")
    cell.locator("button").click()
    page.wait_for_selector("#history")
    overridden = page.locator(f"#grades tr[data-cell='{question}']")
    assert overridden.locator(".override").inner_text() == "0"
    assert "抄袭" in page.inner_text("#history")
    cell = page.locator("#grades tbody tr").first
    cell.locator("select[name=field]").select_option("override")
    cell.locator("input[name=value]").fill("999")
    cell.locator("button").click()
    page.wait_for_selector("#grade-error")  # refused, named, and nothing changed
    assert page.locator(f"#grades tr[data-cell='{question}'] .override").inner_text() == "0"
    shot(page, "06-submission")
    page.fill("#feedback-form textarea", "做得很好，注意第二题的单位。")
    page.click("#feedback-button")
    page.wait_for_selector("#feedback-state")
    feedback = lab_call(students[0], "fetch_feedback", class_id)
    assert any(s.get("has_exchange_feedback") for a in feedback
               for s in a.get("submissions", []))

    exported = context.request.get(f"{base}classes/{class_id}/gradebook.csv")
    assert exported.status == 200
    rows = list(csv.reader(io.StringIO(exported.body().decode("utf-8-sig"))))
    column = rows[0].index(f"{ASSIGNMENT}/{question}")
    by_student = {r[0]: r for r in rows[1:]}
    assert sorted(by_student) == sorted(s.username for s in students)
    assert float(by_student[first][column]) == 0.0
    assert by_student[students[1].username][column] != ""
    context.close()

    admin = sign_in(hub, hub.account("region_admin"))
    context, page = browser_page(chromium, admin)
    page.goto(f"{base}region")
    table = page.inner_text("#report-rows")
    assert "示范区第一中学" in table and "示范区实验学校" in table
    assert page.locator("#comparison").count() == 1
    shot(page, "07-region-report")
    page.goto(f"{base}region?print=1")
    shot(page, "08-region-print")
    page.goto(f"{base}schools/demo-s1")
    assert class_id in page.content()
    shot(page, "09-school-report")
    context.close()
    assert_activity_recorded(hub, [s.username for s in students])


def assert_activity_recorded(hub: RunningHub, usernames: list[str]) -> None:
    """The service samples the hub every minute here: the running labs were counted."""
    database = ServiceDatabase(f"sqlite:///{hub.data_dir / 'aiclass.sqlite'}")
    deadline = time.monotonic() + 180
    while True:
        with database.session() as session:
            counted = set(session.scalars(select(ActivityDay.username).where(
                ActivityDay.username.in_(usernames), ActivityDay.active_minutes > 0)))
        if counted == set(usernames):
            return
        assert time.monotonic() < deadline, f"activity of {usernames} not recorded: {counted}"
        time.sleep(5)
