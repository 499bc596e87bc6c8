"""Export and erasure of one pupil's data, searched for afterwards in every store."""

from __future__ import annotations

import json
import os
import sqlite3
import time
import zipfile
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest
from jupyterhub import orm
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from grading.exchange.content_store import ContentStore
from grading.exchange.models import Submission
from grading.gradebook.feedback import feedback_files
from grading.gradebook.models import CellGrade
from hub.audit.models import AuditEvent
from hub.audit.trail import verify
from hub.cli import main
from hub.org.models import Person
from hub.privacy.erasure import erase_person, remove_blobs
from hub.privacy.export import INDEX_JSON, INDEX_MD, export_person
from hub.privacy.refusal import PrivacyRefused
from tests.gradebook.conftest import CLASS
from tests.privacy.conftest import ERASED, OTHER, Classroom

SQLITE_SUFFIXES = (".sqlite", ".sqlite-wal", ".sqlite-shm")


def database_text(path: Path) -> str:
    """A SQLite database dumped as SQL text, as an auditor would search it."""
    with closing(sqlite3.connect(path)) as connection:
        return "\n".join(connection.iterdump())


def everywhere(room: Classroom) -> dict[str, bytes]:
    """Every store's content by name: the two databases as text, every other file raw."""
    data_dir = room.data_dir
    found = {"service database": database_text(data_dir / "aiclass.sqlite").encode(),
             "hub database": database_text(data_dir / "jupyterhub.sqlite").encode()}
    for path in data_dir.rglob("*"):
        if path.is_file() and not path.name.endswith(SQLITE_SUFFIXES):
            found[str(path.relative_to(data_dir))] = path.read_bytes()
    return found


def mentions(room: Classroom, needle: str) -> list[str]:
    encoded = needle.encode()
    return [name for name, content in everywhere(room).items() if encoded in content]


def test_export_holds_every_store_and_names_only_when_asked(classroom: Classroom,
                                                            tmp_path: Path) -> None:
    summary = export_person(classroom.settings, ERASED.username, tmp_path / "out")
    with zipfile.ZipFile(summary.path) as archive:
        names = set(archive.namelist())
        text = {n: archive.read(n) for n in names}
    assert {INDEX_MD, INDEX_JSON, "roster.json", "grades.json", "audit.json",
            "database/people.json", "database/enrollments.json",
            "database/exchange_extensions.json", "database/report_activity_days.json"} <= names
    assert summary.submissions == 2
    submitted = [n for n in names if n.startswith("submissions/")
                 and n.endswith("problem1.ipynb")]
    assert len(submitted) == 2 and all(ERASED.unique.encode() in text[n] for n in submitted)
    assert len([n for n in names if n.startswith("submissions/")]) == 6  # two notebooks, csv
    assert any(n.startswith("feedback/") for n in names)
    index = json.loads(text[INDEX_JSON])
    assert index["counts"]["submissions"] == 2 and index["with_names"] is False
    assert "个人数据导出" in text[INDEX_MD].decode()
    grades = json.loads(text["grades.json"])
    assert sorted(c["cell"] for g in grades for c in g["cells"]) == [
        "correct_squares", "growth_answer"]
    audit = json.loads(text["audit.json"])
    assert [(r["action"], r["source"]) for r in audit if r["action"] == "sign_in.ok"] == [
        ("sign_in.ok", "10.0.0.7")]
    assert not any(ERASED.real_name.encode() in content for content in text.values())
    assert not any(OTHER.unique.encode() in content or OTHER.username.encode() in content
                   for content in text.values())
    assert b"password_hash" in text["database/credentials.json"]
    assert not any(b"$argon2" in c or b"$2b$" in c for c in text.values())
    named = export_person(classroom.settings, ERASED.username, tmp_path / "named",
                          with_names=True)
    with zipfile.ZipFile(named.path) as archive:
        assert json.loads(archive.read("roster.json"))["display_name"] == ERASED.real_name
    with classroom.session() as session:
        actions = list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions[-2:] == ["privacy.exported", "privacy.exported"]


def test_export_of_an_unknown_username_is_refused(classroom: Classroom, tmp_path: Path) -> None:
    with pytest.raises(PrivacyRefused, match="nothing is held"):
        export_person(classroom.settings, "stu-nobody", tmp_path)
    assert not (tmp_path / "stu-nobody").exists() and not list(tmp_path.glob("*.zip"))


def test_erasure_leaves_no_trace_and_the_other_pupil_untouched(classroom: Classroom,
                                                               tmp_path: Path) -> None:
    for needle in (ERASED.username, ERASED.real_name, ERASED.unique):
        assert mentions(classroom, needle), needle  # the search can find them beforehand
    other_before = export_person(classroom.settings, OTHER.username, tmp_path / "before")
    assert main(["privacy", "erase", ERASED.username, "--data",
                 str(classroom.data_dir)]) == 0
    for needle in (ERASED.username, ERASED.real_name, ERASED.unique):
        assert mentions(classroom, needle) == [], needle
    with classroom.session() as session:
        erasure = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "privacy.erased")).one()
        signed_in = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "sign_in.ok")).all()
        assert erasure.subject_ref in {e.subject_ref for e in signed_in}  # same pseudonym
        assert verify(session).intact
        kept = session.scalars(select(CellGrade).where(CellGrade.class_id == CLASS)).all()
        assert len(kept) == 4  # two graded cells each, the erased pupil's anonymised
        anonymised = [c for c in kept if c.username.startswith("anon-")]
        assert [c.score for c in anonymised if c.grade_id == "correct_squares"] == [2.0]
        assert all(c.comment == "" for c in anonymised)
        graded_id = classroom.submissions[OTHER.username][1]
        assert session.get(Submission, graded_id).username == OTHER.username
        with classroom.service.store() as (store_session, store):
            rendered = feedback_files(store_session, store,
                                      store_session.get(Submission, graded_id))
        assert rendered  # the other pupil's graded copy is still there to render from
    assert (classroom.data_dir / "homes" / OTHER.username / "scratch.ipynb").exists()
    other_after = export_person(classroom.settings, OTHER.username, tmp_path / "after")
    with zipfile.ZipFile(other_before.path) as before, \
            zipfile.ZipFile(other_after.path) as after:
        files = sorted(n for n in before.namelist() if n.startswith(("submissions/",
                                                                     "feedback/")))
        assert files and files == sorted(n for n in after.namelist()
                                         if n.startswith(("submissions/", "feedback/")))
        assert all(before.read(n) == after.read(n) for n in files)
    hub = create_engine(classroom.settings.hub_database_url)
    with Session(hub) as session:
        assert {u.name for u in session.query(orm.User)} == {OTHER.username, "t-0001"}
        assert [u.name for u in session.query(orm.Group).one().users] != []
    hub.dispose()


def test_erasure_without_kept_grades_removes_the_grade_rows(classroom: Classroom) -> None:
    settings = replace(classroom.settings, privacy=replace(classroom.settings.privacy,
                                                           keep_anonymised_grades=False))
    report = erase_person(settings, ERASED.username)
    assert report.rows_deleted["grading_cells"] == 2 and report.hub_account
    assert report.home_removed and report.logs_scrubbed == 1
    with classroom.session() as session:
        left = session.scalar(select(func.count()).select_from(CellGrade))
        owners = set(session.scalars(select(Submission.username)))
    assert left == 2 and owners == {OTHER.username}


def test_a_running_server_refuses_the_erasure_and_nothing_changes(classroom: Classroom
                                                                 ) -> None:
    hub = create_engine(classroom.settings.hub_database_url)
    with Session(hub) as session, session.begin():
        server = orm.Server(ip="127.0.0.1", port=8888)
        user = session.query(orm.User).filter_by(name=ERASED.username).one()
        session.add(orm.Spawner(user=user, name="", server=server))
    hub.dispose()
    before = everywhere(classroom)
    with pytest.raises(PrivacyRefused, match="server is running"):
        erase_person(classroom.settings, ERASED.username)
    assert main(["privacy", "erase", ERASED.username, "--data",
                 str(classroom.data_dir)]) == 1
    with classroom.session() as session:
        assert session.get(Person, ERASED.username) is not None
    assert everywhere(classroom) == before


def test_erasing_a_username_nothing_is_held_about_is_refused(classroom: Classroom) -> None:
    before = everywhere(classroom)
    with pytest.raises(PrivacyRefused, match="nothing is held"):
        erase_person(classroom.settings, "stu-typo")
    assert everywhere(classroom) == before


def test_a_blob_stored_again_during_the_erasure_is_kept(tmp_path: Path) -> None:
    """If the service stores the same bytes for another pupil while an erasure runs (its
    row committed after the erasure read which blobs are named), is that blob kept?"""
    store = ContentStore(tmp_path / "blobs")
    shared, own = store.put(b"the starter file everyone hands in"), store.put(b"only mine")
    for name in (shared, own):
        os.utime(store.path(name), (time.time() - 60, time.time() - 60))
    started = time.time()
    assert store.write(b"the starter file everyone hands in") == (shared, None)
    assert remove_blobs(store, {shared, own}, referenced=set(), started=started) == 1
    assert store.path(shared).exists() and not store.path(own).exists()
