"""The region report kept as a snapshot, refreshed in the background, read by the pages.

Computing a report scans every submission and activity row of the term (hundreds of
thousands in a region of 20,000 students, seconds of database time), while the figures
the programme asks for move slowly. So the classroom service recomputes the report
every ``[reports] refresh_minutes`` in a worker thread and stores it as one JSON row;
the region and school pages render that row (milliseconds) and say how old it is.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.org.models import SchoolClass
from hub.reports.figures import Figures, ReportPolicy
from hub.reports.region import RegionReport, SchoolReport, WeekTrend, region_report
from hub.reports.scores import counted_fractions
from hub.reports.tables import ReportSnapshot

REGION = "region"


def report_json(report: RegionReport) -> dict:
    """The report as JSON-ready data (the policy is not stored: it comes from the settings)."""
    return {
        "region": asdict(report.region),
        "schools": [{"school": asdict(s.school), "locality": s.locality, "stage": s.stage,
                     "classes": [asdict(c) for c in s.classes], "district": s.district}
                    for s in report.schools],
        "by_locality": {k: asdict(f) for k, f in report.by_locality.items()},
        "by_stage": {k: asdict(f) for k, f in report.by_stage.items()},
        "weeks": [{"week_start": w.week_start.isoformat(), "active_minutes": w.active_minutes,
                   "submissions": w.submissions, "minutes_by_locality": w.minutes_by_locality}
                  for w in report.weeks],
    }


def report_from_json(body: dict, policy: ReportPolicy) -> RegionReport:
    return RegionReport(
        region=Figures(**body["region"]),
        schools=[SchoolReport(Figures(**s["school"]), s["locality"], s["stage"],
                              [Figures(**c) for c in s["classes"]], s.get("district", ""))
                 for s in body["schools"]],
        by_locality={k: Figures(**f) for k, f in body["by_locality"].items()},
        by_stage={k: Figures(**f) for k, f in body["by_stage"].items()},
        weeks=[WeekTrend(date.fromisoformat(w["week_start"]), w["active_minutes"],
                         w["submissions"], w["minutes_by_locality"]) for w in body["weeks"]],
        policy=policy)


def refresh_region(session: Session, name: str, policy: ReportPolicy, today: date
                   ) -> RegionReport:
    """Compute the report now (scores from the gradebook) and store it as the snapshot."""
    class_ids = session.scalars(select(SchoolClass.id).where(
        SchoolClass.school_year == policy.school_year))
    scores = counted_fractions(session, list(class_ids))
    report = region_report(session, name, policy, scores, today)
    snapshot = session.get(ReportSnapshot, REGION)
    if snapshot is None:
        snapshot = ReportSnapshot(name=REGION)
        session.add(snapshot)
    snapshot.computed_at = datetime.now(UTC).replace(tzinfo=None)
    snapshot.body = report_json(report)
    session.flush()
    return report


def stored_region(session: Session, policy: ReportPolicy
                  ) -> tuple[RegionReport, datetime] | None:
    """The last snapshot and when it was computed (naive UTC), if there is one."""
    snapshot = session.get(ReportSnapshot, REGION)
    if snapshot is None:
        return None
    return report_from_json(snapshot.body, policy), snapshot.computed_at
