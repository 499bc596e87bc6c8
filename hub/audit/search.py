"""Searching the audit trail: by action, person, time and class, within a school or all.

The scope is part of the query, set by the caller from who is asking (never from the
request): a school admin's query always carries their school, which no other filter
can widen. People are shown by username while ``audit_people`` still maps their
reference; an erased person shows as the start of their reference.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, aliased

from grading.gradebook.export import spreadsheet_safe
from hub.audit.actions import ACTIONS
from hub.audit.models import AuditEvent, AuditPerson
from hub.audit.trail import person_ref

EVERY_SCHOOL = None
"""The scope of a region admin's query."""
PAGE_ROWS = 500
"""Rows a page shows (newest first); the XLSX export has every match."""
ERASED_PREFIX = "#"


@dataclass(frozen=True)
class AuditQuery:
    """What to look for. ``school`` is the scope: a school id, or :data:`EVERY_SCHOOL`."""

    school: str | None
    action: str = ""
    person: str = ""
    """A username, as actor or as subject."""
    since: datetime | None = None
    """Naive UTC, inclusive."""
    until: datetime | None = None
    """Naive UTC, exclusive."""
    class_id: str = ""


@dataclass(frozen=True)
class AuditRow:
    """One event as the page and the export show it."""

    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    school: str
    class_id: str
    source: str
    detail: dict


def _shown(ref: str, username: str | None) -> str:
    if not ref:
        return ""
    return username if username is not None else ERASED_PREFIX + ref[:8]


def _statement(session: Session, query: AuditQuery) -> Select:
    actor, subject = aliased(AuditPerson), aliased(AuditPerson)
    statement = (select(AuditEvent, actor.username, subject.username)
                 .outerjoin(actor, actor.ref == AuditEvent.actor_ref)
                 .outerjoin(subject, subject.ref == AuditEvent.subject_ref))
    if query.school is not EVERY_SCHOOL:
        statement = statement.where(AuditEvent.school == query.school)
    if query.action:
        statement = statement.where(AuditEvent.action == query.action)
    if query.person:
        ref = person_ref(session, query.person)
        statement = statement.where(or_(AuditEvent.actor_ref == ref,
                                        AuditEvent.subject_ref == ref))
    if query.since is not None:
        statement = statement.where(AuditEvent.at >= query.since)
    if query.until is not None:
        statement = statement.where(AuditEvent.at < query.until)
    if query.class_id:
        statement = statement.where(AuditEvent.class_id == query.class_id)
    return statement.order_by(AuditEvent.id.desc())


def search(session: Session, query: AuditQuery, limit: int | None = PAGE_ROWS
           ) -> Iterator[AuditRow]:
    """The events matching ``query``, newest first (``limit=None``: all of them)."""
    statement = _statement(session, query)
    if limit is not None:
        statement = statement.limit(limit)
    for event, actor, subject in session.execute(statement):
        yield AuditRow(event.id, event.at, _shown(event.actor_ref, actor), event.action,
                       _shown(event.subject_ref, subject), event.school, event.class_id,
                       event.source, json.loads(event.detail))


HEADINGS = ("编号 Id", "时间 (UTC) Time", "操作人 Actor", "动作 Action", "对象 Subject",
            "学校 School", "班级 Class", "来源地址 Source", "详情 Detail")


def search_workbook(rows: Iterator[AuditRow]) -> bytes:
    """The rows as an XLSX workbook, headings in both languages, text made formula-safe."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "审计记录 Audit"
    sheet.append(HEADINGS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        zh, en = ACTIONS.get(row.action, (row.action, row.action))
        sheet.append([row.id, row.at, *(spreadsheet_safe(value) for value in (
            row.actor, f"{zh} {en}", row.subject, row.school, row.class_id, row.source,
            json.dumps(row.detail, ensure_ascii=False, sort_keys=True)))])
    sheet.freeze_panes = "A2"
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
