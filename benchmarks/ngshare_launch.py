"""Start ngshare (``python -m benchmarks.ngshare_launch [ngshare's options]``) on SQLAlchemy 2.

ngshare 0.6 (its last release) was written for SQLAlchemy 1.x, where an object linked to
one already in a session was put in that session through the back-reference
("cascade_backrefs"). SQLAlchemy 2, which this project has, no longer does: ngshare's new
assignment and new submission are never saved ("Assignment not found" right after a
release). Here each is added to its course's or assignment's session as it is made, the
one thing the old cascade did; nothing else of ngshare changes.
"""

from __future__ import annotations

import sys

from ngshare.database import database as models
from ngshare.ngshare import main
from sqlalchemy.orm import object_session

_assignment_init = models.Assignment.__init__
_submission_init = models.Submission.__init__


def _assignment_in_session(self: models.Assignment, name: str, course: models.Course) -> None:
    _assignment_init(self, name, course)
    object_session(course).add(self)


def _submission_in_session(self: models.Submission, student: models.User,
                           assignment: models.Assignment) -> None:
    _submission_init(self, student, assignment)
    object_session(assignment).add(self)


models.Assignment.__init__ = _assignment_in_session
models.Submission.__init__ = _submission_in_session

if __name__ == "__main__":
    main(sys.argv[1:])
