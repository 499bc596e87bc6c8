"""The hub in local mode, started for real: sign-in, the zh-CN lab, who reaches what."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.messages import TEXT
from hub.spawners.pending import HOLD_SECONDS
from tests.hub.hubprocess import (
    Browser,
    RunningHub,
    running_hub,
)

pytestmark = pytest.mark.integration

ZH = TEXT["zh_CN"]
NEW_PASSWORD = "qingchun-2026"


@pytest.fixture(scope="module")
def hub() -> Iterator[RunningHub]:
    with running_hub("aiclass-hub-test-",
                     "[auth]\nmax_failed_logins = 3\nlockout_minutes = 10\n") as running:
        yield running


@pytest.fixture(scope="module")
def student_lab(hub: RunningHub) -> tuple[Browser, str, dict]:
    """The first demo student, signed in, with their lab open."""
    account = hub.own_account("student lab")
    browser = Browser(hub)
    browser.sign_in(account, NEW_PASSWORD)
    page_config = browser.open_lab(account["username"])
    return browser, account["username"], page_config


def test_refreshing_the_pending_page_is_held_until_the_server_is_ready(hub: RunningHub) -> None:
    """A student refreshing "your server is starting" gets the page drawn once, then waits
    for the server instead of having the page redrawn on every refresh."""
    account = hub.own_account("pending page")
    browser = Browser(hub)
    browser.sign_in(account, NEW_PASSWORD)
    name = account["username"]
    began = time.monotonic()
    browser.session.get(f"{hub.url}/hub/spawn", timeout=60, allow_redirects=False)
    pages = 0
    while time.monotonic() - began < 180:
        response = browser.session.get(f"{hub.url}/hub/spawn-pending/{name}", timeout=60,
                                       allow_redirects=False)
        if response.status_code != 200:
            break
        pages += 1
    elapsed = time.monotonic() - began
    assert response.status_code == 302, response.text[:500]
    assert response.headers["Location"].startswith(f"/user/{name}/")
    # Held, the page is drawn about once per HOLD_SECONDS; redrawn on every refresh, it would be
    # drawn several times a second (hundreds over a spawn). Twice the held count, so that a slow
    # machine's timing cannot fail it, still tells the two apart.
    assert 1 <= pages <= 2 * (1 + math.ceil(elapsed / HOLD_SECONDS)), (pages, elapsed)


def test_demo_region_is_seeded(hub: RunningHub) -> None:
    roles = [a["role"] for a in hub.accounts]
    assert roles.count("student") == 40
    assert roles.count("teacher") == 2
    classes = {a["class"] for a in hub.accounts if a["role"] == "student"}
    assert len(classes) >= 3
    assert len({a["school"] for a in hub.accounts if a["role"] == "student"}) == 2
    for account in hub.accounts:
        assert account["username"].isascii() and account["username"].islower()
        assert len(account["password"]) >= 8


def test_initial_password_must_be_changed_before_the_lab_opens(hub: RunningHub) -> None:
    account = hub.own_account("initial password")
    browser = Browser(hub)
    first = browser.login(account["username"], account["password"])
    assert first.status == 403
    assert first.asks_new_password
    assert first.error == ZH["must_change"]
    home = browser.session.get(f"{hub.url}/hub/home", allow_redirects=False, timeout=30)
    assert home.status_code == 302 and "/hub/login" in home.headers["Location"]

    short = browser.login(account["username"], account["password"], "abc")
    assert short.error == ZH["password_too_short"].format(length=8)
    mismatch = browser.login(account["username"], account["password"], NEW_PASSWORD,
                             confirm=NEW_PASSWORD + "x")
    assert mismatch.error == ZH["password_mismatch"]
    same = browser.login(account["username"], account["password"], account["password"])
    assert same.error == ZH["password_unchanged"]

    changed = browser.login(account["username"], account["password"], NEW_PASSWORD)
    assert changed.status == 302
    assert Browser(hub).login(account["username"], account["password"]).status == 403
    again = Browser(hub).login(account["username"], NEW_PASSWORD)
    assert again.status == 302 and not again.asks_new_password


def test_wrong_password_and_unknown_user_are_refused_alike(hub: RunningHub) -> None:
    account = hub.own_account("refused alike")
    wrong = Browser(hub).login(account["username"], "not-the-password")
    unknown = Browser(hub).login("stu-nobody", "whatever-password")
    assert wrong.status == unknown.status == 403
    assert wrong.error == unknown.error == ZH["bad_credentials"]


def test_repeated_failures_lock_the_account(hub: RunningHub) -> None:
    """Is the right password refused once the account is locked? The account is this test's
    own, so its initial password is still the right one (unlocked, it would be asked to
    change it)."""
    account = hub.own_account("lock-out")
    for _ in range(2):
        assert Browser(hub).login(account["username"], "wrong").error == ZH["bad_credentials"]
    third = Browser(hub).login(account["username"], "wrong")
    assert third.error == ZH["bad_credentials"]
    right_but_locked = Browser(hub).login(account["username"], account["password"])
    assert right_but_locked.status == 403
    assert right_but_locked.error == ZH["bad_credentials"]
    assert not right_but_locked.asks_new_password


def test_passwords_are_never_stored_or_logged_in_clear(hub: RunningHub) -> None:
    database = (hub.data_dir / "aiclass.sqlite").read_bytes()
    log = hub.log()
    for account in hub.accounts[:10]:
        assert account["password"].encode() not in database
        assert account["password"] not in log
    assert NEW_PASSWORD.encode() not in database
    assert NEW_PASSWORD not in log
    assert b"$argon2id$" in database


def test_student_lab_is_chinese_with_nbgrader_and_widgets(
    student_lab: tuple[Browser, str, dict], hub: RunningHub,
) -> None:
    browser, username, page_config = student_lab
    extensions = {ext["name"] for ext in page_config["federated_extensions"]}
    assert "@jupyter/nbgrader" in extensions
    assert "@jupyter-widgets/jupyterlab-manager" in extensions
    disabled = page_config.get("disabledExtensions", [])
    assert "@jupyter/nbgrader:formgrader" in disabled
    assert "@jupyter/nbgrader:assignment-list" not in disabled

    settings = browser.lab_api(
        username, "lab/api/settings/@jupyterlab/translation-extension:plugin"
    )
    assert settings.status_code == 200
    assert settings.json()["schema"]["properties"]["locale"]["default"] == "zh_CN"
    language_pack = browser.lab_api(username, "lab/api/translations/zh_CN")
    assert language_pack.status_code == 200
    assert language_pack.json()["data"], "the zh-CN language pack is not installed"

    assert browser.lab_api(username, "formgrader").status_code == 404
    # The assignment list answers for the student's class with its JSON, not merely "not 404"
    # (a 400 or a 500 is not 404 either).
    course = hub.own_account("student lab")["class"]
    assignments = browser.lab_api(username, f"assignments?course_id={course}")
    assert assignments.status_code == 200, assignments.text[:500]
    listing = assignments.json()
    assert listing["success"] is True and isinstance(listing["value"], list), listing


def test_the_lab_never_offers_news_or_update_checks(
    student_lab: tuple[Browser, str, dict],
) -> None:
    """Does a student's lab ask to fetch Jupyter's news from the internet, or look for updates?"""
    browser, username, page_config = student_lab
    assert page_config["news"] == {"disabled": True}
    notification = browser.lab_api(
        username, "lab/api/settings/@jupyterlab/apputils-extension:notification")
    assert notification.status_code == 200
    defaults = notification.json()["schema"]["properties"]
    assert defaults["fetchNews"]["default"] == "false"
    assert defaults["checkForUpdates"]["default"] is False
    news = browser.lab_api(username, "lab/api/news")
    assert news.status_code == 200 and news.json()["news"] == []
    update = browser.lab_api(username, "lab/api/update")
    assert update.status_code == 200 and update.json()["notification"] is None


def test_student_server_has_cjk_matplotlib_and_drops_root(
    student_lab: tuple[Browser, str, dict], hub: RunningHub,
) -> None:
    browser, username, _ = student_lab
    listing = browser.lab_api(username, "api/contents/")
    assert listing.status_code == 200
    home = hub.data_dir / "homes" / username
    assert home.is_dir()
    if os.geteuid() == 0:
        uids = server_uids(username, home)
        assert uids, f"no process of {username}'s server found"
        owner = home.stat().st_uid
        assert owner != 0, "a student's home must not be root's"
        # Real, effective, saved and filesystem uid: all the home's owner, none root.
        assert set(uids.values()) == {(owner,) * 4}, uids
    rc = (hub.data_dir / "jupyter" / "matplotlibrc").read_text(encoding="utf-8")
    assert "Noto Sans CJK SC" in rc


def server_uids(username: str, home: Path) -> dict[int, tuple[int, ...]]:
    """The ``Uid:`` line of ``/proc/<pid>/status`` for each process of ``username``'s server on
    this hub: those with the ``JUPYTERHUB_USER`` and ``HOME`` the spawner gave (other hubs'
    servers may have the same username), bubblewrap's own processes left out."""
    wanted = {f"JUPYTERHUB_USER={username}".encode(), f"HOME={home}".encode()}
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "comm").read_text().strip() == "bwrap":
                continue
            environ = set((proc / "environ").read_bytes().split(b"\0"))
            status = (proc / "status").read_text()
        except OSError:  # gone meanwhile
            continue
        if wanted <= environ:
            line = next(line for line in status.splitlines() if line.startswith("Uid:"))
            found[int(proc.name)] = tuple(int(uid) for uid in line.split()[1:])
    return found


def test_student_cannot_reach_another_students_server_or_the_admin_api(
    student_lab: tuple[Browser, str, dict], hub: RunningHub,
) -> None:
    browser, username, _ = student_lab
    other = hub.own_account("other student")
    other_browser = Browser(hub)
    other_browser.sign_in(other, NEW_PASSWORD)
    other_browser.open_lab(other["username"])

    foreign = browser.session.get(f"{hub.url}/user/{other['username']}/api/contents/",
                                  allow_redirects=True, timeout=60)
    assert foreign.status_code in (403, 404)
    assert b'"type": "directory"' not in foreign.content
    assert browser.hub_api("users").status_code == 403
    assert browser.hub_api(f"users/{other['username']}").status_code == 404
    assert browser.hub_api(f"users/{username}").status_code == 200


def test_teacher_gets_the_course_tools(hub: RunningHub) -> None:
    account = hub.own_account("teacher", role="teacher")
    browser = Browser(hub)
    browser.sign_in(account, NEW_PASSWORD)
    page_config = browser.open_lab(account["username"])
    assert "@jupyter/nbgrader:formgrader" not in page_config.get("disabledExtensions", [])
    # Followed to the end: a redirect to the login page would also have been a 302 on the way.
    name = account["username"]
    formgrader = browser.session.get(f"{hub.url}/user/{name}/formgrader", timeout=60)
    assert formgrader.status_code == 200, formgrader.url
    assert formgrader.url == f"{hub.url}/user/{name}/formgrader/manage_assignments"
    assert "Manage Assignments" in formgrader.text


def test_hub_pages_are_chinese_first(
    student_lab: tuple[Browser, str, dict], hub: RunningHub,
) -> None:
    browser, _username, _ = student_lab
    login_page = Browser(hub).session.get(f"{hub.url}/hub/login", timeout=30)
    assert ZH["username"] in login_page.content.decode("utf-8")
    assert ZH["sign_in"] in login_page.content.decode("utf-8")
    home = browser.session.get(f"{hub.url}/hub/home", timeout=30).content.decode("utf-8")
    assert ZH["open_lab"] in home and ZH["sign_out"] in home and ZH["nav_home"] in home
    assert "Start My Server" not in home and "Logout" not in home
