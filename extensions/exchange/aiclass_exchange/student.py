"""What a student's Assignments panel and ``nbgrader list/fetch/submit`` call.

The student is whoever owns the server's token: no student id is ever sent, so a
student cannot act as anyone else. Every list comes from the service, so a student
sees only assignments released to their classes and only their own submissions.
"""

from __future__ import annotations

import glob
import hashlib
import os
import uuid
from collections import defaultdict
from pathlib import Path

from nbgrader.exchange import abc
from nbgrader.exchange.abc.exchange import ExchangeError

from aiclass_exchange import competition
from aiclass_exchange.exchange import Exchange, nbgrader_timestamp
from aiclass_exchange.folders import unzip_into, zip_folder


def _sha256(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


class ExchangeList(Exchange, abc.ExchangeList):
    """Released assignments, the student's own submissions, or (teachers) the inbound ones."""

    def _matches(self, course_id: str, assignment_id: str) -> bool:
        return ((not self.coursedir.course_id or course_id == self.coursedir.course_id)
                and (not self.coursedir.assignment_id
                     or assignment_id == self.coursedir.assignment_id))

    def list_files(self) -> list[dict]:
        if self.inbound:
            assignments = self._inbound()
        elif self.cached:
            assignments = self._group(self._submission_info(s) for s in
                                      self.client.get_json("/submissions")["submissions"]
                                      if self._matches(s["class_id"], s["assignment_id"]))
        else:
            assignments = self._released()
        for info in assignments:
            self.log.info("%s %s %s", info["course_id"], info["assignment_id"], info["status"])
        return assignments

    def remove_files(self) -> list[dict]:
        self.fail("课堂服务中的作业和提交不能删除（the classroom service keeps every release "
                  "and submission; nothing can be removed）")
        return []

    def _released(self) -> list[dict]:
        assignments = []
        for release in self.client.get_json("/assignments")["assignments"]:
            course_id, assignment_id = release["class_id"], release["assignment_id"]
            if not self._matches(course_id, assignment_id):
                continue
            local = self.assignment_path(course_id, assignment_id)
            fetched = os.path.isdir(local)
            info = {
                "course_id": course_id,
                "assignment_id": assignment_id,
                "status": "fetched" if fetched else "released",
                "path": local if fetched else f"{course_id}/{assignment_id}",
                "version": release["version"],
                "fetched_version": release["fetched_version"],
                "due_at": release["due_at"],
            }
            if fetched:
                notebooks = sorted(glob.glob(os.path.join(local, "*.ipynb")))
                info["notebooks"] = [{"notebook_id": Path(p).stem, "path": p} for p in notebooks]
            else:
                info["notebooks"] = [{"notebook_id": name, "path": f"{name}.ipynb"}
                                     for name in release["notebooks"]]
            assignments.append(info)
        return assignments

    def _submission_info(self, submission: dict) -> dict:
        course_id, assignment_id = submission["class_id"], submission["assignment_id"]
        timestamp = nbgrader_timestamp(submission["submitted_at"])
        feedback_dir = os.path.join(self.assignment_path(course_id, assignment_id),
                                    "feedback", timestamp)
        exchange_feedback = {f["path"]: f["sha256"]
                             for f in (submission["feedback"] or {}).get("files", [])}
        notebooks = []
        for entry in submission["files"]:
            if not entry["path"].endswith(".ipynb") or "/" in entry["path"]:
                continue
            notebook_id = entry["path"][:-6]
            local = os.path.join(feedback_dir, f"{notebook_id}.html")
            has_local = os.path.isfile(local)
            remote = exchange_feedback.get(f"{notebook_id}.html")
            notebooks.append({
                "notebook_id": notebook_id,
                "path": entry["path"],
                "has_local_feedback": has_local,
                "has_exchange_feedback": remote is not None,
                "local_feedback_path": local if has_local else None,
                "feedback_updated": bool(has_local and remote and _sha256(local) != remote),
            })
        has_local = bool(notebooks) and all(n["has_local_feedback"] for n in notebooks)
        return {
            "course_id": course_id,
            "student_id": submission["student"],
            "assignment_id": assignment_id,
            "timestamp": timestamp,
            "status": "submitted",
            "path": submission["id"],
            "submission_id": submission["id"],
            "late": submission["late"],
            "notebooks": notebooks,
            "has_local_feedback": has_local,
            "has_exchange_feedback": bool(notebooks) and all(
                n["has_exchange_feedback"] for n in notebooks),
            "feedback_updated": any(n["feedback_updated"] for n in notebooks),
            "local_feedback_path": feedback_dir if has_local else None,
        }

    def _inbound(self) -> list[dict]:
        infos = []
        for release in self.client.get_json("/assignments")["assignments"]:
            course_id, assignment_id = release["class_id"], release["assignment_id"]
            if release["role"] != "teacher" or not self._matches(course_id, assignment_id):
                continue
            path = f"/classes/{course_id}/assignments/{assignment_id}/submissions"
            infos.extend(self._submission_info(s)
                         for s in self.client.get_json(path)["submissions"])
        return self._group(infos)

    @staticmethod
    def _group(infos: object) -> list[dict]:
        groups: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
        for info in infos:
            groups[(info["course_id"], info["student_id"], info["assignment_id"])].append(info)
        return [{"course_id": course_id, "student_id": student_id,
                 "assignment_id": assignment_id, "status": "submitted",
                 "submissions": sorted(submissions, key=lambda s: s["timestamp"])}
                for (course_id, student_id, assignment_id), submissions in sorted(groups.items())]


class ExchangeFetchAssignment(Exchange, abc.ExchangeFetchAssignment):
    """Download the current version of a released assignment into the student's folder."""

    def init_dest(self) -> None:
        course_id = self.require_course()
        self.dest_path = self.assignment_path(course_id, self.coursedir.assignment_id)
        if os.path.isdir(self.dest_path) and not self.replace_missing_files:
            self.fail(f"你已经获取过这份作业：{self.coursedir.assignment_id}（you already have "
                      f"a copy of the assignment in this directory）")

    def copy_files(self) -> None:
        course_id, assignment_id = self.coursedir.course_id, self.coursedir.assignment_id
        try:
            row = competition.competition_row(self.client, course_id, assignment_id)
            if row is not None:
                written = competition.fetch_files(self.client, row, Path(self.dest_path),
                                                  only_missing=self.replace_missing_files)
                self.log.info("Fetched the competition %s (%d files)", assignment_id,
                              len(written))
                return
        except ExchangeError as error:
            self.fail(str(error))
        data = self.client.get_bytes(f"/classes/{course_id}/assignments/{assignment_id}/release")
        written = unzip_into(data, Path(self.dest_path), only_missing=self.replace_missing_files)
        self.log.info("Fetched as: %s %s (%d files)", course_id, assignment_id, len(written))


class ExchangeSubmit(Exchange, abc.ExchangeSubmit):
    """Upload the assignment folder; the service stamps it with its own clock.

    A competition's folder is not uploaded: its notebook is handed in as an entry
    (:func:`aiclass_exchange.competition.enter`), kept in :attr:`entry`.
    """

    entry: dict | None = None

    def init_src(self) -> None:
        course_id = self.require_course()
        self.src_path = self.assignment_path(course_id, self.coursedir.assignment_id)
        if not os.path.isdir(self.src_path):
            self.fail(f"找不到作业文件夹：{self.coursedir.assignment_id}（assignment folder "
                      f"not found: {self.src_path}）")

    def _check_notebooks(self) -> None:
        released = {n for r in self.client.get_json("/assignments")["assignments"]
                    if r["class_id"] == self.coursedir.course_id
                    and r["assignment_id"] == self.coursedir.assignment_id
                    for n in r["notebooks"]}
        present = {Path(p).stem for p in glob.glob(os.path.join(self.src_path, "*.ipynb"))}
        missing = sorted(released - present)
        if missing and self.strict:
            self.fail(f"缺少笔记本：{', '.join(missing)}（missing notebooks）")
        if missing:
            self.log.warning("Missing notebooks: %s", ", ".join(missing))

    def copy_files(self) -> None:
        try:
            row = competition.competition_row(self.client, self.coursedir.course_id,
                                              self.coursedir.assignment_id)
            if row is not None:
                self.entry = competition.enter(self.client, row, Path(self.src_path))
                self.timestamp = nbgrader_timestamp(self.entry["submitted_at"])
                self.log.info("Entered the competition %s: entry %d, %s",
                              self.coursedir.assignment_id, self.entry["id"],
                              self.entry["status"])
                return
        except ExchangeError as error:
            self.fail(str(error))
        self._check_notebooks()
        archive = zip_folder(Path(self.src_path), list(self.coursedir.ignore))
        path = (f"/classes/{self.coursedir.course_id}/assignments/"
                f"{self.coursedir.assignment_id}/submissions")
        submission = self.client.send_zip("POST", path, archive,
                                          headers={"Idempotency-Key": uuid.uuid4().hex})
        self.timestamp = nbgrader_timestamp(submission["submitted_at"])
        self.submission = submission
        self.log.info("Submitted as: %s %s %s", self.coursedir.course_id,
                      self.coursedir.assignment_id, self.timestamp)


class ExchangeFetchFeedback(Exchange, abc.ExchangeFetchFeedback):
    """Download the feedback released for the student's own submissions."""

    def copy_files(self) -> None:
        course_id = self.require_course()
        fetched = 0
        for submission in self.client.get_json("/submissions")["submissions"]:
            if (submission["class_id"] != course_id or not submission["feedback"]
                    or (self.coursedir.assignment_id
                        and submission["assignment_id"] != self.coursedir.assignment_id)):
                continue
            data = self.client.get_bytes(f"/submissions/{submission['id']}/feedback")
            target = Path(self.assignment_path(course_id, submission["assignment_id"]),
                          "feedback", nbgrader_timestamp(submission["submitted_at"]))
            if target.exists():
                self._overwrite(data, target)
            else:
                unzip_into(data, target)
            fetched += 1
        self.log.info("Fetched feedback for %d submissions", fetched)

    @staticmethod
    def _overwrite(data: bytes, target: Path) -> None:
        staging = target.with_name(target.name + ".new")
        unzip_into(data, staging)
        for item in staging.iterdir():
            os.replace(item, target / item.name)
        staging.rmdir()
