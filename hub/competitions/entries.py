"""The rules of taking part: who enters for whom, until when, how often; and how a score
lands in the standings.

Every rule is decided here from the organisation model and the caller's own username
(taken from their token by the service, never from the request): a student enters for
themselves or for a team they are a member of, never for anyone else; a team is made of
students of one school by staff of that school (or the region); nothing is accepted after
the deadline or past the day's limit. A refusal is a :class:`ExchangeRefused` with a stable
code, Chinese first, and changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grading.competition.scoring import Score
from grading.exchange.errors import ExchangeRefused
from hub.competitions.digits import SAMPLES
from hub.competitions.models import (
    Competition,
    CompetitionFile,
    CompetitionTeam,
    Entry,
    Standing,
    TeamMember,
)
from hub.org.models import District, Person, Role, School

COMPETITION_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")
TEAM_STAFF = (Role.TEACHER, Role.SCHOOL_ADMIN)


@dataclass(frozen=True)
class Participant:
    """Who an entry counts for: a student alone or a team, and where they belong."""

    key: str
    label: str
    school_id: str
    district_id: str | None


def _refuse(code: str, zh: str, en: str) -> ExchangeRefused:
    return ExchangeRefused(code, zh, en)


def competition_or_404(session: Session, competition_id: str) -> Competition:
    competition = session.get(Competition, competition_id)
    if competition is None:
        raise _refuse("not_found", f"没有比赛 {competition_id[:64]!r}",
                      f"no competition {competition_id[:64]!r}")
    return competition


def create(session: Session, creator: Person, *, competition_id: str, title: str,
           sample: str, deadline: datetime, daily_limit: int, winners: int,
           district_id: str | None, now: datetime) -> Competition:
    """A new competition with a fresh split of ``sample``; region or district admins only."""
    if creator.role == Role.DISTRICT_ADMIN:
        if district_id != creator.district_id:
            raise _refuse("forbidden", "区县管理员只能为本区县创建比赛",
                          "a district admin may create competitions for their district only")
    elif creator.role != Role.REGION_ADMIN:
        raise _refuse("forbidden", "只有区域或区县管理员可以创建比赛",
                      "only region or district admins may create competitions")
    if not COMPETITION_ID.fullmatch(competition_id or ""):
        raise _refuse("bad_request", "比赛编号只能用小写字母、数字和 -（2–63 个字符）",
                      "a competition id is 2-63 lowercase letters, digits and -")
    if sample not in SAMPLES:
        raise _refuse("bad_request", f"没有名为 {sample[:32]!r} 的示例任务",
                      f"there is no sample task {sample[:32]!r}")
    if not title.strip() or len(title) > 120:
        raise _refuse("bad_request", "比赛名称不能为空，最多 120 字",
                      "the title must be 1-120 characters")
    if not 1 <= daily_limit <= 100 or not 1 <= winners <= 100:
        raise _refuse("bad_request", "每日提交次数和获奖名额须在 1–100 之间",
                      "the daily limit and the number of winners must be 1-100")
    if district_id is not None and session.get(District, district_id) is None:
        raise _refuse("bad_request", f"没有区县 {district_id[:64]!r}",
                      f"no district {district_id[:64]!r}")
    if session.get(Competition, competition_id) is not None:
        raise _refuse("bad_request", f"比赛 {competition_id} 已存在",
                      f"the competition {competition_id} exists already")
    task = SAMPLES[sample]()
    competition = Competition(id=competition_id, title=title.strip(), sample=sample,
                              district_id=district_id, deadline=deadline,
                              daily_limit=daily_limit, winners=winners,
                              answer_key=task.key.to_json(), created_by=creator.username,
                              created_at=now)
    session.add(competition)
    session.flush()
    session.add_all(CompetitionFile(competition_id=competition_id, name=name, content=data)
                    for name, data in task.files.items())
    return competition


def may_manage(person: Person, competition: Competition) -> bool:
    """Whether ``person`` may change the competition's rules (its deadline)."""
    return person.role == Role.REGION_ADMIN or (
        person.role == Role.DISTRICT_ADMIN and competition.district_id is not None
        and person.district_id == competition.district_id)


def school_taking_part(session: Session, competition: Competition,
                       username: str) -> School | None:
    """The school ``username`` enters from, if they may enter at all: a student of a school
    in the competition's district (any district for a region-wide one); else none. The one
    rule both entering and the exchange's assignment list ask."""
    person = session.get(Person, username)
    school = session.get(School, person.school_id) if person and person.school_id else None
    if person is None or person.role != Role.STUDENT or school is None or (
            competition.district_id is not None
            and school.district_id != competition.district_id):
        return None
    return school


def _student_in_scope(session: Session, competition: Competition, username: str) -> School:
    school = school_taking_part(session, competition, username)
    if school is None:
        raise _refuse("forbidden", f"{username} 不能参加比赛 {competition.id}",
                      f"{username} may not enter the competition {competition.id}")
    return school


def make_team(session: Session, competition: Competition, staff: Person, name: str,
              members: list[str]) -> CompetitionTeam:
    """A team of students of ``staff``'s school (a region admin: of one school)."""
    name = name.strip()
    if not name or len(name) > 64:
        raise _refuse("bad_request", "队名不能为空，最多 64 字", "a team name is 1-64 characters")
    if not 1 <= len(set(members)) <= 6:
        raise _refuse("bad_request", "一个队有 1–6 名学生", "a team has 1-6 students")
    schools = {_student_in_scope(session, competition, username).id for username in members}
    if len(schools) != 1:
        raise _refuse("bad_request", "队员必须来自同一所学校",
                      "the members must be students of one school")
    school_id = schools.pop()
    if not (staff.role == Role.REGION_ADMIN
            or (staff.role in TEAM_STAFF and staff.school_id == school_id)):
        raise _refuse("forbidden", "只有本校老师或学校管理员可以为本校学生组队",
                      "only staff of the students' own school may make their team")
    taken = session.scalars(select(TeamMember.username).where(
        TeamMember.competition_id == competition.id, TeamMember.username.in_(members))).all()
    if taken:
        raise _refuse("bad_request", f"{taken[0]} 已在另一支队伍中",
                      f"{taken[0]} is in another team already")
    if session.scalar(select(CompetitionTeam.id).where(
            CompetitionTeam.competition_id == competition.id, CompetitionTeam.name == name)):
        raise _refuse("bad_request", f"队名 {name} 已被使用", f"the team name {name} is taken")
    team = CompetitionTeam(competition_id=competition.id, name=name, school_id=school_id)
    session.add(team)
    session.flush()
    session.add_all(TeamMember(competition_id=competition.id, team_id=team.id, username=username)
                    for username in sorted(set(members)))
    return team


def participant_for(session: Session, competition: Competition, username: str,
                    team_id: int | None) -> Participant:
    """Who an entry by ``username`` counts for: themselves, or ``team_id`` if a member."""
    school = _student_in_scope(session, competition, username)
    if team_id is None:
        if session.scalar(select(TeamMember.team_id).where(
                TeamMember.competition_id == competition.id, TeamMember.username == username)):
            raise _refuse("bad_request", "你已在一支队伍中，请以队伍名义提交",
                          "you are in a team: submit for your team")
        return Participant(f"user:{username}", username, school.id, school.district_id)
    team = session.get(CompetitionTeam, team_id)
    member = team is not None and team.competition_id == competition.id and session.scalar(
        select(TeamMember.id).where(TeamMember.team_id == team_id,
                                    TeamMember.username == username))
    if not member:
        raise _refuse("forbidden", "你不是这支队伍的成员", "you are not a member of this team")
    return Participant(f"team:{team.id}", team.name, team.school_id, school.district_id)


def participant_of(session: Session, entry: Entry) -> Participant:
    """Who a recorded entry counts for (its key was checked when it was handed in)."""
    kind, _colon, name = entry.participant.partition(":")
    if kind == "team":
        team = session.get(CompetitionTeam, int(name))
        label, school_id = team.name, team.school_id
    else:
        label, school_id = name, session.get(Person, name).school_id
    school = session.get(School, school_id)
    return Participant(entry.participant, label, school.id, school.district_id)


def entries_since(session: Session, competition: Competition, participant_key: str,
                  since: datetime) -> int:
    """How many entries ``participant_key`` handed in since ``since`` (the day's count)."""
    return session.scalar(select(func.count(Entry.id)).where(
        Entry.competition_id == competition.id, Entry.participant == participant_key,
        Entry.submitted_at >= since))


def check_open(session: Session, competition: Competition, participant: Participant,
               now: datetime, day_start: datetime) -> None:
    """Refuse an entry after the deadline or past the participant's limit for today."""
    if now >= competition.deadline:
        raise _refuse("deadline_passed", "比赛已截止，不再接受提交",
                      "the competition has closed: no more entries")
    today = entries_since(session, competition, participant.key, day_start)
    if today >= competition.daily_limit:
        raise _refuse("too_many_requests",
                      f"今天已提交 {today} 次，每天最多 {competition.daily_limit} 次",
                      f"{today} entries today; at most {competition.daily_limit} a day")


def add_entry(session: Session, competition: Competition, participant: Participant,
              username: str, kind: str, content: bytes, now: datetime) -> Entry:
    """Record an entry waiting for its score."""
    entry = Entry(competition_id=competition.id, participant=participant.key,
                  submitted_by=username, kind=kind, content=content, status="queued",
                  error="", submitted_at=now)
    session.add(entry)
    session.flush()
    return entry


def record_score(session: Session, entry: Entry, participant: Participant,
                 score: Score | None, error: tuple[str, str] | None, now: datetime) -> None:
    """Store the entry's score (or why it has none) and move the participant's standing."""
    entry.scored_at = now
    if score is None:
        entry.status, entry.error = "failed", " / ".join(error or ("", ""))
        return
    entry.status, entry.public_score, entry.private_score = "scored", score.public, score.private
    standing = session.get(Standing, (entry.competition_id, participant.key))
    if standing is None:
        session.add(Standing(competition_id=entry.competition_id, participant=participant.key,
                             label=participant.label, school_id=participant.school_id,
                             district_id=participant.district_id, best_entry_id=entry.id,
                             public_score=score.public, private_score=score.private,
                             entries=1, best_at=entry.submitted_at))
        return
    standing.entries += 1
    if score.public > standing.public_score:
        standing.best_entry_id, standing.best_at = entry.id, entry.submitted_at
        standing.public_score, standing.private_score = score.public, score.private
