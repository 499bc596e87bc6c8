"""Export and erasure of one student with 200 graded submissions in a region of 20,000.

Targets: ``aiclass privacy export`` and ``aiclass privacy erase`` each under 5 s.
Baselines, in the same run on the same data dir: for the export, a plain zip of the same
blob files (no database reads, no index); for the erasure, plain ``DELETE`` statements of
the student's rows in one transaction, rolled back (no blob search, no hub account, no
home, no audit row). The region is the backup benchmark's, written straight into the
databases (:func:`benchmarks.bench_backup.generate_region`); the student's own 200
submissions, each graded (two cells), a quarter with feedback, are added the same way.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
import time
import zipfile
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

from jupyterhub import orm
from sqlalchemy import insert

from benchmarks import argument_parser
from benchmarks.bench_backup import NOW, generate_region, notebook
from grading.exchange.content_store import BLOBS_IN_DATA_DIR, ContentStore
from hub.privacy.erasure import erase_person
from hub.privacy.export import export_person
from hub.settings import Settings, load_settings

STUDENTS, REGION_SUBMISSIONS, OWN_SUBMISSIONS = 20_000, 40_000, 200
TARGET = "s-target"
TARGET_SEED = 10_000_000
"""Notebook seeds of the student's own submissions, apart from the region's."""


def add_student(settings: Settings, submissions: int) -> list[Path]:
    """Add the student, their submissions, grades and feedback; return their blob files."""
    store = ContentStore(settings.data_dir / BLOBS_IN_DATA_DIR)
    files = []
    with closing(sqlite3.connect(settings.data_dir / "aiclass.sqlite")) as db, db:
        first = db.execute("SELECT max(id) FROM exchange_submissions").fetchone()[0] + 1
        db.execute("INSERT INTO people (username, display_name, role, school_id) "
                   "VALUES (?, '目标学生', 'student', 'sch0')", (TARGET,))
        db.execute("INSERT INTO credentials VALUES (?, '$argon2id$bench', 0, 0, NULL)",
                   (TARGET,))
        db.execute("INSERT INTO enrollments (class_id, username, role) "
                   "VALUES ('c0', ?, 'student')", (TARGET,))
        for n in range(first, first + submissions):
            data = notebook(TARGET_SEED + n)
            sha = store.write(data)[0]
            files.append(store.path(sha))
            manifest = json.dumps([{"path": "answer.ipynb", "sha256": sha, "size": len(data)}])
            db.execute("INSERT INTO exchange_submissions (id, key, class_id, assignment_id, "
                       "username, release_version, submitted_at, idempotency_key, manifest, "
                       "total_bytes, chosen) VALUES (?, ?, 'c0', ?, ?, 1, ?, ?, ?, ?, 0)",
                       (n, f"{n:032x}", f"a{n % 5}", TARGET, NOW, f"bench-{n}", manifest,
                        len(data)))
            db.execute("INSERT INTO grading_jobs (id, submission_id, class_id, assignment_id, "
                       "state, reason, requested_by, enqueued_at, not_before, attempts) "
                       "VALUES (?, ?, 'c0', 'a0', 'done', 'submit', ?, ?, ?, 1)",
                       (n, n, TARGET, NOW, NOW))
            db.execute("INSERT INTO grading_notebooks (submission_id, notebook, job_id, "
                       "flags, graded_at) VALUES (?, 'answer.ipynb', ?, '[]', ?)", (n, n, NOW))
            for cell in range(2):
                db.execute("INSERT INTO grading_cells (submission_id, class_id, "
                           "assignment_id, username, notebook, grade_id, position, kind, "
                           "max_score, auto_score, comment, job_id) VALUES (?, 'c0', 'a0', "
                           "?, 'answer.ipynb', ?, ?, 'auto', 2.0, 1.0, '很好', ?)",
                           (n, TARGET, f"q{cell}", cell, n))
            if n % 4 == 0:
                html = f"<html>{TARGET_SEED + n}</html>".encode()
                feedback = store.write(html)[0]
                files.append(store.path(feedback))
                db.execute("INSERT INTO exchange_feedback (submission_id, released_by, "
                           "released_at, manifest) VALUES (?, 't', ?, ?)",
                           (n, NOW, json.dumps([{"path": "answer.html", "sha256": feedback,
                                                 "size": len(html)}])))
    hub_db = orm.new_session_factory(settings.hub_database_url)()
    hub_db.execute(insert(orm.User), [{"name": TARGET}])
    hub_db.commit()
    hub_db.close()
    home = settings.data_dir / "homes" / TARGET
    home.mkdir()
    (home / "answer.ipynb").write_bytes(notebook(TARGET_SEED))
    return files


def baseline_zip(files: list[Path], target: Path) -> float:
    """A plain zip of the student's blob files; its seconds."""
    started = time.perf_counter()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.name)
    return time.perf_counter() - started


def baseline_delete(settings: Settings) -> float:
    """Plain DELETEs of the student's rows in one transaction, rolled back; its seconds."""
    ids = "(SELECT id FROM exchange_submissions WHERE username = :u)"
    statements = [
        f"DELETE FROM exchange_feedback WHERE submission_id IN {ids}",
        f"DELETE FROM grading_notebooks WHERE submission_id IN {ids}",
        "DELETE FROM grading_cells WHERE username = :u",
        f"DELETE FROM grading_jobs WHERE submission_id IN {ids}",
        "DELETE FROM exchange_submissions WHERE username = :u",
        "DELETE FROM enrollments WHERE username = :u",
        "DELETE FROM credentials WHERE username = :u",
        "DELETE FROM people WHERE username = :u",
    ]
    with closing(sqlite3.connect(settings.data_dir / "aiclass.sqlite")) as db:
        started = time.perf_counter()
        db.execute("BEGIN")
        for statement in statements:
            db.execute(statement, {"u": TARGET})
        elapsed = time.perf_counter() - started
        db.rollback()
    return elapsed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argument_parser(__name__, __doc__)
    parser.add_argument("--students", type=int, default=STUDENTS, help="students in the region")
    parser.add_argument("--region-submissions", type=int, default=REGION_SUBMISSIONS,
                        help="the other students' graded submissions")
    parser.add_argument("--submissions", type=int, default=OWN_SUBMISSIONS,
                        help="the student's own graded submissions")
    args = parser.parse_args(argv)
    base = Path(tempfile.mkdtemp(prefix="aiclass-bench-privacy-"))
    try:
        data = base / "data"
        data.mkdir(mode=0o700)
        settings = load_settings(data)
        started = time.perf_counter()
        made = generate_region(settings, args.students, args.region_submissions)
        files = add_student(settings, args.submissions)
        print(f"region: {args.students} students, {made['submissions']} submissions, "
              f"{made['cells']} graded cells; the student: {args.submissions} submissions, "
              f"{len(files)} files; generated in {time.perf_counter() - started:.0f} s")

        plain_zip = baseline_zip(files, base / "baseline.zip")
        started = time.perf_counter()
        summary = export_person(settings, TARGET, base / "export")
        exported = time.perf_counter() - started
        print(f"export: {exported:.2f} s (target < 5 s; {exported / plain_zip:.1f}x a plain zip "
              f"of the same files, {plain_zip:.2f} s), {summary.files} files")

        plain_delete = baseline_delete(settings)
        started = time.perf_counter()
        report = erase_person(settings, TARGET)
        erased = time.perf_counter() - started
        print(f"erase: {erased:.2f} s (target < 5 s; {erased / plain_delete:.1f}x plain "
              f"DELETEs of the rows, {plain_delete:.2f} s); {report.summary()}")
        return 0 if exported < 5 and erased < 5 else 1
    finally:
        shutil.rmtree(base, ignore_errors=True)
