"""Sandboxed, parallel autograding and the central gradebook (the ground floor).

Never imports :mod:`hub`: everything here takes a database session, class and
student ids, and file paths as arguments, so ``aiclass grade`` and the tests
run without a hub.
"""

from grading.autograde.folder import grade_folder

__all__ = ["grade_folder"]
