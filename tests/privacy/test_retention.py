"""Retention: what a pupil who left kept goes after its period; a pupil who stays keeps all."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from jupyterhub import orm
from sqlalchemy import create_engine, delete, func, select, update
from sqlalchemy.orm import Session

from grading.exchange.models import Submission
from hub.audit.models import AuditEvent, AuditPerson
from hub.audit.trail import verify
from hub.cli import main
from hub.org.models import Credential, Enrollment, Person
from hub.privacy import retention
from hub.privacy.holdings import rows_naming
from hub.privacy.hub_account import has_account
from hub.reports.tables import ActivityDay
from hub.settings import Settings
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


@contextmanager
def running_server(settings: Settings, username: str) -> Iterator[None]:
    """``username``'s default server, as the hub's database shows a running one."""
    hub = create_engine(settings.hub_database_url)
    with Session(hub) as session, session.begin():
        user = session.query(orm.User).filter_by(name=username).one()
        session.add(orm.Spawner(user=user, name="", server=orm.Server(ip="127.0.0.1",
                                                                       port=8888)))
    try:
        yield
    finally:
        with Session(hub) as session, session.begin():
            session.query(orm.Spawner).delete()
            session.query(orm.Server).delete()
        hub.dispose()


def test_dry_run_lists_and_changes_nothing_then_apply_removes_only_the_leaver(
        classroom: Classroom, capsys) -> None:  # noqa: ANN001
    _leave_long_ago(classroom)
    assert main(["privacy", "retention", "--dry-run", "--data",
                 str(classroom.data_dir)]) == 0
    listed = capsys.readouterr().out
    assert [line.split("\t")[:1] for line in listed.splitlines()[:-1]] == \
        [[ERASED.username]] * 4
    assert "would remove: 4" in listed and OTHER.username not in listed
    assert ERASED.real_name not in listed
    with classroom.session() as session:
        assert session.scalars(select(Submission.manifest).where(
            Submission.username == ERASED.username)).first()
    assert (classroom.data_dir / "homes" / ERASED.username).exists()

    gone = retention.apply(classroom.settings)
    assert sorted(item.kind for item in gone) == ["home", "roster", "signins", "submissions"]
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
        # Nothing of theirs is kept any more, so neither is their name nor their password.
        assert session.get(Person, ERASED.username) is None
        assert session.get(Credential, ERASED.username) is None
        assert session.get(Person, OTHER.username).display_name == OTHER.real_name
        assert session.get(Credential, OTHER.username) is not None
        assert rows_naming(session, ERASED.username) == {}
    assert len(actions) == 4
    assert not has_account(classroom.settings, ERASED.username)
    assert has_account(classroom.settings, OTHER.username)
    assert retention.would_remove(classroom.settings) == []


def test_a_leaver_keeps_the_roster_record_while_anything_else_is_kept(
        classroom: Classroom) -> None:
    """Submissions kept for a year keep the record that names them; a running server
    keeps the record (and account) another day, then it goes."""
    _leave_long_ago(classroom)
    with classroom.session() as session:
        session.execute(update(Submission).where(Submission.username == ERASED.username)
                        .values(submitted_at=datetime.now()))
    kinds = [item.kind for item in retention.would_remove(classroom.settings)]
    assert kinds == ["home", "signins"]
    later = datetime.now() + timedelta(days=classroom.settings.privacy.left_submissions_days + 1)
    with running_server(classroom.settings, ERASED.username):
        assert [item.kind for item in retention.apply(classroom.settings, later)] == [
            "submissions", "home", "signins"]
    with classroom.session() as session:
        assert session.get(Person, ERASED.username).display_name == ERASED.real_name
    # The home stayed too (in use), so it is listed again, with the record.
    assert [item.kind for item in retention.apply(classroom.settings, later)] == [
        "home", "roster"]
    with classroom.session() as session:
        assert session.get(Person, ERASED.username) is None
    assert not has_account(classroom.settings, ERASED.username)


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
