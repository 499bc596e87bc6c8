"""nbgrader's student server extensions, loaded at their first request instead of at start-up.

nbgrader's ``assignment_list`` and ``validate_assignment`` server extensions import all of
nbgrader when a server starts (its applications, nbconvert, the gradebook's models): about
0.4 s of the 0.9 s of CPU a student's server needs to start, paid forty times over on the
same cores when a class starts at 8:00. Their URLs are first called when a student opens the
Assignments panel or validates. Until then this extension answers them: the first request
loads nbgrader's own extensions through their entry points (nothing of nbgrader is changed),
removes these stand-in routes and sends the client to the same URL again (307 keeps the
method and the body), which nbgrader's handlers now answer.

Enable it instead of the two nbgrader extensions (the hub's spawner does so for students)::

    --ServerApp.jpserver_extensions={'aiclass_deferred_nbgrader': True,
        'nbgrader.server_extensions.assignment_list': False,
        'nbgrader.server_extensions.validate_assignment': False}

Importing this package imports nothing of nbgrader.
"""

from __future__ import annotations

import importlib
from typing import Any

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.serverapp import ServerApp
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.routing import Rule

DEFERRED = (
    "nbgrader.server_extensions.assignment_list",
    "nbgrader.server_extensions.validate_assignment",
)
ROUTES = (r"/assignments", r"/assignments/[^/]+", r"/courses", r"/nbgrader_version")
"""What the two extensions serve (``/assignments/validate`` and the fetch, submit and
fetch-feedback actions are the ``/assignments/<name>`` ones)."""


class DeferredNbgrader:
    """Loads the deferred extensions once, then takes the stand-in routes away."""

    def __init__(self, serverapp: ServerApp) -> None:
        self.serverapp = serverapp
        self.stand_in: Rule | None = None

    def add_stand_in_routes(self) -> None:
        webapp = self.serverapp.web_app
        base_url = webapp.settings["base_url"]
        webapp.add_handlers(".*$", [(url_path_join(base_url, route), StandInHandler,
                                     {"deferred": self}) for route in ROUTES])
        # Application.add_handlers inserts the new host rule just before the catch-all one.
        self.stand_in = webapp.default_router.rules[-2]

    def load(self) -> None:
        if self.stand_in is None:
            return
        for name in DEFERRED:
            self.serverapp.log.info("loading the deferred server extension %s", name)
            importlib.import_module(name)._load_jupyter_server_extension(self.serverapp)
        self.serverapp.web_app.default_router.rules.remove(self.stand_in)
        self.stand_in = None


class StandInHandler(JupyterHandler):
    """Answers a deferred URL once: load nbgrader's extensions, then ask again."""

    def initialize(self, deferred: DeferredNbgrader) -> None:
        self.deferred = deferred

    @web.authenticated
    def get(self, *_args: Any) -> None:
        self.deferred.load()
        self.redirect(self.request.uri or "/", status=307)

    post = put = get


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "aiclass_deferred_nbgrader"}]


def _load_jupyter_server_extension(serverapp: ServerApp) -> None:
    DeferredNbgrader(serverapp).add_stand_in_routes()
