"""Audit trail verification: walk a chain of 1,000,000 rows (target < 30 s).

The chain is written with the trail's own ``record_many`` (in batches, as a roster import
writes it) into a fresh SQLite service database, with a realistic mix of events: sign-ins
from classroom addresses, gradebook views, grade changes with their cell, exports.
Baselines in the same process, over the same rows: reading them (the same query, no
hashing), and SHA-256 alone over the very bytes ``verify`` hashes, held in memory.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select

from benchmarks import argument_parser
from hub.audit.trail import CHAINED, AuditEntry, canonical_row, record_many, verify
from hub.db import ServiceDatabase

ROWS = 1_000_000
BATCH = 50_000
STUDENTS = 20_000
TARGET_SECONDS = 30.0
STREAM = {"stream_results": True, "max_row_buffer": 10_000}
"""How ``verify`` reads the rows."""


def entry(number: int) -> AuditEntry:
    """The ``number``-th event of a plausible school term."""
    student = f"s-{number % STUDENTS:05d}"
    teacher = f"t-{number % 500:03d}"
    school, class_id = f"sch-{number % 100:03d}", f"c-{number % 500:03d}"
    kind = number % 4
    if kind == 0:
        return AuditEntry(student, "sign_in.ok", student, school,
                          source=f"10.{number % 250}.{number % 7}.{number % 200}")
    if kind == 1:
        return AuditEntry(teacher, "grades.viewed", "", school, class_id, "10.1.2.3",
                          {"page": "gradebook"})
    if kind == 2:
        return AuditEntry(teacher, "grade.changed", student, school, class_id, "10.1.2.3",
                          {"submission": f"{number:032x}", "assignment": "knn-decision-tree",
                           "notebook": "problem1.ipynb", "grade_id": f"q{number % 9}",
                           "field": "override"})
    return AuditEntry(teacher, "export.made", "", school, class_id, "10.1.2.3",
                      {"file": f"gradebook-{class_id}-20261206.xlsx", "names": False})


def write_chain(database: ServiceDatabase, rows: int) -> float:
    started = time.perf_counter()
    for first in range(0, rows, BATCH):
        with database.session() as session:
            record_many(session, [entry(n) for n in range(first, min(rows, first + BATCH))])
    return time.perf_counter() - started


def read_only(database: ServiceDatabase) -> float:
    """The verifier's query, every row fetched, nothing checked."""
    started = time.perf_counter()
    with database.session() as session:
        for _row in session.execute(select(*CHAINED), execution_options=STREAM):
            pass
    return time.perf_counter() - started


def hash_only(database: ServiceDatabase) -> float:
    """SHA-256 over the bytes ``verify`` hashes, timed alone (encoded batch by batch, untimed)."""
    hashing = 0.0
    with database.session() as session:
        rows = session.execute(select(*CHAINED), execution_options=STREAM)
        for batch in rows.partitions(10_000):
            payloads = [canonical_row(*row[:10]) for row in batch]
            started = time.perf_counter()
            for payload in payloads:
                hashlib.sha256(payload).hexdigest()
            hashing += time.perf_counter() - started
    return hashing


def main(argv: Sequence[str] | None = None) -> int:
    parser = argument_parser(__name__, __doc__)
    parser.add_argument("--rows", type=int, default=ROWS, help="rows in the chain")
    rows = parser.parse_args(argv).rows
    folder = Path(tempfile.mkdtemp(prefix="aiclass-bench-audit-"))
    database = ServiceDatabase(f"sqlite:///{folder / 'aiclass.sqlite'}")
    try:
        written = write_chain(database, rows)
        print(f"chain written with record_many: {rows} rows in {written:.1f} s "
              f"({rows / written:,.0f} rows/s)")
        started = time.perf_counter()
        with database.session() as session:
            result = verify(session)
        verified = time.perf_counter() - started
        assert result.intact and result.rows_checked == rows, result
        read = read_only(database)
        hashed = hash_only(database)
        print(f"verify: {rows} rows in {verified:.1f} s (target < {TARGET_SECONDS:.0f} s at "
              f"1,000,000 rows: {'met' if verified * ROWS / rows < TARGET_SECONDS else 'MISSED'}"
              f"), {verified / rows * 1e6:.1f} µs per row")
        print(f"baseline, the same query without checks: {read:.1f} s "
              f"-> verify is {verified / read:.2f}x")
        print(f"baseline, SHA-256 alone over the same bytes: {hashed:.2f} s "
              f"-> verify is {verified / hashed:.1f}x")
    finally:
        database.engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)
    return 0
