"""What a teacher's ``nbgrader release_assignment/collect/release_feedback`` call.

Release sends the *source* assignment: the service makes the student version with
nbgrader's ``generate_assignment`` itself, so hidden tests never leave the service.
Collect brings each student's counted submission into nbgrader's ``submitted/``
folder with the server's timestamp, for the teacher to read (and the formgrader to list):
the teacher profile's ``Autograde`` refuses to execute them (``central_grading.py``), because
the service has already graded them in its sandbox.
"""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

from nbgrader.exchange import abc
from traitlets import Unicode

from aiclass_exchange.exchange import Exchange, nbgrader_timestamp
from aiclass_exchange.folders import unzip_into, zip_folder


class ExchangeReleaseAssignment(Exchange, abc.ExchangeReleaseAssignment):
    """Release the course's source assignment to the class (the course)."""

    due_at = Unicode("", help="Due date with a UTC offset, e.g. 2026-10-01T23:59+08:00").tag(
        config=True)

    def init_src(self) -> None:
        self.require_course()
        self.src_path = self.coursedir.format_path(self.coursedir.source_directory, ".",
                                                   self.coursedir.assignment_id)
        if not os.path.isdir(self.src_path):
            self.fail(f"找不到源作业：{self.src_path}（source assignment not found）")

    def copy_files(self) -> None:
        archive = zip_folder(Path(self.src_path), list(self.coursedir.ignore))
        params = {"class": self.coursedir.course_id}
        if self.due_at:
            params["due"] = self.due_at
        result = self.client.send_zip("POST", f"/assignments/{self.coursedir.assignment_id}"
                                      "/releases", archive, params=params)
        for release in result["releases"]:
            self.log.info("Released as: %s %s version %d", release["class_id"],
                          release["assignment_id"], release["version"])


def _collection(exchange: Exchange) -> list[dict]:
    course_id = exchange.require_course()
    path = f"/classes/{course_id}/assignments/{exchange.coursedir.assignment_id}/collection"
    return exchange.client.get_json(path)["students"]


class ExchangeCollect(Exchange, abc.ExchangeCollect):
    """Download each student's counted submission into ``submitted/<student>/<assignment>``."""

    def copy_files(self) -> None:
        for row in _collection(self):
            submission = row["submission"]
            if submission is None:
                continue
            student = row["student"]
            dest = Path(self.coursedir.format_path(self.coursedir.submitted_directory, student,
                                                   self.coursedir.assignment_id))
            timestamp = nbgrader_timestamp(submission["submitted_at"])
            stamp = dest / "timestamp.txt"
            if dest.exists():
                if not self.update or (stamp.exists() and stamp.read_text() == timestamp):
                    self.log.info("Skipping %s: already collected", student)
                    continue
                shutil.rmtree(dest)
            unzip_into(self.client.get_bytes(f"/submissions/{submission['id']}/files"), dest)
            stamp.write_text(timestamp)
            self.log.info("Collected %s %s (%s%s)", student, self.coursedir.assignment_id,
                          timestamp, ", late" if submission["late"] else "")


class ExchangeReleaseFeedback(Exchange, abc.ExchangeReleaseFeedback):
    """Send each student's generated feedback to the submission it was made for."""

    def copy_files(self) -> None:
        course_id = self.require_course()
        assignment_id = self.coursedir.assignment_id
        history = self.client.get_json(
            f"/classes/{course_id}/assignments/{assignment_id}/submissions")["submissions"]
        for row in _collection(self):
            student = row["student"]
            folder = Path(self.coursedir.format_path(self.coursedir.feedback_directory, student,
                                                     assignment_id))
            if not glob.glob(str(folder / "*.html")) or row["submission"] is None:
                continue
            stamp = folder / "timestamp.txt"
            target = row["submission"]
            if stamp.exists():
                stamped = stamp.read_text().strip()
                target = next((s for s in history if s["student"] == student
                               and nbgrader_timestamp(s["submitted_at"]) == stamped), target)
            archive = zip_folder(folder, ["timestamp.txt", *self.coursedir.ignore])
            self.client.send_zip("PUT", f"/submissions/{target['id']}/feedback", archive)
            self.log.info("Released feedback for %s %s", student, assignment_id)
