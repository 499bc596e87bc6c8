"""Docker mode's assignments: the exchange and the teacher's tools inside real containers.

A teacher of one demo class and one of its students sign in and start their servers. The
teacher releases the library's knn-decision-tree through the classroom service; the student's
container fetches it through nbgrader's Assignments panel endpoints and submits it with the
``nbgrader`` command line run inside the container (``docker exec``, as the student, with the
server's own environment); the teacher's container collects it with ``nbgrader collect``, and
the notebook arrives byte for byte. The teacher's server runs the formgrader and course tools,
the student's does not.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import requests
from docker_classroom import DockerHub, Student, demo_accounts, docker, sign_in

from hub.spawners.docker import LAB_PROFILE_LABEL

pytestmark = pytest.mark.docker

ASSIGNMENT = "knn-decision-tree"
LIBRARY = "junior/knn-decision-tree"
SERVICE = "services/classroom/api/v1"
TEACHER_ONLY_EXTENSIONS = (
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.course_list",
)
TEACHER_ONLY_PLUGINS = (
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:course-list",
    "@jupyter/nbgrader:create-assignment",
)


@dataclass
class Lesson:
    klass: str
    teacher: Student
    student: Student
    teacher_token: str


@pytest.fixture(scope="module")
def lesson(docker_hub: DockerHub) -> Lesson:
    accounts = demo_accounts(docker_hub.data_dir)
    student = next(row for row in accounts.values() if row["role"] == "student")
    klass = student["class"]
    teacher = next(
        row for row in accounts.values()
        if row["role"] == "teacher" and klass in row["class"].split(";")
    )
    lead = sign_in(docker_hub.url, teacher["username"], teacher["password"])
    pupil = sign_in(docker_hub.url, student["username"], student["password"])
    token = lead.api("POST", f"/users/{lead.name}/tokens", json={"note": "exchange test"})
    assert token.status_code == 201, token.text
    lead.start()
    pupil.start()
    assert lead.lab().status_code == 200
    assert pupil.lab().status_code == 200
    return Lesson(klass, lead, pupil, token.json()["token"])


def container_of(username: str) -> dict:
    ids = docker("ps", "-q", "--filter", f"label=org.aiclass.owner={username}").split()
    assert len(ids) == 1, f"expected one running container for {username}, found {ids}"
    return json.loads(docker("inspect", ids[0]))[0]


def in_container(person: Student, script: str, workdir: str = "/home/jovyan") -> str:
    """Run a shell script in the person's container as its user, with the server's env."""
    container = container_of(person.name)["Id"]
    return docker("exec", "-w", workdir, container, "sh", "-c", script)


def on_server(person: Student, method: str, path: str, **kwargs: object) -> requests.Response:
    """Call the person's own server the way JupyterLab does."""
    xsrf = person.session.cookies.get("_xsrf", path=f"/user/{person.name}/") or ""
    kwargs.setdefault("allow_redirects", False)
    return person.session.request(
        method,
        f"{person.hub}user/{person.name}/{path}",
        headers={"X-XSRFToken": xsrf},
        timeout=180,
        **kwargs,  # type: ignore[arg-type]
    )


def panel(person: Student, klass: str, action: str | None = None) -> list[dict]:
    """What the Assignments panel shows, after ``action`` (fetch, submit) if one is given.

    Redirects are followed, as the lab's ``fetch`` does: students' servers load nbgrader's
    extensions at the first call, which is answered with a 307 to the same URL.
    """
    if action is None:
        response = on_server(person, "GET", f"assignments?course_id={klass}",
                             allow_redirects=True)
    else:
        response = on_server(
            person, "POST", f"assignments/{action}",
            json={"course_id": klass, "assignment_id": ASSIGNMENT}, allow_redirects=True,
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"], body["value"]
    return [a for a in body["value"] if a["assignment_id"] == ASSIGNMENT]


def test_release_fetch_submit_and_collect_between_containers(lesson: Lesson) -> None:
    due = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    released = requests.post(
        f"{lesson.teacher.hub}{SERVICE}/assignments/{ASSIGNMENT}/releases",
        params={"class": lesson.klass, "library": LIBRARY, "due": due},
        headers={"Authorization": f"token {lesson.teacher_token}"},
        timeout=120,
    )
    assert released.status_code == 201, released.text

    student = lesson.student
    assert [a["status"] for a in panel(student, lesson.klass)] == ["released"]
    assert [a["status"] for a in panel(student, lesson.klass, "fetch")] == ["fetched"]
    notebook = f"{ASSIGNMENT}/classify.ipynb"
    fetched = in_container(student, f"cat {notebook}")
    assert "BEGIN SOLUTION" not in fetched and "BEGIN HIDDEN TESTS" not in fetched

    answer = f"学生的答案 / the student's answer {uuid.uuid4().hex}"
    add_cell = (
        "import json, sys\n"
        "path, text = sys.argv[1:]\n"
        "with open(path, encoding='utf-8') as f:\n    notebook = json.load(f)\n"
        "notebook['cells'].append({'cell_type': 'markdown', 'metadata': {}, 'source': text})\n"
        "with open(path, 'w', encoding='utf-8') as f:\n    json.dump(notebook, f)\n"
    )
    container = container_of(student.name)["Id"]
    docker("exec", "-w", "/home/jovyan", container, "python", "-c", add_cell, notebook, answer)
    submitted_sum = in_container(student, f"sha256sum {notebook}").split()[0]
    submit = in_container(
        student, f"nbgrader submit {ASSIGNMENT} --course {lesson.klass} 2>&1"
    )
    assert "error" not in submit.lower(), submit
    listed = in_container(student, f"nbgrader list --course {lesson.klass} --cached 2>&1")
    assert f"{lesson.klass} {ASSIGNMENT} submitted" in listed, listed
    assert "submitted" in [a["status"] for a in panel(student, lesson.klass)]

    collection = requests.get(
        f"{lesson.teacher.hub}{SERVICE}/classes/{lesson.klass}/assignments/{ASSIGNMENT}"
        "/collection",
        headers={"Authorization": f"token {lesson.teacher_token}"},
        timeout=120,
    ).json()
    rows = {row["student"]: row for row in collection["students"]}
    assert rows[student.name]["submission"] is not None
    assert rows[student.name]["submission"]["late"] is False

    in_container(
        lesson.teacher,
        "mkdir -p course && cd course && "
        f"echo \"c.CourseDirectory.course_id = '{lesson.klass}'\" > nbgrader_config.py && "
        f"nbgrader collect {ASSIGNMENT} --course {lesson.klass}",
    )
    collected = f"course/submitted/{student.name}/{ASSIGNMENT}/classify.ipynb"
    assert in_container(lesson.teacher, f"sha256sum {collected}").split()[0] == submitted_sum
    cells = json.loads(in_container(lesson.teacher, f"cat {collected}"))["cells"]
    assert cells[-1]["source"] == answer
    stamp = in_container(
        lesson.teacher, f"cat course/submitted/{student.name}/{ASSIGNMENT}/timestamp.txt"
    )
    assert stamp.endswith("UTC")


def enabled_extensions(person: Student) -> set[str]:
    """The server extensions enabled by the configuration the person's server reads."""
    listing = in_container(
        person,
        "python -c 'from jupyter_core.paths import jupyter_config_path\n"
        "from jupyter_server.extension.config import ExtensionConfigManager\n"
        "manager = ExtensionConfigManager(read_config_path=jupyter_config_path())\n"
        "print(*sorted(n for n, on in manager.get_jpserver_extensions().items() if on))'",
    )
    return set(listing.split())


def disabled_lab_plugins(person: Student) -> list[str]:
    """The ``disabledExtensions`` of the page config the person's JupyterLab is served."""
    page = person.lab()
    assert page.status_code == 200
    found = re.search(
        r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
        page.text,
        re.DOTALL,
    )
    assert found, "no page config in the lab page"
    return json.loads(found.group(1))["disabledExtensions"]


def test_teachers_get_the_course_tools_and_students_do_not(
    lesson: Lesson, docker_hub: DockerHub
) -> None:
    teacher, student = lesson.teacher, lesson.student
    teacher_container, student_container = container_of(teacher.name), container_of(student.name)
    assert teacher_container["Config"]["Labels"][LAB_PROFILE_LABEL] == "teacher"
    assert student_container["Config"]["Labels"][LAB_PROFILE_LABEL] == "student"
    assert teacher_container["Config"]["Image"] == student_container["Config"]["Image"]
    for info in (teacher_container, student_container):
        url = next(e for e in info["Config"]["Env"] if e.startswith("AICLASS_EXCHANGE_URL="))
        # through the proxy: the container's own 127.0.0.1 holds nothing of the hub's
        assert url.split("=", 1)[1].startswith(docker_hub.url)

    teacher_extensions = enabled_extensions(teacher)
    student_extensions = enabled_extensions(student)
    for name in TEACHER_ONLY_EXTENSIONS:
        assert name in teacher_extensions
        assert name not in student_extensions
    for extensions in (teacher_extensions, student_extensions):
        assert "nbgrader.server_extensions.assignment_list" in extensions
        assert "nbgrader.server_extensions.validate_assignment" in extensions

    formgrader = on_server(teacher, "GET", "formgrader", allow_redirects=True)
    assert formgrader.status_code == 200
    assert formgrader.url.endswith(f"/user/{teacher.name}/formgrader/manage_assignments")
    assert "Manage Assignments" in formgrader.text
    assert on_server(student, "GET", "formgrader", allow_redirects=True).status_code == 404

    teacher_disabled, student_disabled = disabled_lab_plugins(teacher), disabled_lab_plugins(
        student
    )
    for plugin in TEACHER_ONLY_PLUGINS:
        assert plugin not in teacher_disabled
        assert plugin in student_disabled
