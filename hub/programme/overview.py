"""What the programme's region and district pages show, computed from the region report's
snapshot and the live programme tables, in a fixed number of queries whatever the size of
the region (no query per school): the pages and ``benchmarks/bench_programme.py`` both
call these.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from hub.org.models import District, School
from hub.programme.indicators import Evaluation, evaluate, roll_up
from hub.programme.models import Application, Standing, Status
from hub.programme.participation import participation
from hub.programme.workflow import applications_by_school
from hub.reports.export import DistrictRow
from hub.reports.figures import Figures, ReportPolicy
from hub.reports.region import RegionReport, SchoolReport


def school_evaluations(session: Session, region: RegionReport, school_ids: list[str],
                       policy: ReportPolicy
                       ) -> tuple[list[Evaluation], dict[str, SchoolReport]]:
    """The schools' evaluations and reports, with their districts as they are now (the
    snapshot may predate a roster that moved a school)."""
    wanted = set(school_ids)
    districts = dict(session.execute(select(School.id, School.district_id)).all())
    reports = {}
    for report in region.schools:
        if report.school.key in wanted:
            report.district = districts.get(report.school.key) or ""
            reports[report.school.key] = report
    return evaluate(session, list(reports.values()), policy), reports


def district_rows(session: Session, region: RegionReport, policy: ReportPolicy,
                  district_ids: list[str] | None = None) -> list[DistrictRow]:
    """Each district's roll-up for the region report's district sheet (every district,
    or those of ``district_ids``), with the schools' districts as they are now: schools,
    experimental schools (approved as such), the report's figures summed, and the
    teachers of its schools trained in the evaluated year
    (:mod:`hub.programme.participation`)."""
    query = select(District.id, District.name).order_by(District.id)
    if district_ids is not None:
        query = query.where(District.id.in_(district_ids))
    districts = session.execute(query).all()
    wanted = {d.id for d in districts}
    school_district = {school_id: district_id for school_id, district_id in session.execute(
        select(School.id, School.district_id).where(School.district_id.in_(wanted)))}
    experimental: dict[str, int] = {}
    for (school_id,) in session.execute(select(Application.school_id).where(
            Application.school_id.in_(school_district), Application.status == Status.APPROVED,
            Application.standing == Standing.EXPERIMENTAL_SCHOOL)):
        district_id = school_district[school_id]
        experimental[district_id] = experimental.get(district_id, 0) + 1
    trained: dict[str, int] = {}
    for school_id, counts in participation(session, list(school_district), policy).items():
        district_id = school_district[school_id]
        trained[district_id] = trained.get(district_id, 0) + counts.trained
    figures = {d.id: Figures(d.id, d.name) for d in districts}
    for report in region.schools:
        district_id = school_district.get(report.school.key)
        if district_id is not None:
            figures[district_id].add(report.school)
    schools: dict[str, int] = {}
    for district_id in school_district.values():
        schools[district_id] = schools.get(district_id, 0) + 1
    return [DistrictRow(figures[d.id], schools.get(d.id, 0), experimental.get(d.id, 0),
                        trained.get(d.id, 0)) for d in districts]


@dataclass
class RegionOverview:
    """The region page: districts rolled up, applications to decide, experimental schools."""

    districts: list[Evaluation]
    region: Evaluation
    awaiting: list[Row]
    experimental: list[Row]
    """Rows of the applications' columns the page shows (read-only: no ORM objects to
    load and detach for each of hundreds of schools)."""
    names: dict[str, str]


def region_overview(session: Session, region: RegionReport, name: str,
                    policy: ReportPolicy) -> RegionOverview:
    districts = list(session.execute(select(District.id, District.name).order_by(District.id)))
    names = dict(session.execute(select(School.id, School.name)).all())
    evaluations, reports = school_evaluations(session, region, list(names), policy)
    members: dict[str, list[Evaluation]] = {}
    for evaluation in evaluations:
        members.setdefault(reports[evaluation.key].district, []).append(evaluation)
    rolled = [roll_up(d.id, d.name, members.get(d.id, []), reports, policy) for d in districts]
    applications = list(session.execute(select(
        Application.school_id, Application.status, Application.rank,
        Application.recommendation, Application.standing, Application.phase, Application.year)
        .where(Application.status.in_((Status.RECOMMENDED, Status.APPROVED)))
        .order_by(Application.school_id)))
    return RegionOverview(
        rolled, roll_up("region", name, evaluations, reports, policy),
        [a for a in applications if a.status == Status.RECOMMENDED],
        [a for a in applications if a.status == Status.APPROVED], names)


@dataclass
class DistrictOverview:
    """The district page: its schools, their applications and evaluations, its total."""

    schools: list[tuple[str, str]]
    applications: dict[str, Application]
    evaluations: list[Evaluation]
    total: Evaluation


def district_overview(session: Session, region: RegionReport, district: District,
                      policy: ReportPolicy) -> DistrictOverview:
    schools = [(row.id, row.name) for row in session.execute(
        select(School.id, School.name).where(School.district_id == district.id)
        .order_by(School.id))]
    ids = [school_id for school_id, _name in schools]
    applications = applications_by_school(session, ids)
    for application in applications.values():
        session.expunge(application)
    evaluations, reports = school_evaluations(session, region, ids, policy)
    return DistrictOverview(schools, applications, evaluations,
                            roll_up(district.id, district.name, evaluations, reports, policy))
