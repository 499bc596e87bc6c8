"""The audit trail's search page and its XLSX export, for region and school admins.

A region admin searches every row (and may narrow to one school); a school admin only
the rows filed under their own school: the scope comes from who is asking, checked on
the server, and no query parameter can widen it. Dates are school days (UTC+8).
Exporting the search is itself put on the trail.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from tornado import web

from hub.audit.actions import ACTIONS
from hub.audit.search import EVERY_SCHOOL, PAGE_ROWS, AuditQuery, search, search_workbook
from hub.audit.trail import person_ref, record
from hub.auth.throttle import client_address
from hub.org.models import Role
from hub.service.pages.audit_texts import AUDIT_TEXTS
from hub.service.pages.base import XLSX, Forbidden, PageHandler
from hub.service.pages.timefmt import SCHOOL_TIME, localtime


class BadFilter(ValueError):
    """A filter the page cannot use; ``key`` names its text in :data:`AUDIT_TEXTS`."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def school_day_start(value: str) -> datetime:
    """The start of a school day ``YYYY-MM-DD`` as naive UTC."""
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise BadFilter("bad_date") from exc
    local = datetime(day.year, day.month, day.day, tzinfo=SCHOOL_TIME)
    return local.astimezone(UTC).replace(tzinfo=None)


class AuditPage(PageHandler):
    """What the search page and its export share: the caller's scope and the filters."""

    def scope(self) -> str | None:
        """The caller's school, :data:`EVERY_SCHOOL` for a region admin; 403 for the rest."""
        if self.person.role == Role.REGION_ADMIN:
            return EVERY_SCHOOL
        if self.person.role == Role.SCHOOL_ADMIN and self.person.school_id:
            return self.person.school_id
        raise Forbidden("admins_only")

    def filters(self) -> dict[str, str]:
        """The query's filters as typed (``school`` only for a region admin)."""
        names = ("action", "person", "since", "until", "class", "school")
        return {name: self.get_query_argument(name, "").strip() for name in names}

    def query(self, filters: dict[str, str]) -> AuditQuery:
        scope = self.scope()
        if scope is EVERY_SCHOOL and filters["school"]:
            scope = filters["school"]
        if filters["action"] and filters["action"] not in ACTIONS:
            raise BadFilter("bad_action")
        since = school_day_start(filters["since"]) if filters["since"] else None
        until = (school_day_start(filters["until"]) + timedelta(days=1)
                 if filters["until"] else None)
        return AuditQuery(school=scope, action=filters["action"], person=filters["person"],
                          since=since, until=until, class_id=filters["class"])


class AuditHandler(AuditPage):
    @web.authenticated
    def get(self) -> None:
        scope = self.scope()
        filters = self.filters()
        error, rows = "", []
        try:
            query = self.query(filters)
        except BadFilter as exc:
            self.set_status(400)
            error = AUDIT_TEXTS[self.locale_name][exc.key]
        else:
            with self.classroom.database.session() as session:
                rows = list(search(session, query))
        self.render_page("audit.html", au=AUDIT_TEXTS[self.locale_name], rows=rows,
                         filters=filters, error=error, actions=ACTIONS,
                         region=scope is EVERY_SCHOOL, page_rows=PAGE_ROWS,
                         when=localtime)


class AuditExportHandler(AuditPage):
    @web.authenticated
    def get(self) -> None:
        filters = self.filters()
        try:
            query = self.query(filters)
        except BadFilter as exc:
            raise web.HTTPError(400, exc.key) from exc
        file_name = f"audit-{datetime.now(SCHOOL_TIME):%Y%m%d}.xlsx"
        with self.classroom.database.session() as session:
            body = search_workbook(search(session, query, limit=None))
            used = {name: value for name, value in filters.items() if value}
            if "person" in used:  # the chain holds no username: a reference, never mapped
                used["person"] = person_ref(session, used["person"])
            record(session, actor=self.person.username, action="audit.exported",
                   school=self.person.school_id or "", source=client_address(self.request),
                   detail={"file": file_name, "filters": used})
        self.send_file(body, file_name, XLSX)


def audit_routes(prefix: str) -> list[tuple[str, type]]:
    return [(f"{prefix}audit", AuditHandler), (f"{prefix}audit\\.xlsx", AuditExportHandler)]
