"""The audit trail's hash chain: tampering found by ``aiclass audit verify``, concurrent
writers chained one after another (SQLite and PostgreSQL), pruning and erasure that keep
the chain verifiable."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.audit.actions import UnknownAction
from hub.audit.models import AuditEvent, AuditPerson
from hub.audit.search import EVERY_SCHOOL, AuditQuery, search
from hub.audit.trail import (
    AuditEntry,
    forget_person,
    prune,
    record,
    record_many,
    row_hash,
    utc_now,
    verify,
)
from hub.db import ServiceDatabase
from tests.postgres import running_postgres

AICLASS = [sys.executable, "-m", "hub.cli"]


def audit_verify(data_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*AICLASS, "audit", "verify", "--data", str(data_dir)],
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A data dir (default settings: SQLite in it) whose trail holds 20 events."""
    database = ServiceDatabase(f"sqlite:///{tmp_path / 'aiclass.sqlite'}")
    with database.session() as session:
        for number in range(20):
            record(session, actor=f"tch-{number % 3}", action="grades.viewed",
                   subject=f"stu-{number}", school="s1", class_id="c1", source="10.0.0.7",
                   detail={"page": "gradebook", "n": number})
    database.engine.dispose()
    yield tmp_path


def test_verify_reports_an_intact_chain_with_its_row_count(data_dir: Path) -> None:
    result = audit_verify(data_dir)
    assert result.returncode == 0, result.stderr
    assert "20 行已校验" in result.stdout


@pytest.mark.parametrize("column, value", [
    ("detail", '{"n":7,"page":"submission"}'), ("action", "grade.changed"),
    ("actor_ref", "0" * 32), ("at", "2020-01-01 00:00:00.000000"), ("source", "10.9.9.9")])
def test_editing_any_field_of_a_row_is_found_at_that_row(
        data_dir: Path, column: str, value: str) -> None:
    with sqlite3.connect(data_dir / "aiclass.sqlite") as db:
        db.execute(f"UPDATE audit_events SET {column} = ? WHERE id = 8", (value,))
    result = audit_verify(data_dir)
    assert result.returncode == 1
    assert "broken at row 8" in result.stderr and "7 行完好" in result.stderr


def test_editing_a_row_and_its_hash_is_found_at_the_next_row(data_dir: Path) -> None:
    """A forger who recomputes the edited row's own hash still breaks the next link."""
    database = ServiceDatabase(f"sqlite:///{data_dir / 'aiclass.sqlite'}")
    with database.session() as session:
        event = session.get(AuditEvent, 8)
        event.detail = '{"n":7,"page":"nothing-to-see"}'
        event.hash = row_hash(event.id, event.at, event.actor_ref, event.action,
                              event.subject_ref, event.school, event.class_id, event.source,
                              event.detail, event.prev_hash)
    database.engine.dispose()
    result = audit_verify(data_dir)
    assert result.returncode == 1 and "broken at row 9" in result.stderr


@pytest.mark.parametrize("row, broken", [(12, 12), (1, 1), (20, 20)])
def test_deleting_a_row_is_found(data_dir: Path, row: int, broken: int) -> None:
    """In the middle, the first row, or the last: each leaves a gap the verifier names."""
    with sqlite3.connect(data_dir / "aiclass.sqlite") as db:
        db.execute("DELETE FROM audit_events WHERE id = ?", (row,))
    result = audit_verify(data_dir)
    assert result.returncode == 1
    assert f"broken at row {broken}" in result.stderr


def test_an_unknown_action_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    database = ServiceDatabase(f"sqlite:///{tmp_path / 'aiclass.sqlite'}")
    with pytest.raises(UnknownAction, match="未知的审计动作"), database.session() as session:
        record_many(session, [AuditEntry("a", "sign_in.ok"), AuditEntry("a", "grade.deleted")])
    with database.session() as session:
        assert session.scalars(select(AuditEvent)).all() == []
        assert verify(session).rows_checked == 0 and verify(session).intact


def test_pruning_the_head_keeps_the_rest_verifiable(data_dir: Path) -> None:
    database = ServiceDatabase(f"sqlite:///{data_dir / 'aiclass.sqlite'}")
    time.sleep(0.01)
    cutoff = utc_now()
    with database.session() as session:
        for number in range(5):
            record(session, actor="tch-0", action="export.made", detail={"n": number})
    with database.session() as session:
        assert prune(session, cutoff) == 20
    with database.session() as session:
        result = verify(session)
        assert result.intact, result
        assert result.rows_checked == 6  # five kept, one saying what was pruned
        pruned = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "audit.pruned")).one()
        assert pruned.detail == '{"rows":20,"through_id":20}'
        assert prune(session, cutoff) == 0
    database.engine.dispose()
    with sqlite3.connect(data_dir / "aiclass.sqlite") as db:
        db.execute("DELETE FROM audit_events WHERE id = 21")  # the oldest one left
    result = audit_verify(data_dir)
    assert result.returncode == 1 and "broken at row 21" in result.stderr


def test_forgetting_a_person_leaves_the_chain_whole_and_says_no_more_who(
        data_dir: Path) -> None:
    database = ServiceDatabase(f"sqlite:///{data_dir / 'aiclass.sqlite'}")
    with database.session() as session:
        before = list(search(session, AuditQuery(EVERY_SCHOOL, person="stu-4")))
        assert [row.subject for row in before] == ["stu-4"]
        record(session, actor="adm-1", action="privacy.erased", subject="stu-4")
        assert forget_person(session, "stu-4") == 1
    with database.session() as session:
        assert verify(session).intact
        usernames = set(session.scalars(select(AuditPerson.username)))
        assert "stu-4" not in usernames and "stu-5" in usernames
        after = list(search(session, AuditQuery(EVERY_SCHOOL, person="stu-4")))
        assert len(after) == 2 and all(row.subject.startswith("#") for row in after)
        assert forget_person(session, "stu-4") == 0
    database.engine.dispose()


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with running_postgres("aiclass-audit-i20a") as url:
        yield url


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_concurrent_writers_append_one_chain(
        dialect: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Eight threads recording at once: no fork, no lost row, no duplicate id."""
    url = (f"sqlite:///{tmp_path / 'aiclass.sqlite'}" if dialect == "sqlite"
           else request.getfixturevalue("postgres_url"))
    database = ServiceDatabase(url)

    def write(writer: int) -> None:
        for number in range(25):
            with database.session() as session:
                record(session, actor=f"tch-{writer}", action="grade.changed",
                       subject=f"stu-{number}", detail={"writer": writer, "n": number})

    with database.session() as session:
        start = verify(session).rows_checked
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, range(8)))
    with database.session() as session:
        result = verify(session)
        assert result.intact, result
        assert result.rows_checked == start + 200
        ids = session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).all()
        assert ids == list(range(ids[0], ids[0] + len(ids)))
    database.engine.dispose()
