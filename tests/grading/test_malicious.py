"""The malicious corpus: each notebook attacks the grader; none may profit or escape.

Every case is graded in one parallel run with an honest submission next to it, once in the
local (bubblewrap) sandbox and once in the Docker sandbox (the student image, as docker
mode grades). Each must stay in its sandbox, be stopped by the limits (its flag says which),
score no more than an honest empty attempt (zero here) on what it
attacked, carry the right flag, and leave the honest result and the host alone.

How long the run takes is not asserted here (a busy machine would make any bound either flaky or
looser than the module's own timeout): a case the limits failed to stop would hang the run past
``pytest.mark.timeout``, and ``python -m benchmarks grading`` measures grading speed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_server.services.contents.filemanager import FileContentsManager
from nbformat.v4 import new_code_cell

from grading import grade_folder
from grading.sandbox.cgroups import CgroupLimits
from grading.sandbox.docker import OWNER_LABEL, DockerSandbox, owner_token
from grading.sandbox.limits import SandboxLimits
from grading.sandbox.proc_stat import proc_stat
from hub.images import image_reference
from tests.grading.conftest import CORRECT, write_submission

pytestmark = pytest.mark.timeout(600)

STUDENT_IMAGE = image_reference("student")
LIMITS = SandboxLimits(memory_bytes=512 * 1024**2, pids=32, wall_seconds=60, cell_timeout=15,
                       output_bytes=256 * 1024, kill_output_bytes=4 * 1024**2)


def solution(code: str) -> dict[str, str]:
    """Put attack code where the student's ``squares`` solution goes."""
    return {"squares": code}


def grade_cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def edit_locked(name, nb):
    if name == "problem1":
        grade_cell(nb, "correct_squares").source = "pass"


def change_points(name, nb):
    if name == "problem1":
        meta = grade_cell(nb, "correct_squares").metadata.nbgrader
        meta.update(points=100, locked=False, solution=True)
        grade_cell(nb, "correct_squares").source = "pass"


def delete_cell(name, nb):
    if name == "problem1":
        nb.cells.remove(grade_cell(nb, "correct_squares"))


def duplicate_cell(name, nb):
    if name == "problem1":
        fake = nbformat.from_dict(grade_cell(nb, "correct_squares"))
        fake = nbformat.v4.new_code_cell("pass", metadata=dict(fake.metadata))
        nb.cells.insert(1, fake)


def set_metadata(**changes):
    """Rewrite nbgrader metadata of the first test cell, as a student's editor would."""
    def change(name, nb):
        if name == "problem1":
            grade_cell(nb, "correct_squares").metadata.nbgrader.update(changes)
    return change


def retype_test(name, nb):
    """Turn the locked test cell into markdown, metadata and all: nothing of it runs."""
    if name == "problem1":
        test = grade_cell(nb, "correct_squares")
        test.metadata.nbgrader["cell_type"] = "markdown"
        retyped = nbformat.v4.new_markdown_cell(test.source, metadata=test.metadata)
        retyped.id = test.id
        nb.cells[nb.cells.index(test)] = retyped


def change_id(name, nb):
    if name == "problem1":
        grade_cell(nb, "correct_squares").id = "c0ffee00"


def swap_ids(name, nb):
    if name == "problem1":
        answer, test = grade_cell(nb, "squares"), grade_cell(nb, "correct_squares")
        answer.id, test.id = test.id, answer.id


def lab_save(name, nb):
    """What JupyterLab adds on save for an honest student who ran, folded and tagged cells
    and added one of their own: metadata outside nbgrader's namespace, a new cell."""
    for cell in nb.cells:
        cell.metadata.update(collapsed=False, scrolled=True, tags=["mine"],
                             jupyter={"source_hidden": False, "outputs_hidden": False})
        if cell.cell_type == "code":
            cell.metadata["execution"] = {
                "iopub.execute_input": "2026-12-06T10:00:00.000Z",
                "shell.execute_reply": "2026-12-06T10:00:01.000Z"}
    nb.metadata["widgets"] = {}
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nb.cells.append(nbformat.v4.new_code_cell("print(squares(3))"))


def without_ids(name, nb):
    """An older editor's save: nbformat 4.4, no cell ids at all."""
    nb.nbformat_minor = 4
    for cell in nb.cells:
        cell.pop("id", None)


def hide_errors(code):
    def change(name, nb):
        if name == "problem1":
            nb.cells.insert(1, new_code_cell(code))
    return change


SHOWTRACEBACK = ("from IPython.core.interactiveshell import InteractiveShell\n"
                 "InteractiveShell.showtraceback = lambda *a, **k: None\n"
                 "get_ipython()._showtraceback = lambda *a, **k: None")
AST_STRIP = ("import ast\nclass NoAssert(ast.NodeTransformer):\n"
             "    def visit_Assert(self, node):\n        return ast.Pass()\n"
             "get_ipython().ast_transformers.append(NoAssert())")
CUSTOM_EXC = "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)"
BUILTINS = "import builtins\nbuiltins.AssertionError = type('X', (Exception,), {})\n" \
           "builtins.sum = lambda *a, **k: 385"
#: Wraps every later cell in try/except, sparing what looked like the old canary.
AST_WRAP = """\
import ast, re
class Swallow(ast.NodeTransformer):
    def visit_Module(self, node):
        src = ast.unparse(node)
        if re.match(r'assert \\d+ == \\d+, .[0-9a-f]{16}.$', src):
            return node
        handler = ast.ExceptHandler(type=None, name=None, body=[ast.Pass()])
        return ast.Module(body=[ast.Try(body=node.body, handlers=[handler], orelse=[],
                                        finalbody=[])], type_ignores=[])
get_ipython().ast_transformers.append(Swallow())
"""
#: The same wrapper reached through the traitlets store: the static scan sees nothing.
AST_WRAP_HIDDEN = AST_WRAP.replace(
    "get_ipython().ast_transformers.append(Swallow())",
    "get_ipython()._trait_values['ast_' + 'transformers'].append(Swallow())")
#: Tracebacks silenced through the instance dict: only the reply status tells.
SHOWTRACEBACK_HIDDEN = "vars(get_ipython())['_show' + 'traceback'] = lambda *a, **k: None"
INPUT_WRAP = """\
def wrap(lines):
    body = ''.join('    ' + line for line in lines) or '    pass\\n'
    return ['try:\\n', body, '\\nexcept BaseException:\\n', '    pass\\n']
get_ipython().input_transformers_post.append(wrap)
"""
EVENTS = """\
ip = get_ipython()
ip._showtraceback = lambda *a, **k: None
def forget(result):
    result.error_in_exec = None
ip.events.register('post_run_cell', forget)
"""
RUN_CODE = """\
from IPython.core.interactiveshell import InteractiveShell
async def run_code(self, code_obj, result=None, *, async_=False):
    try:
        exec(code_obj, self.user_global_ns, self.user_ns)
    except BaseException:
        pass
    return False
InteractiveShell.run_code = run_code
"""
SYS_MODULES = """\
import sys, types
fake = types.ModuleType('csv')
fake.DictReader = lambda f: [{'name': 'A', 'score': '80'}]
sys.modules['csv'] = fake
"""
ALWAYS_EQUAL = """\
class Anything(list):
    def __eq__(self, other):
        return True
    __ne__ = lambda self, other: False
def squares(n):
    return Anything()
"""
FRAMES = """\
import sys, gc
frame = sys._getframe()
while frame.f_back is not None:
    frame = frame.f_back
grader_state = [o for o in gc.get_objects() if isinstance(o, dict) and 'canary' in o]
"""
EXIT = """\
import os, signal
signal.signal(signal.SIGINT, signal.SIG_IGN)
def squares(n):
    os._exit(0)
"""


def attack_cases(port: int, source: Path, gradebook: Path, secret: Path,
                 outside: Path) -> dict[str, dict]:
    """The corpus, by attacker: ``write_submission`` arguments for each malicious student.

    ``port`` listens on the host's loopback, ``source``, ``gradebook`` and ``secret`` are
    files the grader or a neighbour has, ``outside`` a path no sandbox may create.
    """
    return {
        "infinite-loop": dict(edits=solution("while True:\n    pass")),
        "fork-bomb": dict(edits=solution(
            "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n"
            "        pass")),
        "huge-allocation": dict(edits=solution("x = b'x' * (20 * 1024 ** 3)")),
        "huge-output": dict(edits=solution(
            "for _ in range(1024):\n    print('x' * (1024 * 1024))")),
        "network": dict(edits=solution(
            f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=3)")),
        "read-source": dict(edits=solution(f"print(open({str(source)!r}).read())")),
        "read-gradebook": dict(edits=solution(
            f"print(open({str(gradebook)!r}, 'rb').read()[:100])")),
        "read-other-student": dict(edits=solution(f"print(open({str(secret)!r}).read())")),
        "write-outside": dict(edits=solution(
            f"open({str(outside)!r}, 'w').write('x')\nopen('/usr/evil', 'w').write('x')")),
        "edit-locked-cell": dict(change=edit_locked),
        "change-points": dict(change=change_points),
        "delete-grade-cell": dict(change=delete_cell),
        "duplicate-grade-cell": dict(change=duplicate_cell),
        "patch-showtraceback": dict(change=hide_errors(SHOWTRACEBACK)),
        "patch-assert": dict(change=hide_errors(AST_STRIP)),
        "patch-custom-exc": dict(change=hide_errors(CUSTOM_EXC)),
        "patch-builtins": dict(change=hide_errors(BUILTINS)),
        "kill-kernel": dict(edits=solution("import os\nos.kill(os.getpid(), 9)")),
        "ast-wrap": dict(change=hide_errors(AST_WRAP)),
        "ast-wrap-hidden": dict(change=hide_errors(AST_WRAP_HIDDEN)),
        "input-wrap": dict(change=hide_errors(INPUT_WRAP)),
        "showtraceback-hidden": dict(change=hide_errors(SHOWTRACEBACK_HIDDEN)),
        "event-callbacks": dict(change=hide_errors(EVENTS)),
        "patch-run-code": dict(change=hide_errors(RUN_CODE)),
        "sys-modules": dict(change=hide_errors(SYS_MODULES)),
        "always-equal": dict(edits=solution(ALWAYS_EQUAL)),
        "frames-and-gc": dict(change=hide_errors(FRAMES)),
        "exit-and-signal": dict(edits=solution(EXIT)),
        # Tampering with metadata or cell ids, on an otherwise correct notebook: without
        # the flag each would score full marks.
        "tamper-points": dict(edits=CORRECT, change=set_metadata(points=100)),
        "tamper-grade-flag": dict(edits=CORRECT, change=set_metadata(grade=False)),
        "tamper-grade-id": dict(edits=CORRECT, change=set_metadata(grade_id="mine")),
        "tamper-cell-type": dict(edits=CORRECT, change=retype_test),
        "tamper-unlock": dict(edits=CORRECT, change=set_metadata(locked=False)),
        "tamper-checksum": dict(edits=CORRECT, change=set_metadata(checksum="0" * 32)),
        "tamper-cell-id": dict(edits=CORRECT, change=change_id),
        "tamper-swap-ids": dict(edits=CORRECT, change=swap_ids),
        # Honest controls: what JupyterLab or an older editor rewrites on save.
        "honest-lab-save": dict(edits=CORRECT, change=lab_save),
        "honest-no-ids": dict(edits=CORRECT, change=without_ids),
    }


def save_through_jupyter_server(folder: Path) -> None:
    """Open and save each notebook through Jupyter Server's contents manager, the code
    JupyterLab's save goes through (it validates and may upgrade the notebook)."""
    contents = FileContentsManager(root_dir=str(folder))
    for path in folder.glob("*.ipynb"):
        model = contents.get(path.name)
        contents.save(model, path.name)


def docker_sandbox_ready() -> bool:
    """The engine answers and the student image is built (``.ci/run`` does both)."""
    return DockerSandbox(image=STUDENT_IMAGE).available()


@pytest.fixture(scope="module", params=["local", "docker"])
def attack(request, released_ps1):
    """Grade the corpus and an honest submission together; return results and host facts.

    The course lives outside ``/tmp``: inside a sandbox ``/tmp`` is the submission's own
    tmpfs, so a missing path there is not evidence of an escape attempt.
    """
    sandbox = request.param
    if sandbox == "docker" and not docker_sandbox_ready():
        pytest.skip("Docker engine or student image missing: `make images` starts the "
                    "engine and builds it")
    root = Path(tempfile.mkdtemp(prefix="aiclass-malice-", dir="/var/tmp"))
    processes_before = sandbox_processes()
    shutil.copytree(released_ps1, root, dirs_exist_ok=True)
    release, submitted = root / "release" / "ps1", root / "submitted"
    source = root / "source" / "ps1" / "problem1.ipynb"
    honest = write_submission(release, submitted, "honest", CORRECT)
    secret = honest / "notes.txt"
    secret.write_text("honest student's private notes")
    outside = root / "written-by-attacker"

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    connections = []

    def accept():
        while not stop.is_set():
            try:
                connections.append(listener.accept())
            except OSError:
                continue

    stop = threading.Event()
    threading.Thread(target=accept, daemon=True).start()

    cases = attack_cases(port, source, root / "gradebook.db", secret, outside)
    for student, case in cases.items():
        folder = write_submission(release, submitted, student, **case)
        if student == "honest-lab-save":
            save_through_jupyter_server(folder)
    groups_made: set[Path] = set()
    create = CgroupLimits.create

    def recording_create(limits_of, name, limits):
        procs = create(limits_of, name, limits)
        groups_made.update(path.parent for path in procs)
        return procs

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CgroupLimits, "create", recording_create)
        result = grade_folder(root / "source" / "ps1", submitted, jobs=2, sandbox=sandbox,
                              limits=LIMITS, image=STUDENT_IMAGE)
    stop.set()
    listener.close()
    yield {
        "students": {s["student"]: s for s in result["students"]},
        "connections": connections,
        "outside": outside,
        "secret": secret,
        "cases": len(cases),
        "groups_made": groups_made,
        "processes_before": processes_before,
        "sandbox": sandbox,
    }
    shutil.rmtree(root, ignore_errors=True)


def sandbox_processes() -> set[str]:
    """Sandboxed kernels on this host, less those another xdist worker of this run started
    (through a hub it runs, whose service grades too): other graders' may come and go while
    this one grades, hence also the before/after."""
    found = subprocess.run(["pgrep", "-u", "65534", "-f", "_receive_files"],
                           capture_output=True, text=True).stdout.split()
    return {pid for pid in found if not started_by_another_worker(int(pid))}


def started_by_another_worker(pid: int) -> bool:
    """Whether an ancestor of ``pid`` carries another xdist worker's ``PYTEST_XDIST_WORKER``
    (a worker's children inherit it; a sandbox's own environment is cleared). A process that
    escaped its sandbox is reparented to init and so still counts as this run's."""
    mine = f"PYTEST_XDIST_WORKER={os.environ.get('PYTEST_XDIST_WORKER', '')}".encode()
    while pid > 1:
        proc = Path(f"/proc/{pid}")
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
            pid = int(proc_stat(pid)[1])
        except (OSError, ValueError, IndexError):
            return False
        if any(entry.startswith(b"PYTEST_XDIST_WORKER=") and entry != mine
               for entry in environ):
            return True
    return False


def lasting(found, before: set) -> set:
    """What ``found()`` holds beyond ``before`` through ten seconds of polls: ours are removed
    once the kernel has reaped their last process, and another xdist worker's grading makes
    and removes its own meanwhile (a group is empty for an instant after it is made and
    before it is removed), so only what stays in every poll counts as left over."""
    left = found() - before
    for _ in range(100):
        if not left:
            break
        time.sleep(0.1)
        left &= found()
    return left


def problem1(attack, student):
    return attack["students"][student]["notebooks"][0]


def auto_score(notebook):
    return sum(c["score"] or 0 for c in notebook["cells"] if c["kind"] == "auto")


EXPECTED_FLAGS = {
    "infinite-loop": "timeout",
    "fork-bomb": "timeout",
    "huge-allocation": "memory_limit",
    # A kernel that prints faster than the grader reads holds the unread output in its own
    # ZeroMQ queue, so on a busy machine its cgroup's memory cap may stop it first.
    "huge-output": ("output_truncated", "timeout", "memory_limit"),
    "network": "sandbox_denied",
    "read-source": "sandbox_denied",
    "read-gradebook": "sandbox_denied",
    "read-other-student": "sandbox_denied",
    "write-outside": "sandbox_denied",
    "edit-locked-cell": "cell_edited",
    "change-points": "metadata_changed",
    "delete-grade-cell": "cell_missing",
    "duplicate-grade-cell": "duplicate_cell",
    "patch-showtraceback": "tampered",
    "patch-assert": "tampered",
    "patch-custom-exc": "tampered",
    "patch-builtins": "tampered",
    "kill-kernel": "kernel_died",
    "ast-wrap": "tampered",
    "ast-wrap-hidden": "tampered",
    "input-wrap": "tampered",
    "showtraceback-hidden": "tampered",
    "event-callbacks": "tampered",
    "patch-run-code": "tampered",
    "sys-modules": "tampered",
    "always-equal": "tampered",
    "frames-and-gc": "tampered",
    "exit-and-signal": "tampered",
    "tamper-points": "metadata_changed",
    "tamper-grade-flag": "metadata_changed",
    "tamper-grade-id": "metadata_changed",
    "tamper-cell-type": "metadata_changed",
    "tamper-unlock": "metadata_changed",
    "tamper-checksum": "metadata_changed",
    "tamper-cell-id": "tampered",
    "tamper-swap-ids": "tampered",
}
#: Cases that tamper with the notebook itself: flagged ``tampered`` besides their own flag.
TAMPERING = {"change-points", *(s for s in EXPECTED_FLAGS if s.startswith("tamper-"))}
#: Notebooks as honest students' editors save them: no flag, the honest score.
HONEST_SAVES = ("honest-lab-save", "honest-no-ids")


@pytest.mark.parametrize("student", sorted(EXPECTED_FLAGS))
def test_attack_is_flagged_and_earns_nothing(attack, student):
    notebook = problem1(attack, student)
    expected = EXPECTED_FLAGS[student]
    expected = expected if isinstance(expected, tuple) else (expected,)
    assert set(expected) & set(notebook["flags"]), notebook
    if student in TAMPERING:
        assert "tampered" in notebook["flags"], notebook
    assert auto_score(notebook) == 0.0, notebook
    assert notebook["max_score"] == 6.0  # points came from the source, not the submission


def test_honest_neighbour_is_untouched(attack):
    honest = attack["students"]["honest"]
    assert honest["flags"] == []
    assert honest["score"] == 6.0
    assert attack["secret"].read_text() == "honest student's private notes"


@pytest.mark.parametrize("student", HONEST_SAVES)
def test_honest_saves_keep_the_honest_score(attack, student):
    saved, honest = attack["students"][student], attack["students"]["honest"]
    assert [n["flags"] for n in saved["notebooks"]] == [[], []]
    assert saved["score"] == honest["score"] == 6.0


def test_host_is_untouched(attack):
    assert attack["connections"] == []
    assert not attack["outside"].exists()
    assert not Path("/usr/evil").exists()
    if os.geteuid() == 0:  # sandboxes run as the host's nobody; all of ours must be gone
        assert lasting(sandbox_processes, attack["processes_before"]) == set()
    made = attack["groups_made"]
    if attack["sandbox"] == "local" and os.geteuid() == 0 and CgroupLimits().usable:
        assert made, "the local sandboxes made no control groups: the check below saw nothing"
    assert lasting(lambda: {group for group in made if group.exists()}, set()) == set()
    if attack["sandbox"] == "docker":
        containers = subprocess.run(
            ["docker", "ps", "-aq", "--filter", f"label={OWNER_LABEL}={owner_token()}"],
            capture_output=True, text=True, check=True).stdout.split()
        assert containers == []

