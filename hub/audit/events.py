"""The classroom's events about a class or one submission, put on the audit trail.

Pages and the REST API both grade, release and export; they describe what happened
here in one shape, filed under the class's school so that its school admin finds it.
The student is the subject of a submission's events; details hold ids, never names.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from grading.exchange.models import Submission
from hub.audit.scope import school_of_class
from hub.audit.trail import record


def class_event(session: Session, action: str, actor: str, source: str, class_id: str,
                detail: Mapping[str, object] | None = None) -> None:
    """Record ``action`` by ``actor`` on a whole class (a release, a gradebook, an export)."""
    record(session, actor=actor, action=action, school=school_of_class(session, class_id),
           class_id=class_id, source=source, detail=detail)


def submission_event(session: Session, action: str, actor: str, source: str,
                     submission: Submission, detail: Mapping[str, object] | None = None
                     ) -> None:
    """Record ``action`` by ``actor`` on one student's submission (viewed, graded, fed back)."""
    record(session, actor=actor, action=action, subject=submission.username,
           school=school_of_class(session, submission.class_id),
           class_id=submission.class_id, source=source,
           detail={"submission": submission.key, "assignment": submission.assignment_id,
                   **(detail or {})})
