"""Export and erasure of one student's data by their school's admin, with a confirmation.

Who may: a school admin over the students of their own school, a region admin over
anyone of the region; every other caller is refused before the username is looked at,
and a username outside the admin's reach answers exactly like one that does not exist,
so that usernames cannot be probed. The username travels in the form's body, never in
a URL, and the admin confirms by typing it again: an erasure cannot be undone, and a
misclick on the wrong row of a list must not be enough. The work itself is
:mod:`hub.privacy`'s, on a thread (an erasure deletes files and a home).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from tornado import web
from tornado.ioloop import IOLoop

from hub.auth.throttle import client_address
from hub.org.models import Person, Role
from hub.privacy.erasure import erase_person
from hub.privacy.export import export_person
from hub.privacy.refusal import PrivacyRefused
from hub.service.pages.base import Forbidden, PageHandler

ACTIONS = ("export", "erase")


class PrivacyHandler(PageHandler):
    """The form (GET) and the confirmed request (POST)."""

    def check_admin(self) -> None:
        if self.person.role not in (Role.SCHOOL_ADMIN, Role.REGION_ADMIN):
            raise Forbidden("admins_only")

    def check_reach(self, username: str) -> None:
        """403 unless the caller's role and school reach ``username``'s data."""
        with self.classroom.database.session() as session:
            target = session.get(Person, username)
            reachable = target is not None and (
                self.person.role == Role.REGION_ADMIN
                or (target.role == Role.STUDENT and target.school_id is not None
                    and target.school_id == self.person.school_id))
        if not reachable:
            raise Forbidden("not_your_student")

    @web.authenticated
    def get(self) -> None:
        self.check_admin()
        self.render_page("privacy.html", done=None, mismatch=False)

    @web.authenticated
    async def post(self) -> None:
        self.check_admin()
        action = self.get_body_argument("action", "")
        username = self.get_body_argument("username", "").strip()
        if action not in ACTIONS or not username:
            raise web.HTTPError(400, "action")
        self.check_reach(username)
        if self.get_body_argument("confirm", "").strip() != username:
            self.set_status(400)
            self.render_page("privacy.html", done=None, mismatch=True)
            return
        settings = self.settings["aiclass_settings"]
        source = client_address(self.request)
        if action == "erase":
            try:
                report = await IOLoop.current().run_in_executor(
                    None, lambda: erase_person(settings, username, actor=self.person.username,
                                               source=source))
            except PrivacyRefused as exc:
                self.set_status(409)
                self.render_page("privacy.html", done=str(exc), mismatch=False)
                return
            self.render_page("privacy.html", done=report.summary(), mismatch=False)
            return
        with_names = self.get_body_argument("with_names", "") == "yes"
        with tempfile.TemporaryDirectory(prefix="aiclass-export-") as folder:
            summary = await IOLoop.current().run_in_executor(
                None, lambda: export_person(settings, username, Path(folder),
                                            with_names=with_names, actor=self.person.username,
                                            source=source))
            self.set_header("Cache-Control", "no-store")
            self.send_file(summary.path.read_bytes(), summary.path.name, "application/zip")


def privacy_routes(prefix: str) -> list[tuple[str, type]]:
    return [(f"{prefix}privacy", PrivacyHandler)]
