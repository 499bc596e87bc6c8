"""School and region reports: the page, a printable version and the XLSX export.

A school admin sees their school; a district admin the schools of their district; a
region admin sees every school and the region (with a comparison by district).
Teachers and students see neither.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from tornado import web

from hub.audit.trail import record
from hub.auth.throttle import client_address
from hub.org.models import District, Role, School
from hub.programme.overview import district_rows
from hub.programme.scope import OutOfScope, district_in_scope
from hub.reports.columns import FIGURE_COLUMNS, formatted
from hub.reports.export import region_workbook
from hub.reports.figures import Figures, ReportPolicy
from hub.reports.region import RegionReport, by_district, district_report
from hub.reports.snapshot import refresh_region, stored_region
from hub.service.pages.base import XLSX, Forbidden, PageHandler
from hub.service.pages.teacher import ID


class ReportPage(PageHandler):
    @property
    def policy(self) -> ReportPolicy:
        return self.settings["report_policy"]

    def render_report(self, rows: list[tuple[str | None, Figures]],
                      comparison: list[tuple[str, Figures]] | None, **context: object) -> None:
        policy = self.policy
        self.render_page("report.html", columns=FIGURE_COLUMNS, policy=policy,
                         fmt=lambda column, figures: formatted(column, figures, policy),
                         printable=self.get_query_argument("print", "") == "1",
                         rows=rows, comparison=comparison,
                         row_charts=report_charts([(f.name, f) for _link, f in rows], policy),
                         comparison_charts=report_charts(comparison or [], policy), **context)


class SchoolReportHandler(ReportPage):
    @web.authenticated
    def get(self, school_id: str) -> None:
        role = self.person.role
        if role == Role.DISTRICT_ADMIN:
            with self.classroom.database.session() as session:
                school = session.get(School, school_id)
                if school is None or school.district_id != self.person.district_id:
                    raise Forbidden("admins_only")
        elif not (role == Role.REGION_ADMIN
                  or (role == Role.SCHOOL_ADMIN and self.person.school_id == school_id)):
            raise Forbidden("admins_only")
        region, computed_at = build_region_report(self)
        report = next((s for s in region.schools if s.school.key == school_id), None)
        if report is None:
            raise Forbidden("not_found")
        rows = [(f"{self.prefix}classes/{c.key}", c) for c in report.classes]
        self.render_report(title=f"{report.school.name} · {self.text['school_report']}",
                           rows=rows, total=report.school, rows_title=self.text["class"],
                           rows_heading=self.text["class"], comparison=None, weeks=None,
                           export_url=None, computed_at=computed_at)


def percent(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 1)


def report_charts(rows: list[tuple[str, Figures]], policy: ReportPolicy) -> dict[str, list]:
    """The bars of a report's charts: class-hours per student (drawn against the term's
    benchmark) and the submission, on-time and pass rates in percent, one bar group a row.

    A rate with nothing to measure is ``None``, which the chart leaves out rather than
    drawing as zero (hovering shows "-"); a chart with nothing to draw at all is empty,
    so the page says "no data yet" instead of drawing bare axes.
    """
    hours = [[name, round(f.class_hours_per_student(policy), 1)] for name, f in rows]
    rates = [[name, percent(f.submission_rate), percent(f.on_time_rate), percent(f.pass_rate)]
             for name, f in rows]
    return {"hours": hours if any(value for _name, value in hours) else [],
            "rates": rates if any(v is not None for row in rates for v in row[1:]) else []}


def build_region_report(handler: ReportPage) -> tuple[RegionReport, datetime]:
    """The stored snapshot (kept fresh by the service), computed now only when there is none."""
    with handler.classroom.database.session() as session:
        stored = stored_region(session, handler.policy)
        if stored is not None:
            return stored
        report = refresh_region(session, handler.settings["region_name"], handler.policy,
                                datetime.now(UTC).date())
        return report, datetime.now(UTC).replace(tzinfo=None)


def comparison_rows(report: RegionReport, text: dict[str, str],
                    districts: dict[str, str] | None = None) -> list[tuple[str, Figures]]:
    """Urban against rural, stage against stage, and (given their names) district by
    district."""
    return ([(text[k], f) for k, f in report.by_locality.items()]
            + [(text.get(k, k), f) for k, f in report.by_stage.items()]
            + [(f.name, f) for f in by_district(report.schools, districts or {}).values()])


def week_series(report: RegionReport) -> list[dict]:
    minutes = report.policy.period_minutes
    return [{"week": w.week_start.isoformat(), "hours": round(w.active_minutes / minutes, 1),
             "urban": round(w.minutes_by_locality.get("urban", 0) / minutes, 1),
             "rural": round(w.minutes_by_locality.get("rural", 0) / minutes, 1),
             "submissions": w.submissions} for w in report.weeks]


class RegionReportHandler(ReportPage):
    @web.authenticated
    def get(self) -> None:
        if self.person.role != Role.REGION_ADMIN:
            raise Forbidden("admins_only")
        report, computed_at = build_region_report(self)
        with self.classroom.database.session() as session:
            districts = dict(session.execute(select(District.id, District.name)).all())
        rows = [(f"{self.prefix}schools/{s.school.key}", s.school) for s in report.schools]
        self.render_report(title=f"{report.region.name} · {self.text['region_report']}",
                           rows=rows, total=report.region, rows_title=self.text["schools"],
                           rows_heading=self.text["school"],
                           comparison=comparison_rows(report, self.text, districts),
                           weeks=week_series(report), export_url=f"{self.prefix}region.xlsx",
                           computed_at=computed_at)


class RegionExportHandler(ReportPage):
    """The region report's XLSX; for one district (``districts/<id>.xlsx``, its admin or
    the region's) only that district's schools, classes and roll-up."""

    @web.authenticated
    def get(self, district_id: str = "") -> None:
        if district_id:
            self.export_district(district_id)
            return
        if self.person.role != Role.REGION_ADMIN:
            raise Forbidden("admins_only")
        report, _computed_at = build_region_report(self)
        with self.classroom.database.session() as session:
            districts = district_rows(session, report, self.policy)
        self.send(region_workbook(report, districts), "region")

    def export_district(self, district_id: str) -> None:
        report, _computed_at = build_region_report(self)
        with self.classroom.database.session() as session:
            try:
                district = district_in_scope(session, self.person, district_id)
            except OutOfScope:
                raise Forbidden("forbidden") from None
            school_ids = set(session.scalars(select(School.id).where(
                School.district_id == district_id)))
            report = district_report(report, school_ids, district.name)
            districts = district_rows(session, report, self.policy, [district_id])
        self.send(region_workbook(report, districts), f"district-{district_id}")

    def send(self, body: bytes, name: str) -> None:
        file_name = f"{name}-{datetime.now(UTC).strftime('%Y%m%d')}.xlsx"
        with self.classroom.database.session() as session:
            record(session, actor=self.person.username, action="export.made",
                   source=client_address(self.request),
                   detail={"file": file_name, "names": False})
        self.send_file(body, file_name, XLSX)


def report_routes(prefix: str) -> list[tuple[str, type]]:
    return [
        (f"{prefix}schools/{ID}", SchoolReportHandler),
        (f"{prefix}region", RegionReportHandler),
        (f"{prefix}region\\.xlsx", RegionExportHandler),
        (f"{prefix}districts/{ID}\\.xlsx", RegionExportHandler),
    ]
