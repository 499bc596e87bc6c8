"""Stop keeping what belongs to people who left the roster, once ``[privacy]`` says so.

Someone has left when they are a student in no class of the roster (roster imports take
people out of classes; they never delete the person) or when the roster no longer has
them at all. Each kind of data has its own period, counted from its own last trace:

* submissions, grades and feedback: from their last submission (then erased as an
  erasure erases them, grades kept anonymised if the settings keep them);
* the home (directory or volume): from its last change, or in docker mode, where the
  hub cannot see into a volume, from their last day of server activity;
* sign-in history (activity per day, the audit trail's name for their reference): from
  their last day of activity; then the trail's rows stay but no longer say who;
* the roster record (real name, password hash, training and competition rows, the hub
  account): with the last of the above, when nothing else of theirs is kept, as an erasure
  on request removes it. Leaving the roster is itself in the audit trail, so the sign-in
  history is never empty before its period: a pupil between two rosters keeps their
  record (and password) for at least ``left_signins_days``.

:func:`expired` lists what would go (``aiclass privacy retention --dry-run``);
:func:`apply` removes it. The classroom service applies it once a day
(:func:`start_daily_retention`), first a few minutes after it starts, off its event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import docker
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session
from tornado.ioloop import IOLoop, PeriodicCallback

from grading.exchange.content_store import BLOBS_IN_DATA_DIR, ContentStore
from grading.exchange.models import Submission
from grading.exchange.store import referenced_blobs
from hub.audit.models import AuditEvent, AuditPerson
from hub.audit.trail import forget_person, person_ref, prune, record, utc_now
from hub.backup import HOMES
from hub.db import ServiceDatabase
from hub.home_volumes import home_volume_name
from hub.org.models import Enrollment, Person, Role
from hub.privacy.erasure import (
    ErasureReport,
    erase_graded_work,
    erase_rows,
    pseudonym,
    remove_blobs,
    remove_home,
)
from hub.privacy.hub_account import delete_account, running_servers
from hub.privacy.refusal import ErasureIncomplete
from hub.reports.tables import ActivityDay
from hub.settings import Settings

KINDS = {"submissions": ("提交与成绩", "submissions and grades"),
         "home": ("主目录", "home"),
         "signins": ("登录与活动记录", "sign-in and activity history"),
         "roster": ("花名册记录与账号", "roster record and account")}
DAY_SECONDS = 24 * 3600
FIRST_RUN_DELAY_SECONDS = 300
"""The service applies retention this long after it starts, not while a class signs in."""

log = logging.getLogger("aiclass.privacy.retention")


@dataclass(frozen=True)
class Expired:
    """One kind of data of one person who left, past its period."""

    kind: str
    username: str
    last_trace: datetime

    def line(self) -> str:
        """One line for the console: the username (pseudonymous), never a real name."""
        zh, en = KINDS[self.kind]
        day = f"{self.last_trace:%Y-%m-%d}" if self.last_trace > datetime.min else "—"
        return f"{self.username}\t{zh} / {en}\t{day}"


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def people_who_left(session: Session, homes: set[str]) -> set[str]:
    """Usernames with data here who are no longer a student of any class, nor staff."""
    traces = set(session.scalars(select(Submission.username).distinct()))
    traces |= set(session.scalars(select(ActivityDay.username).distinct()))
    traces |= set(session.scalars(select(Person.username).where(Person.role == Role.STUDENT)))
    traces |= homes
    staying = set(session.scalars(select(Enrollment.username).distinct()))
    staying |= set(session.scalars(select(Person.username).where(Person.role != Role.STUDENT)))
    return {name for name in traces - staying if not name.startswith("anon-")}


def _home_dirs(settings: Settings) -> dict[str, datetime]:
    """Local mode: each home and its last change (its own or a direct entry's)."""
    root = settings.data_dir / HOMES
    if settings.hub.mode == "docker" or not root.is_dir():
        return {}
    homes = {}
    for home in root.iterdir():
        if home.is_dir() and not home.is_symlink():
            stamps = [home.stat().st_mtime] + [p.lstat().st_mtime for p in home.iterdir()]
            homes[home.name] = datetime.fromtimestamp(max(stamps), UTC).replace(tzinfo=None)
    return homes


def _docker_homes(settings: Settings, left: set[str], activity: dict[str, datetime]
                  ) -> dict[str, datetime]:
    """Docker mode: the volumes of those who left, dated by their last activity (or now,
    for a volume nobody's activity dates: it waits a whole period from now)."""
    if settings.hub.mode != "docker" or not left:
        return {}
    names = {v.name for v in docker.from_env().volumes.list()}
    now = datetime.now(UTC).replace(tzinfo=None)
    return {u: activity.get(u, now) for u in left
            if home_volume_name(settings.docker.home_volume, u) in names}


def expired(session: Session, settings: Settings, now: datetime | None = None) -> list[Expired]:
    """What retention would remove now, by person and kind."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    policy = settings.privacy
    local_homes = _home_dirs(settings)
    left = people_who_left(session, set(local_homes)) - set(settings.hub.admin_users)
    if not left:
        return []
    last_submission = dict(session.execute(
        select(Submission.username, func.max(Submission.submitted_at))
        .where(Submission.username.in_(left)).group_by(Submission.username)).all())
    activity = {u: _midnight(d) for u, d in session.execute(
        select(ActivityDay.username, func.max(ActivityDay.day))
        .where(ActivityDay.username.in_(left)).group_by(ActivityDay.username))}
    remembered = set(session.scalars(select(AuditPerson.username)
                                     .where(AuditPerson.username.in_(left))))
    homes = local_homes | _docker_homes(settings, left, activity)
    on_roster = set(session.scalars(select(Person.username).where(Person.username.in_(left))))
    found = []
    for username in sorted(left):
        held = 0
        mine: list[Expired] = []
        if (last := last_submission.get(username)) is not None:
            held += 1
            if last < now - timedelta(days=policy.left_submissions_days):
                mine.append(Expired("submissions", username, last))
        if (last := homes.get(username)) is not None:
            held += 1
            if last < now - timedelta(days=policy.left_homes_days):
                mine.append(Expired("home", username, last))
        if username in activity or username in remembered:
            held += 1
            last = activity.get(username) or _last_audit_event(session, username)
            if last < now - timedelta(days=policy.left_signins_days):
                mine.append(Expired("signins", username, last))
        if username in on_roster and len(mine) == held:
            mine.append(Expired("roster", username,
                                max((item.last_trace for item in mine), default=datetime.min)))
        found += mine
    return found


def _last_audit_event(session: Session, username: str) -> datetime:
    """When the audit trail last mentioned someone without any day of server activity."""
    ref = person_ref(session, username)
    last = session.scalar(select(func.max(AuditEvent.at)).where(
        or_(AuditEvent.actor_ref == ref, AuditEvent.subject_ref == ref)))
    return last or datetime.min


def would_remove(settings: Settings, now: datetime | None = None) -> list[Expired]:
    """:func:`expired`, on its own connection: the dry run changes nothing."""
    database = ServiceDatabase(settings.database_url)
    try:
        with database.session() as session:
            return expired(session, settings, now)
    finally:
        database.engine.dispose()


def apply(settings: Settings, now: datetime | None = None) -> list[Expired]:
    """Remove what :func:`expired` lists; return it. One audit row per kind that went.

    The audit trail's own rows older than ``[privacy] audit_retention_days`` go too
    (:func:`hub.audit.trail.prune`, as ``aiclass audit prune`` does), whoever they are about.
    """
    database = ServiceDatabase(settings.database_url)
    blobs: set[str] = set()
    started = time.time()
    try:
        with database.session() as session:
            # A running server would write the hub account back: its record waits a day.
            gone = [item for item in expired(session, settings, now)
                    if item.kind != "roster" or not running_servers(settings, item.username)]
            report = ErasureReport()
            for item in gone:
                if item.kind == "submissions":
                    blobs |= erase_graded_work(session, item.username,
                                               settings.privacy.keep_anonymised_grades,
                                               pseudonym(), report)
                elif item.kind == "signins":
                    session.execute(delete(ActivityDay)
                                    .where(ActivityDay.username == item.username))
                    forget_person(session, item.username)
                elif item.kind == "roster":
                    blobs |= erase_rows(session, item.username,
                                        settings.privacy.keep_anonymised_grades, pseudonym(),
                                        report)
                    forget_person(session, item.username)
            for kind in KINDS:
                count = sum(1 for item in gone if item.kind == kind)
                if count:
                    record(session, actor="", action="privacy.erased",
                           detail={"retention": kind, "people": count})
            prune(session, (now or utc_now())
                  - timedelta(days=settings.privacy.audit_retention_days))
        with database.session() as session:
            referenced = referenced_blobs(session) if blobs else set()
    finally:
        database.engine.dispose()
    remove_blobs(ContentStore(settings.data_dir / BLOBS_IN_DATA_DIR), blobs, referenced,
                 started)
    for item in gone:
        if item.kind == "home" and not running_servers(settings, item.username):
            remove_home(settings, item.username)
        elif item.kind == "roster":
            try:
                delete_account(settings, item.username)
            except ErasureIncomplete as refused:
                log.warning("retention: %s", refused)
    return gone


def start_daily_retention(settings: Settings) -> PeriodicCallback:
    """Apply retention once a day in the service, on a thread, first a few minutes after
    start (the hub's start and a class's first sign-ins do not wait for it)."""
    def run() -> None:
        done = asyncio.get_running_loop().run_in_executor(None, apply, settings)
        done.add_done_callback(lambda future: log.error(
            "retention failed", exc_info=future.exception()) if future.exception()
            else log.info("retention: %d items removed", len(future.result())))

    daily = PeriodicCallback(run, DAY_SECONDS * 1000)
    IOLoop.current().call_later(FIRST_RUN_DELAY_SECONDS, run)
    daily.start()
    return daily
