"""Erase one person's personal data from every store the classroom keeps.

In order, each step only after the one before it held: refuse while their server runs
(their home is in use, and the hub would write their account back); in one transaction
of the service database, delete the rows that are theirs and re-key what the settings
keep, record the erasure in the audit trail and forget their reference there; then
delete the exchange blobs no remaining row names, their JupyterHub account, their home
(directory or volume) and every mention of their username in the data dir's logs.

What is kept with ``[privacy] keep_anonymised_grades``: their submission rows (the
files' manifest emptied), per-cell scores (comments emptied) and grading jobs (errors
emptied), under a random pseudonym that nothing links back to them, so that a school's
statistics keep their counts (the client's idempotency key, free text, becomes the
submission's own key). Feedback, the reasons points were lost (they quote the
student's output) and the grade changes' history (old comments) go in any case.
Actor columns (a teacher who released or graded) are re-keyed to the same pseudonym,
since another pupil's work is not theirs to erase.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import docker
from docker.errors import NotFound
from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from grading.exchange.content_store import BLOBS_IN_DATA_DIR, ContentStore
from grading.exchange.models import Feedback, Submission
from grading.exchange.store import referenced_blobs
from grading.gradebook.models import CellGrade, GradeChange, GradingJob, LostPoints, NotebookGrade
from hub.audit.trail import forget_person, record
from hub.backup import HOMES
from hub.db import ServiceDatabase
from hub.home_volumes import home_volume_name
from hub.org.models import Person
from hub.privacy.holdings import ACTOR_COLUMNS, OWNER_COLUMN, person_tables, rows_naming
from hub.privacy.hub_account import delete_account, has_account, running_servers
from hub.privacy.refusal import PrivacyRefused
from hub.settings import Settings

KEPT_ANONYMISED = frozenset({Submission.__tablename__, CellGrade.__tablename__})
"""Tables whose rows of the person stay, re-keyed, under ``keep_anonymised_grades``."""
LOG_SUFFIX = re.compile(r"\.log(\.\d+)?$")
"""The data dir's log files (rotated ones too) that may name people by username."""
SKIPPED_DIRS = (Path(HOMES), BLOBS_IN_DATA_DIR)


def pseudonym() -> str:
    """A fresh id for the rows kept anonymised: random, so it cannot be computed back."""
    return f"anon-{secrets.token_hex(8)}"


@dataclass
class ErasureReport:
    """What an erasure removed, counted, for the console, the page and the audit row."""

    rows_deleted: dict[str, int] = field(default_factory=dict)
    rows_rekeyed: int = 0
    blobs_removed: int = 0
    hub_account: bool = False
    home_removed: bool = False
    logs_scrubbed: int = 0

    def summary(self) -> str:
        """One line without the person in it."""
        deleted = sum(self.rows_deleted.values())
        return (f"删除 {deleted} 行、匿名保留 {self.rows_rekeyed} 行、{self.blobs_removed} 个文件；"
                f"hub 账号 {'已删' if self.hub_account else '无'}；主目录 "
                f"{'已删' if self.home_removed else '无'}；{self.logs_scrubbed} 个日志已清理 / "
                f"{deleted} rows deleted, {self.rows_rekeyed} kept anonymised, "
                f"{self.blobs_removed} files; hub account "
                f"{'deleted' if self.hub_account else 'none'}; home "
                f"{'deleted' if self.home_removed else 'none'}; "
                f"{self.logs_scrubbed} logs scrubbed")


def refuse_while_running(settings: Settings, username: str) -> None:
    """Refuse to touch a person whose server runs: their home is open and in use."""
    servers = running_servers(settings, username)
    if servers:
        raise PrivacyRefused(
            f"{username} 的服务器正在运行，请先在 hub 管理页面停止它，再重试 / {username}'s "
            "server is running: stop it first (hub admin page), then try again")


def refuse_if_nothing_held(database: ServiceDatabase, settings: Settings, username: str
                           ) -> None:
    """Refuse a username nothing is held about (a typo would otherwise "succeed"); one
    whose erasure stopped half-way still has their account or home, and goes on."""
    with database.session() as session:
        rows = rows_naming(session, username)
    home = settings.hub.mode != "docker" and (settings.data_dir / HOMES / username).is_dir()
    if not (rows or home or has_account(settings, username)):
        raise PrivacyRefused(f"{username}: 系统中没有此人的数据 / nothing is held about this "
                             "username")


def _blobs_of(session: Session, submission_ids: list[int]) -> set[str]:
    """Every blob the person's submissions, feedback and graded copies name."""
    names: set[str] = set()
    manifests = list(session.scalars(select(Submission.manifest)
                                     .where(Submission.id.in_(submission_ids))))
    manifests += session.scalars(select(Feedback.manifest)
                                 .where(Feedback.submission_id.in_(submission_ids)))
    for manifest in manifests:
        names.update(entry["sha256"] for entry in manifest or () if "sha256" in entry)
    names.update(session.scalars(select(NotebookGrade.executed_sha256).where(
        NotebookGrade.submission_id.in_(submission_ids),
        NotebookGrade.executed_sha256.is_not(None))))
    return names


def _count(deleted: dict[str, int], table: str, rowcount: int) -> None:
    if rowcount:
        deleted[table] = deleted.get(table, 0) + rowcount


def erase_graded_work(session: Session, username: str, keep_grades: bool, alias: str,
                      report: ErasureReport) -> set[str]:
    """Delete (or, keeping grades, strip and re-key) one person's submissions and what
    hangs off them; return the blobs they named. Retention uses it for people who left."""
    ids = list(session.scalars(select(Submission.id).where(Submission.username == username)))
    blobs = _blobs_of(session, ids)
    cells = select(CellGrade.id).where(CellGrade.submission_id.in_(ids))
    dependents = [(GradeChange, GradeChange.cell_id.in_(cells)),
                  (LostPoints, LostPoints.submission_id.in_(ids)),
                  (Feedback, Feedback.submission_id.in_(ids))]
    if not keep_grades:
        dependents += [(NotebookGrade, NotebookGrade.submission_id.in_(ids)),
                       (CellGrade, CellGrade.submission_id.in_(ids)),
                       (GradingJob, GradingJob.submission_id.in_(ids)),
                       (Submission, Submission.id.in_(ids))]
    for model, condition in dependents:
        _count(report.rows_deleted, model.__tablename__,
               session.execute(delete(model).where(condition)).rowcount)
    if keep_grades and ids:
        session.execute(update(NotebookGrade).where(NotebookGrade.submission_id.in_(ids))
                        .values(executed_sha256=None))
        session.execute(update(GradingJob).where(GradingJob.submission_id.in_(ids))
                        .values(error=None))
        report.rows_rekeyed += session.execute(
            update(CellGrade).where(CellGrade.submission_id.in_(ids))
            .values(comment="", username=alias)).rowcount
        report.rows_rekeyed += session.execute(
            update(Submission).where(Submission.id.in_(ids))
            .values(manifest=[], username=alias, idempotency_key=Submission.key)).rowcount
    return blobs


def erase_rows(session: Session, username: str, keep_grades: bool, alias: str,
               report: ErasureReport) -> set[str]:
    """Delete every row of the service database that is ``username``'s (their roster
    record included), re-key what the settings keep and the actor columns to ``alias``;
    return the blobs their submissions named. Retention uses it for a leaver's record."""
    blobs = erase_graded_work(session, username, keep_grades, alias, report)
    tables = list(person_tables(session))
    for table, columns in reversed(tables):  # dependents before the rows they name
        if OWNER_COLUMN in columns and table.name not in KEPT_ANONYMISED:
            _count(report.rows_deleted, table.name, session.execute(
                delete(table).where(table.c[OWNER_COLUMN] == username)).rowcount)
    for table, columns in tables:
        for column in columns:
            if column in ACTOR_COLUMNS:
                report.rows_rekeyed += session.execute(
                    update(table).where(table.c[column] == username)
                    .values({column: alias})).rowcount
    return blobs


def overwrite_freed_pages(session: Session) -> None:
    """SQLite keeps a deleted row's bytes in its free pages until they are reused; with
    ``secure_delete`` this connection zeroes what it frees (PostgreSQL's vacuum reclaims
    dead rows on its own)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA secure_delete = ON"))


def checkpoint(database: ServiceDatabase) -> None:
    """Write SQLite's log back into the database and empty it, so that the pages from
    before the erasure leave the log file too (best effort: a reader may hold it)."""
    if database.engine.dialect.name == "sqlite":
        with database.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def remove_blobs(store: ContentStore, candidates: Iterable[str], referenced: set[str],
                 started: float) -> int:
    """Delete the candidates no row names any more; return how many were deleted.

    The classroom service may meanwhile store the same bytes for someone else (another
    pupil handing in the same starter file): its write finds the blob already there and
    touches it, then commits a row naming it, possibly after ``referenced`` was read. A
    blob touched since ``started`` (the time, on this clock, before the erasure read
    anything) is therefore kept: at worst an orphan, which the service's own sweep
    removes later, never another pupil's missing file.
    """
    removed = 0
    for name in sorted(set(candidates) - referenced):
        path = store.path(name)
        try:
            if path.stat().st_mtime >= started:
                continue
            path.unlink()
        except FileNotFoundError:
            continue
        removed += 1
    return removed


def remove_home(settings: Settings, username: str) -> bool:
    """Delete the person's home: the directory (local mode) or the volume (docker mode)."""
    if settings.hub.mode == "docker":
        name = home_volume_name(settings.docker.home_volume, username)
        try:
            docker.from_env().volumes.get(name).remove(force=True)
        except NotFound:
            return False
        return True
    home = settings.data_dir / HOMES / username
    if not home.is_dir():
        return False
    shutil.rmtree(home)
    return True


def scrub_logs(data_dir: Path, username: str, alias: str) -> int:
    """Replace the username in the data dir's log files; return how many were rewritten.

    Logs name people by username (never by real name); once that username is erased,
    the lines stay for whoever runs the hub, naming the pseudonym instead. Written in
    place, so that a hub appending to its log goes on appending to the same file.
    """
    pattern = re.compile(rb"(?<![\w-])" + re.escape(username.encode()) + rb"(?![\w-])")
    skipped = {data_dir / folder for folder in SKIPPED_DIRS}
    scrubbed = 0
    for folder, subfolders, names in os.walk(data_dir):
        subfolders[:] = [d for d in subfolders if Path(folder, d) not in skipped]
        for name in names:
            path = Path(folder, name)
            if not LOG_SUFFIX.search(name) or path.is_symlink():
                continue
            text = path.read_bytes()
            cleaned = pattern.sub(alias.encode(), text)
            if cleaned != text:
                with path.open("r+b") as handle:
                    handle.write(cleaned)
                    handle.truncate()
                scrubbed += 1
    return scrubbed


def erase_person(settings: Settings, username: str, *, actor: str = "", source: str = ""
                 ) -> ErasureReport:
    """Erase ``username`` everywhere (see the module's docstring); ``actor`` asked for it."""
    refuse_while_running(settings, username)
    report, alias, started = ErasureReport(), pseudonym(), time.time()
    keep_grades = settings.privacy.keep_anonymised_grades
    database = ServiceDatabase(settings.database_url)
    try:
        refuse_if_nothing_held(database, settings, username)
        with database.session() as session:
            overwrite_freed_pages(session)
            person = session.get(Person, username)
            school = person.school_id if person and person.school_id else ""
            blobs = erase_rows(session, username, keep_grades, alias, report)
            record(session, actor=actor, action="privacy.erased", subject=username,
                   school=school, source=source,
                   detail={"rows_deleted": sum(report.rows_deleted.values()),
                           "rows_kept_anonymised": report.rows_rekeyed})
            forget_person(session, username)
        with database.session() as session:
            referenced = referenced_blobs(session)
        checkpoint(database)
    finally:
        database.engine.dispose()
    report.blobs_removed = remove_blobs(ContentStore(settings.data_dir / BLOBS_IN_DATA_DIR),
                                        blobs, referenced, started)
    report.hub_account = delete_account(settings, username)
    report.home_removed = remove_home(settings, username)
    report.logs_scrubbed = scrub_logs(settings.data_dir, username, alias)
    return report
