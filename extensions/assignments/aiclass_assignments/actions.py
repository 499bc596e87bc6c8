"""Fetch, submit and fetch feedback: the exchange plugins nbgrader's panel runs, called directly.

They are ``aiclass_exchange``'s own classes (the same checks, idempotency keys and safe
unpacking as ``nbgrader fetch/submit``), given the server's folder explicitly instead of
nbgrader's ``chdir``, which would move every thread of the server at once. Imported at the
first action only (nbgrader's imports are slow; see :mod:`aiclass_assignments.service`).
"""

from __future__ import annotations

import re
from pathlib import Path

from aiclass_assignments.overview import receipt

CLASS_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
ASSIGNMENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
"""The service's own rules (``grading.exchange.store``): an id never names a path."""


class ActionRefused(Exception):
    """The exchange refused: the message is Chinese first, as the service words it."""


def check_ids(class_id: str, assignment_id: str) -> None:
    """Refuse ids that are not the service's, before they become a folder name."""
    if not CLASS_ID.match(class_id) or not ASSIGNMENT_ID.match(assignment_id) \
            or ".." in assignment_id:
        raise ActionRefused(f"班级或作业名不允许：{class_id!r} {assignment_id!r}（class or "
                            f"assignment name not allowed）")


def _run(kind: str, root: Path, class_id: str, assignment_id: str) -> object:
    check_ids(class_id, assignment_id)
    import aiclass_exchange
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.abc.exchange import ExchangeError

    plugin = {"fetch": aiclass_exchange.ExchangeFetchAssignment,
              "submit": aiclass_exchange.ExchangeSubmit,
              "feedback": aiclass_exchange.ExchangeFetchFeedback}[kind]
    coursedir = CourseDirectory(root=str(root), course_id=class_id, assignment_id=assignment_id)
    exchange = plugin(coursedir=coursedir, authenticator=None, assignment_dir=str(root))
    try:
        exchange.start()
    except ExchangeError as error:
        raise ActionRefused(str(error)) from error
    return exchange


def fetch(root: Path, class_id: str, assignment_id: str) -> None:
    """Download the current release into ``<root>/<assignment id>``."""
    _run("fetch", root, class_id, assignment_id)


def submit(root: Path, class_id: str, assignment_id: str) -> dict:
    """Upload ``<root>/<assignment id>``; what the panel answers: the submission's receipt,
    or for a competition the entry the service queued for scoring."""
    exchange = _run("submit", root, class_id, assignment_id)
    if exchange.entry is not None:
        return {"entry": exchange.entry}
    return {"receipt": receipt(exchange.submission)}


def fetch_feedback(root: Path, class_id: str, assignment_id: str) -> list[str]:
    """Download released feedback; the feedback pages, relative to ``root``, newest first."""
    _run("feedback", root, class_id, assignment_id)
    pages = (root / assignment_id / "feedback").glob("*/*.html")
    return [str(p.relative_to(root)) for p in sorted(pages, reverse=True)]
