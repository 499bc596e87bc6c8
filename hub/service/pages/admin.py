"""Roster upload for school and region admins: a dry run shown row by row, then apply.

The uploaded file is kept under ``<data>/roster-uploads/`` (owner-only) between a clean dry
run and the confirmation (named by a random token the form carries back), so what is applied
is exactly what was checked; it is deleted once applied or refused, and an unconfirmed one
after an hour. What the uploader may change is the one rule of
:mod:`hub.org.grants` (a school admin: their own school's students and teachers), checked
again when the file is applied, so a role changed in between counts.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import replace
from pathlib import Path

from tornado import web

from hub.auth.throttle import client_address
from hub.org.grants import Grantor
from hub.org.models import Role
from hub.org.roster import Problem, RosterError, apply_roster, validate
from hub.org.tables import TableError, read_table
from hub.service.pages.base import Forbidden
from hub.service.pages.uploads import FormUploadHandler

UPLOAD_NAME = re.compile(r"^[0-9a-f]{32}\.(csv|xlsx)$")
MAX_ROSTER_BYTES = 32 * 1024 * 1024
"""A region's roster of a hundred thousand people is a few megabytes as CSV or XLSX."""
UPLOAD_LIFETIME_SECONDS = 3600
"""How long a checked roster waits for its confirmation before it is deleted."""


class RosterHandler(FormUploadHandler):
    """Only an admin may post a roster, checked before the file is read."""

    def max_upload_bytes(self) -> int:
        return MAX_ROSTER_BYTES

    def authorise_upload(self) -> None:
        self.check_admin()

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
        self.parse_form()
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
        self.forget_stale_uploads()
        path = self.upload_dir / f"{secrets.token_hex(16)}.{suffix}"
        path.touch(mode=0o600)
        path.write_bytes(upload.body)
        self.run(path, apply=False, source=Path(upload.filename).name)

    def forget_stale_uploads(self) -> None:
        """Delete checked files nobody confirmed: a roster holds minors' names and classes."""
        self.upload_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        stale = time.time() - UPLOAD_LIFETIME_SECONDS
        for path in self.upload_dir.iterdir():
            if path.stat().st_mtime < stale:
                path.unlink(missing_ok=True)

    def run(self, path: Path, *, apply: bool, source: str | None = None) -> None:
        source = source or path.name
        try:
            table = replace(read_table(path), source=source)
        except TableError as exc:
            self.refuse(path, [Problem(source, None, None, str(exc), str(exc))])
            return
        settings = self.settings["aiclass_settings"]
        grantor = Grantor.person(self.person.username, self.person.role, self.person.school_id)
        try:
            with self.classroom.database.session() as session:
                rows, _schools, _classes = validate([table], session, grantor=grantor)
                trial = session.begin_nested()
                report = apply_roster(session, [table], settings.org.region_id,
                                      settings.org.region_name, grantor=grantor,
                                      source=client_address(self.request))
                if not apply:
                    trial.rollback()
        except RosterError as exc:
            self.refuse(path, exc.problems)
            return
        if apply:
            path.unlink(missing_ok=True)
        self.render_page("roster.html", problems=None, report=report, rows=rows,
                         applied=apply, upload=path.name)

    def refuse(self, path: Path, problems: list[Problem]) -> None:
        """Show the problems; the refused file is deleted before the answer leaves."""
        path.unlink(missing_ok=True)
        self.set_status(422)
        self.render_page("roster.html", problems=problems, report=None, rows=None)


def admin_routes(prefix: str) -> list[tuple[str, type]]:
    return [(f"{prefix}roster", RosterHandler)]
