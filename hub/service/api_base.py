"""What every REST handler of the classroom service shares: who is calling, JSON in and out.

The caller is identified by their JupyterHub token (``Authorization: token …``),
checked with JupyterHub's own :class:`HubAuth`; the hub grants the token the
``access:services!service=classroom`` scope. Refusals from the exchange become JSON
errors with a stable code, a Chinese message and an English one.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from jupyterhub.services.auth import HubAuthenticated, UserNotAllowed
from sqlalchemy.orm import Session
from tornado import web

from grading.exchange.errors import ExchangeRefused
from hub.org.models import Role
from hub.service import access
from hub.service.classroom import Classroom

log = logging.getLogger("aiclass.classroom")

STATUS_OF_REFUSAL = {
    "unauthenticated": 401,
    "forbidden": 403,
    "not_found": 404,
    "not_released": 404,
    "too_large": 413,
    "file_too_large": 413,
    "zip_bomb": 413,
    "too_many_requests": 429,
    "history_full": 429,
    "grading_queue_full": 429,
    "generate_failed": 422,
}


def iso(moment: datetime | None) -> str | None:
    """A stored (naive UTC) time as ISO 8601 with ``Z``."""
    return None if moment is None else moment.replace(tzinfo=UTC).isoformat().replace(
        "+00:00", "Z")


def parse_time(value: str, field: str) -> datetime:
    """An ISO 8601 time with an explicit offset, as naive UTC."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ExchangeRefused("bad_due_date", f"{field} 不是有效的时间：{value!r}",
                              f"{field} is not a valid time: {value!r}") from exc
    if moment.tzinfo is None:
        raise ExchangeRefused("bad_due_date", f"{field} 必须带时区，如 2026-10-01T23:59+08:00",
                              f"{field} needs a UTC offset, e.g. 2026-10-01T23:59+08:00")
    return moment.astimezone(UTC).replace(tzinfo=None)


class APIHandler(HubAuthenticated, web.RequestHandler):
    """Base of the ``/api/v1`` handlers: token authentication and JSON errors."""

    username: str

    @property
    def classroom(self) -> Classroom:
        return self.settings["classroom"]

    def check_xsrf_cookie(self) -> None:
        """Token-authenticated API: cookies are not accepted, so XSRF does not apply."""

    async def prepare(self) -> None:
        model = await self.hub_auth.get_user(self, sync=False)
        user = None
        if model:
            try:
                user = self.check_hub_user(model)
            except UserNotAllowed:
                user = None
        if not user or user.get("kind", "user") != "user":
            raise ExchangeRefused("unauthenticated", "需要有效的 JupyterHub 令牌",
                                  "a valid JupyterHub token is required")
        self.username = user["name"]

    def json_body(self) -> dict:
        """The request body as a JSON object, or a clear refusal."""
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError as exc:
            raise ExchangeRefused("bad_request", "请求体不是有效的 JSON",
                                  "the request body is not valid JSON") from exc
        if not isinstance(body, dict):
            raise ExchangeRefused("bad_request", "请求体必须是 JSON 对象",
                                  "the request body must be a JSON object")
        return body

    def write_json(self, body: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps(body, ensure_ascii=False))

    def write_zip(self, data: bytes, filename: str) -> None:
        self.set_header("Content-Type", "application/zip")
        self.set_header("Content-Disposition", f'attachment; filename="{filename}"')
        self.finish(data)

    def log_exception(self, typ: type, value: BaseException, tb: TracebackType) -> None:
        if isinstance(value, ExchangeRefused):
            log.info("refused %s %s for %s: %s", self.request.method, self.request.path,
                     getattr(self, "username", "-"), value.code)
            return
        super().log_exception(typ, value, tb)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, ExchangeRefused):
            self.set_status(STATUS_OF_REFUSAL.get(error.code, 400))
            body = error.as_dict()
        elif isinstance(error, web.HTTPError):
            body = {"error": "http", "message": self._reason, "message_en": self._reason}
        else:
            body = {"error": "internal", "message": "课堂服务内部错误，请联系老师",
                    "message_en": "internal error of the classroom service"}
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps(body, ensure_ascii=False))

    def require(self, session: Session, class_id: str, role: Role) -> None:
        """Refuse unless the caller is in the class with this role.

        Students get "not found" rather than "forbidden" so that ids cannot be probed.
        """
        if access.enrolled_as(session, class_id, self.username, role):
            return
        if role == Role.TEACHER:
            raise ExchangeRefused("forbidden", f"只有班级 {class_id} 的老师可以这样做",
                                  f"only teachers of class {class_id} may do this")
        raise ExchangeRefused("not_found", f"你不在班级 {class_id} 中",
                              f"you are not a student of class {class_id}")
