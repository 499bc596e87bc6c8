"""What the panel shows: each released assignment with its status, due date, rules and receipt.

Pure functions over the classroom service's answers (``/api/v1``, ``/assignments`` and
``/submissions``) and the student's folder, so the status rules are tested without a server.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

NOT_FETCHED = "not_fetched"
IN_PROGRESS = "in_progress"
SUBMITTED = "submitted"
GRADED = "graded"
COMPETITION = "competition"
"""The ``kind`` of a service row that is a competition to enter, not a class's homework."""


def receipt(submission: dict) -> dict:
    """A submission receipt a student can show their teacher: the service's time, the files
    with their sizes and sha256, and one checksum over them all.

    The checksum is the sha256 of ``"<sha256>  <path>\\n"`` per file in path order (the
    ``sha256sum`` format), so a teacher can recompute it from the submission's manifest.
    """
    files = sorted(submission["files"], key=lambda f: f["path"])
    listing = "".join(f"{f['sha256']}  {f['path']}\n" for f in files)
    return {
        "submission_id": submission["id"],
        "submitted_at": submission["submitted_at"],
        "late": submission["late"],
        "files": [{"path": f["path"], "size": f.get("size", 0), "sha256": f["sha256"]}
                  for f in files],
        "checksum": hashlib.sha256(listing.encode()).hexdigest(),
    }


def status_of(fetched: bool, submissions: list[dict]) -> str:
    """未获取 / 进行中 / 已提交 / 已评分: graded once any submission has feedback released."""
    if any(s["feedback"] for s in submissions):
        return GRADED
    if submissions:
        return SUBMITTED
    return IN_PROGRESS if fetched else NOT_FETCHED


def competition_fields(release: dict) -> dict:
    """What a competition's card adds: it is one, its title, the day's limit and how many of
    today's entries are used (homework: nothing)."""
    if release.get("kind") != COMPETITION:
        return {}
    return {"kind": COMPETITION, "title": release["title"],
            "daily_limit": release["daily_limit"], "entries_today": release["entries_today"]}


def assignment_rows(assignments: list[dict], submissions: list[dict], root: Path) -> list[dict]:
    """One row per assignment released to the caller as a student, soonest due first.

    ``root`` is the server's folder; an assignment is fetched when its folder
    (``<root>/<assignment id>``, nbgrader's layout) exists.
    """
    rows = []
    for release in assignments:
        if release.get("role") != "student":
            continue
        class_id, assignment_id = release["class_id"], release["assignment_id"]
        own = sorted((s for s in submissions if s["class_id"] == class_id
                      and s["assignment_id"] == assignment_id),
                     key=lambda s: s["submitted_at"])
        folder = root / assignment_id
        fetched = folder.is_dir()
        due_at = release.get("own_due_at") or release["due_at"]
        rows.append({
            "class_id": class_id,
            "assignment_id": assignment_id,
            "status": status_of(fetched, own),
            "due_at": due_at,
            "release_due_at": release["due_at"],
            "extended": due_at != release["due_at"],
            "folder": assignment_id,
            "notebooks": [f"{assignment_id}/{name}.ipynb" for name in release["notebooks"]
                          if not fetched or (folder / f"{name}.ipynb").is_file()],
            "submission_count": len(own),
            "receipt": receipt(own[-1]) if own else None,
            "feedback_ready": any(s["feedback"] for s in own),
            **competition_fields(release),
        })
    return sorted(rows, key=lambda r: (r["due_at"] is None, r["due_at"] or "",
                                       r["class_id"], r["assignment_id"]))
