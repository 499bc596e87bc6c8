"""The exchange's class id of a cohort (``training-<cohort id>``) and back.

A cohort's coursework is released, submitted and graded as a class's is, under this id, so
the exchange, the grading queue and the gradebook need nothing of their own for it. The id
must never be a school class's too: the roster refuses class ids that begin with
:data:`COHORT_CLASS_PREFIX` (:mod:`hub.org.roster`), and :func:`cohort_of_class` reads only
the one spelling :func:`cohort_class_id` writes, so ``training-012`` is no alias of
``training-12``. This module imports nothing of the hub: the roster's check needs only the
prefix, without the training package's tables.
"""

from __future__ import annotations

import re

COHORT_CLASS_PREFIX = "training-"
_COHORT_CLASS = re.compile(rf"{COHORT_CLASS_PREFIX}([1-9][0-9]{{0,8}})")


def cohort_class_id(cohort_id: int) -> str:
    """The exchange's class id of a cohort's coursework."""
    return f"{COHORT_CLASS_PREFIX}{cohort_id}"


def cohort_of_class(class_id: str) -> int | None:
    """The cohort whose class id ``class_id`` is, or ``None`` for any other id."""
    match = _COHORT_CLASS.fullmatch(class_id)
    return int(match.group(1)) if match else None
