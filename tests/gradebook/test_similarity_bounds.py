"""The similarity check the progress page runs stays bounded whatever students submit.

A student can pad a solution cell with megabytes of code; the check tokenizes every
counted notebook each time a teacher opens the page, so it must cut each student's
code to a bound (and the page runs it on a worker thread, off the event loop).
"""

from __future__ import annotations

import time

from grading.gradebook.similarity import class_similarity
from tests.gradebook.conftest import CLASS, CORRECT, Service
from tests.gradebook.test_gradebook import ORIGINAL, RENAMED


def padding(student: int, size: int) -> str:
    """``size`` characters of distinct, valid code (nothing a template line would remove)."""
    lines, length, n = [], 0, 0
    while length < size:
        line = f"pad_{student}_{n} = {n} * {student} + len('{n:x}')"
        lines.append(line)
        length += len(line) + 1
        n += 1
    return "\n".join(lines)


def test_padded_submissions_are_compared_within_a_bound(service: Service) -> None:
    """Do twelve students with 2 MB of padded code each get checked in seconds?"""
    service.release()
    students = [f"s-{n:02d}" for n in range(12)]
    for index, student in enumerate(students):
        answer = ORIGINAL if index == 0 else RENAMED if index == 1 else padding(index, 2000)
        service.submit(student, {"squares": answer + "\n" + padding(100 + index, 2_000_000),
                                 "sum_of_squares": CORRECT["sum_of_squares"]})
    started = time.perf_counter()
    with service.store() as (_session, store):
        pairs = class_similarity(store, CLASS, "ps1", students)
    elapsed = time.perf_counter() - started
    # Guards against comparing the padding itself: a quadratic compare of 2 MB texts for 66
    # pairs takes hours, so two minutes is a bound no busy machine hits and that still fails it.
    # How fast the bounded compare is belongs to a benchmark.
    assert elapsed < 120, f"{elapsed:.1f} s for {len(students)} students"
    assert ("s-00", "s-01") in [(p.first, p.second) for p in pairs]
