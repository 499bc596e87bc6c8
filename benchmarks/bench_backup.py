"""Backup and restore of a region: 20,000 students with 200,000 graded submissions.

Targets: ``aiclass backup`` under 5 minutes, ``aiclass restore`` under 10 minutes. Baseline,
in the same run on the same data dir: the least a copy costs, SQLite's own ``.backup`` of
both databases and a plain ``cp -a`` of the blobs and the homes, with no manifest, no
checksums and no archives. A second backup shows what a nightly one costs when most
blobs are already in the backup folder.

The region is written straight into the databases with bulk inserts (the roster and
exchange benchmarks measure the paths that write it in real life): each student submits
every assignment of their class, most notebooks are their own and some are the
untouched release, every submission is graded (two cells) and a quarter have feedback.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Sequence
from contextlib import closing
from datetime import datetime
from pathlib import Path

from jupyterhub import orm
from sqlalchemy import insert

from benchmarks import argument_parser
from grading.exchange.content_store import ContentStore
from hub.backup import BackupSummary, backup, restore
from hub.db import ServiceDatabase
from hub.settings import Settings, load_settings

STUDENTS, SUBMISSIONS, CLASS_SIZE = 20_000, 200_000, 40
SHARED_SHARE = 5
"""One submission in this many is the untouched released notebook (a blob shared by all)."""
NOW = datetime(2026, 12, 1, 9, 0).isoformat(" ")


def notebook(seed: int) -> bytes:
    """A small notebook of its own (about 2 KB), as a student's answer would be."""
    cells = [{"cell_type": "code", "source": f"# 学生 {seed} 的答案\nanswer = {seed} * 2\n",
              "metadata": {"nbgrader": {"grade_id": f"q{i}"}}, "outputs": []}
             for i in range(6)]
    return json.dumps({"cells": cells, "nbformat": 4, "nbformat_minor": 5},
                      ensure_ascii=False).encode()


def generate_region(settings: Settings, students: int, submissions: int) -> dict[str, int]:
    """Write the region into ``settings``' data dir; return what was made."""
    ServiceDatabase(settings.database_url).engine.dispose()  # the migrated, empty schema
    blobs = ContentStore(settings.data_dir / "exchange" / "blobs")
    classes = max(1, students // CLASS_SIZE)
    per_student = max(1, submissions // students)
    released = blobs.put(notebook(-1))
    usernames = [f"s{n:05d}" for n in range(students)]
    with closing(sqlite3.connect(settings.data_dir / "aiclass.sqlite")) as db, db:
        db.execute("INSERT INTO regions VALUES ('bench', '基准区')")
        db.executemany("INSERT INTO schools (id, region_id, name, locality, stage) "
                       "VALUES (?, 'bench', ?, 'urban', 'senior')",
                       [(f"sch{n}", f"第{n}中学") for n in range(classes // 5 + 1)])
        db.executemany("INSERT INTO classes VALUES (?, ?, ?, '2026', 10)",
                       [(f"c{n}", f"sch{n // 5}", f"{n}班") for n in range(classes)])
        db.executemany("INSERT INTO people (username, display_name, role, school_id) "
                       "VALUES (?, ?, 'student', ?)",
                       [(u, f"学生{n}", f"sch{(n % classes) // 5}")
                        for n, u in enumerate(usernames)])
        db.executemany("INSERT INTO credentials VALUES (?, '$argon2id$bench', 0, 0, NULL)",
                       [(u,) for u in usernames])
        db.executemany("INSERT INTO enrollments (class_id, username, role) "
                       "VALUES (?, ?, 'student')",
                       [(f"c{n % classes}", u) for n, u in enumerate(usernames)])
        db.executemany(
            "INSERT INTO exchange_releases (class_id, assignment_id, version, released_by, "
            "released_at, manifest, archive_sha256) VALUES (?, ?, 1, 't', ?, '[]', ?)",
            [(f"c{c}", f"a{a}", NOW, released) for c in range(classes)
             for a in range(per_student)])
        rows, jobs, cells, graded, feedback = [], [], [], [], []
        for n in range(submissions):
            student = n % students
            assignment = n // students
            data = notebook(-1) if n % SHARED_SHARE == 0 else notebook(n)
            sha = released if n % SHARED_SHARE == 0 else blobs.write(data)[0]  # no fsync
            manifest = json.dumps([{"path": "answer.ipynb", "sha256": sha, "size": len(data)}])
            klass = f"c{student % classes}"
            rows.append((n + 1, f"{n:032x}", klass, f"a{assignment}", usernames[student], NOW,
                         f"bench-{n}", manifest, len(data)))
            jobs.append((n + 1, n + 1, klass, f"a{assignment}", NOW, NOW))
            graded.append((n + 1, n + 1, NOW))
            for cell in range(2):
                cells.append((n + 1, klass, f"a{assignment}", usernames[student], f"q{cell}",
                              cell, n + 1))
            if n % 4 == 0:
                feedback.append((n + 1, NOW, manifest.replace("ipynb", "html")))
        db.executemany(
            "INSERT INTO exchange_submissions (id, key, class_id, assignment_id, username, "
            "release_version, submitted_at, idempotency_key, manifest, total_bytes, chosen) "
            "VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?, 0)", rows)
        db.executemany(
            "INSERT INTO grading_jobs (id, submission_id, class_id, assignment_id, state, "
            "reason, requested_by, enqueued_at, not_before, attempts) "
            "VALUES (?, ?, ?, ?, 'done', 'submit', 'bench', ?, ?, 1)", jobs)
        db.executemany(
            "INSERT INTO grading_notebooks (submission_id, notebook, job_id, flags, graded_at) "
            "VALUES (?, 'answer.ipynb', ?, '[]', ?)", graded)
        db.executemany(
            "INSERT INTO grading_cells (submission_id, class_id, assignment_id, username, "
            "notebook, grade_id, position, kind, max_score, auto_score, comment, job_id) "
            "VALUES (?, ?, ?, ?, 'answer.ipynb', ?, ?, 'auto', 2.0, 1.0, '', ?)", cells)
        db.executemany(
            "INSERT INTO exchange_feedback (submission_id, released_by, released_at, "
            "manifest) VALUES (?, 't', ?, ?)", feedback)
    hub_db = orm.new_session_factory(settings.hub_database_url)()
    hub_db.execute(insert(orm.User), [{"name": u} for u in usernames])
    hub_db.commit()
    hub_db.close()
    for n, username in enumerate(usernames):
        home = settings.data_dir / "homes" / username
        home.mkdir(parents=True)
        (home / "answer.ipynb").write_bytes(notebook(n))
    return {"classes": classes, "submissions": submissions, "cells": len(cells),
            "feedback": len(feedback), "blobs": sum(1 for _ in blobs.root.glob("*/*"))}


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def baseline_copy(settings: Settings, target: Path) -> float:
    """``.backup`` of both databases and ``cp -a`` of blobs and homes; its seconds."""
    started = time.perf_counter()
    target.mkdir()
    for name in ("aiclass.sqlite", "jupyterhub.sqlite"):
        with closing(sqlite3.connect(settings.data_dir / name)) as live, \
                closing(sqlite3.connect(target / name)) as copy:
            live.backup(copy)
    for part in ("exchange", "homes"):
        subprocess.run(["cp", "-a", str(settings.data_dir / part), str(target / part)],
                       check=True)
    return time.perf_counter() - started


def timed_backup(settings: Settings, destination: Path) -> tuple[float, BackupSummary]:
    started = time.perf_counter()
    summary = backup(settings, destination)
    return time.perf_counter() - started, summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argument_parser(__name__, __doc__)
    parser.add_argument("--students", type=int, default=STUDENTS, help="students in the region")
    parser.add_argument("--submissions", type=int, default=SUBMISSIONS,
                        help="graded submissions (spread evenly over the students)")
    args = parser.parse_args(argv)
    base = Path(tempfile.mkdtemp(prefix="aiclass-bench-backup-"))
    try:
        data = base / "data"
        data.mkdir(mode=0o700)
        settings = load_settings(data)
        started = time.perf_counter()
        made = generate_region(settings, args.students, args.submissions)
        print(f"region: {args.students} students, {made['classes']} classes, "
              f"{made['submissions']} submissions, {made['cells']} graded cells, "
              f"{made['feedback']} feedback, {made['blobs']} blobs; data dir "
              f"{size(data) / 1e6:.0f} MB, generated in {time.perf_counter() - started:.0f} s")

        baseline = baseline_copy(settings, base / "baseline")
        shutil.rmtree(base / "baseline")
        print(f"baseline, sqlite .backup + cp -a: {baseline:.1f} s")

        first, summary = timed_backup(settings, base / "backups")
        print(f"backup: {first:.1f} s (target < 300 s; {first / baseline:.1f}x the baseline), "
              f"{size(base / 'backups') / 1e6:.0f} MB, {summary.files} files, "
              f"{summary.new_blobs} blobs copied")
        second, again = timed_backup(settings, base / "backups")
        print(f"second backup into the same folder: {second:.1f} s, {again.new_blobs} blobs "
              f"copied, {size(again.set_dir) / 1e6:.0f} MB more")

        started = time.perf_counter()
        restore(base / "backups", base / "restored")
        restored = time.perf_counter() - started
        print(f"restore (checks every file first): {restored:.1f} s (target < 600 s; "
              f"{restored / baseline:.1f}x the baseline), data dir "
              f"{size(base / 'restored') / 1e6:.0f} MB")
        return 0 if first < 300 and restored < 600 else 1
    finally:
        shutil.rmtree(base, ignore_errors=True)
