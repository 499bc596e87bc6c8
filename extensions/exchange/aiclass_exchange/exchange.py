"""The base of every aiclass exchange plugin: where the service is and who is calling."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from nbgrader.exchange import abc
from traitlets import Bool, Float, Unicode, default

from aiclass_exchange.client import ServiceClient

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"


def nbgrader_timestamp(iso_time: str) -> str:
    """The service's ISO time in nbgrader's timestamp format (UTC)."""
    moment = datetime.fromisoformat(iso_time.replace("Z", "+00:00")).astimezone(UTC)
    return moment.strftime(TIMESTAMP_FORMAT)


class Exchange(abc.Exchange):
    """Talks to the classroom service with the server's JupyterHub token."""

    service_url = Unicode(
        help="URL of the classroom service (default: $AICLASS_EXCHANGE_URL, set by the hub)"
    ).tag(config=True)
    api_token = Unicode(help="JupyterHub token (default: $JUPYTERHUB_API_TOKEN)").tag(
        config=False)
    request_timeout = Float(120.0, help="Seconds to wait for the service").tag(config=True)
    path_includes_course = Bool(
        False, help="Put assignments under <course>/<assignment> instead of <assignment>"
    ).tag(config=True)

    @default("service_url")
    def _default_service_url(self) -> str:
        return os.environ.get("AICLASS_EXCHANGE_URL", "")

    @default("api_token")
    def _default_api_token(self) -> str:
        return os.environ.get("JUPYTERHUB_API_TOKEN", "")

    _client: ServiceClient | None = None

    @property
    def client(self) -> ServiceClient:
        if self._client is None:
            self._client = ServiceClient(self.service_url, self.api_token, self.request_timeout)
        return self._client

    def require_course(self) -> str:
        """The course (class) id; nbgrader's panel always passes it."""
        if not self.coursedir.course_id:
            self.fail("请指定班级（--course <班级编号>）（no course id: re-run with --course）")
        return self.coursedir.course_id

    def assignment_path(self, course_id: str, assignment_id: str) -> str:
        """Where an assignment lives in the student's folder, as nbgrader lays it out."""
        parts = [course_id, assignment_id] if self.path_includes_course else [assignment_id]
        return os.path.abspath(os.path.join(self.assignment_dir, *parts))

    def init_src(self) -> None:
        """Nothing to prepare locally by default."""

    def init_dest(self) -> None:
        """Nothing to prepare locally by default."""

    def copy_files(self) -> None:
        """Subclasses transfer files."""
