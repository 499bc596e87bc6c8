"""Hidden tests never reach the student, whatever student code did while they ran.

The attack: the student's answer cell registers a ``pre_run_cell`` hook that records the
source of every cell the grader runs after it (the hidden tests included) and writes it,
base64 and hex encoded, into the output of an earlier cell through ``update_display``;
a later answer raises an error whose message is the same capture, so that a failed
visible test would carry it too. Graded for real in the local sandbox, then released.
"""

from __future__ import annotations

import base64
import re

import nbformat
from sqlalchemy import select

from grading.exchange.models import Submission
from grading.gradebook.feedback import failure_summary, release_feedback
from grading.gradebook.models import NotebookGrade
from grading.gradebook.queue import enqueue
from grading.gradebook.worker import GradingWorker
from tests.gradebook.conftest import CORRECT, TEACHER, Service

#: Lines of ps1's hidden tests (benchmarks/fixtures/ps1).
HIDDEN = ('raise AssertionError("did not raise for -4")',
          "passed -= 0 if sum_of_squares(3) == 14 else 1")

CAPTURE = """\
import base64
from IPython.display import display
captured = []
board = display({'text/plain': 'notes'}, raw=True, display_id=True)
def record(info):
    captured.append(info.raw_cell)
    text = '\\n'.join(captured).encode()
    board.update({'text/plain': base64.b64encode(text).decode() + ' ' + text.hex()}, raw=True)
get_ipython().events.register('pre_run_cell', record)
""" + CORRECT["squares"]
CARRY = """\
def sum_of_squares(n):
    raise AssertionError(base64.b64encode('\\n'.join(captured).encode()).decode())
"""


def encodings(text: str) -> list[str]:
    return [text, base64.b64encode(text.encode()).decode(), text.encode().hex(), text[::-1]]


def test_capture_and_smuggle_shows_nothing_of_the_hidden_tests(service: Service) -> None:
    service.release()
    submission_id = service.submit("s-smuggler", {**CORRECT, "squares": CAPTURE,
                                                  "sum_of_squares": CARRY})
    with service.store() as (session, _store):
        enqueue(session, session.get_one(Submission, submission_id), "submit", "s-smuggler")
    worker = GradingWorker(service.session, service.content, "w-leak", sandbox="local")
    try:
        assert worker.run_once() is not None
    finally:
        worker.close()
    with service.store() as (session, store):
        submission = session.get_one(Submission, submission_id)
        row = session.scalars(select(NotebookGrade).where(
            NotebookGrade.submission_id == submission_id,
            NotebookGrade.notebook == "problem1")).one()
        graded = nbformat.reads(store.content.read(row.executed_sha256).decode(), as_version=4)
        release_feedback(session, store, submission, TEACHER)
    with service.store() as (session, store):
        feedback = store.feedback_of(session.get_one(Submission, submission_id))
        page = store.files_of(feedback.manifest)["problem1.html"].decode()

    # The attack worked inside the sandbox: the grading run's outputs hold the capture.
    smuggled = [str(o.get("data", {}).get("text/plain", "")) for c in graded.cells
                for o in c.get("outputs", [])] + [
        str(o.get("evalue", "")) for c in graded.cells for o in c.get("outputs", [])]
    tokens = [t for text in smuggled for t in text.split() if len(t) > 40]
    decoded = " ".join(base64.b64decode(t + "==").decode(errors="replace") for t in tokens
                       if re.fullmatch(r"[A-Za-z0-9+/=]+", t))
    assert all(line in decoded for line in HIDDEN), "the capture did not run"
    assert "tampered" in row.flags

    # None of it reaches the student.
    for token in tokens:
        assert token not in page
    for line in HIDDEN:
        for encoded in encodings(line):
            assert encoded not in page
    assert "BEGIN HIDDEN" not in page
    # The student still sees their own work and the scores.
    assert "def squares(n):" in page and "得分 / score:" in page


def test_a_failed_test_shows_only_a_builtin_name_and_the_teachers_own_message() -> None:
    """Could an exception named or worded by student code carry anything out?"""
    source = 'assert f(1) == 2, "f(1) should be 2"\n### BEGIN HIDDEN TESTS\n' \
             'assert f(3) == 4, "hidden: f(3)"\n### END HIDDEN TESTS'

    def failed(ename: str, evalue: str) -> str | None:
        cell = nbformat.v4.new_code_cell(source)
        cell.outputs = [nbformat.v4.new_output("error", ename=ename, evalue=evalue,
                                               traceback=[])]
        return failure_summary(cell)

    assert failed("AssertionError", "f(1) should be 2") == "AssertionError: f(1) should be 2"
    assert failed("AssertionError", "hidden: f(3)") == "AssertionError"
    assert failed("ZGlkIG5vdCByYWlzZQ", "") == "Exception"
    assert failed("ValueError", "ZGlkIG5vdCByYWlzZSBmb3IgLTQ=") == "ValueError"
