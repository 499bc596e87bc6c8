"""The exchange store: released versions, immutable submissions, extensions, feedback.

It is told who is asking and may do what by its caller (the classroom service checks
the organisation model); here every operation takes class ids, usernames and file
contents as plain arguments. Files go to the content-addressed store first and the
rows naming them are flushed afterwards into the caller's transaction, so a
submission is either complete (row committed, every blob on disk) or absent.
Timestamps are the server's clock (UTC), never the client's.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import MetaData, bindparam, case, func, insert, select, update
from sqlalchemy.orm import Session

from grading.exchange.archive import ArchiveLimits, pack
from grading.exchange.content_store import ContentStore
from grading.exchange.counted import counted_submission_ids
from grading.exchange.deadlines import applicable_due
from grading.exchange.errors import ExchangeRefused
from grading.exchange.models import Extension, Feedback, Fetch, Release, Submission

ASSIGNMENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


@dataclass(frozen=True)
class SubmissionLimits:
    """How much and how often a student may submit; the caller's settings decide."""

    archive: ArchiveLimits
    per_minute: int
    kept: int


@dataclass(frozen=True)
class NewSubmission:
    """A submission to insert: its files are already in the content store."""

    class_id: str
    assignment_id: str
    username: str
    release_version: int
    manifest: list[dict]
    idempotency_key: str


class ReleaseHead(NamedTuple):
    """What a fetch or a submit needs of a class's current release (not its manifest)."""

    version: int
    due_at: datetime | None
    archive_sha256: str


# Built once, for the statements every fetch or submit asks: SQLAlchemy takes several
# times longer to build and look up a statement than SQLite takes to answer it.
_RELEASE_HEAD = (
    select(Release.version, Release.due_at, Release.archive_sha256)
    .where(Release.class_id == bindparam("class_id"),
           Release.assignment_id == bindparam("assignment_id"))
    .order_by(Release.version.desc()).limit(1))
_EXTENSION_DUE = select(Extension.due_at).where(
    Extension.class_id == bindparam("class_id"),
    Extension.assignment_id == bindparam("assignment_id"),
    Extension.username == bindparam("username"))
_SUBMISSION_BY_KEY = select(Submission.id).where(
    Submission.username == bindparam("username"),
    Submission.idempotency_key == bindparam("idempotency_key"))


def utcnow() -> datetime:
    """The server's clock, naive UTC (as stored)."""
    return datetime.now(UTC).replace(tzinfo=None)


def check_assignment_id(assignment_id: str) -> str:
    """Refuse assignment ids that could name a path or break nbgrader's ``+`` separators."""
    if not ASSIGNMENT_ID.match(assignment_id) or ".." in assignment_id:
        raise ExchangeRefused("bad_name", f"作业名不允许：{assignment_id!r}（只能用字母、数字、"
                              "点、下划线和连字符）", f"assignment name not allowed: "
                              f"{assignment_id!r} (letters, digits, . _ - only)")
    return assignment_id


def check_idempotency_key(key: str) -> str:
    """Refuse a missing or malformed ``Idempotency-Key``."""
    if not IDEMPOTENCY_KEY.match(key):
        raise ExchangeRefused("bad_request", "缺少或无效的 Idempotency-Key",
                              "missing or invalid Idempotency-Key")
    return key


def flood_refusal(kept: int, recent: int, limits: SubmissionLimits) -> ExchangeRefused | None:
    """Why one more submission is refused, given how many the student has made of this
    assignment (``kept``) and in the last minute (``recent``); ``None`` if it is not."""
    if kept >= limits.kept:
        return ExchangeRefused("history_full", f"这份作业已提交 {kept} 次，达到上限",
                               f"this assignment was submitted {kept} times, the limit")
    if recent >= limits.per_minute:
        return ExchangeRefused("too_many_requests", "提交太频繁，请一分钟后再试",
                               "too many submissions; try again in a minute")
    return None


_SUBMISSION_COUNTS = (
    func.count(),
    func.coalesce(func.sum(case((Submission.submitted_at > bindparam("recent_since"), 1),
                                else_=0)), 0),
)
"""Columns counting submissions: all of them, and those since ``recent_since``
(:func:`_recent_since`)."""
_FLOOD_COUNTS = select(*_SUBMISSION_COUNTS).where(
    Submission.class_id == bindparam("class_id"),
    Submission.assignment_id == bindparam("assignment_id"),
    Submission.username == bindparam("username"))
"""One student's :data:`_SUBMISSION_COUNTS` for one assignment, built once: building the
statement cost as much as running it, on the event loop, for every submission."""


def _recent_since() -> datetime:
    """Where "recent" starts for the flood limits: a minute ago."""
    return utcnow() - timedelta(minutes=1)


def referenced_blobs(session: Session) -> set[str]:
    """Every SHA-256 a row of the database names: what :meth:`ContentStore.sweep` keeps.

    The tables are read from the database itself, not from the models this process
    happens to have imported, and by one convention: a column named ``manifest``
    holds ``[{"sha256": …}, …]`` and a column whose name ends in ``sha256`` holds one.
    A table added later that names blobs that way is covered without a change here.
    """
    metadata = MetaData()
    metadata.reflect(bind=session.connection())
    names: set[str] = set()
    for table in metadata.sorted_tables:
        for column in table.columns:
            if column.name == "manifest":
                for (manifest,) in session.execute(select(column).where(column.is_not(None))):
                    entries = json.loads(manifest) if isinstance(manifest, str) else manifest
                    names.update(entry["sha256"] for entry in entries or ()
                                 if isinstance(entry, dict) and "sha256" in entry)
            elif column.name.endswith("sha256"):
                names.update(session.scalars(select(column).where(column.is_not(None))))
    return names


class ExchangeStore:
    """Exchange operations on one database session and one content store."""

    def __init__(self, session: Session, content: ContentStore) -> None:
        self.session = session
        self.content = content

    def _store_files(self, files: dict[str, bytes]) -> list[dict]:
        return [{"path": path, "sha256": self.content.put(data), "size": len(data)}
                for path, data in sorted(files.items())]

    def files_of(self, manifest: list[dict]) -> dict[str, bytes]:
        """The files a manifest names."""
        return {entry["path"]: self.content.read(entry["sha256"]) for entry in manifest}

    # releases ------------------------------------------------------------------------

    def release(self, class_ids: list[str], assignment_id: str, files: dict[str, bytes],
                released_by: str, due_at: datetime | None) -> list[Release]:
        """Release the student version ``files`` to each class as its next version.

        Releasing exactly what is already current (a retried request) changes nothing.
        """
        check_assignment_id(assignment_id)
        manifest = self._store_files(files)
        archive = self.content.put(pack(files))
        now = utcnow()
        releases = []
        for class_id in class_ids:
            current = self.latest_release(class_id, assignment_id)
            if (current is not None and current.archive_sha256 == archive
                    and current.due_at == due_at):
                releases.append(current)
                continue
            release = Release(class_id=class_id, assignment_id=assignment_id,
                              version=(current.version + 1) if current else 1,
                              released_by=released_by, released_at=now, due_at=due_at,
                              manifest=manifest, archive_sha256=archive)
            self.session.add(release)
            releases.append(release)
        self.session.flush()
        return releases

    def latest_release(self, class_id: str, assignment_id: str) -> Release | None:
        """The current version released to a class, if any."""
        return self.session.scalars(
            select(Release).where(Release.class_id == class_id,
                                  Release.assignment_id == assignment_id)
            .order_by(Release.version.desc()).limit(1)
        ).first()

    def current_releases(self, class_ids: list[str]) -> list[Release]:
        """The latest version of every assignment released to these classes."""
        if not class_ids:
            return []
        newest = (select(Release.class_id, Release.assignment_id,
                         func.max(Release.version).label("version"))
                  .where(Release.class_id.in_(class_ids))
                  .group_by(Release.class_id, Release.assignment_id).subquery())
        return list(self.session.scalars(
            select(Release).join(newest, (Release.class_id == newest.c.class_id)
                                 & (Release.assignment_id == newest.c.assignment_id)
                                 & (Release.version == newest.c.version))
            .order_by(Release.class_id, Release.assignment_id)
        ))

    def fetched_versions(self, username: str) -> dict[tuple[str, str], int]:
        """(class, assignment) → the version this student fetched."""
        rows = self.session.execute(select(Fetch.class_id, Fetch.assignment_id, Fetch.version)
                                    .where(Fetch.username == username))
        return {(class_id, assignment_id): version for class_id, assignment_id, version in rows}

    def record_fetches(self, fetches: list[tuple[str, str, str, int]]) -> None:
        """Record many fetches ``(class, assignment, student, version)``, upserted at once."""
        if not fetches:
            return
        now = utcnow()
        rows = [{"class_id": class_id, "assignment_id": assignment_id, "username": username,
                 "version": version, "fetched_at": now}
                for class_id, assignment_id, username, version in fetches]
        dialect = self.session.get_bind().dialect.name
        if dialect in ("sqlite", "postgresql"):
            if dialect == "sqlite":
                from sqlalchemy.dialects.sqlite import insert as upsert
            else:
                from sqlalchemy.dialects.postgresql import insert as upsert
            statement = upsert(Fetch)
            self.session.execute(statement.on_conflict_do_update(
                index_elements=["class_id", "assignment_id", "username"],
                set_={"version": statement.excluded.version,
                      "fetched_at": statement.excluded.fetched_at}), rows)
            return
        for row in rows:
            updated = self.session.execute(
                update(Fetch).where(Fetch.class_id == row["class_id"],
                                    Fetch.assignment_id == row["assignment_id"],
                                    Fetch.username == row["username"])
                .values(version=row["version"], fetched_at=now))
            if not updated.rowcount:
                self.session.add(Fetch(**row))
                self.session.flush()

    def require_release(self, class_id: str, assignment_id: str) -> Release:
        release = self.latest_release(class_id, check_assignment_id(assignment_id))
        if release is None:
            raise _not_released(assignment_id)
        return release

    def require_release_head(self, class_id: str, assignment_id: str) -> ReleaseHead:
        """The current release's version, due date and archive: what fetch and submit need."""
        row = self.session.connection().execute(_RELEASE_HEAD, {
            "class_id": class_id, "assignment_id": check_assignment_id(assignment_id)}).first()
        if row is None:
            raise _not_released(assignment_id)
        return ReleaseHead(*row)

    # due dates -----------------------------------------------------------------------

    def grant_extension(self, class_id: str, assignment_id: str, username: str,
                        due_at: datetime, granted_by: str) -> Extension:
        """Give one student a new due date (before or after the original one)."""
        self.require_release(class_id, assignment_id)
        extension = self.session.scalars(
            select(Extension).where(Extension.class_id == class_id,
                                    Extension.assignment_id == assignment_id,
                                    Extension.username == username)).first()
        if extension is None:
            extension = Extension(class_id=class_id, assignment_id=assignment_id,
                                  username=username, due_at=due_at, granted_by=granted_by,
                                  granted_at=utcnow())
            self.session.add(extension)
        else:
            extension.due_at, extension.granted_by = due_at, granted_by
            extension.granted_at = utcnow()
        self.session.flush()
        return extension

    def due_for(self, class_id: str, assignment_id: str, username: str,
                release: Release | ReleaseHead | None = None) -> datetime | None:
        """The due date that applies to this student: an extension wins over the release's.

        ``release``: the latest release, when the caller has it already.
        """
        extension = self.session.connection().execute(_EXTENSION_DUE, {
            "class_id": class_id, "assignment_id": assignment_id, "username": username,
        }).scalar()
        release_due = None
        if extension is None:  # the release is looked up only when it decides
            release = release or self.latest_release(class_id, assignment_id)
            release_due = release.due_at if release else None
        return applicable_due(release_due, extension)

    # submissions ---------------------------------------------------------------------

    def add_submissions(self, new: list[NewSubmission], limits: SubmissionLimits
                        ) -> list[tuple[Submission, bool] | ExchangeRefused]:
        """Insert many submissions whose files are already stored, in three statements.

        For each, in order: the submission and whether it is new, or why it was refused.
        One query finds idempotency keys already used, one counts each student's
        submissions for the flood limits (those earlier in ``new`` count too), one
        inserts the rest, all stamped with the server's clock.
        """
        if not new:
            return []
        users = sorted({n.username for n in new})
        known = {(s.username, s.idempotency_key): s for s in self.session.scalars(
            select(Submission).where(Submission.username.in_(users),
                                     Submission.idempotency_key.in_(
                                         sorted({n.idempotency_key for n in new}))))}
        counts = {(c, a, u): [kept, recent] for c, a, u, kept, recent in self.session.execute(
            select(Submission.class_id, Submission.assignment_id, Submission.username,
                   *_SUBMISSION_COUNTS)
            .where(Submission.username.in_(users))
            .group_by(Submission.class_id, Submission.assignment_id, Submission.username),
            {"recent_since": _recent_since()})}
        now = utcnow()
        outcomes: list[tuple[Submission, bool] | ExchangeRefused | int] = []
        rows: list[dict] = []
        in_batch: dict[tuple[str, str], int] = {}
        for item in new:
            pair = (item.username, item.idempotency_key)
            if pair in known:
                outcomes.append((known[pair], False))
                continue
            if pair in in_batch:
                outcomes.append(-1 - in_batch[pair])  # the same as an earlier row, not new
                continue
            kept, recent = counts.setdefault(
                (item.class_id, item.assignment_id, item.username), [0, 0])
            refusal = flood_refusal(kept, recent, limits)
            if refusal is not None:
                outcomes.append(refusal)
                continue
            counts[(item.class_id, item.assignment_id, item.username)] = [kept + 1, recent + 1]
            in_batch[pair] = len(rows)
            outcomes.append(len(rows))
            rows.append({"key": secrets.token_hex(16), "class_id": item.class_id,
                         "assignment_id": item.assignment_id, "username": item.username,
                         "release_version": item.release_version, "submitted_at": now,
                         "idempotency_key": item.idempotency_key, "manifest": item.manifest,
                         "total_bytes": sum(entry["size"] for entry in item.manifest),
                         "chosen": False})
        inserted: list[Submission] = []
        if rows:
            inserted = list(self.session.scalars(
                insert(Submission).returning(Submission, sort_by_parameter_order=True), rows))
        return [outcome if not isinstance(outcome, int)
                else (inserted[outcome], True) if outcome >= 0
                else (inserted[-1 - outcome], False) for outcome in outcomes]

    def check_flood(self, class_id: str, assignment_id: str, username: str,
                    limits: SubmissionLimits) -> None:
        """Refuse one more submission now, before its files are written, if the flood limits
        already refuse it; :meth:`add_submissions` checks again in its transaction."""
        kept, recent = self.session.connection().execute(_FLOOD_COUNTS, {
            "class_id": class_id, "assignment_id": assignment_id, "username": username,
            "recent_since": _recent_since()}).one()
        refusal = flood_refusal(kept, recent, limits)
        if refusal is not None:
            raise refusal

    def find_submission(self, username: str, idempotency_key: str) -> Submission | None:
        """The submission a student already made with this idempotency key, if any."""
        found = self.session.connection().execute(_SUBMISSION_BY_KEY, {
            "username": username, "idempotency_key": idempotency_key}).scalar()
        return None if found is None else self.session.get(Submission, found)

    def submissions_of(self, class_id: str, assignment_id: str | None,
                       username: str) -> list[Submission]:
        """One student's submissions, oldest first (their history)."""
        query = select(Submission).where(Submission.class_id == class_id,
                                         Submission.username == username)
        if assignment_id is not None:
            query = query.where(Submission.assignment_id == assignment_id)
        return list(self.session.scalars(query.order_by(Submission.submitted_at,
                                                        Submission.id)))

    def submission(self, key: str) -> Submission | None:
        """A submission by its public id."""
        return self.session.scalars(select(Submission).where(Submission.key == key)).first()

    def choose(self, submission: Submission) -> None:
        """Make this submission the one that counts for its student, instead of the latest."""
        for other in self.submissions_of(submission.class_id, submission.assignment_id,
                                         submission.username):
            other.chosen = other.id == submission.id
        self.session.flush()

    def counted(self, class_id: str, assignment_id: str, username: str) -> Submission | None:
        """The submission that counts (:mod:`grading.exchange.counted`)."""
        return self.session.scalars(select(Submission).where(Submission.id.in_(
            counted_submission_ids(Submission.class_id == class_id,
                                   Submission.assignment_id == assignment_id,
                                   Submission.username == username)))).first()

    def collect(self, class_id: str, assignment_id: str,
                students: list[str]) -> list[tuple[str, Submission | None, datetime | None]]:
        """For each student: the submission that counts (or ``None``) and their due date."""
        release = self.require_release(class_id, assignment_id)
        counted = {s.username: s for s in self.session.scalars(
            select(Submission).where(Submission.id.in_(counted_submission_ids(
                Submission.class_id == class_id, Submission.assignment_id == assignment_id))))}
        extensions = dict(self.session.execute(
            select(Extension.username, Extension.due_at)
            .where(Extension.class_id == class_id, Extension.assignment_id == assignment_id)
        ).all())
        return [(name, counted.get(name), applicable_due(release.due_at, extensions.get(name)))
                for name in students]

    # feedback ------------------------------------------------------------------------

    def release_feedback(self, submission: Submission, files: dict[str, bytes],
                         released_by: str) -> Feedback:
        """Attach feedback files to a submission (replacing earlier feedback for it)."""
        manifest = self._store_files(files)
        feedback = self.feedback_of(submission)
        if feedback is None:
            feedback = Feedback(submission_id=submission.id, released_by=released_by,
                                released_at=utcnow(), manifest=manifest)
            self.session.add(feedback)
        else:
            feedback.manifest, feedback.released_by = manifest, released_by
            feedback.released_at = utcnow()
        self.session.flush()
        return feedback

    def feedback_of(self, submission: Submission) -> Feedback | None:
        return self.session.scalars(
            select(Feedback).where(Feedback.submission_id == submission.id)).first()


def _not_released(assignment_id: str) -> ExchangeRefused:
    return ExchangeRefused("not_released", f"作业 {assignment_id} 尚未发布到该班级",
                           f"assignment {assignment_id} is not released to this class")
