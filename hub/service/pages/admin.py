"""Roster upload for school and region admins: a dry run shown row by row, then apply.

The uploaded file is kept under ``<data>/roster-uploads/`` between the dry run and the
confirmation (named by a random token the form carries back), so what is applied is
exactly what was checked. A school admin may only upload rows of their own school.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from tornado import web

from hub.org.models import Role
from hub.org.roster import Problem, RosterError, apply_roster, validate
from hub.org.tables import TableError, read_table
from hub.service.pages.base import Forbidden, PageHandler

UPLOAD_NAME = re.compile(r"^[0-9a-f]{32}\.(csv|xlsx)$")


class RosterHandler(PageHandler):
    @property
    def upload_dir(self) -> Path:
        return Path(self.classroom.data_dir) / "roster-uploads"

    def check_admin(self) -> None:
        if self.person.role not in (Role.SCHOOL_ADMIN, Role.REGION_ADMIN):
            raise Forbidden("admins_only")

    @web.authenticated
    def get(self) -> None:
        self.check_admin()
        self.render_page("roster.html", problems=None, report=None, rows=None)

    @web.authenticated
    def post(self) -> None:
        self.check_admin()
        if self.get_body_argument("action", "dry_run") == "apply":
            name = self.get_body_argument("upload", "")
            if not UPLOAD_NAME.match(name) or not (self.upload_dir / name).is_file():
                raise web.HTTPError(400, "upload")
            self.run(self.upload_dir / name, apply=True)
            return
        files = self.request.files.get("roster", [])
        if not files:
            raise web.HTTPError(400, "roster")
        upload = files[0]
        suffix = "xlsx" if upload.filename.lower().endswith(".xlsx") else "csv"
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        path = self.upload_dir / f"{secrets.token_hex(16)}.{suffix}"
        path.write_bytes(upload.body)
        self.run(path, apply=False, source=Path(upload.filename).name)

    def run(self, path: Path, *, apply: bool, source: str | None = None) -> None:
        source = source or path.name
        try:
            table = read_table(path)
        except TableError as exc:
            self.show([Problem(source, None, None, str(exc), str(exc))])
            return
        settings = self.settings["aiclass_settings"]
        try:
            with self.classroom.database.session() as session:
                rows, _schools, _classes = validate([table], session)
                foreign = [r for r in rows if self.person.role == Role.SCHOOL_ADMIN
                           and r.school != self.person.school_id]
                if foreign:
                    raise RosterError([Problem(source, r.row, None, "只能导入本校的行",
                                               "only rows of your own school")
                                       for r in foreign])
                trial = session.begin_nested()
                report = apply_roster(session, [table], settings.org.region_id,
                                      settings.org.region_name)
                if not apply:
                    trial.rollback()
        except RosterError as exc:
            self.show(exc.problems)
            return
        if apply:
            path.unlink(missing_ok=True)
        self.render_page("roster.html", problems=None, report=report, rows=rows,
                         applied=apply, upload=path.name)

    def show(self, problems: list[Problem]) -> None:
        self.set_status(422)
        self.render_page("roster.html", problems=problems, report=None, rows=None)


def admin_routes(prefix: str) -> list[tuple[str, type]]:
    return [(f"{prefix}roster", RosterHandler)]
