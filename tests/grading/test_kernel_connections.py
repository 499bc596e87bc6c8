"""Grading many notebooks in one long-lived process leaves no connection to a kernel behind.

A grading worker lives as long as the classroom service. nbclient cleans up only the kernel
manager it made itself, and the grader hands it one (the sandbox's): each graded notebook
used to keep a ZeroMQ context, an I/O and a reaper thread, whose sockets went on
reconnecting to the removed sandbox. A region's morning (the regional load benchmark) ended
with 2,600 threads in the worker and the host's CPU spent on them. This counts the grading
process's own threads (the kernel's, not Python's: ZeroMQ's are native) around a batch.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from grading import grade_folder
from grading.sandbox.limits import SandboxLimits
from tests.grading.conftest import CORRECT, write_submission

LIMITS = SandboxLimits(memory_bytes=512 * 1024**2, pids=32, wall_seconds=60, cell_timeout=15)
#: Submissions in one batch, each of two notebooks: enough that a leak of two threads per
#: notebook shows far above the pool's own threads.
STUDENTS = 6


def native_threads() -> int:
    """This process's threads as the kernel counts them (``/proc/self/task``)."""
    return len(os.listdir("/proc/self/task"))


def test_a_batch_of_notebooks_leaves_no_threads_behind(released_ps1):
    root = Path(tempfile.mkdtemp(prefix="aiclass-connections-", dir="/var/tmp"))
    try:
        shutil.copytree(released_ps1, root, dirs_exist_ok=True)
        release, submitted = root / "release" / "ps1", root / "submitted"
        for number in range(STUDENTS):
            write_submission(release, submitted, f"s{number}", CORRECT)
        # A first batch starts what stays for the process's life (the pool's threads, a
        # shared ZeroMQ context if any); the second must add nothing to it.
        grade_folder(root / "source" / "ps1", submitted, jobs=2, sandbox="local",
                     limits=LIMITS)
        before = native_threads()
        result = grade_folder(root / "source" / "ps1", submitted, jobs=2, sandbox="local",
                              limits=LIMITS)
        after = native_threads()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    graded = [s for s in result["students"] if s["score"] == 6.0]
    assert len(graded) == STUDENTS, result  # every notebook really ran in a kernel
    assert after - before < 2 * STUDENTS, (before, after)
