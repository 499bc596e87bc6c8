"""The competitions' REST API: make one, form teams, fetch the files, enter, see the boards.

Every call is the caller's own (their JupyterHub token); what they may do is decided in
:mod:`hub.competitions.entries` from the organisation model. Scores are made here, never
taken from a request: an entry's body may hold predictions or a notebook and a team, and
a request naming anything else (a score, another student) is refused whole. The answer
key is read by the scorer only; no handler writes it out, and an entry's private score
stays unseen, like the private board, until the deadline.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from grading.competition.notebook_run import MAX_NOTEBOOK_BYTES
from grading.competition.scoring import (
    MAX_PREDICTION_BYTES,
    AnswerKey,
    PredictionsRefused,
    score,
)
from grading.exchange.errors import ExchangeRefused
from hub.audit.trail import record
from hub.competitions import entries
from hub.competitions.leaderboard import PrivateBoardHidden, board, private_visible, rankings
from hub.competitions.models import Competition, CompetitionFile, Entry, TeamMember
from hub.org.models import Person, Role, School
from hub.service.api_base import APIHandler, iso, parse_time
from hub.service.competition_scoring import entry_scorer
from hub.service.pages.timefmt import SCHOOL_TIME

COMPETITION = r"([a-z0-9][a-z0-9-]{1,62})"
ENTRY_FIELDS = {"predictions", "notebook", "team"}


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def day_start(moment: datetime) -> datetime:
    """The start of ``moment``'s school day (midnight, China Standard Time), naive UTC."""
    local = moment.replace(tzinfo=UTC).astimezone(SCHOOL_TIME)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.astimezone(UTC).replace(tzinfo=None)


def visible_to(session: Session, person: Person, competition: Competition) -> bool:
    """Whether ``person`` may see the competition: everyone in the region, or in its district."""
    if competition.district_id is None or person.role == Role.REGION_ADMIN:
        return True
    if person.district_id == competition.district_id:
        return True
    school = session.get(School, person.school_id) if person.school_id else None
    return school is not None and school.district_id == competition.district_id


def entry_json(entry: Entry, closed: bool) -> dict[str, Any]:
    return {"id": entry.id, "kind": entry.kind, "status": entry.status, "error": entry.error,
            "public_score": entry.public_score,
            "private_score": entry.private_score if closed else None,
            "submitted_at": iso(entry.submitted_at), "scored_at": iso(entry.scored_at)}


def competition_json(competition: Competition, moment: datetime) -> dict[str, Any]:
    return {"id": competition.id, "title": competition.title, "sample": competition.sample,
            "district": competition.district_id, "deadline": iso(competition.deadline),
            "daily_limit": competition.daily_limit, "winners": competition.winners,
            "closed": private_visible(competition, moment)}


def _integer(body: dict, field: str, default: int) -> int:
    value = body.get(field, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ExchangeRefused("bad_request", f"{field} 必须是整数", f"{field} must be an integer")
    return value


class CompetitionHandler(APIHandler):
    """What the competition handlers share: the caller and the competition they may see."""

    def person(self, session: Session) -> Person:
        person = session.get(Person, self.username)
        if person is None:
            raise ExchangeRefused("forbidden", "你不在花名册中", "you are not on the roster")
        return person

    def competition(self, session: Session, competition_id: str) -> Competition:
        competition = entries.competition_or_404(session, competition_id)
        if not visible_to(session, self.person(session), competition):
            raise ExchangeRefused("not_found", f"没有比赛 {competition_id!r}",
                                  f"no competition {competition_id!r}")
        return competition


class CompetitionsHandler(CompetitionHandler):
    """GET: the competitions the caller may see; POST: a new one (region/district admins)."""

    def get(self) -> None:
        moment = now()
        with self.classroom.reader() as (session, _store):
            person = self.person(session)
            found = [competition_json(c, moment) for c in session.scalars(
                select(Competition).order_by(Competition.deadline))
                if visible_to(session, person, c)]
        self.write_json({"competitions": found})

    def post(self) -> None:
        body = self.json_body()
        deadline = parse_time(str(body.get("deadline", "")), "deadline")
        with self.classroom.session() as session:
            competition = entries.create(
                session, self.person(session), competition_id=str(body.get("id", "")),
                title=str(body.get("title", "")), sample=str(body.get("sample", "digits")),
                deadline=deadline, daily_limit=_integer(body, "daily_limit", 5),
                winners=_integer(body, "winners", 3), district_id=body.get("district"),
                now=now())
            record(session, actor=self.username, action="competition.created",
                   source="competition", detail={"competition": competition.id,
                                                 "deadline": iso(deadline),
                                                 "district": competition.district_id})
            answer = competition_json(competition, now())
        self.write_json(answer, 201)


class OneCompetitionHandler(CompetitionHandler):
    """GET: the competition and its file names; PATCH: a new deadline (its managers)."""

    def get(self, competition_id: str) -> None:
        with self.classroom.reader() as (session, _store):
            competition = self.competition(session, competition_id)
            names = session.scalars(select(CompetitionFile.name).where(
                CompetitionFile.competition_id == competition_id).order_by(
                CompetitionFile.name)).all()
            answer = {**competition_json(competition, now()), "files": list(names)}
        self.write_json(answer)

    def patch(self, competition_id: str) -> None:
        body = self.json_body()
        if set(body) != {"deadline"}:
            raise ExchangeRefused("bad_request", "只能修改 deadline", "only deadline may change")
        deadline = parse_time(str(body["deadline"]), "deadline")
        with self.classroom.session() as session:
            competition = self.competition(session, competition_id)
            if not entries.may_manage(self.person(session), competition):
                raise ExchangeRefused("forbidden", "只有比赛的管理员可以修改截止时间",
                                      "only the competition's admins may move its deadline")
            record(session, actor=self.username, action="competition.deadline",
                   source="competition", detail={"competition": competition.id,
                                                 "from": iso(competition.deadline),
                                                 "to": iso(deadline)})
            competition.deadline = deadline
            answer = competition_json(competition, now())
        self.write_json(answer)


class FileHandler(CompetitionHandler):
    """GET: one released file (training data, test features, the starter notebook)."""

    def get(self, competition_id: str, name: str) -> None:
        with self.classroom.reader() as (session, _store):
            self.competition(session, competition_id)
            released = session.get(CompetitionFile, (competition_id, name))
            if released is None:
                raise ExchangeRefused("not_found", f"没有文件 {name[:64]!r}",
                                      f"no file {name[:64]!r}")
            content = released.content
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("Content-Disposition", f'attachment; filename="{name}"')
        self.finish(content)


class TeamsHandler(CompetitionHandler):
    """POST: a team of students of one school (made by that school's staff)."""

    def post(self, competition_id: str) -> None:
        body = self.json_body()
        members = body.get("members")
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise ExchangeRefused("bad_request", "members 必须是用户名列表",
                                  "members must be a list of usernames")
        with self.classroom.session() as session:
            competition = self.competition(session, competition_id)
            team = entries.make_team(session, competition, self.person(session),
                                     str(body.get("name", "")), members)
            record(session, actor=self.username, action="competition.team",
                   source="competition", school=team.school_id,
                   detail={"competition": competition.id, "team": team.id,
                           "members": len(set(members))})
            answer = {"id": team.id, "name": team.name, "school": team.school_id,
                      "members": sorted(set(members))}
        self.write_json(answer, 201)


class EntriesHandler(CompetitionHandler):
    """GET: the caller's own entries (and their team's); POST: a new entry, scored."""

    def get(self, competition_id: str) -> None:
        with self.classroom.reader() as (session, _store):
            competition = self.competition(session, competition_id)
            team = session.scalar(select(TeamMember.team_id).where(
                TeamMember.competition_id == competition_id,
                TeamMember.username == self.username))
            keys = [f"user:{self.username}"] + ([f"team:{team}"] if team else [])
            found = session.scalars(select(Entry).where(
                Entry.competition_id == competition_id,
                or_(*(Entry.participant == key for key in keys))).order_by(Entry.id)).all()
            closed = private_visible(competition, now())
            answer = {"entries": [entry_json(entry, closed) for entry in found]}
        self.write_json(answer)

    async def post(self, competition_id: str) -> None:
        body = self.json_body()
        unknown = sorted(set(body) - ENTRY_FIELDS)
        if unknown:
            raise ExchangeRefused("bad_request", f"不接受的字段：{', '.join(unknown)[:80]}",
                                  f"fields not accepted: {', '.join(unknown)[:80]}")
        kinds = [kind for kind in ("predictions", "notebook") if kind in body]
        if len(kinds) != 1 or not isinstance(body[kinds[0]], str | dict):
            raise ExchangeRefused("bad_request", "需要 predictions（CSV 文本）或 notebook 之一",
                                  "one of predictions (CSV text) or notebook is needed")
        kind = "csv" if kinds[0] == "predictions" else "notebook"
        raw = body[kinds[0]]
        content = (json.dumps(raw) if isinstance(raw, dict) else raw).encode("utf-8")
        limit = MAX_PREDICTION_BYTES if kind == "csv" else MAX_NOTEBOOK_BYTES
        if len(content) > limit:
            raise ExchangeRefused("too_large", f"提交超过 {limit // 1024 // 1024} MB",
                                  f"the entry is larger than {limit // 1024 // 1024} MB")
        team = body.get("team")
        if team is not None and (not isinstance(team, int) or isinstance(team, bool)):
            raise ExchangeRefused("bad_request", "team 必须是队伍编号", "team must be a team id")
        moment = now()
        with self.classroom.session() as session:
            competition = self.competition(session, competition_id)
            participant = entries.participant_for(session, competition, self.username, team)
            entries.check_open(session, competition, participant, moment, day_start(moment))
            key = AnswerKey.from_json(competition.answer_key)
            if kind == "csv":
                try:
                    scored = score(content, key)
                except PredictionsRefused as problem:
                    raise ExchangeRefused("bad_predictions", problem.message,
                                          problem.message_en) from problem
                entry = entries.add_entry(session, competition, participant, self.username,
                                          kind, content, moment)
                entries.record_score(session, entry, participant, scored, None, now())
                session.flush()
                answer = entry_json(entry, closed=False)
        if kind == "csv":
            self.write_json(answer, 201)
            return
        await self._score_notebook(competition_id, participant, content)

    async def _score_notebook(self, competition_id: str, participant: entries.Participant,
                              content: bytes) -> None:
        """Record the notebook entry, queued; the scorer runs it in the sandbox."""
        moment = now()
        scorer = entry_scorer(self.application.settings)
        with self.classroom.session() as session:
            competition = self.competition(session, competition_id)
            if not scorer.runs_notebooks:
                raise ExchangeRefused("bad_request", "此部署只接受预测文件（CSV）",
                                      "this center takes predictions (CSV) only")
            entries.check_open(session, competition, participant, moment, day_start(moment))
            entry = entries.add_entry(session, competition, participant, self.username,
                                      "notebook", content, moment)
            answer = entry_json(entry, closed=False)
        scorer.start(answer["id"])
        self.write_json(answer, 202)


class LeaderboardHandler(CompetitionHandler):
    """GET: a board (``?board=public|private``, optionally ``&school=`` or ``&district=``)
    with the schools' and districts' rankings on it."""

    def get(self, competition_id: str) -> None:
        which = self.get_query_argument("board", "public")
        if which not in ("public", "private"):
            raise ExchangeRefused("bad_request", "board 只能是 public 或 private",
                                  "board is public or private")
        moment = now()
        with self.classroom.reader() as (session, _store):
            competition = self.competition(session, competition_id)
            try:
                rows = board(session, competition, private=which == "private", now=moment,
                             school_id=self.get_query_argument("school", None),
                             district_id=self.get_query_argument("district", None))
            except PrivateBoardHidden:
                raise ExchangeRefused("forbidden", "截止之前不公布最终排行榜",
                                      "the private leaderboard is hidden until the deadline"
                                      ) from None
        self.write_json({
            "board": which, "closes_at": iso(competition.deadline),
            "rows": [{"rank": r.rank, "name": r.label, "school": r.school,
                      "district": r.district, "score": r.score, "entries": r.entries}
                     for r in rows],
            "schools": [vars(g) for g in rankings(rows, by_district=False)],
            "districts": [vars(g) for g in rankings(rows, by_district=True)]})


def competition_routes(prefix: str) -> list[tuple[str, type]]:
    """The competitions' URL patterns under the service prefix."""
    api = f"{prefix}api/v1/competitions"
    return [
        (f"{api}/?", CompetitionsHandler),
        (f"{api}/{COMPETITION}", OneCompetitionHandler),
        (f"{api}/{COMPETITION}/files/([A-Za-z0-9._-]+)", FileHandler),
        (f"{api}/{COMPETITION}/teams", TeamsHandler),
        (f"{api}/{COMPETITION}/entries", EntriesHandler),
        (f"{api}/{COMPETITION}/leaderboard", LeaderboardHandler),
    ]

