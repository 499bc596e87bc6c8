"""The panel's server side: ``<base>/aiclass/assignments`` and its actions.

Every call is made with the server's own token, so the service decides what the student may
see and do; these handlers add only what the service cannot know (whether the assignment's
folder exists in this server) and never take a student or a path from the browser.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from aiclass_assignments import actions, service
from aiclass_assignments.overview import assignment_rows


class AssignmentsHandler(APIHandler):
    """The student's assignments, the rules shown before submitting, and receipts."""

    @property
    def root(self) -> Path:
        return Path(self.settings["server_root_dir"]).expanduser().resolve()

    def refuse(self, status: int, message: str) -> None:
        self.set_status(status)
        self.finish(json.dumps({"message": message}))

    @web.authenticated
    async def get(self) -> None:
        try:
            info, released, mine = await asyncio.gather(
                service.get_json("/"), service.get_json("/assignments"),
                service.get_json("/submissions"))
        except service.ServiceUnavailable as error:
            self.refuse(502, str(error))
            return
        self.finish(json.dumps({
            "rules": info.get("rules"),
            "assignments": assignment_rows(released["assignments"], mine["submissions"],
                                           self.root),
        }))


class ActionHandler(AssignmentsHandler):
    """``POST .../<class>/<assignment>/<fetch|submit|feedback>``."""

    @web.authenticated
    async def post(self, class_id: str, assignment_id: str, action: str) -> None:
        try:
            actions.check_ids(class_id, assignment_id)
            if action == "fetch":
                await asyncio.to_thread(actions.fetch, self.root, class_id, assignment_id)
                body: dict = {"ok": True}
            elif action == "submit":
                body = await asyncio.to_thread(actions.submit, self.root, class_id,
                                               assignment_id)
            else:
                pages = await asyncio.to_thread(actions.fetch_feedback, self.root, class_id,
                                                assignment_id)
                body = {"feedback": pages}
        except actions.ActionRefused as error:
            self.refuse(400, str(error))
            return
        self.finish(json.dumps(body))


def routes(base_url: str) -> list[tuple[str, type]]:
    """The panel's URLs under the server's base URL."""
    api = url_path_join(base_url, "aiclass", "assignments")
    return [
        (api, AssignmentsHandler),
        (url_path_join(api, r"([^/]+)/([^/]+)/(fetch|submit|feedback)"), ActionHandler),
    ]
