"""Local mode: from inside a student's own server, nothing of anyone else is within reach.

A real hub (started as root, as CI runs it) in a data dir under a mode-700 directory; a
demo teacher and a demo student sign in and open their labs. The student then runs code in
a kernel of their own server, as they would in a notebook cell, and tries what a curious
student with a shell tries: the teacher server's token in ``/proc/<pid>/environ``, the
teacher's home with hidden tests, the hub's databases and secrets, a grading sandbox's
kernel key. Each attack prints what it got; each test fails if the attack got anything.
"""

from __future__ import annotations

import json
import os
import stat
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from jupyter_client import BlockingKernelClient

from grading.sandbox.base import NOBODY
from grading.sandbox.bubblewrap import BubblewrapSandbox
from hub.org.mirror import TOKEN_FILE_NAME
from tests.hub.hubprocess import Browser, RunningHub, running_hub
from tests.security.lab_kernel import run_code

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0,
                       reason="servers drop to their own uid only under a root hub: "
                       "run the tests as root (`sudo make test`), as CI does"),
]

NEW_PASSWORD = "qingchun-2026"
HIDDEN_TEST = "BEGIN HIDDEN TESTS: assert knn(3) == 0.97"
SECRET_FILES = ("jupyterhub.sqlite", "jupyterhub_cookie_secret", "aiclass.toml",
                "aiclass.sqlite", TOKEN_FILE_NAME, "demo-accounts.csv")


@dataclass
class Person:
    username: str
    token: str


@dataclass
class Room:
    hub: RunningHub
    base: Path
    teacher: Person
    student: Person

    def as_student(self, code: str) -> dict:
        """Run ``code`` in the student's kernel; it prints one JSON object last."""
        printed = run_code(self.hub.url, self.student.username, self.student.token,
                           textwrap.dedent(code))
        return json.loads(printed.strip().splitlines()[-1])


def signed_in_with_lab(hub: RunningHub, account: dict[str, str]) -> Person:
    browser = Browser(hub)
    browser.sign_in(account, NEW_PASSWORD)
    browser.open_lab(account["username"])
    response = browser.session.post(
        f"{hub.url}/hub/api/users/{account['username']}/tokens", json={"note": "box tests"},
        headers={"X-XSRFToken": browser.xsrf()}, timeout=30)
    assert response.status_code == 201, response.text
    return Person(account["username"], response.json()["token"])


@pytest.fixture(scope="module")
def room() -> Iterator[Room]:
    with running_hub("aiclass-boxes-", world_traversable=False) as hub:  # mode 700, like /root
        yield Room(hub, hub.data_dir.parent, signed_in_with_lab(hub, hub.account("teacher", 0)),
                   signed_in_with_lab(hub, hub.account("student", 0)))


def server_process(username: str, data_dir: Path) -> tuple[int, int, dict[str, str]]:
    """The host's view of ``username``'s server of the hub on ``data_dir``: its pid, uid and
    environment (another xdist worker's hub may have a server for the same demo username)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            environ = (entry / "environ").read_bytes().split(b"\0")
            uid = entry.stat().st_uid
        except OSError:
            continue
        env = dict(item.decode().split("=", 1) for item in environ if b"=" in item)
        if (env.get("JUPYTERHUB_USER") == username and cmdline[0].endswith(b"python3")
                and env.get("JUPYTER_CONFIG_PATH", "").startswith(str(data_dir))
                and any(arg.endswith(b"jupyterhub-singleuser") for arg in cmdline)):
            return int(entry.name), uid, env
    raise LookupError(f"no server of {username} on this host")


def test_the_box_works_under_a_mode_700_directory(room: Room) -> None:
    """Does a server start and run code when the data dir's parent admits nobody but root?"""
    assert stat.S_IMODE(room.base.stat().st_mode) == 0o700
    answer = room.as_student("""
        import json, os
        print(json.dumps({"uid": os.getuid(), "home": os.getcwd(), "sum": 6 * 7}))
    """)
    assert answer["sum"] == 42
    assert answer["home"] == str(room.hub.data_dir / "homes" / room.student.username)
    assert answer["uid"] not in (0, NOBODY)


def test_everyone_has_a_uid_of_their_own(room: Room) -> None:
    """Do the teacher's and the student's servers and the grading sandboxes differ in uid?"""
    _, teacher_uid, _ = server_process(room.teacher.username, room.hub.data_dir)
    _, student_uid, _ = server_process(room.student.username, room.hub.data_dir)
    assert len({teacher_uid, student_uid, NOBODY, 0}) == 4
    for person, uid in ((room.teacher, teacher_uid), (room.student, student_uid)):
        home = (room.hub.data_dir / "homes" / person.username).stat()
        assert home.st_uid == uid and stat.S_IMODE(home.st_mode) == 0o700


def test_student_cannot_read_the_teachers_token(room: Room) -> None:
    """Can a student find the teacher server's API token in any /proc/<pid>/environ?"""
    pid, _, env = server_process(room.teacher.username, room.hub.data_dir)
    token = env["JUPYTERHUB_API_TOKEN"]
    answer = room.as_student(f"""
        import json, os
        seen, tried = [], 0
        for name in set(os.listdir("/proc")) | {{"{pid}"}}:
            if not name.isdigit():
                continue
            tried += 1
            try:
                with open(f"/proc/{{name}}/environ", "rb") as handle:
                    seen.append(handle.read().decode(errors="replace"))
            except OSError:
                pass
        print(json.dumps({{"tried": tried, "environ": seen}}))
    """)
    assert answer["tried"] >= 2
    assert not any(token in environ for environ in answer["environ"])
    assert not any(f"JUPYTERHUB_USER={room.teacher.username}" in environ
                   for environ in answer["environ"])


def test_student_cannot_read_or_write_the_teachers_home(room: Room) -> None:
    """Can a student read the hidden tests in the teacher's source/, or plant a file there?"""
    teacher_home = room.hub.data_dir / "homes" / room.teacher.username
    source = teacher_home / "source" / "ps1"
    source.mkdir(parents=True, mode=0o755)
    (source / "classify.ipynb").write_text(HIDDEN_TEST, encoding="utf-8")
    (source / "classify.ipynb").chmod(0o644)
    answer = room.as_student(f"""
        import json, os
        results = {{}}
        def attempt(name, action):
            try:
                results[name] = repr(action())
            except OSError as error:
                results[name] = "refused " + type(error).__name__
        home = {str(teacher_home)!r}
        attempt("list", lambda: os.listdir(home))
        attempt("read", lambda: open(home + "/source/ps1/classify.ipynb").read())
        attempt("write", lambda: open(home + "/source/ps1/planted.py", "w").write("x"))
        attempt("homes", lambda: os.listdir(os.path.dirname(home)))
        print(json.dumps(results))
    """)
    assert answer["list"].startswith("refused"), answer
    assert answer["read"].startswith("refused"), answer
    assert answer["write"].startswith("refused"), answer
    assert room.teacher.username not in answer["homes"], answer
    assert not (source / "planted.py").exists()


def test_student_cannot_reach_the_data_dir(room: Room) -> None:
    """Can a student list the data dir or read its databases, secrets and tokens?"""
    secrets = [room.hub.data_dir / name for name in SECRET_FILES]
    assert all(path.is_file() for path in secrets)
    answer = room.as_student(f"""
        import json, os
        results = {{}}
        for path in {[str(p) for p in secrets]!r} + ["/proc/1/root" + {str(secrets[0])!r}]:
            try:
                results[path] = repr(open(path, "rb").read(64))
            except OSError as error:
                results[path] = "refused " + type(error).__name__
        try:
            listing = sorted(os.listdir({str(room.hub.data_dir)!r}))
        except OSError as error:
            listing = ["refused " + type(error).__name__]
        print(json.dumps({{"files": results, "listing": listing}}))
    """)
    assert all(result.startswith("refused") for result in answer["files"].values()), answer
    assert not set(SECRET_FILES) & set(answer["listing"]), answer


def test_student_cannot_reach_a_grading_sandbox(room: Room) -> None:
    """Can a student find a grading kernel's connection file (its key) under /tmp?"""
    sandbox = BubblewrapSandbox().start()
    try:
        key = sandbox.wait_booted()["key"]
        assert key
        answer = room.as_student(f"""
            import glob, json
            found = {{}}
            for path in glob.glob("/tmp/aiclass-sbx-*/**", recursive=True) + [
                    {str(sandbox.conn_dir / "kernel.json")!r}]:
                try:
                    found[path] = open(path).read()
                except OSError as error:
                    found[path] = "refused " + type(error).__name__
            print(json.dumps(found))
        """)
    finally:
        sandbox.close()
    assert not any(key in content for content in answer.values()), answer


def test_secrets_and_databases_are_owner_only(room: Room) -> None:
    """Are the data dir and every file in it holding secrets or personal data 0700/0600?"""
    data = room.hub.data_dir
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for path in [data / name for name in SECRET_FILES] + list(data.glob("*.sqlite-*")):
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


def test_a_grading_sandbox_reaches_what_it_shows_under_a_mode_700_directory(
        tmp_path: Path) -> None:
    """Does a sandbox run, as nobody, code reading a folder whose parent only root may enter?

    The same as a checkout in ``/root``: bubblewrap binds as root, the code drops after.
    """
    closed = tmp_path / "closed"
    shared = closed / "dataset"
    shared.mkdir(parents=True)
    closed.chmod(0o700)
    shared.chmod(0o755)
    (shared / "rows.csv").write_text("x,y\n1,2\n", encoding="utf-8")
    (shared / "rows.csv").chmod(0o644)
    sandbox = BubblewrapSandbox(extra_ro_paths=[str(shared)]).start()
    try:
        client = BlockingKernelClient()
        client.load_connection_info(sandbox.wait_booted())
        sandbox.activate({})
        client.start_channels()
        printed: list[str] = []
        client.execute_interactive(
            f"import os; print(os.getuid(), open({str(shared / 'rows.csv')!r}).read())",
            timeout=60, output_hook=lambda m: printed.append(m["content"].get("text", "")))
        client.stop_channels()
    finally:
        sandbox.close()
    assert "".join(printed).split() == [str(NOBODY), "x,y", "1,2"]
