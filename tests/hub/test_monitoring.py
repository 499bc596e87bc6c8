"""Seeing that it is healthy: metrics, health answers and JSON log lines of a real hub.

One hub (``aiclass up``: JupyterHub, its proxy, the classroom service) with the service's
log as JSON lines; region admins are not superusers, so only their mirrored role can
give them the metrics scopes. The people sign in through the login form and use tokens
they asked the hub for, as a student at a terminal would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from hub.monitoring import SCRAPER_TOKEN_FILE
from tests.exchange.conftest import Person, make_zip, read_zip, sign_in
from tests.hub.hubprocess import (
    Browser,
    RunningHub,
    free_port,
    running_hub,
)

CLASS = "demo-s1-g10c1"
ASSIGNMENT = "knn-decision-tree"
LIBRARY = "junior/knn-decision-tree"
SERVICE_METRICS = "/services/classroom/metrics"


@dataclass
class Watched:
    hub: RunningHub
    service_port: int
    admin: Person
    teacher: Person
    student: Person
    scraper_token: str


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(body: str) -> Samples:
    """Every sample of a Prometheus text exposition, by name and sorted labels."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body) for s in family.samples}


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def get(hub: RunningHub, path: str, token: str | None = None) -> requests.Response:
    headers = {"Authorization": f"token {token}"} if token else {}
    return requests.get(f"{hub.url}{path}", headers=headers, timeout=30, allow_redirects=False)


def read_metrics(room: Watched, path: str = SERVICE_METRICS) -> Samples:
    response = get(room.hub, path, room.admin.token)
    assert response.status_code == 200, response.text
    return samples(response.text)


@pytest.fixture(scope="module")
def room() -> Iterator[Watched]:
    service_port = free_port()
    with running_hub("aiclass-monitoring-test-",
                     f"[service]\nport = {service_port}\nlog_format = \"json\"\n"
                     "[org]\nregion_admins_are_superusers = false\n") as hub:
        teacher = next(a for a in hub.accounts
                       if a["role"] == "teacher" and CLASS in a["class"].split(";"))
        student = next(a for a in hub.accounts if a["class"] == CLASS and a["role"] == "student")
        watched = Watched(hub, service_port,
                          admin=sign_in(hub, hub.account("region_admin"), open_lab=False),
                          teacher=sign_in(hub, teacher, open_lab=False),
                          student=sign_in(hub, student, open_lab=False),
                          scraper_token=(hub.data_dir / SCRAPER_TOKEN_FILE).read_text().strip())
        deadline = time.monotonic() + 120
        while get(hub, SERVICE_METRICS, watched.admin.token).status_code != 200:
            assert time.monotonic() < deadline, hub.log()[-3000:]
            time.sleep(1)  # the mirror gives the admin's role its scopes soon after start
        yield watched


def test_health_answers_without_a_token(room: Watched) -> None:
    """Do the probes' URLs answer 200 with no token: the hub's through the proxy (proxy and
    hub), the hub's own port, and the service's (its database answered)? Does the service's
    readiness count its one grading worker, ready once its process said so?"""
    deadline = time.monotonic() + 120  # the worker's niced imports: seconds, more when busy
    while (readiness := get(room.hub, "/services/classroom/ready")).status_code != 200:
        assert readiness.status_code == 503 and readiness.json()["status"] == "starting"
        assert time.monotonic() < deadline, readiness.text
        time.sleep(0.2)
    assert readiness.json() == {"status": "ready", "grading_workers_ready": 1,
                                "grading_workers": 1}
    through_proxy = get(room.hub, "/hub/health")
    assert through_proxy.status_code == 200
    service = get(room.hub, "/services/classroom/health")
    assert service.status_code == 200 and service.json() == {"status": "ok"}
    direct = requests.get(f"http://127.0.0.1:{room.service_port}/services/classroom/health",
                          timeout=30)
    assert direct.status_code == 200 and direct.json() == {"status": "ok"}


def test_metrics_need_the_scope(room: Watched) -> None:
    """Are both metrics endpoints refused without a token (401/403) and to a student's
    token (403), and read with a region admin's and the scraper service's tokens?"""
    assert get(room.hub, SERVICE_METRICS).status_code == 401
    assert get(room.hub, "/hub/metrics").status_code == 403
    refused = get(room.hub, SERVICE_METRICS, room.student.token)
    assert refused.status_code == 403 and "aiclass_" not in refused.text
    assert get(room.hub, "/hub/metrics", room.student.token).status_code == 403
    for token in (room.admin.token, room.scraper_token):
        service = get(room.hub, SERVICE_METRICS, token)
        assert service.status_code == 200
        assert "aiclass_grading_queue_jobs" in service.text
        hub_metrics = get(room.hub, "/hub/metrics", token)
        assert hub_metrics.status_code == 200
        assert "aiclass_sign_ins_total" in hub_metrics.text
        assert "jupyterhub_running_servers" in hub_metrics.text


def test_submit_and_grading_move_the_counters(room: Watched) -> None:
    """After one release, one fetch, one submit and its grading, did the request counters
    of exactly those handlers, the latency histogram and the jobs counter move by one, and
    is the queue empty again?"""
    due = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    released = room.teacher.api("POST", f"/assignments/{ASSIGNMENT}/releases",
                                params={"class": CLASS, "library": LIBRARY, "due": due,
                                        "grade_on": "submit"})
    assert released.status_code == 201, released.text
    before = read_metrics(room)
    fetched = room.student.api("GET", f"/classes/{CLASS}/assignments/{ASSIGNMENT}/release")
    assert fetched.status_code == 200
    submitted = room.student.api(
        "POST", f"/classes/{CLASS}/assignments/{ASSIGNMENT}/submissions",
        data=make_zip(read_zip(fetched.content)), headers={"Idempotency-Key": "metrics-1"})
    assert submitted.status_code == 201, submitted.text
    deadline = time.monotonic() + 300
    while True:
        progress = room.teacher.api("GET", f"/classes/{CLASS}/assignments/{ASSIGNMENT}/grading")
        counts = progress.json()
        if counts.get("done", 0) + counts.get("failed", 0) >= 1:
            break
        assert time.monotonic() < deadline, (counts, room.hub.log()[-3000:])
        time.sleep(2)
    after = read_metrics(room)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert counts == {"queued": 0, "running": 0, "done": 1, "failed": 0}, counts
    assert moved("aiclass_classroom_requests_total", handler="SubmissionsHandler",
                 method="POST", code="201") == 1
    assert moved("aiclass_classroom_requests_total", handler="FetchHandler",
                 method="GET", code="200") == 1
    assert moved("aiclass_classroom_request_duration_seconds_count",
                 handler="SubmissionsHandler", method="POST") == 1
    assert moved("aiclass_grading_jobs_total", outcome="done") == 1
    assert moved("aiclass_grading_jobs_total", outcome="failed") == 0
    assert moved("aiclass_sandbox_failures_total", backend="local") == 0
    assert value(after, "aiclass_grading_queue_jobs", state="queued") == 0
    assert value(after, "aiclass_grading_queue_jobs", state="running") == 0


def test_failed_sign_in_is_counted(room: Watched) -> None:
    """Does one wrong password add one failed sign-in on /hub/metrics, and no success?"""
    before = read_metrics(room, "/hub/metrics")
    result = Browser(room.hub).login(room.student.username, "not-the-password")
    assert result.status == 403
    after = read_metrics(room, "/hub/metrics")
    assert (value(after, "aiclass_sign_ins_total", outcome="failure")
            - value(before, "aiclass_sign_ins_total", outcome="failure")) == 1
    assert (value(after, "aiclass_sign_ins_total", outcome="success")
            == value(before, "aiclass_sign_ins_total", outcome="success"))
    assert value(after, "aiclass_sign_ins_total", outcome="success") >= 3


def test_service_log_is_json_lines(room: Watched) -> None:
    """With ``log_format = "json"``, is every line the service writes one JSON object with
    time, level, logger and message, its start and its requests among them, and are the
    probes' healthy answers left out of it (debug level)?"""
    assert get(room.hub, "/services/classroom/health").status_code == 200
    assert room.student.api("GET", "/").status_code == 200

    def json_records() -> list[dict]:
        records = []
        for line in room.hub.log().splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                assert set(record) >= {"time", "level", "logger", "message"}, record
                assert datetime.fromisoformat(record["time"].replace("Z", "+00:00"))
                records.append(record)
        return records

    def api_request_logged(records: list[dict]) -> bool:
        return any(r["logger"] == "tornado.access"
                   and "/services/classroom/api/v1/" in r["message"] for r in records)

    # the service writes its access line after the answer: on a loaded machine it can reach
    # the hub's log a moment after the client has the answer
    deadline = time.monotonic() + 30
    records = json_records()
    while not api_request_logged(records) and time.monotonic() < deadline:
        time.sleep(0.5)
        records = json_records()
    assert any(r["logger"] == "aiclass.classroom" and r["message"].startswith(
        "classroom service on") for r in records)
    assert api_request_logged(records)
    assert not any("/services/classroom/health" in r["message"] for r in records)
    assert not any(line.startswith("[classroom ") for line in room.hub.log().splitlines())


def test_student_cannot_read_metrics_any_way(room: Watched) -> None:
    """Attack: a student with their own token and their signed-in browser tries every path
    to the metrics (they would show other classes' activity): the token as header, Bearer and
    URL parameter, the hub's two metrics URLs, the service's own port, path variants, and
    asking the hub for a token that carries the metrics scopes. Fails if any one works."""
    token = room.student.token
    attempts = {
        "header": get(room.hub, SERVICE_METRICS, token),
        "bearer": requests.get(f"{room.hub.url}{SERVICE_METRICS}", timeout=30,
                               headers={"Authorization": f"Bearer {token}"}),
        "url token": requests.get(f"{room.hub.url}{SERVICE_METRICS}?token={token}", timeout=30),
        "hub metrics": get(room.hub, "/hub/metrics", token),
        "hub api metrics": get(room.hub, "/hub/api/metrics", token),
        "service port": requests.get(
            f"http://127.0.0.1:{room.service_port}{SERVICE_METRICS}", timeout=30,
            headers={"Authorization": f"token {token}"}),
        "trailing slash": get(room.hub, SERVICE_METRICS + "/", token),
        "double slash": get(room.hub, "/services/classroom//metrics", token),
        "dot segments": get(room.hub, "/services/classroom/api/v1/%2e%2e/%2e%2e/metrics", token),
        "cookie": room.student.browser.session.get(f"{room.hub.url}{SERVICE_METRICS}",
                                                   timeout=30, allow_redirects=False),
        "cookie hub": room.student.browser.session.get(f"{room.hub.url}/hub/metrics",
                                                       timeout=30, allow_redirects=False),
    }
    for how, response in attempts.items():
        assert response.status_code != 200, how
        assert "aiclass_" not in response.text and "jupyterhub_" not in response.text, how
    for scopes in (["custom:classroom-metrics:read"], ["read:metrics"]):
        asked = room.student.browser.session.post(
            f"{room.hub.url}/hub/api/users/{room.student.username}/tokens",
            json={"note": "metrics please", "scopes": scopes},
            headers={"X-XSRFToken": room.student.browser.xsrf()}, timeout=30)
        assert asked.status_code in (400, 403), (scopes, asked.status_code, asked.text)
