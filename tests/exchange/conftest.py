"""A real hub with the classroom service, and demo people of one class signed in.

The class is the demo's ``demo-s1-g10c1``: its teacher and three of its students,
plus a student of another class and the teacher of another school's class, who
must be refused. Every other part a test gives a student ("victim", "thief") is an account of
the class of its own, by that name (:meth:`Classroom.student`), so that no test sees another's
submissions, rate limit or files, whatever order they run in.
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from grading.exchange.content_store import ContentStore
from grading.exchange.models import ExchangeBase
from grading.exchange.store import ExchangeStore
from tests.hub.hubprocess import (
    Browser,
    RunningHub,
    free_port,
    running_hub,
)

CLASS = "demo-s1-g10c1"
ASSIGNMENT = "knn-decision-tree"
LIBRARY = "junior/knn-decision-tree"
OTHER_CLASS = "demo-s1-g10c2"
NEW_PASSWORD = "qingchun-2026"
SERVICE = "/services/classroom/api/v1"


@dataclass
class Person:
    """A signed-in person: their browser session and an API token of their own."""

    username: str
    browser: Browser
    token: str

    def api(self, method: str, path: str, **kwargs: object) -> requests.Response:
        """Call the classroom service through the hub's proxy with this person's token."""
        headers = {"Authorization": f"token {self.token}", **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.browser.hub.url}{SERVICE}{path}",
                                headers=headers, timeout=120, **kwargs)

    def lab(self, method: str, path: str, **kwargs: object) -> requests.Response:
        """Call this person's own single-user server the way JupyterLab does."""
        url = f"{self.browser.hub.url}/user/{self.username}/{path}"
        headers = {"X-XSRFToken": self.browser.xsrf(f"/user/{self.username}/")}
        return self.browser.session.request(method, url, headers=headers, timeout=180,
                                            allow_redirects=False, **kwargs)


@dataclass
class Classroom:
    hub: RunningHub
    service_port: int
    teacher: Person
    students: list[Person]
    """The three students of the fetch-submit-feedback cycle, their labs open."""
    outsider: Person
    other_teacher: Person
    unclaimed: list[dict[str, str]] = field(default_factory=list)
    """Accounts of the class's students that no part has yet."""
    parts: dict[str, Person] = field(default_factory=dict)

    def student(self, part: str, open_lab: bool = False) -> Person:
        """The student of the class who plays ``part`` ("victim", "thief"...) and no other,
        signed in (with the lab opened, if ``open_lab``) on first use."""
        if part not in self.parts:
            assert self.unclaimed, f"no account of {CLASS} left for {part!r}: seed more"
            self.parts[part] = sign_in(self.hub, self.unclaimed.pop(0), open_lab)
        return self.parts[part]


def make_zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def read_zip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def sign_in(hub: RunningHub, account: dict[str, str], open_lab: bool) -> Person:
    browser = Browser(hub)
    browser.sign_in(account, NEW_PASSWORD)
    username = account["username"]
    if open_lab:
        browser.open_lab(username)
    response = browser.session.post(
        f"{hub.url}/hub/api/users/{username}/tokens", json={"note": "exchange tests"},
        headers={"X-XSRFToken": browser.xsrf()}, timeout=30)
    assert response.status_code == 201, response.text
    return Person(username, browser, response.json()["token"])


def wait_for_service(person: Person, timeout: float = 90) -> None:
    """Wait until the classroom service answers (the hub restarts it if it dies)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if person.api("GET", "/").status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"classroom service did not answer:\n{person.browser.hub.log()[-3000:]}")


@pytest.fixture(scope="session")
def classroom() -> Iterator[Classroom]:
    service_port = free_port()
    # 60 demo students: 20 in the class, enough for a part each.
    with running_hub("aiclass-exchange-test-",
                     f"[service]\nport = {service_port}\nmax_submission_mb = 1\n"
                     "max_file_mb = 1\nsubmissions_per_minute = 3\n[demo]\nstudents = 60\n"
                     ) as hub:
        in_class = [a for a in hub.accounts if a["class"] == CLASS and a["role"] == "student"]
        teachers = [a for a in hub.accounts if a["role"] == "teacher"]
        teacher = next(a for a in teachers if CLASS in a["class"].split(";"))
        other_teacher = next(a for a in teachers if CLASS not in a["class"].split(";"))
        outsider = next(a for a in hub.accounts if a["class"] == OTHER_CLASS)
        room = Classroom(
            hub, service_port,
            teacher=sign_in(hub, teacher, open_lab=False),
            students=[sign_in(hub, a, open_lab=True) for a in in_class[:3]],
            outsider=sign_in(hub, outsider, open_lab=False),
            other_teacher=sign_in(hub, other_teacher, open_lab=False),
            unclaimed=in_class[3:],
        )
        wait_for_service(room.teacher)
        yield room


@pytest.fixture(scope="session")
def released(classroom: Classroom) -> dict:
    """The library's knn-decision-tree released to the class, due an hour ago."""
    due = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    response = classroom.teacher.api(
        "POST", f"/assignments/{ASSIGNMENT}/releases",
        params={"class": CLASS, "library": LIBRARY, "due": due})
    assert response.status_code == 201, response.text
    (release,) = response.json()["releases"]
    return release


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ExchangeStore]:
    """An exchange store of its own, on a SQLite file and a blob folder in ``tmp_path``."""
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    ExchangeBase.metadata.create_all(engine)
    session = Session(engine)
    yield ExchangeStore(session, ContentStore(tmp_path / "blobs"))
    session.close()
