"""Feedback a student may read: their submitted notebook as HTML, scores and comments.

The page shows the notebook *as the student handed it in*, with the outputs it had
then, never the grading run's: during grading, student code ran next to the hidden
tests and could capture their source (a ``pre_run_cell`` hook) and write it, encoded,
into any output (``update_display``), so nothing that run produced may reach the
student, in any encoding, except the scores and, for a failed test, its error type
(a builtin exception's name) and message (only when the test's visible source
already holds that text). Defensively, hidden-test blocks are still cut out of the
submitted source and submitted outputs that repeat a hidden line withheld. Student-made
HTML goes through ``student_html`` (no script, no URL but inline images); JavaScript
outputs are never rendered. The page is then released through the exchange's feedback
mechanism, readable only by its student and teachers.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import html
import re

import mistune
import nbformat
from nbformat.notebooknode import NotebookNode
from sqlalchemy import select
from sqlalchemy.orm import Session

from grading.autograde.results import FLAGS
from grading.exchange.models import Feedback, Submission
from grading.exchange.store import ExchangeStore
from grading.gradebook.models import CellGrade, NotebookGrade
from grading.gradebook.student_html import clean_student_html

BEGIN_HIDDEN = "BEGIN HIDDEN TESTS"
END_HIDDEN = "END HIDDEN TESTS"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
IMAGE_TYPES = ("image/png", "image/jpeg")
#: Hidden lines shorter than this are too common to withhold outputs for (``pass``, ``)``).
MIN_HIDDEN_LINE = 8
WITHHELD = "[输出含有隐藏测试内容，已隐藏 / output withheld: it repeats a hidden test]"

STYLE = """
body{font-family:"Noto Sans CJK SC","Noto Sans",sans-serif;max-width:60rem;margin:2rem auto;
padding:0 1rem;color:#1f2328}
pre{background:#f6f8fa;padding:.6rem;overflow-x:auto;white-space:pre-wrap}
.cell{border-left:3px solid #d0d7de;margin:1rem 0;padding-left:.8rem}
.grade{background:#eef6ff;border:1px solid #9cc3ff;padding:.4rem .6rem;margin:.4rem 0}
.flags{background:#fff4e5;border:1px solid #ffb74d;padding:.4rem .6rem}
.error{color:#b3261e}
"""


def strip_hidden_tests(source: str) -> tuple[str, list[str]]:
    """``source`` without its hidden-test blocks, and the lines removed."""
    kept: list[str] = []
    hidden: list[str] = []
    inside = False
    for line in source.split("\n"):
        if BEGIN_HIDDEN in line:
            inside = True
        elif END_HIDDEN in line:
            inside = False
        elif inside:
            hidden.append(line)
        else:
            kept.append(line)
    return "\n".join(kept), hidden


def _text(value: object) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _output_html(output: NotebookNode) -> str:
    kind = output.get("output_type")
    if kind == "stream":
        return f"<pre>{html.escape(_text(output.get('text', '')))}</pre>"
    if kind == "error":
        trace = ANSI.sub("", "\n".join(output.get("traceback", [])))
        return f'<pre class="error">{html.escape(trace)}</pre>'
    data = output.get("data", {})
    for mime in IMAGE_TYPES:
        if mime in data:
            payload = _text(data[mime]).replace("\n", "")
            try:
                base64.b64decode(payload, validate=True)
            except (binascii.Error, ValueError):
                return ""
            return f'<img alt="" src="data:{mime};base64,{payload}">'
    if "text/html" in data:
        return clean_student_html(_text(data["text/html"]))
    if "text/markdown" in data:
        return clean_student_html(mistune.html(_text(data["text/markdown"])))
    if "text/plain" in data:
        return f"<pre>{html.escape(_text(data['text/plain']))}</pre>"
    return ""


def _repeats_hidden(output: NotebookNode, hidden: list[str]) -> bool:
    text = "\n".join([_text(output.get("text", "")), output.get("evalue", ""),
                      ANSI.sub("", "\n".join(output.get("traceback", [])))]
                     + [_text(value) for value in output.get("data", {}).values()])
    return any(line in text for line in hidden)


def _grade_html(grade: CellGrade) -> str:
    score = "—" if grade.score is None else f"{grade.score:g}"
    comment = (f"<div>评语 / comment: {html.escape(grade.comment)}</div>"
               if grade.comment else "")
    return (f'<div class="grade">得分 / score: {score} / {grade.max_score:g}'
            f"{comment}</div>")


def failure_summary(graded_cell: NotebookNode) -> str | None:
    """What a student may learn of why a test cell failed: ``"AssertionError: msg"``.

    The name is shown only for a builtin exception (student code names its own classes
    at will), the message only when the test's visible source holds it word for word
    (an ``assert``'s message written by the teacher); anything else could carry what
    student code captured while grading.
    """
    visible, _hidden = strip_hidden_tests(_text(graded_cell.get("source", "")))
    for output in graded_cell.get("outputs", []):
        if output.get("output_type") != "error":
            continue
        ename = str(output.get("ename", ""))
        known = isinstance(getattr(builtins, ename, None), type) and issubclass(
            getattr(builtins, ename), BaseException)
        summary = ename if known else "Exception"
        evalue = str(output.get("evalue", "")).strip()
        if evalue and evalue in visible:
            summary += f": {evalue}"
        return summary
    return None


def _failure_html(graded_cell: NotebookNode | None, grade: CellGrade) -> str:
    if graded_cell is None or grade.score is None or grade.score >= grade.max_score:
        return ""
    summary = failure_summary(graded_cell)
    if summary is None:
        return ""
    return f'<pre class="error">{html.escape(summary)}</pre>'


def feedback_html(submitted: NotebookNode, graded: NotebookNode, grades: list[CellGrade],
                  flags: list[str], title: str) -> str:
    """The feedback page for one notebook: the submitted cells and outputs, the scores.

    ``graded`` (the grading run's notebook) is read for the hidden lines to withhold and
    for :func:`failure_summary`, nothing else.
    """
    by_id = {g.grade_id: g for g in grades}
    graded_by_id = {c.metadata["nbgrader"]["grade_id"]: c for c in graded.cells
                    if "grade_id" in c.get("metadata", {}).get("nbgrader", {})}
    every_hidden = [line.strip() for cell in graded.cells
                    for line in strip_hidden_tests(_text(cell.get("source", "")))[1]
                    if len(line.strip()) >= MIN_HIDDEN_LINE]
    cells = []
    stripped = []
    for cell in submitted.cells:
        source, hidden = strip_hidden_tests(_text(cell.get("source", "")))
        stripped.append((cell, source, bool(hidden)))
    for cell, source, had_hidden in stripped:
        parts = []
        if cell.cell_type == "markdown":
            parts.append(clean_student_html(mistune.html(source)))
        elif cell.cell_type == "code":
            parts.append(f"<pre><code>{html.escape(source)}</code></pre>")
            if not had_hidden:
                for output in cell.get("outputs", []):
                    if _repeats_hidden(output, every_hidden):
                        parts.append(f"<pre>{html.escape(WITHHELD)}</pre>")
                    else:
                        parts.append(_output_html(output))
        nbgrader_meta = cell.get("metadata", {}).get("nbgrader", {})
        grade_id = nbgrader_meta.get("grade_id") if isinstance(nbgrader_meta, dict) else None
        if grade_id in by_id:
            parts.append(_grade_html(by_id[grade_id]))
            parts.append(_failure_html(graded_by_id.get(grade_id), by_id[grade_id]))
        cells.append(f'<div class="cell">{"".join(parts)}</div>')
    counted = [g.score for g in grades if g.score is not None]
    total = f"{sum(counted):g} / {sum(g.max_score for g in grades):g}"
    flag_html = "".join(f"<li>{html.escape(FLAGS.get(f, f))}</li>" for f in flags)
    notice = f'<ul class="flags">{flag_html}</ul>' if flags else ""
    return ("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "img-src data:; style-src 'unsafe-inline'\">"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><p>总分 / total: {total}</p>{notice}"
            f"{''.join(cells)}</body></html>\n")


def feedback_files(session: Session, store: ExchangeStore, submission: Submission
                   ) -> dict[str, bytes]:
    """``<notebook>.html`` for every graded notebook of the submission."""
    files = {}
    notebooks = session.scalars(select(NotebookGrade).where(
        NotebookGrade.submission_id == submission.id).order_by(NotebookGrade.notebook))
    for notebook in notebooks:
        if notebook.executed_sha256 is None:
            executed = nbformat.v4.new_notebook()
        else:
            executed = nbformat.reads(store.content.read(notebook.executed_sha256).decode(),
                                      as_version=4)
        submitted = _submitted_notebook(store, submission, f"{notebook.notebook}.ipynb")
        grades = list(session.scalars(select(CellGrade).where(
            CellGrade.submission_id == submission.id, CellGrade.notebook == notebook.notebook)
            .order_by(CellGrade.position)))
        title = f"{submission.assignment_id} · {notebook.notebook}"
        files[f"{notebook.notebook}.html"] = feedback_html(submitted, executed, grades,
                                                           notebook.flags, title).encode()
    return files


def _submitted_notebook(store: ExchangeStore, submission: Submission,
                        path: str) -> NotebookNode:
    """The notebook as handed in; an empty one where it is missing or unreadable."""
    entries = [e for e in submission.manifest if e["path"] == path]
    try:
        return nbformat.reads(store.files_of(entries)[path].decode(), as_version=4)
    except (KeyError, ValueError, UnicodeDecodeError, AttributeError):
        return nbformat.v4.new_notebook()


def release_feedback(session: Session, store: ExchangeStore, submission: Submission,
                     released_by: str) -> Feedback:
    """Render the submission's feedback and hand it to its student through the exchange."""
    files = feedback_files(session, store, submission)
    if not files:
        raise ValueError(f"提交 {submission.key} 尚未评分 / submission {submission.key} "
                         "has not been graded yet")
    return store.release_feedback(submission, files, released_by)
