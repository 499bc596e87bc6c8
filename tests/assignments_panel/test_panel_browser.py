"""我的作业 in Chromium: a student opens the lab, fetches, reads the rules, submits, gets a receipt.

A real local-mode hub with the classroom service; the teacher releases a library lesson
through the service's API, the student works only in the browser (Playwright driving Debian's
Chromium). The same session records every request the browser makes, and fails on any host
but the hub's: the lab must not reach out (news, update checks, fonts, CDNs). Screenshots go
to ``test-artifacts/assignments-panel/``. The panel's server side is attacked with the
student's own session: another class's assignment, a path for an assignment name.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import Browser, Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from grading.gradebook.late_policy import LatePolicy
from tests.exchange.openapi_check import check_response
from tests.hub.hubprocess import RunningHub, running_hub
from tests.pages.pagesession import PagePerson, sign_in

pytestmark = [pytest.mark.integration, pytest.mark.browser]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "assignments-panel"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
LIBRARY = "primary/pixels-are-numbers"
ASSIGNMENT = "pixels-are-numbers"
SERVICE = "/services/classroom/api/v1"
TEACHER_LESSON = "i22d-lesson"


@pytest.fixture(scope="module")
def hub() -> Iterator[RunningHub]:
    with running_hub("aiclass-i22a-panel-", "[demo]\nstudents = 6\n", timeout=600) as running:
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


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def service(person: PagePerson, token: str, method: str, path: str,
            **kwargs: object) -> requests.Response:
    headers = {"Authorization": f"token {token}", **kwargs.pop("headers", {})}
    return requests.request(method, f"{person.hub.url}{SERVICE}{path}", headers=headers,
                            timeout=600, **kwargs)


def panel_post(student: PagePerson, class_id: str, assignment_id: str,
               action: str) -> requests.Response:
    """The panel's action URL on the student's own server, as the lab calls it."""
    browser = student.browser
    return browser.session.post(
        f"{student.hub.url}/user/{student.username}/aiclass/assignments/{class_id}/"
        f"{assignment_id}/{action}",
        headers={"X-XSRFToken": browser.xsrf(f"/user/{student.username}/")}, timeout=180)


def leaving_the_hub(hub: RunningHub, requested: list[str]) -> list[str]:
    """The recorded URLs (``data:`` and ``blob:`` aside) whose host is not the hub's."""
    hub_host = urlsplit(hub.url).netloc
    return sorted({url for url in requested
                   if urlsplit(url).scheme not in ("data", "blob")
                   and urlsplit(url).netloc != hub_host})


def test_a_student_fetches_submits_and_keeps_a_receipt_offline(
        hub: RunningHub, chromium: Browser) -> None:
    teacher_account = next(a for a in hub.accounts if a["role"] == "teacher")
    class_id, *_ = teacher_account["class"].split(";")
    other_class = next(a["class"] for a in hub.accounts
                       if a["role"] == "student" and a["class"] != class_id)
    teacher = sign_in(hub, teacher_account)
    due = datetime.now(UTC) + timedelta(days=3)
    released = service(teacher, teacher.token(), "POST", f"/assignments/{ASSIGNMENT}/releases",
                       params={"class": class_id, "library": LIBRARY,
                               "due": due.isoformat()})
    assert released.status_code == 201, released.text

    student = sign_in(hub, next(a for a in hub.accounts
                                if a["role"] == "student" and a["class"] == class_id))
    student.browser.open_lab(student.username)
    context = chromium.new_context(locale="zh-CN")
    context.add_cookies([{"name": c.name, "value": c.value, "domain": "127.0.0.1",
                          "path": c.path or "/"} for c in student.browser.session.cookies])
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    page = context.new_page()
    page.on("websocket", lambda socket: requested.append(socket.url))
    page.set_default_timeout(120_000)
    page.goto(f"{hub.url}/user/{student.username}/lab")

    panel = page.locator("#aiclass-assignments")
    card = panel.locator(f"section[data-assignment='{ASSIGNMENT}']")
    try:
        card.wait_for(timeout=60_000)
    except PlaywrightTimeout:
        shot(page, "00-no-assignment")
        raise AssertionError(f"{page.locator('body').inner_text()[:2000]}\n"
                             f"{hub.log()[-3000:]}") from None
    assert "我的作业" in panel.inner_text()
    assert "未获取" in card.inner_text() and class_id in card.inner_text()
    assert "截止" in card.inner_text()
    shot(page, "01-panel-not-fetched")

    card.get_by_role("button", name="获取").click()
    page.wait_for_function(
        "s => document.querySelector(s)?.innerText.includes('进行中')",
        arg=f"#aiclass-assignments section[data-assignment='{ASSIGNMENT}']")
    assert "已获取" in card.inner_text()
    shot(page, "02-fetched")

    card.get_by_role("button", name="打开").click()
    page.locator(".lm-TabBar-tab", has_text="pixels.ipynb").wait_for()
    card.get_by_role("button", name="检查").click()
    message = card.locator(".aiclass-message")
    page.wait_for_function("s => /检查发现问题/.test(document.querySelector(s).innerText)",
                           arg=f"#aiclass-assignments section[data-assignment='{ASSIGNMENT}'] "
                           ".aiclass-message", timeout=180_000)
    assert f"{ASSIGNMENT}/pixels.ipynb" in message.inner_text()  # its answers are not written
    shot(page, "02b-opened-and-validated")

    card.get_by_role("button", name="提交").click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for()
    rules = dialog.inner_text()
    assert "提交前请阅读" in rules
    assert "扣 10%" in rules and "15 分钟" in rules  # the gradebook's late policy
    assert "延期" in rules and "重新提交" in rules
    shot(page, "03-rules-before-submit")
    dialog.get_by_role("button", name="确认提交").click()
    receipt_box = card.locator(".aiclass-receipt")
    receipt_box.wait_for()
    assert "已提交" in card.inner_text() and "提交成功" in card.inner_text()
    shown = receipt_box.inner_text()
    assert "提交回执" in shown and "校验码" in shown and "按时" in shown
    shot(page, "04-receipt")

    (submission,) = service(student, student.token(), "GET", "/submissions").json()["submissions"]
    listing = "".join(f"{f['sha256']}  {f['path']}\n"
                      for f in sorted(submission["files"], key=lambda f: f["path"]))
    assert hashlib.sha256(listing.encode()).hexdigest() in shown
    assert all(f["path"] in shown for f in submission["files"])

    page.reload()  # the receipt and status come back from the service, not the tab's memory
    card.locator(".aiclass-receipt").wait_for()
    assert "已提交" in card.inner_text()
    assert hashlib.sha256(listing.encode()).hexdigest() in card.inner_text()
    assert "延期" not in card.inner_text()

    # The teacher grants this student two more days: the panel shows it as an extension.
    granted = service(teacher, teacher.token(), "PUT", f"/classes/{class_id}/assignments/"
                      f"{ASSIGNMENT}/extensions/{student.username}",
                      json={"due_at": (due + timedelta(days=2)).isoformat()})
    assert granted.status_code == 200, granted.text
    page.reload()
    card.locator(".aiclass-receipt").wait_for()
    assert "老师已为你延期" in card.locator(".aiclass-due").inner_text()
    shot(page, "05-extension")

    # The teacher returns feedback: 已评分, and 查看反馈 fetches and opens it in the lab.
    feedback = io.BytesIO()
    with zipfile.ZipFile(feedback, "w") as archive:
        archive.writestr("pixels.html", "<html><body><h1>老师的反馈：像素找得很准</h1>"
                                        "</body></html>")
    returned = service(teacher, teacher.token(), "PUT",
                       f"/submissions/{submission['id']}/feedback", data=feedback.getvalue(),
                       headers={"Content-Type": "application/zip"})
    assert returned.status_code == 200, returned.text
    page.reload()
    card.locator(".aiclass-receipt").wait_for()
    assert "已评分" in card.inner_text()
    card.get_by_role("button", name="查看反馈").click()
    page.locator(".lm-TabBar-tab", has_text="pixels.html").wait_for()
    shown_feedback = page.frame_locator(".jp-HTMLViewer iframe").locator("h1")
    assert "像素找得很准" in shown_feedback.inner_text()
    expect(card).not_to_contain_text("请稍候")  # the action is over
    shot(page, "05b-feedback")

    # The lab switched to English (its language setting): the panel follows.
    switched = student.browser.session.put(
        f"{hub.url}/user/{student.username}/lab/api/settings/"
        "@jupyterlab/translation-extension:plugin",
        json={"raw": '{"locale": "en"}'},
        headers={"X-XSRFToken": student.browser.xsrf(f"/user/{student.username}/")}, timeout=60)
    assert switched.status_code == 204, switched.text
    page.reload()
    card.locator(".aiclass-receipt").wait_for()
    english = panel.inner_text()
    assert "My assignments" in english and "Submitted" in english
    assert "Submission receipt" in english and "我的作业" not in english
    shot(page, "06-english")
    context.close()

    outside = leaving_the_hub(hub, requested)
    assert requested and not outside, outside

    # What the panel reads is what the service's document promises: the rules it shows, and
    # the student's own due date (the extension).
    token = student.token()
    info = service(student, token, "GET", "/").json()
    check_response("/", "get", 200, info)
    assert info["rules"]["grace_minutes"] == LatePolicy().grace_minutes
    released_now = service(student, token, "GET", "/assignments").json()
    check_response("/assignments", "get", 200, released_now)
    (mine,) = released_now["assignments"]
    own_due = datetime.fromisoformat(mine["own_due_at"].replace("Z", "+00:00"))
    assert abs(own_due - (due + timedelta(days=2))) < timedelta(seconds=1)
    assert mine["due_at"] == submission["due_at"]  # the release's, as when they submitted

    # The panel's server side acts as the student only: another class's release is refused
    # by the service, and a path for an assignment name by the panel, both changing nothing.
    foreign = panel_post(student, other_class, ASSIGNMENT, "fetch")
    assert foreign.status_code == 400 and "（" in foreign.json()["message"]
    sneaky = panel_post(student, class_id, "..%2F..%2Fetc", "submit")
    assert sneaky.status_code in (400, 404)
    listed = student.browser.session.get(
        f"{hub.url}/user/{student.username}/aiclass/assignments", timeout=60).json()
    assert {r["class_id"] for r in listed["assignments"]} == {class_id}
    after = service(student, student.token(), "GET", "/submissions").json()["submissions"]
    assert [(s["id"], s["files"]) for s in after] == [(submission["id"], submission["files"])]

    # nbgrader's own Assignments panel stays for the teacher, beside 我的作业.
    page_config = teacher.browser.open_lab(teacher.username)
    names = {e["name"] for e in page_config["federated_extensions"]}
    assert {"@aiclass/assignments", "@jupyter/nbgrader"} <= names, names
    assert "@jupyter/nbgrader:assignment-list" not in page_config.get("disabledExtensions", {})


def menu_item(page: Page, menu: str, item: str) -> None:
    """Click ``item`` of the lab's top menu ``menu`` (exact labels)."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(menu)}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")).click()


def test_a_teachers_lab_session_stays_on_the_hub(hub: RunningHub, chromium: Browser) -> None:
    """A teacher's whole lab session, nbgrader's tools and ours, asks nothing of any other host:
    the lab, nbgrader's Assignment List, Course List and Formgrader, the Create Assignment
    sidebar on a notebook, and 我的作业."""
    teacher = sign_in(hub, hub.account("teacher", 1))
    teacher.browser.open_lab(teacher.username)
    lesson = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "# 第一课"}],
              "metadata": {"kernelspec": {"name": "python3", "language": "python",
                                          "display_name": "Python 3 (ipykernel)"}},
              "nbformat": 4, "nbformat_minor": 5}
    for path, body in (("source", {"type": "directory"}),
                       (f"source/{TEACHER_LESSON}", {"type": "directory"}),
                       (f"source/{TEACHER_LESSON}/lesson.ipynb",
                        {"type": "notebook", "content": lesson})):
        made = teacher.browser.session.put(
            f"{hub.url}/user/{teacher.username}/api/contents/{path}", json=body,
            headers={"X-XSRFToken": teacher.browser.xsrf(f"/user/{teacher.username}/")},
            timeout=60)
        assert made.status_code in (200, 201), made.text
    context = chromium.new_context(locale="zh-CN")
    context.add_cookies([{"name": c.name, "value": c.value, "domain": "127.0.0.1",
                          "path": c.path or "/"} for c in teacher.browser.session.cookies])
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    context.on("page", lambda opened: opened.on("websocket",
                                                lambda socket: requested.append(socket.url)))
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.goto(f"{hub.url}/user/{teacher.username}/lab/tree/source/{TEACHER_LESSON}/lesson.ipynb")
    page.locator(".jp-Notebook .jp-MarkdownOutput", has_text="第一课").wait_for()
    shot(page, "teacher-01-lab-notebook")

    page.locator(".lm-TabBar-tab[data-id='nbgrader-create_assignemnt']").click()
    expect(page.locator("#nbgrader-create_assignemnt")).to_contain_text("Total points",
                                                                      timeout=60_000)
    shot(page, "teacher-02-create-assignment")

    page.locator(".lm-TabBar-tab[data-id='aiclass-assignments']").click()
    mine = page.locator("#aiclass-assignments")
    # their own class is not their homework
    expect(mine).to_contain_text("还没有发布给你的作业。", timeout=60_000)
    assert "我的作业" in mine.inner_text()
    shot(page, "teacher-03-my-assignments")

    for item, shown in (("Assignment List", "Released assignments"),
                        ("Course List", "Available formgraders")):
        menu_item(page, "Nbgrader", item)
        expect(page.locator("#jp-main-dock-panel")).to_contain_text(shown, timeout=60_000)
        shot(page, f"teacher-04-{item.replace(' ', '-').lower()}")
    # The formgrader in a lab tab is an iframe, which JupyterHub's frame-ancestors 'none'
    # refuses; a teacher opens it in a browser tab of its own, as nbgrader advises.
    menu_item(page, "Nbgrader", "Formgrader")
    page.locator(".lm-TabBar-tab", has_text="Formgrader").wait_for()
    formgrader = context.new_page()
    formgrader.set_default_timeout(120_000)
    formgrader.goto(f"{hub.url}/user/{teacher.username}/formgrader")
    expect(formgrader.locator("table")).to_contain_text(TEACHER_LESSON, timeout=60_000)
    shot(formgrader, "teacher-05-formgrader-assignments")
    for link, shown in (("manage_students", "Manage Students"), ("gradebook", "Manual Grading")):
        formgrader.goto(f"{hub.url}/user/{teacher.username}/formgrader/{link}")
        expect(formgrader.locator(".page-header h1").last).to_contain_text(shown,
                                                                         timeout=60_000)
        shot(formgrader, f"teacher-06-formgrader-{link}")
    context.close()

    outside = leaving_the_hub(hub, requested)
    assert requested and not outside, outside
