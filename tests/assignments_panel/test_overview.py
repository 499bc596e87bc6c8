"""The panel's status rules and receipts, from the service's answers and the student's folder."""

from __future__ import annotations

import hashlib
from pathlib import Path

from aiclass_assignments.overview import (
    GRADED,
    IN_PROGRESS,
    NOT_FETCHED,
    SUBMITTED,
    assignment_rows,
    receipt,
)


def release(assignment_id: str, due_at: str | None, own_due_at: str | None = None,
            role: str = "student") -> dict:
    return {"class_id": "c1", "assignment_id": assignment_id, "due_at": due_at,
            "own_due_at": own_due_at or due_at, "notebooks": ["lesson", "extra"], "role": role}


def submission(assignment_id: str, at: str, feedback: bool = False) -> dict:
    files = [{"path": "lesson.ipynb", "sha256": "b" * 64, "size": 20},
             {"path": "data/a.csv", "sha256": "a" * 64, "size": 3}]
    return {"id": at[-2:] * 16, "class_id": "c1", "assignment_id": assignment_id,
            "submitted_at": at, "late": False, "files": files,
            "feedback": {"files": []} if feedback else None}


def test_each_status_and_the_latest_receipt(tmp_path: Path) -> None:
    (tmp_path / "fetched").mkdir()
    (tmp_path / "fetched" / "lesson.ipynb").write_text("{}")
    (tmp_path / "sent").mkdir()
    releases = [release("graded", "2030-01-03T00:00:00Z"), release("sent", None),
                release("fetched", "2030-01-01T00:00:00Z", "2030-02-01T00:00:00Z"),
                release("new", "2030-01-02T00:00:00Z"), release("taught", None, role="teacher")]
    mine = [submission("sent", "2030-01-01T10:00:02Z"), submission("sent", "2030-01-01T09:00:01Z"),
            submission("graded", "2030-01-01T08:00:03Z", feedback=True)]
    rows = {r["assignment_id"]: r for r in assignment_rows(releases, mine, tmp_path)}

    assert "taught" not in rows  # a teacher's own class is not their homework
    assert [r for r in rows] == ["new", "graded", "fetched", "sent"]  # extended due, no due last
    assert {k: r["status"] for k, r in rows.items()} == {
        "new": NOT_FETCHED, "fetched": IN_PROGRESS, "sent": SUBMITTED, "graded": GRADED}
    assert rows["fetched"]["extended"] and rows["fetched"]["due_at"] == "2030-02-01T00:00:00Z"
    assert not rows["new"]["extended"]
    assert rows["fetched"]["notebooks"] == ["fetched/lesson.ipynb"]  # only what is there
    assert rows["new"]["notebooks"] == ["new/lesson.ipynb", "new/extra.ipynb"]
    assert rows["sent"]["submission_count"] == 2
    assert rows["sent"]["receipt"]["submitted_at"] == "2030-01-01T10:00:02Z"  # the latest
    assert rows["graded"]["feedback_ready"] and not rows["sent"]["feedback_ready"]


def test_the_receipt_checksum_is_sha256sum_of_the_files_in_path_order() -> None:
    made = receipt(submission("sent", "2030-01-01T10:00:02Z"))
    listing = f"{'a' * 64}  data/a.csv\n{'b' * 64}  lesson.ipynb\n"
    assert made["checksum"] == hashlib.sha256(listing.encode()).hexdigest()
    assert [f["path"] for f in made["files"]] == ["data/a.csv", "lesson.ipynb"]
    changed = submission("sent", "2030-01-01T10:00:02Z")
    changed["files"][0]["sha256"] = "c" * 64
    assert receipt(changed)["checksum"] != made["checksum"]
