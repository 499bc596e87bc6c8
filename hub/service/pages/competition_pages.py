"""The competition pages: the leaderboards with school and district rankings, and the
winners' certificates, styled for print.

Anyone on the roster who may see the competition (its region, or its district) sees its
public board; the private board and the certificates appear at the deadline for
everyone alike, admins included, so nobody can hint at the final order before it is
final. The names shown are usernames (pseudonymous) and team names; the certificates
add the winner's real name, as display data on a page, never in a URL.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.competitions.leaderboard import BoardRow, board, private_visible, rankings, winners
from hub.competitions.models import Competition, CompetitionFile, CompetitionTeam, TeamMember
from hub.org.models import Person, Role
from hub.service.competition_api import COMPETITION, visible_to
from hub.service.pages.base import Forbidden, PageHandler
from hub.service.pages.competition_texts import COMPETITION_TEXTS

PAGE_ROWS = 200
"""Rows a board shows on the page (the rankings count every row; the API lists them all):
a region's last evening brings thousands of participants, and a page of all of them is
slow to send and to read."""


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class CompetitionPage(PageHandler):
    def competition(self, session: Session, competition_id: str) -> Competition:
        competition = session.get(Competition, competition_id)
        if competition is None or not visible_to(session, self.person, competition):
            raise Forbidden("forbidden")
        return competition

    def render_competition(self, template: str, **context: object) -> None:
        self.render_page(template, ct=COMPETITION_TEXTS[self.locale_name], **context)


class CompetitionListPage(CompetitionPage):
    """GET: the competitions the signed-in person may see, the newest deadline first."""

    def get(self) -> None:
        moment = _now()
        with self.classroom.database.session() as session:
            found = [(c, private_visible(c, moment)) for c in session.scalars(
                select(Competition).order_by(Competition.deadline.desc()))
                if visible_to(session, self.person, c)]
            self.render_competition("competitions.html", competitions=found)


class LeaderboardPage(CompetitionPage):
    """GET: the public board (and the private one once closed) with both rankings; with
    ``?school=`` or ``?district=``, of that school's or district's participants only."""

    def get(self, competition_id: str) -> None:
        moment = _now()
        with self.classroom.database.session() as session:
            competition = self.competition(session, competition_id)
            scope = {"school_id": self.get_query_argument("school", None),
                     "district_id": self.get_query_argument("district", None)}
            public = board(session, competition, private=False, now=moment, **scope)
            closed = private_visible(competition, moment)
            private = (board(session, competition, private=True, now=moment, **scope)
                       if closed else [])
            files = session.scalars(select(CompetitionFile.name).where(
                CompetitionFile.competition_id == competition_id)).all()
            shown = private or public
            self.render_competition(
                "competition.html", competition=competition, public=public[:PAGE_ROWS],
                private=private[:PAGE_ROWS],
                closed=closed, files=files, schools=rankings(shown, by_district=False),
                districts=rankings(shown, by_district=True))


class FilePage(CompetitionPage):
    """GET: a released file, for a signed-in browser (the API's twin needs a token)."""

    def get(self, competition_id: str, name: str) -> None:
        with self.classroom.database.session() as session:
            self.competition(session, competition_id)
            released = session.get(CompetitionFile, (competition_id, name))
            if released is None:
                raise Forbidden("not_found")
            content = released.content
        self.send_file(content, name, "application/octet-stream")


class CertificatesPage(CompetitionPage):
    """GET: one printable certificate per winner, after the deadline.

    A certificate carries the winner's real name, so each person sees only those they
    print: the region's admin all, a district's admin their district's, a school's staff
    their school's, a student their own (or their team's).
    """

    def get(self, competition_id: str) -> None:
        moment = _now()
        with self.classroom.database.session() as session:
            competition = self.competition(session, competition_id)
            if not private_visible(competition, moment):
                raise Forbidden("forbidden")
            mine = self._own_participants(session, competition)
            awarded = [(row, self._names(session, competition, row.label))
                       for row in winners(session, competition, moment)
                       if self._may_print(row, mine)]
            self.render_competition("competition_certificates.html", competition=competition,
                                    awarded=awarded,
                                    region=self.settings["region_name"])

    def _own_participants(self, session: Session, competition: Competition) -> set[str]:
        team = session.scalar(select(TeamMember.team_id).where(
            TeamMember.competition_id == competition.id,
            TeamMember.username == self.person.username))
        return {f"user:{self.person.username}"} | ({f"team:{team}"} if team else set())

    def _may_print(self, row: BoardRow, mine: set[str]) -> bool:
        person = self.person
        if person.role == Role.REGION_ADMIN:
            return True
        if person.role == Role.DISTRICT_ADMIN:
            return person.district_id is not None and row.district_id == person.district_id
        if person.role in (Role.TEACHER, Role.SCHOOL_ADMIN):
            return row.school_id == person.school_id
        return row.participant in mine

    @staticmethod
    def _names(session: Session, competition: Competition, label: str) -> str:
        """The display names behind a board's label: a student's, or a team's members'."""
        person = session.get(Person, label)
        if person is not None:
            return person.display_name
        team = session.scalar(select(CompetitionTeam).where(
            CompetitionTeam.competition_id == competition.id, CompetitionTeam.name == label))
        if team is None:
            return label
        members = session.scalars(
            select(Person.display_name).join(TeamMember, TeamMember.username == Person.username)
            .where(TeamMember.team_id == team.id).order_by(Person.username)).all()
        return f"{label}（{'、'.join(members)}）"


def competition_page_routes(prefix: str) -> list[tuple[str, type]]:
    return [(f"{prefix}competitions", CompetitionListPage),
            (f"{prefix}competitions/{COMPETITION}", LeaderboardPage),
            (f"{prefix}competitions/{COMPETITION}/files/([A-Za-z0-9._-]+)", FilePage),
            (f"{prefix}competitions/{COMPETITION}/certificates", CertificatesPage)]
