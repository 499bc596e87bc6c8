"""All the pages' routes and the application settings they need, for ``make_app``."""

from __future__ import annotations

import secrets
from typing import Any

from jupyterhub.services.auth import HubOAuth
from tornado import web

from hub.reports.figures import ReportPolicy
from hub.service.pages.admin import admin_routes
from hub.service.pages.audit_pages import audit_routes
from hub.service.pages.base import STATIC_DIR, OAuthCallbackHandler, page_environment
from hub.service.pages.competition_pages import competition_page_routes
from hub.service.pages.gradebook_pages import gradebook_routes
from hub.service.pages.privacy_pages import privacy_routes
from hub.service.pages.programme_pages import programme_routes
from hub.service.pages.reports_pages import report_routes
from hub.service.pages.shared_library_pages import shared_library_routes
from hub.service.pages.teacher import teacher_routes
from hub.service.pages.timefmt import localtime
from hub.service.pages.training_pages import training_routes
from hub.settings import Settings


def page_routes(prefix: str) -> list[tuple]:
    """Every page, the OAuth callback and the static files, under ``prefix``."""
    return [
        (f"{prefix}oauth_callback", OAuthCallbackHandler),
        (f"{prefix}static/(.*)", web.StaticFileHandler, {"path": str(STATIC_DIR)}),
        *teacher_routes(prefix),
        *gradebook_routes(prefix),
        *report_routes(prefix),
        *admin_routes(prefix),
        *privacy_routes(prefix),
        *audit_routes(prefix),
        *programme_routes(prefix),
        *competition_page_routes(prefix),
        *training_routes(prefix),
        *shared_library_routes(prefix),
    ]


def page_settings(prefix: str, settings: Settings) -> dict[str, Any]:
    """Tornado application settings for the pages.

    ``xsrf_cookies`` makes every POST need the form's ``_xsrf`` value (the REST API's
    token-authenticated handlers opt out); the cookie secret signs the OAuth state and
    XSRF cookies and is per process, so a restart signs teachers in again silently.
    Behind ``[tls]`` every cookie of the pages is ``Secure``.
    """
    cookie_options = {"secure": True} if settings.tls.enabled else {}
    templates = page_environment()
    templates.filters["localtime"] = localtime
    return {
        "page_prefix": prefix,
        "page_auth": HubOAuth(base_url=prefix, hub_prefix="/hub/",
                              cookie_options=cookie_options),
        "cookie_options": cookie_options,
        "page_templates": templates,
        "default_locale": settings.locale.default,
        "report_policy": ReportPolicy.from_settings(settings.reports),
        "region_name": settings.org.region_name,
        "aiclass_settings": settings,
        "cookie_secret": secrets.token_bytes(32),
        "xsrf_cookies": True,
        "xsrf_cookie_kwargs": cookie_options,
        "login_url": "/hub/login",
    }
