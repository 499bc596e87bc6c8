"""What every page of the classroom service shares: sign-in, who the caller is, language.

Pages are signed in through the hub with OAuth (:class:`HubOAuth`, its own instance:
the REST API keeps token-only :class:`HubAuth`, so a cookie never authenticates an
API call and a page never accepts a bare token). Every page asks the organisation
model what the caller may see; a POST without the form's ``_xsrf`` value is refused
by JupyterHub's XSRF check, which HubOAuth applies to cookie-authenticated requests.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from jupyterhub.services.auth import (
    HubOAuth,
    HubOAuthCallbackHandler,
    HubOAuthenticated,
    UserNotAllowed,
)
from sqlalchemy import select
from sqlalchemy.orm import Session
from tornado import web

from hub.org.models import Enrollment, Person, Role, SchoolClass
from hub.service.classroom import Classroom
from hub.service.pages.texts import LOCALES, TEXTS

log = logging.getLogger("aiclass.classroom")

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
LANGUAGE_COOKIE = "aiclass_lang"

#: What a caller may do with a class's pages: teach it, or only look (an admin above it).
TEACH, VIEW = "teach", "view"


def page_environment() -> Environment:
    """The Jinja2 environment of the pages (autoescaped, like JupyterHub's own)."""
    return Environment(loader=FileSystemLoader(str(TEMPLATES_DIR)),
                       autoescape=select_autoescape(["html"]), trim_blocks=True,
                       lstrip_blocks=True)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
"""The media type of every spreadsheet the pages send."""

class Forbidden(web.HTTPError):
    """A page the caller may not open; the message says why in the caller's language."""

    def __init__(self, text_key: str) -> None:
        super().__init__(403)
        self.text_key = text_key


class PageHandler(HubOAuthenticated, web.RequestHandler):
    """Base of the HTML pages and of the JSON the pages' scripts fetch."""

    person: Person

    @property
    def hub_auth(self) -> HubOAuth:
        return self.settings["page_auth"]

    @property
    def classroom(self) -> Classroom:
        return self.settings["classroom"]

    @property
    def prefix(self) -> str:
        return self.settings["page_prefix"]

    @property
    def locale_name(self) -> str:
        chosen = self.get_query_argument("lang", None)
        if chosen in LOCALES:
            self.set_cookie(LANGUAGE_COOKIE, chosen, path=self.prefix, httponly=True,
                            samesite="Lax", **self.settings["cookie_options"])
            return chosen
        cookie = self.get_cookie(LANGUAGE_COOKIE)
        return cookie if cookie in LOCALES else self.settings["default_locale"]

    @property
    def text(self) -> dict[str, str]:
        return TEXTS[self.locale_name]

    async def prepare(self) -> None:
        model = await self.hub_auth.get_user(self, sync=False)
        try:
            self.current_user = self.check_hub_user(model) if model else None
        except UserNotAllowed:
            self.current_user = None
        if self.current_user is None or self.current_user.get("kind", "user") != "user":
            if self.request.method in ("GET", "HEAD"):
                self.redirect(self.get_login_url())
                return
            raise web.HTTPError(403)
        name = self.current_user["name"]
        with self.classroom.database.session() as session:
            person = session.get(Person, name)
            if person is None:
                raise Forbidden("not_on_roster")
            session.expunge(person)
        self.person = person

    def render_page(self, template: str, **context: Any) -> None:
        environment: Environment = self.settings["page_templates"]
        html = environment.get_template(template).render(
            t=self.text, lang=self.locale_name, prefix=self.prefix, person=self.person,
            xsrf=self.xsrf_token.decode() if isinstance(self.xsrf_token, bytes)
            else self.xsrf_token, path=self.request.path, **context)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        # Images only inline: 'self' would let a student's <img src="/hub/logout"> that
        # got past the sanitiser make the teacher's browser call the hub (no page needs
        # an image file; figures are drawn on a canvas).
        self.set_header("Content-Security-Policy",
                        "default-src 'self'; img-src data:; media-src 'none'; "
                        "object-src 'none'; frame-src 'none'; style-src 'self' "
                        "'unsafe-inline'; frame-ancestors 'self'")
        self.finish(html)

    def send_file(self, body: bytes, file_name: str, content_type: str) -> None:
        """Answer with ``body`` as a download named ``file_name``: every export and file of
        the pages leaves through here, so all are attachments, never shown inline."""
        self.set_header("Content-Type", content_type)
        self.set_header("Content-Disposition", f'attachment; filename="{file_name}"')
        self.finish(body)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        key = error.text_key if isinstance(error, Forbidden) else {
            400: "bad_input", 403: "forbidden", 404: "not_found"}.get(status_code, "server_error")
        text = TEXTS[self.locale_name]
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        environment: Environment = self.settings["page_templates"]
        self.finish(environment.get_template("error.html").render(
            t=text, lang=self.locale_name, prefix=self.prefix, person=None, xsrf="",
            path=self.request.path, status=status_code, message=text[key]))

    # -- who may see what ------------------------------------------------------------------

    def class_access(self, session: Session, class_id: str) -> tuple[SchoolClass, str]:
        """The class and whether the caller teaches it or may only look; 403 otherwise.

        A class that does not exist answers exactly like one the caller may not see,
        so that class ids cannot be probed by editing the URL.
        """
        school_class = session.get(SchoolClass, class_id)
        if school_class is not None:
            role = self.person.role
            teaches = session.scalar(select(Enrollment.id).where(
                Enrollment.class_id == class_id, Enrollment.username == self.person.username,
                Enrollment.role == Role.TEACHER)) is not None
            if teaches:
                return school_class, TEACH
            if role == Role.REGION_ADMIN or (role == Role.SCHOOL_ADMIN
                                             and self.person.school_id == school_class.school_id):
                return school_class, VIEW
            if (role == Role.DISTRICT_ADMIN and self.person.district_id
                    and school_class.school.district_id == self.person.district_id):
                return school_class, VIEW
        raise Forbidden("not_your_class")

    def require_teaching(self, session: Session, class_id: str) -> SchoolClass:
        school_class, access = self.class_access(session, class_id)
        if access != TEACH:
            raise Forbidden("teachers_only")
        return school_class

    def require_staff(self) -> None:
        if self.person.role == Role.STUDENT:
            raise Forbidden("staff_only")


class OAuthCallbackHandler(HubOAuthCallbackHandler):
    """The end of the hub's OAuth sign-in, with the pages' own :class:`HubOAuth`."""

    @property
    def hub_auth(self) -> HubOAuth:
        return self.settings["page_auth"]
