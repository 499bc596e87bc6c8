"""Retention: what a pupil who left kept goes after its period; a pupil who stays keeps all."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update

from grading.exchange.models import Submission
from hub.audit.models import AuditEvent, AuditPerson
from hub.audit.trail import verify
from hub.cli import main
from hub.org.models import Enrollment
from hub.privacy import retention
from hub.reports.tables import ActivityDay
from tests.privacy.conftest import ERASED, OTHER, Classroom

LONG_AGO = datetime(2024, 9, 1, 8, 0)


def _leave_long_ago(room: Classroom) -> None:
    """The first pupil leaves the roster; their traces date from two years back. The
    other pupil's data is as old, but they are still in the class."""
    with room.session() as session:
        session.execute(delete(Enrollment).where(Enrollment.username == ERASED.username))
        session.execute(update(Submission).values(submitted_at=LONG_AGO))
        session.execute(update(ActivityDay).values(day=LONG_AGO.date()))
    for pupil in (ERASED, OTHER):
        home = room.data_dir / "homes" / pupil.username
        for path in (home / "scratch.ipynb", home):
            os.utime(path, (LONG_AGO.timestamp(), LONG_AGO.timestamp()))


def test_dry_run_lists_and_changes_nothing_then_apply_removes_only_the_leaver(
        classroom: Classroom, capsys) -> None:  # noqa: ANN001
    _leave_long_ago(classroom)
    assert main(["privacy", "retention", "--dry-run", "--data",
                 str(classroom.data_dir)]) == 0
    listed = capsys.readouterr().out
    assert [line.split("\t")[:1] for line in listed.splitlines()[:-1]] == \
        [[ERASED.username]] * 3
    assert "would remove: 3" in listed and OTHER.username not in listed
    assert ERASED.real_name not in listed
    with classroom.session() as session:
        assert session.scalars(select(Submission.manifest).where(
            Submission.username == ERASED.username)).first()
    assert (classroom.data_dir / "homes" / ERASED.username).exists()

    gone = retention.apply(classroom.settings)
    assert sorted(item.kind for item in gone) == ["home", "signins", "submissions"]
    assert not (classroom.data_dir / "homes" / ERASED.username).exists()
    assert (classroom.data_dir / "homes" / OTHER.username).exists()
    with classroom.session() as session:
        owners = set(session.scalars(select(Submission.username)))
        assert OTHER.username in owners and ERASED.username not in owners
        assert set(session.scalars(select(ActivityDay.username))) == {OTHER.username}
        assert set(session.scalars(select(AuditPerson.username))) >= {OTHER.username}
        assert ERASED.username not in set(session.scalars(select(AuditPerson.username)))
        actions = list(session.scalars(select(AuditEvent.detail).where(
            AuditEvent.action == "privacy.erased")))
    assert len(actions) == 3
    assert retention.would_remove(classroom.settings) == []


def test_nothing_goes_before_its_period(classroom: Classroom) -> None:
    with classroom.session() as session:
        session.execute(delete(Enrollment).where(Enrollment.username == ERASED.username))
    assert retention.would_remove(classroom.settings) == []
    later = datetime.now() + timedelta(days=classroom.settings.privacy.left_homes_days + 1)
    assert [item.kind for item in retention.would_remove(classroom.settings, later)] == [
        "home"]


def test_the_daily_retention_prunes_the_audit_trail_past_its_period(
        classroom: Classroom) -> None:
    """Audit rows older than ``audit_retention_days`` go, and the chain still verifies."""
    with classroom.session() as session:
        before = session.scalar(select(func.count()).select_from(AuditEvent))
    assert before > 0
    assert retention.apply(classroom.settings) == []
    with classroom.session() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == before
    later = datetime.now() + timedelta(days=classroom.settings.privacy.audit_retention_days + 1)
    assert retention.apply(classroom.settings, later) == []
    with classroom.session() as session:
        assert list(session.scalars(select(AuditEvent.action))) == ["audit.pruned"]
        assert verify(session).intact
