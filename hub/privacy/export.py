"""Everything the classroom holds about one person, as one zip a family can read.

The zip holds an index in Chinese (``索引.md``, with English after each heading) and
the same as JSON (``index.json``); their roster record and classes; every row of the
service database that names them, by table (:mod:`hub.privacy.holdings`); every file
of each submission and of its feedback from the content store; grades per cell with
the reasons points were lost; and the audit trail's rows about them, sign-ins
included. Real names are in it only when asked for (``with_names``): an export is a
file that travels. The graded copies of notebooks are not in it: they hold the
teacher's hidden tests, and the grades already say what they found.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from grading.exchange.content_store import BLOBS_IN_DATA_DIR, ContentStore
from grading.exchange.models import Feedback, Submission
from grading.gradebook.models import CellGrade, LostPoints
from hub.audit.actions import ACTIONS
from hub.audit.models import AuditEvent
from hub.audit.trail import person_ref, record
from hub.db import ServiceDatabase
from hub.org.models import Enrollment, Person, SchoolClass
from hub.privacy.holdings import WITHHELD, readable, rows_naming
from hub.privacy.refusal import PrivacyRefused
from hub.settings import Settings

INDEX_MD = "索引.md"
INDEX_JSON = "index.json"


@dataclass(frozen=True)
class ExportSummary:
    """Where the zip went and how much is in it."""

    path: Path
    files: int
    submissions: int


def _safe_member(*parts: str) -> str:
    """A zip member name from stored paths: no absolute path, no ``..``, no empty part."""
    cleaned = [p for part in parts for p in PurePosixPath(part).parts
               if p not in ("/", "..", ".", "")]
    return "/".join(cleaned)


def _folder(submission: Submission) -> str:
    stamp = submission.submitted_at.strftime("%Y%m%dT%H%M%S")
    return _safe_member(submission.class_id, submission.assignment_id,
                        f"{stamp}-{submission.key}")


def _classes(session: Session, username: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(SchoolClass, Enrollment.role).join(Enrollment,
                                                  Enrollment.class_id == SchoolClass.id)
        .where(Enrollment.username == username).order_by(SchoolClass.id))
    return [{"class_id": c.id, "name": c.name, "school_id": c.school_id,
             "school_year": c.school_year, "grade": c.grade, "role": role}
            for c, role in rows]


def _grades(session: Session, submissions: list[Submission]) -> list[dict[str, Any]]:
    ids = [s.id for s in submissions]
    cells: dict[int, list[dict]] = {}
    for cell in session.scalars(select(CellGrade).where(CellGrade.submission_id.in_(ids))
                                .order_by(CellGrade.notebook, CellGrade.position)):
        cells.setdefault(cell.submission_id, []).append(
            {"notebook": cell.notebook, "cell": cell.grade_id, "max_score": cell.max_score,
             "score": cell.score, "auto_score": cell.auto_score,
             "manual_score": cell.manual_score, "override_score": cell.override_score,
             "comment": cell.comment})
    lost: dict[int, list[dict]] = {}
    for row in session.scalars(select(LostPoints).where(LostPoints.submission_id.in_(ids))):
        lost.setdefault(row.submission_id, []).append(
            {"notebook": row.notebook, "cell": row.grade_id, "reason": row.reason})
    return [{"class_id": s.class_id, "assignment_id": s.assignment_id, "key": s.key,
             "submitted_at": s.submitted_at.isoformat(), "chosen": s.chosen,
             "folder": f"submissions/{_folder(s)}", "cells": cells.get(s.id, []),
             "lost_points": lost.get(s.id, [])} for s in submissions]


def _audit_rows(session: Session, username: str) -> list[dict[str, Any]]:
    ref = person_ref(session, username)
    rows = session.scalars(select(AuditEvent).where(
        or_(AuditEvent.subject_ref == ref, AuditEvent.actor_ref == ref))
        .order_by(AuditEvent.id))
    return [{"id": e.id, "at": e.at.isoformat(), "action": e.action,
             "action_zh": ACTIONS.get(e.action, ("", ""))[0],
             "by_them": e.actor_ref == ref, "about_them": e.subject_ref == ref,
             "school": e.school, "class_id": e.class_id, "source": e.source,
             "detail": readable(e.detail)} for e in rows]


def _index_markdown(username: str, index: dict[str, Any]) -> str:
    counts = index["counts"]
    names = "含真实姓名 / with real names" if index["with_names"] else \
        "不含真实姓名 / without real names"
    return "\n".join([
        f"# 个人数据导出 / personal data export: {username}",
        "",
        f"导出时间 / exported at: {index['exported_at']} (UTC)；{names}",
        "",
        "## 内容 / contents",
        "",
        "| 文件 / file | 内容 / what it holds | 数量 / count |",
        "|---|---|---|",
        f"| `roster.json` | 名册记录和所在班级 / roster record and classes | "
        f"{counts['classes']} 个班级 / classes |",
        f"| `submissions/<班级>/<作业>/<时间>-<编号>/` | 每次提交的全部文件 / every file of "
        f"every submission | {counts['submissions']} 次提交 / submissions |",
        f"| `feedback/<班级>/<作业>/<时间>-<编号>/` | 教师发回的反馈 / feedback returned | "
        f"{counts['feedback']} 份 / sets |",
        f"| `grades.json` | 每个评分单元格的得分、评语和扣分原因 / score, comment and why "
        f"points were lost, per graded cell | {counts['graded_cells']} 个单元格 / cells |",
        f"| `audit.json` | 审计记录中与本人有关的条目（含登录记录）/ audit rows about them, "
        f"sign-ins included | {counts['audit_rows']} 条 / rows |",
        f"| `database/<表>.json` | 数据库中提到本人的每一行 / every database row naming them "
        f"| {counts['database_rows']} 行 / rows |",
        "",
        "批改用的教师版本（含隐藏测试）不在其中；密码只存哈希，也不导出。/ The graded "
        "copies (which hold the teacher's hidden tests) are not included; passwords are "
        "stored only as hashes and not exported.",
        "",
    ])


def export_person(settings: Settings, username: str, out_dir: Path, *,
                  with_names: bool = False, actor: str = "", source: str = ""
                  ) -> ExportSummary:
    """Write ``out_dir/<username>-<time>.zip`` with everything held about ``username``."""
    store = ContentStore(settings.data_dir / BLOBS_IN_DATA_DIR)
    stamp = datetime.now(UTC)
    database = ServiceDatabase(settings.database_url)
    try:
        with database.session() as session:
            tables = rows_naming(session, username, with_names)
            person = session.get(Person, username)
            if person is None and not tables:
                raise PrivacyRefused(f"{username}: 系统中没有此人的数据 / nothing is held "
                                     "about this username")
            submissions = list(session.scalars(
                select(Submission).where(Submission.username == username)
                .order_by(Submission.submitted_at)))
            feedback = list(session.execute(
                select(Feedback, Submission).join(Submission,
                                                  Feedback.submission_id == Submission.id)
                .where(Submission.username == username)))
            roster = {"username": username,
                      "display_name": person.display_name if person and with_names else None,
                      "role": person.role if person else None,
                      "school_id": person.school_id if person else None,
                      "classes": _classes(session, username)}
            grades = _grades(session, submissions)
            audit = _audit_rows(session, username)
            index = {"username": username, "exported_at": stamp.isoformat(),
                     "with_names": with_names,
                     "counts": {"classes": len(roster["classes"]),
                                "submissions": len(submissions), "feedback": len(feedback),
                                "graded_cells": sum(len(g["cells"]) for g in grades),
                                "audit_rows": len(audit),
                                "database_rows": sum(len(r) for r in tables.values())}}
            out_dir.mkdir(parents=True, exist_ok=True)
            target = out_dir / f"{username}-{stamp.strftime('%Y%m%dT%H%M%SZ')}.zip"
            hidden = person.display_name if person and not with_names else None
            files = _write_zip(target, store, index, roster, grades, audit, tables,
                               submissions, [f for f, _s in feedback],
                               {f.id: s for f, s in feedback}, hidden)
            record(session, actor=actor, action="privacy.exported", subject=username,
                   school=roster["school_id"] or "", source=source,
                   detail={"with_names": with_names, "files": files})
    finally:
        database.engine.dispose()
    return ExportSummary(target, files, len(submissions))


def _write_zip(target: Path, store: ContentStore, index: dict, roster: dict, grades: list,
               audit: list, tables: dict, submissions: list[Submission],
               feedback: list[Feedback], feedback_of: dict[int, Submission],
               hidden_name: str | None) -> int:
    """Write the zip (to a temporary name first: a half-written export is never there).

    Without names, the real name is withheld from the documents the classroom wrote
    (a teacher's comment, in the grades and the feedback, may name the pupil), not from
    the pupil's own files.
    """
    def _json(data: Any) -> str:
        text = json.dumps(data, ensure_ascii=False, indent=1, default=str)
        return text.replace(hidden_name, WITHHELD) if hidden_name else text

    partial = target.with_name(target.name + ".partial")
    files = 0
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for folder, rows in (("submissions", [(s, s.manifest) for s in submissions]),
                             ("feedback", [(feedback_of[f.id], f.manifest) for f in feedback])):
            for submission, manifest in rows:
                for entry in manifest or ():
                    member = _safe_member(folder, _folder(submission), entry["path"])
                    if folder == "feedback" and hidden_name:
                        data = store.path(entry["sha256"]).read_bytes()
                        archive.writestr(member, data.replace(hidden_name.encode(),
                                                              WITHHELD.encode()))
                    else:
                        archive.write(store.path(entry["sha256"]), member)
                    files += 1
        archive.writestr("roster.json", _json(roster))
        archive.writestr("grades.json", _json(grades))
        archive.writestr("audit.json", _json(audit))
        for table, rows in tables.items():
            archive.writestr(f"database/{table}.json", _json(rows))
        archive.writestr(INDEX_JSON, _json(index))
        archive.writestr(INDEX_MD, _index_markdown(index["username"], index))
    partial.rename(target)
    return files
